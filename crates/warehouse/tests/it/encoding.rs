//! A write chooses each column's encoding from its first rows: nearly unique
//! columns go without a Parquet dictionary. What matters to a reader: every row
//! comes back, and a failing input still commits nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use darkroom_warehouse::{Warehouse, WriteMode};
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::reader::{FileReader, SerializedFileReader};

const ACTIONS: [&str; 4] = ["login", "page_view", "photo_view", "photo_like"];

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("action", DataType::Utf8, false),
    ]))
}

/// `batches` batches of 1,000 rows: ids all different, actions four words over and over.
fn events(batches: i64) -> Vec<RecordBatch> {
    (0..batches)
        .map(|b| {
            let ids: Vec<i64> = (b * 1000..(b + 1) * 1000).collect();
            let actions: Vec<&str> = ids.iter().map(|id| ACTIONS[(*id % 4) as usize]).collect();
            RecordBatch::try_new(
                schema(),
                vec![Arc::new(Int64Array::from(ids)), Arc::new(StringArray::from(actions))],
            )
            .expect("batch")
        })
        .collect()
}

fn stream(items: Vec<Result<RecordBatch, DataFusionError>>) -> SendableRecordBatchStream {
    Box::pin(RecordBatchStreamAdapter::new(schema(), futures::stream::iter(items)))
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("table folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

#[tokio::test]
async fn a_nearly_unique_column_is_written_without_a_dictionary_every_file_is_lz4_and_every_row_reads_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::open(dir.path()).expect("warehouse");
    let ctx = SessionContext::new();
    let input = stream(events(20).into_iter().map(Ok).collect());
    let written = warehouse
        .write(&ctx, "events", None, input, WriteMode::Append)
        .await
        .expect("write");
    assert_eq!(written.rows, 20_000);

    let files = parquet_files(&warehouse.table_dir("events"));
    assert!(!files.is_empty());
    for file in files {
        let reader = SerializedFileReader::new(std::fs::File::open(&file).expect("open")).expect("footer");
        for group in reader.metadata().row_groups() {
            let (id, action) = (group.column(0), group.column(1));
            assert_eq!(id.column_path().string(), "id");
            assert_eq!(
                id.dictionary_page_offset(),
                None,
                "{}: ids need no dictionary",
                file.display()
            );
            assert!(
                action.dictionary_page_offset().is_some(),
                "{}: actions keep theirs",
                file.display()
            );
            for column in [id, action] {
                assert_eq!(column.compression(), Compression::LZ4_RAW, "{}", file.display());
            }
        }
    }

    warehouse.register(&ctx, "events").await.expect("register");
    let summary = ctx
        .sql("SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(id) AS total, count(DISTINCT action) AS actions FROM events")
        .await
        .expect("plan")
        .collect()
        .await
        .expect("read back");
    let text = arrow::util::pretty::pretty_format_batches(&summary)
        .expect("format")
        .to_string();
    assert_eq!(
        text.lines().nth(3),
        Some("| 20000 | 20000 | 199990000 | 4       |"),
        "{text}"
    );
}

#[tokio::test]
async fn an_input_that_fails_while_it_is_sampled_commits_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::open(dir.path()).expect("warehouse");
    let ctx = SessionContext::new();
    let mut items: Vec<Result<RecordBatch, DataFusionError>> = events(3).into_iter().map(Ok).collect();
    items.insert(
        2,
        Err(DataFusionError::Execution(
            "line 2001 of the input is unreadable".into(),
        )),
    );
    let err = warehouse
        .write(&ctx, "events", None, stream(items), WriteMode::Append)
        .await
        .expect_err("the input failed");
    assert!(
        err.to_string().contains("line 2001 of the input is unreadable"),
        "{err}"
    );
    assert!(!warehouse.exists("events"), "no commit: {err}");
    assert_eq!(warehouse.version("events").await.expect("version"), None);
}
