//! What Parquet encoding costs per column: reads a table's Parquet files (a Delta
//! table's folder) into memory, then writes each column alone, and the whole
//! table, with every dictionary, as darkroom chooses, as darkroom chooses less
//! the column statistics (min and max of every value), and with no dictionary,
//! timing the encoding only.
//!
//! `cargo run --release -p darkroom-warehouse --example parquet_encoding -- WAREHOUSE/TABLE [MAX_ROWS]`

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use darkroom_warehouse::{SAMPLE_ROWS, writer_properties};
use deltalake::parquet::arrow::ArrowWriter;
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use deltalake::parquet::file::properties::WriterProperties;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).expect("usage: parquet_encoding TABLE_DIR [MAX_ROWS]"));
    let max_rows: usize = args.get(2).map_or(2_000_000, |n| n.parse().unwrap());
    let batches = read_all(dir, max_rows);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let schema = batches[0].schema();
    println!("{rows} rows, {} columns from {}", schema.fields().len(), dir.display());

    // What a write looks at: its first batches, SAMPLE_ROWS rows or more.
    let mut sampled = 0;
    let sample: Vec<RecordBatch> = batches
        .iter()
        .take_while(|batch| {
            let more = sampled < SAMPLE_ROWS;
            sampled += batch.num_rows();
            more
        })
        .cloned()
        .collect();
    let variants: [(&str, WriterProperties); 4] = [
        // An empty sample keeps every dictionary; the rest of the settings are darkroom's.
        ("every dictionary", writer_properties(&[])),
        ("as darkroom writes", writer_properties(&sample)),
        (
            "as darkroom, no stats",
            writer_properties(&sample)
                .into_builder()
                .set_statistics_enabled(deltalake::parquet::file::properties::EnabledStatistics::None)
                .build(),
        ),
        (
            "no dictionary",
            writer_properties(&[])
                .into_builder()
                .set_dictionary_enabled(false)
                .build(),
        ),
    ];
    print!("{:<24}", "column");
    for (name, _) in &variants {
        print!("{name:>22}");
    }
    println!();
    for (index, field) in schema.fields().iter().enumerate() {
        let one = Arc::new(Schema::new(vec![field.as_ref().clone()]));
        let columns: Vec<RecordBatch> = batches
            .iter()
            .map(|b| RecordBatch::try_new(Arc::clone(&one), vec![Arc::clone(b.column(index))]).unwrap())
            .collect();
        print!("{:<24}", field.name());
        for (_, properties) in &variants {
            let (seconds, bytes) = write(&columns, properties);
            print!("{:>12.3}s {:>6.1}MB", seconds, bytes as f64 / 1e6);
        }
        println!();
    }
    print!("{:<24}", "whole table");
    for (_, properties) in &variants {
        let (seconds, bytes) = write(&batches, properties);
        print!("{:>12.3}s {:>6.1}MB", seconds, bytes as f64 / 1e6);
    }
    println!();
}

fn write(batches: &[RecordBatch], properties: &WriterProperties) -> (f64, usize) {
    let started = Instant::now();
    let mut out = Vec::with_capacity(64 << 20);
    let mut writer = ArrowWriter::try_new(&mut out, batches[0].schema(), Some(properties.clone())).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
    (started.elapsed().as_secs_f64(), out.len())
}

fn read_all(dir: &Path, max_rows: usize) -> Vec<RecordBatch> {
    let mut files: Vec<_> = walk(dir);
    files.sort();
    let mut batches = Vec::new();
    let mut rows = 0;
    for file in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            rows += batch.num_rows();
            batches.push(batch);
            if rows >= max_rows {
                return batches;
            }
        }
    }
    batches
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("_delta_log") {
                found.extend(walk(&path));
            }
        } else if path.extension().is_some_and(|e| e == "parquet") {
            found.push(path);
        }
    }
    found
}
