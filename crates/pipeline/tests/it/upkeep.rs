//! The night's upkeep tasks (compact, vacuum, checkpoint) over real nights of
//! the simulated site: each has its row in the run history, the numbers stay
//! the simulator's, and the warehouse folder holds only what the latest
//! version reads once the retention is zero.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use darkroom_pipeline::{CHECKPOINT_TABLES, COMPACT_TABLES, TaskState, VACUUM_TABLES};

use crate::support::{TestProject, day, runtime};

/// The project with `[warehouse]` settings of its own.
fn project_keeping(days: u64, checkpoint_every: u64) -> TestProject {
    let site = TestProject::new();
    let path = site.path().join("darkroom.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    let config = config
        .replace("keep_versions_days = 7", &format!("keep_versions_days = {days}"))
        .replace(
            "checkpoint_every_commits = 10",
            &format!("checkpoint_every_commits = {checkpoint_every}"),
        );
    std::fs::write(&path, config).expect("write config");
    let loaded = site.project().config.warehouse;
    assert_eq!(
        (loaded.keep_versions_days, loaded.checkpoint_every_commits),
        (days, checkpoint_every)
    );
    site
}

fn parquet_files(table_dir: &Path) -> BTreeSet<PathBuf> {
    walkdir::WalkDir::new(table_dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .filter(|e| !e.path().starts_with(table_dir.join("_delta_log")))
        .map(|e| e.path().strip_prefix(table_dir).expect("inside").to_owned())
        .collect()
}

/// The files the table's latest version is made of, as deltalake reads its log.
fn files_of_latest_version(table_dir: &Path) -> BTreeSet<PathBuf> {
    runtime().block_on(async {
        let url = url::Url::from_directory_path(table_dir).expect("url");
        let table = deltalake::open_table(url).await.expect("open");
        table
            .get_file_uris()
            .expect("files")
            .map(|uri| {
                let path = uri
                    .strip_prefix("file://")
                    .map_or_else(|| PathBuf::from(&uri), PathBuf::from);
                let path = percent_decode(&path.to_string_lossy());
                PathBuf::from(path).strip_prefix(table_dir).expect("inside").to_owned()
            })
            .collect()
    })
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[test]
fn nine_nights_with_no_retention_leave_only_the_files_the_latest_versions_read() {
    let site = project_keeping(0, 3);
    let reports = site.grow_and_run(9, 150, "");
    for report in &reports {
        for task in [COMPACT_TABLES, VACUUM_TABLES, CHECKPOINT_TABLES] {
            let ran = report
                .tasks
                .iter()
                .find(|t| t.task == task)
                .expect("upkeep task in the report");
            assert_eq!(
                ran.state,
                TaskState::Succeeded,
                "{task} on {}: {:?}",
                report.day,
                ran.error
            );
            assert!(ran.note.is_some(), "{task} says what it did");
        }
    }
    // Upkeep starts once every other task of its night has finished.
    let overlapping = site.query(&format!(
        "SELECT count(*) FROM etl_task_runs upkeep JOIN etl_task_runs other ON other.run_id = upkeep.run_id \
         WHERE upkeep.task = '{COMPACT_TABLES}' \
         AND other.task NOT IN ('{COMPACT_TABLES}', '{VACUUM_TABLES}', '{CHECKPOINT_TABLES}') \
         AND other.finished > upkeep.started"
    ));
    assert_eq!(overlapping, vec![vec!["0".to_owned()]]);
    // etl_log_files gains one file a night: compacted on the eighth.
    let eighth = reports[7]
        .tasks
        .iter()
        .find(|t| t.task == COMPACT_TABLES)
        .expect("compact");
    assert!(
        eighth
            .note
            .as_deref()
            .is_some_and(|n| n.contains("etl_log_files: 8 files into 1")),
        "{:?}",
        eighth.note
    );

    let warehouse = site.path().join("warehouse");
    let mut checkpointed = 0;
    for entry in std::fs::read_dir(&warehouse).expect("warehouse") {
        let table_dir = entry.expect("entry").path();
        if !table_dir.join("_delta_log").is_dir() {
            continue;
        }
        assert_eq!(
            parquet_files(&table_dir),
            files_of_latest_version(&table_dir),
            "{}: exactly the latest version's files are left",
            table_dir.display()
        );
        if table_dir.join("_delta_log/_last_checkpoint").is_file() {
            checkpointed += 1;
        }
    }
    assert!(
        checkpointed >= 10,
        "tables of nine nightly commits are checkpointed, got {checkpointed}"
    );

    // Nothing a reader counts moved: the simulator's counts on every day whose
    // late lines have arrived (all but the last), and every logged event once.
    let truth = site.truth();
    for (metric, table) in [("likes", "fact_likes"), ("uploads", "fact_uploads")] {
        let counted = site.query(&format!(
            "SELECT CAST(event_date AS VARCHAR), count(*) FROM {table} GROUP BY 1 ORDER BY 1"
        ));
        for d in (0..8).map(day) {
            let got = counted
                .iter()
                .find(|row| row[0] == d)
                .map_or("0", |row| row[1].as_str());
            let expected = &truth[&(d.clone(), metric.to_owned())];
            assert_eq!(got.parse::<f64>().ok(), expected.parse::<f64>().ok(), "{metric} on {d}");
        }
    }
    assert_eq!(
        site.query("SELECT count(*) FROM raw_events"),
        site.query("SELECT CAST(sum(events) AS BIGINT) FROM etl_log_files")
    );
    assert_eq!(
        site.query("SELECT count(*) FROM etl_log_files WHERE events > 0"),
        site.query("SELECT count(DISTINCT source_file) FROM raw_events")
    );
    let history = site.query(&format!(
        "SELECT count(*) FROM etl_task_runs WHERE task IN ('{COMPACT_TABLES}', '{VACUUM_TABLES}', '{CHECKPOINT_TABLES}') \
         AND state = 'succeeded'"
    ));
    assert_eq!(
        history,
        vec![vec!["27".to_owned()]],
        "three rows a night in the run history"
    );
}
