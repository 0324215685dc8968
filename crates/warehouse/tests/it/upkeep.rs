//! Compaction, vacuum and checkpoints keep a table cheap to open and read:
//! every row still reads back after each, a version inside the retention still
//! reads back whole, and only files no kept version needs are deleted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Date32Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use darkroom_warehouse::{COMPACT_AT_FILES, Warehouse, WriteMode};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;

const TABLE: &str = "events";

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("day", DataType::Date32, false),
        Field::new("id", DataType::Int64, false),
    ]))
}

/// Rows `ids` on `day`, as a write's input.
fn rows(day: i32, ids: std::ops::Range<i64>) -> SendableRecordBatchStream {
    let count = (ids.end - ids.start) as usize;
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Date32Array::from(vec![day; count])),
            Arc::new(Int64Array::from_iter_values(ids)),
        ],
    )
    .expect("batch");
    Box::pin(RecordBatchStreamAdapter::new(
        schema(),
        futures::stream::iter([Ok(batch)]),
    ))
}

async fn write(
    warehouse: &Warehouse,
    partition_by: Option<&str>,
    input: SendableRecordBatchStream,
    mode: WriteMode<'_>,
) {
    warehouse
        .write(&SessionContext::new(), TABLE, partition_by, input, mode)
        .await
        .expect("write");
}

/// One append a night for each of `nights`, on `day`: night n adds ids n*size..(n+1)*size.
async fn append_nights(
    warehouse: &Warehouse,
    partition_by: Option<&str>,
    day: i32,
    nights: std::ops::Range<i64>,
    size: i64,
) {
    for n in nights {
        write(
            warehouse,
            partition_by,
            rows(day, n * size..(n + 1) * size),
            WriteMode::Append,
        )
        .await;
    }
}

/// Every Parquet file in the table's folder (partition folders included), relative to it.
fn files_on_disk(dir: &Path) -> BTreeSet<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .filter(|e| !e.path().starts_with(dir.join("_delta_log")))
        .map(|e| e.path().strip_prefix(dir).expect("inside").to_owned())
        .collect()
}

/// `count(*)` and `sum(id)` of the table at `version` (latest when `None`), read
/// through a fresh provider as any reader would.
async fn count_and_sum(warehouse: &Warehouse, version: Option<u64>) -> (i64, i64) {
    let url = url::Url::from_directory_path(warehouse.table_dir(TABLE)).expect("url");
    let table = match version {
        Some(v) => deltalake::open_table_with_version(url, v)
            .await
            .expect("open at version"),
        None => deltalake::open_table(url).await.expect("open"),
    };
    let ctx = SessionContext::new();
    ctx.register_table(TABLE, table.table_provider().await.expect("provider"))
        .expect("register");
    let batches = ctx
        .sql("SELECT count(*), CAST(sum(id) AS BIGINT) FROM events")
        .await
        .expect("plan")
        .collect()
        .await
        .expect("scan");
    let column = |i: usize| {
        batches[0]
            .column(i)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int64")
            .value(0)
    };
    (column(0), column(1))
}

/// Sum of 0..n, by Gauss.
fn sum_below(n: i64) -> i64 {
    n * (n - 1) / 2
}

#[tokio::test]
async fn eight_appended_files_are_packed_into_one_and_vacuum_then_deletes_the_eight() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::open(dir.path()).expect("warehouse");
    append_nights(&warehouse, None, 0, 0..COMPACT_AT_FILES as i64, 100).await;
    let table_dir = warehouse.table_dir(TABLE);
    let appended = files_on_disk(&table_dir);
    assert_eq!(appended.len(), COMPACT_AT_FILES);

    let compacted = warehouse.compact(TABLE).await.expect("compact");
    assert_eq!(compacted.files_removed, COMPACT_AT_FILES as u64);
    assert_eq!(compacted.files_added, 1);
    assert_eq!(
        compacted.version,
        Some(COMPACT_AT_FILES as i64),
        "one commit after the eight writes"
    );
    let rows = COMPACT_AT_FILES as i64 * 100;
    assert_eq!(count_and_sum(&warehouse, None).await, (rows, sum_below(rows)));
    // The eight are kept for readers of the versions before the compaction.
    assert_eq!(files_on_disk(&table_dir).len(), COMPACT_AT_FILES + 1);
    assert_eq!(
        count_and_sum(&warehouse, Some(3)).await,
        (400, sum_below(400)),
        "the fourth version reads back"
    );

    let kept = warehouse
        .vacuum(TABLE, chrono::Duration::days(7))
        .await
        .expect("vacuum");
    assert_eq!(
        (kept.files_deleted, kept.version),
        (0, None),
        "nothing is older than 7 days"
    );

    let vacuumed = warehouse.vacuum(TABLE, chrono::Duration::zero()).await.expect("vacuum");
    assert_eq!(vacuumed.files_deleted, COMPACT_AT_FILES as u64);
    assert!(vacuumed.bytes_deleted > 0);
    assert!(vacuumed.version.is_some(), "the vacuum is recorded in the table's log");
    let left = files_on_disk(&table_dir);
    assert_eq!(left.len(), 1);
    assert!(left.is_disjoint(&appended), "only the compacted file is left");
    assert_eq!(count_and_sum(&warehouse, None).await, (rows, sum_below(rows)));
}

#[tokio::test]
async fn fewer_small_files_than_the_threshold_are_left_as_they_are() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::open(dir.path()).expect("warehouse");
    append_nights(&warehouse, None, 0, 0..COMPACT_AT_FILES as i64 - 1, 10).await;
    let before = warehouse.version(TABLE).await.expect("version");
    let compacted = warehouse.compact(TABLE).await.expect("compact");
    assert_eq!(compacted.version, None);
    assert_eq!(compacted.files_removed, 0);
    assert_eq!(warehouse.version(TABLE).await.expect("version"), before, "no commit");
}

#[tokio::test]
async fn only_the_partition_with_enough_small_files_is_compacted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::open(dir.path()).expect("warehouse");
    // Day 1 gets eight appends, day 2 three.
    append_nights(&warehouse, Some("day"), 1, 0..COMPACT_AT_FILES as i64, 10).await;
    append_nights(&warehouse, Some("day"), 2, 100..103, 10).await;
    let day_two: BTreeSet<PathBuf> = files_on_disk(&warehouse.table_dir(TABLE))
        .into_iter()
        .filter(|p| p.starts_with("day=1970-01-03"))
        .collect();
    assert_eq!(day_two.len(), 3);

    let compacted = warehouse.compact(TABLE).await.expect("compact");
    assert_eq!(
        (compacted.files_removed, compacted.files_added),
        (COMPACT_AT_FILES as u64, 1)
    );
    assert_eq!(compacted.partitions, 1);
    warehouse.vacuum(TABLE, chrono::Duration::zero()).await.expect("vacuum");
    let left = files_on_disk(&warehouse.table_dir(TABLE));
    assert!(day_two.is_subset(&left), "day 2's three files are untouched");
    assert_eq!(left.len(), 4);
    let expected_sum = sum_below(80) + (sum_below(1030) - sum_below(1000));
    assert_eq!(count_and_sum(&warehouse, None).await, (110, expected_sum));
}

#[tokio::test]
async fn a_replaced_partition_reads_back_inside_the_retention_and_is_deleted_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::open(dir.path()).expect("warehouse");
    write(&warehouse, Some("day"), rows(1, 0..50), WriteMode::Append).await;
    write(&warehouse, Some("day"), rows(2, 50..100), WriteMode::Append).await;
    // Day 1 restated: its 50 rows become 20.
    let days = [1];
    let replace = WriteMode::ReplaceDays {
        column: "day",
        days: &days,
    };
    write(&warehouse, Some("day"), rows(1, 1000..1020), replace).await;

    let kept = warehouse
        .vacuum(TABLE, chrono::Duration::days(7))
        .await
        .expect("vacuum");
    assert_eq!(kept.files_deleted, 0);
    assert_eq!(
        count_and_sum(&warehouse, Some(1)).await,
        (100, sum_below(100)),
        "time travel"
    );

    let vacuumed = warehouse.vacuum(TABLE, chrono::Duration::zero()).await.expect("vacuum");
    assert_eq!(vacuumed.files_deleted, 1, "day 1's first file");
    let latest = (70, sum_below(100) - sum_below(50) + sum_below(1020) - sum_below(1000));
    assert_eq!(count_and_sum(&warehouse, None).await, latest);
}

#[tokio::test]
async fn a_file_no_commit_names_is_deleted_once_older_than_the_retention() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::open(dir.path()).expect("warehouse");
    write(&warehouse, None, rows(0, 0..10), WriteMode::Append).await;
    let table_dir = warehouse.table_dir(TABLE);
    let committed = files_on_disk(&table_dir);
    let log_before = files_in(&table_dir.join("_delta_log"));
    // What a write killed before its commit leaves behind.
    let first = committed.iter().next().expect("a file");
    std::fs::copy(table_dir.join(first), table_dir.join("part-00000-killed-write.parquet")).expect("copy");

    let kept = warehouse
        .vacuum(TABLE, chrono::Duration::days(7))
        .await
        .expect("vacuum");
    assert_eq!(kept.files_deleted, 0, "a fresh file may be a write in progress");
    assert_eq!(files_in(&table_dir.join("_delta_log")), log_before);

    let vacuumed = warehouse.vacuum(TABLE, chrono::Duration::zero()).await.expect("vacuum");
    assert_eq!(vacuumed.files_deleted, 1);
    assert_eq!(files_on_disk(&table_dir), committed);
    assert_eq!(count_and_sum(&warehouse, None).await, (10, sum_below(10)));
}

/// A checkpoint of the test table every 3 commits, keeping commit files for `keep_days`.
async fn checkpoint(warehouse: &Warehouse, keep_days: i64) -> Option<i64> {
    warehouse
        .checkpoint(TABLE, 3, chrono::Duration::days(keep_days))
        .await
        .expect("checkpoint")
}

/// Dates the commit files of `versions` 40 days back, past Delta's 30-day log retention.
fn written_40_days_ago(log: &Path, versions: std::ops::Range<u64>) {
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(40 * 86_400);
    for version in versions {
        let commit = std::fs::File::options()
            .write(true)
            .open(log.join(format!("{version:020}.json")))
            .expect("commit file");
        commit.set_modified(long_ago).expect("set mtime");
    }
}

#[tokio::test]
async fn a_checkpoint_is_written_once_a_table_is_enough_commits_past_the_last() {
    let dir = tempfile::tempdir().expect("temp dir");
    let warehouse = Warehouse::open(dir.path()).expect("warehouse");
    append_nights(&warehouse, None, 0, 0..2, 10).await;
    assert_eq!(checkpoint(&warehouse, 7).await, None, "two commits");
    write(&warehouse, None, rows(0, 20..30), WriteMode::Append).await;
    assert_eq!(checkpoint(&warehouse, 7).await, Some(2));
    let log = warehouse.table_dir(TABLE).join("_delta_log");
    assert!(log.join("00000000000000000002.checkpoint.parquet").is_file());
    assert_eq!(checkpoint(&warehouse, 7).await, None, "nothing since");
    append_nights(&warehouse, None, 0, 3..6, 10).await;
    written_40_days_ago(&log, 0..3);
    assert_eq!(checkpoint(&warehouse, 7).await, Some(5));
    let commits: BTreeSet<String> = files_in(&log).into_iter().filter(|f| f.ends_with(".json")).collect();
    // Those before the old checkpoint (at 2) went: deltalake cleans up to a checkpoint
    // inside the retention, and keeps that checkpoint's own commit.
    let expected: BTreeSet<String> = (2..6).map(|v| format!("{v:020}.json")).collect();
    assert_eq!(commits, expected);
    // Opened from the checkpoint and the commits after it, the table reads whole.
    write(&warehouse, None, rows(0, 60..70), WriteMode::Append).await;
    assert_eq!(count_and_sum(&warehouse, None).await, (70, sum_below(70)));
    // A longer retention keeps older commits: time travel inside it needs them.
    written_40_days_ago(&log, 3..6);
    append_nights(&warehouse, None, 0, 7..10, 10).await;
    assert_eq!(checkpoint(&warehouse, 60).await, Some(9));
    assert!(log.join(format!("{:020}.json", 3)).is_file(), "40 days old, inside 60");
    assert_eq!(count_and_sum(&warehouse, Some(4)).await, (50, sum_below(50)));
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}
