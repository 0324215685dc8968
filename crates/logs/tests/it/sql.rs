//! The archive folder as a DataFusion table.

use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use darkroom_logs::LogArchiveTable;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::support::{GOOD, gzip, write_archive};

fn line(day: u32, hour: u32, action: &str) -> String {
    format!("2015-02-{day:02} {hour:02}:10:00 42 {action} 7 1.2.3.4 /x?client=web\n")
}

/// Three hours of two servers, a bad line, a corrupt file and a late line.
fn archive_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write_archive(
        root,
        "2015/02/10/10/api-01.log.gz",
        &gzip((line(10, 10, "login") + &line(10, 10, "photo_like")).as_bytes()),
    );
    write_archive(
        root,
        "2015/02/10/10/api-02.log",
        (line(10, 10, "login") + "garbage\n").as_bytes(),
    );
    write_archive(
        root,
        "2015/02/10/23/api-01.log.gz",
        &gzip(line(10, 23, "follow").as_bytes()),
    );
    // A late line from the 10th, archived in the first hour of the 11th.
    write_archive(
        root,
        "2015/02/11/00/api-01.log.gz",
        &gzip((line(10, 23, "login") + &line(11, 0, "login")).as_bytes()),
    );
    let cut = gzip(format!("{GOOD}\n").repeat(5000).as_bytes());
    write_archive(root, "2015/02/12/05/api-02.log.gz", &cut[..cut.len() / 2]);
    dir
}

async fn query(ctx: &SessionContext, sql: &str) -> Vec<(String, i64)> {
    let batches = ctx.sql(sql).await.expect("plan").collect().await.expect("run");
    let mut rows = Vec::new();
    for batch in batches {
        let keys = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8).expect("cast");
        let keys = keys.as_string::<i32>();
        let counts = batch.column(1).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            rows.push((keys.value(i).to_owned(), counts.value(i)));
        }
    }
    rows.sort();
    rows
}

fn context(root: &std::path::Path) -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(2).with_batch_size(1024));
    ctx.register_table("logs", Arc::new(LogArchiveTable::try_new(root).expect("table")))
        .expect("register");
    ctx
}

#[tokio::test]
async fn group_by_action_over_a_folder_of_archives() {
    let dir = archive_folder();
    let ctx = context(dir.path());
    let rows = query(&ctx, "SELECT action, count(*) FROM logs GROUP BY action").await;
    let corrupt_events = rows.iter().find(|(a, _)| a == "photo_like").map_or(0, |r| r.1) - 1;
    assert!(
        corrupt_events > 1000,
        "events before the damage in the corrupt file are readable"
    );
    assert_eq!(
        rows,
        [
            ("follow".into(), 1),
            ("login".into(), 4),
            ("photo_like".into(), corrupt_events + 1)
        ]
    );
}

#[tokio::test]
async fn events_land_on_their_own_day_and_date_filters_prune_files() {
    let dir = archive_folder();
    let ctx = context(dir.path());
    let by_day = query(
        &ctx,
        "SELECT event_date, count(*) FROM logs WHERE event_date <= DATE '2015-02-11' GROUP BY event_date",
    )
    .await;
    assert_eq!(by_day, [("2015-02-10".into(), 5), ("2015-02-11".into(), 1)]);

    let plan = ctx
        .sql("EXPLAIN SELECT count(*) FROM logs WHERE event_date = DATE '2015-02-10'")
        .await
        .expect("plan")
        .collect()
        .await
        .expect("explain");
    let text = arrow::util::pretty::pretty_format_batches(&plan)
        .expect("format")
        .to_string();
    assert!(
        text.contains("LogScanExec: format=api-v1, files=4"),
        "the file of the 12th is pruned:\n{text}"
    );
}

#[tokio::test]
async fn count_star_needs_no_columns() {
    let dir = archive_folder();
    let ctx = context(dir.path());
    let total = query(
        &ctx,
        "SELECT 'all', count(*) FROM logs WHERE event_date < DATE '2015-02-12'",
    )
    .await;
    assert_eq!(total, [("all".into(), 6)]);
}

#[tokio::test]
async fn missing_folder_is_refused_at_registration() {
    let err = LogArchiveTable::try_new("/no/such/logs").expect_err("missing");
    assert!(err.to_string().contains("/no/such/logs"));
}
