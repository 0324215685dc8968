//! Luigi's contract: complete tasks are skipped, failures stop dependants only,
//! reruns resume, runs never interleave, snapshots are never rewritten.

use darkroom_pipeline::{PipelineError, RunLock, TaskState};

use crate::support::{TestProject, day};

fn state_of(report: &darkroom_pipeline::RunReport, task: &str) -> TaskState {
    report
        .tasks
        .iter()
        .find(|t| t.task == task)
        .unwrap_or_else(|| panic!("no task {task}"))
        .state
}

#[test]
fn a_finished_day_run_again_writes_nothing_and_force_rebuilds_all_but_the_snapshot() {
    let site = TestProject::new();
    site.grow_and_run(3, 200, "");
    let before = site.versions();
    let again = site.run(&day(2), false).expect("rerun");
    assert!(again[0].tasks.iter().all(|t| t.state == TaskState::Skipped));
    assert_eq!(site.versions(), before, "same Delta versions");

    let forced = site.run(&day(2), true).expect("forced");
    assert!(forced[0].failed().is_empty());
    let after = site.versions();
    assert!(after["fact_page_views"] > before["fact_page_views"]);
    assert!(after["prod_users"] > before["prod_users"]);
    assert_eq!(
        after["fact_subscriber_snapshots"], before["fact_subscriber_snapshots"],
        "a snapshot is taken once"
    );
    // Rebuilding the day changed no number.
    let per_day = "SELECT CAST(event_date AS VARCHAR), count(*) FROM fact_page_views GROUP BY 1 ORDER BY 1";
    let counts = site.query(per_day);
    assert_eq!(counts.len(), 3);
    assert_eq!(
        site.query("SELECT count(*) FROM raw_events"),
        site.query("SELECT count(*) FROM logs")
    );
}

#[test]
fn a_failed_task_stops_its_dependants_only_and_the_rerun_resumes_there() {
    let site = TestProject::new();
    site.grow_and_run(1, 200, "");
    site.advance(1, 200, "");
    // Engineering renames a column production's users table.
    let db = site.path().join("production.db");
    let sqlite_url = format!("sqlite://{}", db.display());
    crate::support::execute(
        &sqlite_url,
        &["ALTER TABLE users RENAME COLUMN created_at TO registered_at"],
    );
    let users_before = site.query("SELECT count(*) FROM prod_users");
    let versions_before = site.versions();

    let error = site.run(&day(1), false).expect_err("snapshot fails");
    let PipelineError::RunFailed { tasks, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!(tasks, "snapshot_users");
    let history = site.last_run_tasks();
    let find = |task: &str| history.iter().find(|r| r[0] == task).cloned().expect("task in history");
    let failed = find("snapshot_users");
    assert_eq!(failed[1], "failed");
    assert!(
        failed[2].contains("production table users has no column created_at"),
        "{}",
        failed[2]
    );
    assert!(
        failed[2].contains("registered_at"),
        "names what is there instead: {}",
        failed[2]
    );
    assert_eq!(find("dim_users")[1], "upstream_failed");
    assert_eq!(find("fact_page_views")[1], "succeeded", "independent tasks still run");
    // The last good snapshot of users is still there, unchanged.
    assert_eq!(site.query("SELECT count(*) FROM prod_users"), users_before);
    assert_eq!(site.versions()["prod_users"], versions_before["prod_users"]);
    assert_eq!(site.versions()["dim_users"], versions_before["dim_users"]);

    // Fixed: the rerun runs the failed task and its dependants, nothing else.
    crate::support::execute(
        &sqlite_url,
        &["ALTER TABLE users RENAME COLUMN registered_at TO created_at"],
    );
    let resumed = site.run(&day(1), false).expect("rerun succeeds");
    assert_eq!(state_of(&resumed[0], "load_logs"), TaskState::Skipped);
    assert_eq!(state_of(&resumed[0], "fact_page_views"), TaskState::Skipped);
    assert_eq!(state_of(&resumed[0], "snapshot_users"), TaskState::Succeeded);
    assert_eq!(state_of(&resumed[0], "dim_users"), TaskState::Succeeded);
}

#[test]
fn a_second_run_on_the_same_project_is_refused_while_the_first_holds_the_lock() {
    let site = TestProject::new();
    site.advance(1, 100, "");
    let held = RunLock::acquire(site.path()).expect("first run's lock");
    let error = site.run(&day(0), false).expect_err("locked");
    assert!(matches!(error, PipelineError::Locked { .. }), "{error}");
    assert!(
        error.to_string().contains(&format!("pid {}", std::process::id())),
        "{error}"
    );
    assert!(!site.path().join("warehouse").exists(), "nothing was written");
    assert!(
        darkroom_pipeline::run_in_progress(site.path()),
        "readers see a run going"
    );
    drop(held);
    assert!(
        !darkroom_pipeline::run_in_progress(site.path()),
        "and see it end at once"
    );
    site.run(&day(0), false).expect("runs once the lock is free");
    assert!(!darkroom_pipeline::run_in_progress(site.path()));
}

/// Regression: a fresh project whose first run is a day long past took no
/// snapshot, so `fact_subscriber_snapshots` did not exist and every model
/// reading it failed with "table not found" for each day of the backfill.
#[test]
fn a_first_backfill_of_old_days_builds_every_table_with_an_empty_snapshot_gap() {
    let site = TestProject::new();
    site.advance(4, 200, "");
    let reports = site.run(&day(0), false).expect("run");
    let report = &reports[0];
    assert!(report.failed().is_empty(), "{:?}", report.failed());
    let snapshot = report
        .tasks
        .iter()
        .find(|t| t.task == "subscriber_snapshot")
        .expect("snapshot task");
    assert!(
        snapshot
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("no subscriber snapshot"),
        "{snapshot:?}"
    );
    assert_eq!(site.query("SELECT count(*) FROM fact_subscriber_snapshots"), [["0"]]);
    let page_views = site.query(&format!(
        "SELECT count(*) FROM fact_page_views WHERE event_date = DATE '{}'",
        day(0)
    ));
    assert_ne!(page_views, [["0"]], "the day's facts are built");
    assert_eq!(
        site.query("SELECT count(DISTINCT metric) FROM daily_metrics"),
        [["27"]],
        "every metric of the day is computed"
    );
}

#[test]
fn a_backfill_long_after_the_day_takes_no_snapshot_and_keeps_existing_ones() {
    let site = TestProject::new();
    site.grow_and_run(2, 200, "");
    site.advance(5, 200, "");
    let snapshots_before = site
        .query("SELECT CAST(snapshot_date AS VARCHAR), count(*) FROM fact_subscriber_snapshots GROUP BY 1 ORDER BY 1");
    let project = site.project();
    let reports = crate::support::runtime()
        .block_on(darkroom_pipeline::run_range(
            &project,
            darkroom_pipeline::parse_day(&day(0)).expect("day"),
            darkroom_pipeline::parse_day(&day(4)).expect("day"),
            darkroom_pipeline::RunOptions { force: true },
            |_| {},
        ))
        .expect("backfill");
    let days: Vec<&str> = reports.iter().map(|r| r.day.as_str()).collect();
    assert_eq!(
        days,
        [day(0), day(1), day(2), day(3), day(4)]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    let note = |r: &darkroom_pipeline::RunReport| {
        r.tasks
            .iter()
            .find(|t| t.task == "subscriber_snapshot")
            .and_then(|t| t.note.clone())
            .unwrap_or_default()
    };
    assert!(note(&reports[0]).contains("never rewritten"), "{}", note(&reports[0]));
    assert!(
        note(&reports[2]).contains("no subscriber snapshot"),
        "{}",
        note(&reports[2])
    );
    assert_eq!(
        site.query(
            "SELECT CAST(snapshot_date AS VARCHAR), count(*) FROM fact_subscriber_snapshots GROUP BY 1 ORDER BY 1"
        ),
        snapshots_before
    );
}

/// `dim_users` reads apps from `user_apps`, which each night extends by the days it
/// touched: after several nights (late lines included) it must still say what all
/// of `raw_events` says.
#[test]
fn apps_kept_by_day_agree_with_every_raw_event_after_several_nights() {
    let site = TestProject::new();
    site.grow_and_run(4, 200, "");
    let rows = site.query(
        "WITH direct AS (
           SELECT user_id, bool_or(client = 'android') AS android, bool_or(client = 'iphone') AS iphone
           FROM raw_events WHERE user_id IS NOT NULL GROUP BY user_id
         )
         SELECT sum(CASE WHEN d.has_android_app THEN 1 ELSE 0 END),
                sum(CASE WHEN d.has_iphone_app THEN 1 ELSE 0 END),
                sum(CASE WHEN d.has_android_app <> coalesce(r.android, false)
                          OR d.has_iphone_app <> coalesce(r.iphone, false) THEN 1 ELSE 0 END)
         FROM dim_users d LEFT JOIN direct r ON r.user_id = d.user_id",
    );
    let [android, iphone, disagree] = [0, 1, 2].map(|i| rows[0][i].parse::<i64>().expect("a count"));
    assert!(android > 0 && iphone > 0, "the site has app users: {rows:?}");
    assert_eq!(disagree, 0, "{rows:?}");
}

/// A project whose state.db predates the task runs' `note` column keeps its
/// history: the column is added when the database is opened, NULL for old rows.
#[test]
fn a_state_db_from_before_task_notes_keeps_its_history_and_gains_the_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = rusqlite::Connection::open(dir.path().join(darkroom_pipeline::STATE_FILE)).expect("old state.db");
    old.execute_batch(
        "CREATE TABLE task_runs (run_id INTEGER NOT NULL, day TEXT NOT NULL, task TEXT NOT NULL, \
         state TEXT NOT NULL, started TEXT, finished TEXT, seconds REAL, rows_written INTEGER, \
         table_versions TEXT, touched_days TEXT, error TEXT, PRIMARY KEY (run_id, task));
         INSERT INTO task_runs (run_id, day, task, state, seconds) VALUES (1, '2015-02-02', 'load_logs', 'succeeded', 1.5);",
    )
    .expect("old schema");
    drop(old);

    let state = darkroom_pipeline::StateDb::open(dir.path()).expect("opens");
    let rows = state.task_runs().expect("history");
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].task.as_str(), rows[0].note.as_deref()), ("load_logs", None));
    let record = darkroom_pipeline::TaskRecord {
        note: Some("ran again alone".into()),
        ..darkroom_pipeline::TaskRecord::default()
    };
    state
        .finish_task(2, "2015-02-02", "funnel_steps", TaskState::Succeeded, &record)
        .expect("writes a note");
    drop(state);
    let reopened = darkroom_pipeline::StateDb::open(dir.path()).expect("opens again");
    let notes: Vec<Option<String>> = reopened
        .task_runs()
        .expect("history")
        .into_iter()
        .map(|r| r.note)
        .collect();
    assert_eq!(notes, [None, Some("ran again alone".to_owned())]);
}

/// `metric_restatements`, `daily_metrics` and `daily_metrics_by_client`, row by row.
#[derive(Debug, PartialEq)]
struct Published {
    restated: Vec<Vec<String>>,
    totals: Vec<Vec<String>>,
    by_client: Vec<Vec<String>>,
}

/// What a site of two days published, the second run stopped by `fail_point`
/// (if any) between two of the task's commits, then run again.
fn restated_after_stopping_at(fail_point: Option<&str>) -> Published {
    let site = TestProject::new();
    site.grow_and_run(1, 2000, "");
    site.advance(1, 2000, "");
    if let Some(point) = fail_point {
        fail::cfg(point, "return").expect("fail point");
        let error = site
            .run(&day(1), false)
            .expect_err("the task stops between its commits");
        assert!(matches!(error, PipelineError::RunFailed { .. }), "{error}");
        fail::remove(point);
    }
    let resumed = site.run(&day(1), false).expect("the rerun succeeds");
    assert!(resumed[0].failed().is_empty());
    let restated =
        site.query("SELECT CAST(date AS VARCHAR), metric, old_value, new_value FROM metric_restatements ORDER BY 1, 2");
    let totals = site.query("SELECT CAST(date AS VARCHAR), metric, value FROM daily_metrics ORDER BY 1, 2");
    let by_client =
        site.query("SELECT CAST(date AS VARCHAR), metric, client, value FROM daily_metrics_by_client ORDER BY 1, 2, 3");
    Published {
        restated,
        totals,
        by_client,
    }
}

/// Regression: `daily_metrics` published the new values before recording the
/// change, so a run that died between the two commits lost the old value for
/// good. Stopped between any two of its commits, the rerun leaves the same
/// restatements (each once) and the same values as a run never stopped.
#[test]
fn a_restatement_survives_a_run_stopped_between_its_commits() {
    let uninterrupted = restated_after_stopping_at(None);
    assert!(
        !uninterrupted.restated.is_empty(),
        "the second night's late lines restate the first day"
    );
    for point in ["daily_metrics::after_restatements", "daily_metrics::after_totals"] {
        assert_eq!(
            restated_after_stopping_at(Some(point)),
            uninterrupted,
            "stopped at {point}"
        );
    }
}
