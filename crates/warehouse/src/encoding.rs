//! How the warehouse's Parquet files are encoded: the same settings for every
//! write, except that a column whose values are nearly all different is written
//! without a dictionary.
//!
//! Why: Parquet's dictionary encoder hashes and compares every value. For a
//! column of ids, timestamps or titles that buys nothing: each value lands in
//! the dictionary once, and the file comes out larger than plain values under
//! the same codec. `examples/parquet_encoding.rs` over the tables of a
//! 1,000,000-user night measured every such column (distinct share 0.69 to 1)
//! as 1.4x to 3.2x faster to encode plain, and smaller; every column at 0.5 or
//! less was smaller with its dictionary. The dictionary interner was 20% of the
//! whole night's CPU before this.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::row::{RowConverter, SortField};
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::parquet::schema::types::ColumnPath;

/// Rows per Parquet row group. An open writer holds one row group in memory, so
/// this bounds a write's memory whatever the day's size (parquet's default, a
/// million rows of `raw_events`, is several hundred MB). DuckDB writes 122,880.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// The rows a write looks at before it chooses its encodings: the first batches
/// of its input, at least this many (or all of a smaller input).
pub const SAMPLE_ROWS: usize = 8192;

/// The codec of every file. Snappy, deltalake's default, cost 14% of the
/// night's CPU (compressing and reading back, `perf record` of the 1 GB day);
/// LZ4 ran that night 5% faster in wall time and CPU, for files 2% larger.
/// zstd level 1 made them 41% smaller but the night 6% slower. DuckDB,
/// pyarrow, Polars and DataFusion read LZ4_RAW (Parquet format 2.9 and later).
const COMPRESSION: Compression = Compression::LZ4_RAW;

/// A column with more than this share of distinct values in the sample is
/// written without a dictionary (see the module's measurements: 0.5 and below
/// gained from one, 0.69 and above lost).
const MAX_DISTINCT_SHARE_FOR_DICTIONARY: f64 = 0.6;

/// [`COMPRESSION`]; statistics per column chunk, which is what Delta's file
/// statistics and pruning read, without the per-page index that nothing here
/// reads; no dictionary for the columns `sample` shows nearly unique.
pub fn writer_properties(sample: &[RecordBatch]) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(COMPRESSION)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk);
    for column in nearly_unique_columns(sample) {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    builder.build()
}

/// The top-level columns of `sample` whose share of distinct values (a null
/// counting as one value) is above [`MAX_DISTINCT_SHARE_FOR_DICTIONARY`].
fn nearly_unique_columns(sample: &[RecordBatch]) -> Vec<String> {
    let Some(first) = sample.first() else {
        return Vec::new();
    };
    let rows: usize = sample.iter().map(RecordBatch::num_rows).sum();
    if rows == 0 {
        return Vec::new();
    }
    let schema = first.schema();
    schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| !field.data_type().is_nested())
        .filter(|(index, _)| {
            let arrays: Vec<ArrayRef> = sample.iter().map(|batch| Arc::clone(batch.column(*index))).collect();
            distinct_values(&arrays)
                .is_some_and(|distinct| distinct as f64 > MAX_DISTINCT_SHARE_FOR_DICTIONARY * rows as f64)
        })
        .map(|(_, field)| field.name().clone())
        .collect()
}

/// How many different values `arrays` (one column's batches) hold; `None` for a
/// type the row format cannot compare, which then keeps its dictionary.
fn distinct_values(arrays: &[ArrayRef]) -> Option<usize> {
    let data_type = arrays.first()?.data_type().clone();
    let converter = RowConverter::new(vec![SortField::new(data_type)]).ok()?;
    let converted: Vec<_> = arrays
        .iter()
        .map(|array| converter.convert_columns(std::slice::from_ref(array)))
        .collect::<Result<_, _>>()
        .ok()?;
    let mut seen = HashSet::new();
    for rows in &converted {
        seen.extend(rows.iter());
    }
    Some(seen.len())
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn batch(ids: Vec<i64>, actions: Vec<Option<&str>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("action", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from(ids)), Arc::new(StringArray::from(actions))],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn unique_ids_lose_the_dictionary_and_repeated_words_keep_it() {
        let first = batch((0..100).collect(), vec![Some("login"); 100]);
        let second = batch((100..200).collect(), vec![None; 100]);
        assert_eq!(nearly_unique_columns(&[first, second]), vec!["id".to_owned()]);
    }

    #[test]
    fn distinct_values_are_counted_across_batches() {
        // 61 of 100 values differ in each batch alone, but the second repeats the first.
        let ids: Vec<i64> = (0..100).map(|i| i.min(60)).collect();
        let sample = [batch(ids.clone(), vec![None; 100]), batch(ids, vec![None; 100])];
        assert_eq!(nearly_unique_columns(&sample), Vec::<String>::new());
        assert!(nearly_unique_columns(&sample[..1]).contains(&"id".to_owned()));
    }

    #[test]
    fn an_empty_sample_keeps_every_dictionary() {
        assert!(nearly_unique_columns(&[]).is_empty());
        assert!(nearly_unique_columns(&[batch(vec![], vec![])]).is_empty());
    }
}
