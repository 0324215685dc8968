//! Bad models, bad sources and bad configuration: a clear error naming where,
//! a failed task in the run history, and no table changed.

use darkroom_pipeline::{PipelineError, Project, TaskState};

use crate::support::{TestProject, day};

/// Runs day 1 of a site whose day 0 ran fine, after `break_it`; checks that the
/// failed tasks' tables and their dependants' tables did not change.
fn second_day_fails(break_it: impl FnOnce(&TestProject), unchanged: &[&str]) -> (TestProject, PipelineError) {
    let site = TestProject::new();
    site.grow_and_run(1, 100, "");
    site.advance(1, 100, "");
    break_it(&site);
    let before = site.versions();
    let error = site.run(&day(1), false).expect_err("the run fails");
    let after = site.versions();
    for table in unchanged {
        assert_eq!(before.get(*table), after.get(*table), "{table} changed");
        assert!(before.contains_key(*table), "{table} exists from day 0");
    }
    (site, error)
}

/// Runs day 0 with one bad model: only that model's task fails, it writes
/// nothing, every other task succeeds. Returns the failed task's error.
fn only_the_model_fails(site: &TestProject, model: &str) -> String {
    let error = site.run(&day(0), false).expect_err("fails");
    assert_eq!(
        error.to_string(),
        format!("1 task(s) of the run for 2015-02-02 failed: {model}")
    );
    let history = site.last_run_tasks();
    let failed = history.iter().find(|t| t[0] == model).expect("in history");
    assert_eq!(failed[1], "failed");
    assert!(
        !site.path().join("warehouse").join(model).join("_delta_log").exists(),
        "nothing was written"
    );
    assert!(
        history.iter().filter(|t| t[0] != model).all(|t| t[1] == "succeeded"),
        "every other task did its work: {history:?}"
    );
    failed[2].clone()
}

#[test]
fn a_model_with_a_sql_error_is_named_with_its_file_line_and_column() {
    let site = TestProject::new();
    site.advance(1, 100, "");
    std::fs::write(
        site.path().join("models/broken.sql"),
        "-- description: a typo\nSELECT event_date,\n       count(*) AS views\nFROM raw_events\nWHERE actoin = 'page_view'\nGROUP BY event_date\n",
    )
    .expect("write model");
    let broken = only_the_model_fails(&site, "broken");
    assert!(broken.contains("models/broken.sql line 5, column 7"), "{broken}");
    assert!(broken.contains("actoin"), "{broken}");
    assert!(broken.contains("hint: fix the SQL at that line and column"), "{broken}");
}

fn limit_run_memory(site: &TestProject, memory_limit_mb: u64) {
    let config = std::fs::read_to_string(site.path().join("darkroom.toml")).expect("config");
    std::fs::write(
        site.path().join("darkroom.toml"),
        format!("{config}\n[run]\nmax_concurrent_tasks = 2\nmemory_limit_mb = {memory_limit_mb}\n"),
    )
    .expect("write config");
}

/// Regression: a hash join cannot spill, so a model whose join outgrew
/// `[run] memory_limit_mb` failed, though the same join sorted fits in it.
/// Now the task runs once more, alone, with sort-merge joins, which spill.
#[test]
fn a_hash_join_past_the_run_memory_limit_runs_again_alone_with_joins_that_spill() {
    let site = TestProject::new();
    site.advance(1, 100, "");
    limit_run_memory(&site, 64);
    std::fs::write(
        site.path().join("models/hungry.sql"),
        "-- description: joins two lists of five million numbers, read in batches\n\
         SELECT count(*) AS matches\n\
         FROM generate_series(1, 5000000) x\n\
         JOIN generate_series(1, 5000000) y ON x.value = y.value\n",
    )
    .expect("write model");
    let reports = site.run(&day(0), false).expect("the second attempt succeeds");
    let hungry = reports[0].tasks.iter().find(|t| t.task == "hungry").expect("task");
    assert_eq!(hungry.state, TaskState::Succeeded, "{hungry:?}");
    let note = hungry.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("ran out of [run] memory_limit_mb = 64")
            && note.contains("ran again alone with sort-merge joins"),
        "{note}"
    );
    assert_eq!(site.query("SELECT matches FROM hungry"), [["5000000"]]);
    let history = site.query("SELECT state, note FROM etl_task_runs WHERE task = 'hungry'");
    assert_eq!(history, [["succeeded", note]], "the run history keeps the note");
    assert!(
        reports[0].tasks.iter().all(|t| t.state == TaskState::Succeeded),
        "every other task did its work"
    );
}

/// Past the run's memory limit even alone with spilling joins (a sort must hold
/// one batch of three 40 MB strings before it can spill anything), the task
/// fails with a hint naming the setting, instead of the process growing until
/// the machine kills it.
#[test]
fn a_model_past_the_run_memory_limit_even_alone_fails_with_a_hint_naming_the_setting() {
    let site = TestProject::new();
    site.advance(1, 100, "");
    limit_run_memory(&site, 64);
    std::fs::write(
        site.path().join("models/hungry.sql"),
        "-- description: sorts three strings of 40 million characters\n\
         SELECT max(r) AS top\n\
         FROM (SELECT row_number() OVER (ORDER BY s) AS r\n\
               FROM (SELECT repeat(CAST(value AS VARCHAR), 40000000) AS s FROM generate_series(1, 3)) t) w\n",
    )
    .expect("write model");
    let hungry = only_the_model_fails(&site, "hungry");
    assert!(
        hungry.contains("hint: the task's SQL needed more than the run's memory limit ([run] memory_limit_mb = 64"),
        "{hungry}"
    );
}

#[test]
fn a_model_that_does_not_parse_is_named_with_its_line_and_column() {
    let site = TestProject::new();
    std::fs::write(
        site.path().join("models/broken.sql"),
        "SELECT 1\nFROM raw_events WHERE x = = 1\n",
    )
    .expect("write");
    let error = darkroom_pipeline::project_dag(&site.project()).expect_err("fails");
    assert_eq!(
        error.to_string(),
        format!(
            "model {} line 2, column 27: Expected: an expression, found: =",
            site.path().join("models/broken.sql").display()
        )
    );
}

#[test]
fn a_dependency_cycle_is_named() {
    let site = TestProject::new();
    std::fs::write(site.path().join("models/a.sql"), "SELECT * FROM b").expect("write");
    std::fs::write(site.path().join("models/b.sql"), "SELECT * FROM a").expect("write");
    let error = darkroom_pipeline::project_dag(&site.project()).expect_err("cycle");
    let message = error.to_string();
    assert!(
        message.contains("a -> b -> a") || message.contains("b -> a -> b"),
        "{message}"
    );
    assert!(error.hint().contains("cycle"));
}

#[test]
fn a_model_reading_a_table_nobody_writes_is_named() {
    let site = TestProject::new();
    std::fs::write(site.path().join("models/orphan.sql"), "SELECT * FROM fact_pageviews").expect("write");
    let error = darkroom_pipeline::project_dag(&site.project()).expect_err("unknown table");
    assert_eq!(
        error.to_string(),
        format!(
            "model {} reads table fact_pageviews, which no task produces",
            site.path().join("models/orphan.sql").display()
        )
    );
}

/// Regression: a model reading a table function (`generate_series`, the usual
/// date spine) was refused as reading "table generate_series, which no task
/// produces": DataFusion lists table functions among a statement's tables.
#[test]
fn a_model_over_a_table_function_requires_only_the_tables_it_reads() {
    let site = TestProject::new();
    std::fs::write(
        site.path().join("models/days_with_views.sql"),
        "SELECT d.value AS day, count(v.event_date) AS views\n\
         FROM generate_series(DATE '2015-01-01', DATE '2015-01-31', INTERVAL '1 day') d\n\
         LEFT JOIN fact_page_views v ON v.event_date = CAST(d.value AS DATE)\n\
         GROUP BY d.value\n",
    )
    .expect("write");
    let dag = darkroom_pipeline::project_dag(&site.project()).expect("a valid DAG");
    let task = dag.task("days_with_views").expect("the model is a task");
    assert_eq!(task.requires, ["fact_page_views"]);
}

#[test]
fn a_dropped_production_table_fails_its_snapshot_and_keeps_the_last_good_one() {
    let (site, error) = second_day_fails(
        |site| {
            let url = format!("sqlite://{}", site.path().join("production.db").display());
            crate::support::execute(&url, &["DROP TABLE stock_purchases"]);
        },
        &["prod_stock_purchases", "fact_stock_purchases"],
    );
    assert!(error.to_string().contains("snapshot_stock_purchases"), "{error}");
    let tasks = site.last_run_tasks();
    let failed: Vec<_> = tasks.iter().filter(|t| t[1] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0][2].contains("production table stock_purchases is missing"),
        "{:?}",
        failed[0]
    );
    assert!(
        tasks
            .iter()
            .any(|t| t[0] == "fact_stock_purchases" && t[1] == "upstream_failed")
    );
    // The last good snapshot is still readable.
    assert_eq!(
        site.query("SELECT count(*) >= 0 FROM prod_stock_purchases"),
        vec![vec!["true".to_owned()]]
    );
}

/// SQLite keeps whatever a column is given; the snapshot (read natively, not as
/// text) must still refuse a value of the wrong type, naming table, column and value.
#[test]
fn a_production_value_of_the_wrong_type_names_the_table_column_and_value() {
    let (site, _error) = second_day_fails(
        |site| {
            let url = format!("sqlite://{}", site.path().join("production.db").display());
            crate::support::execute(
                &url,
                &[
                    "UPDATE users SET created_at = 'last tuesday' WHERE id = (SELECT max(id) FROM users)",
                    "UPDATE photos SET category = 'landscape' WHERE id = (SELECT max(id) FROM photos)",
                ],
            );
        },
        &["prod_users", "prod_photos", "dim_users", "dim_photos"],
    );
    let tasks = site.last_run_tasks();
    let failed: Vec<_> = tasks.iter().filter(|t| t[1] == "failed").collect();
    assert_eq!(failed.len(), 2, "{tasks:?}");
    assert!(
        failed[0][0] == "snapshot_photos"
            && failed[0][2].contains("production photos.category holds \"landscape\", which is not an integer"),
        "{:?}",
        failed[0]
    );
    assert!(
        failed[1][0] == "snapshot_users"
            && failed[1][2]
                .contains("production users.created_at holds \"last tuesday\", which is not a DATETIME/TIMESTAMP"),
        "{:?}",
        failed[1]
    );
}

#[test]
fn a_production_database_that_refuses_the_connection_fails_the_snapshots_with_a_hint() {
    let (site, _error) = second_day_fails(
        |site| {
            let config = std::fs::read_to_string(site.path().join("darkroom.toml")).expect("config");
            let config = config.replace(
                "url = \"sqlite://production.db\"",
                "url = \"mysql://darkroom:secret@127.0.0.1:1/photosite\"\nconnect_timeout_seconds = 2",
            );
            std::fs::write(site.path().join("darkroom.toml"), config).expect("write");
        },
        &[
            "prod_users",
            "prod_photos",
            "prod_subscriptions",
            "prod_subscription_payments",
            "prod_stock_purchases",
            "fact_subscriber_snapshots",
            "fact_subscription_purchases",
            "fact_stock_purchases",
            "dim_users",
            "dim_photos",
        ],
    );
    let tasks = site.last_run_tasks();
    let users = tasks.iter().find(|t| t[0] == "snapshot_users").expect("task");
    assert_eq!(users[1], "failed");
    assert!(
        users[2].contains("cannot connect to the production database mysql://darkroom:***@127.0.0.1:1/photosite"),
        "{users:?}"
    );
    assert!(!users[2].contains("secret"));
    assert!(
        users[2].contains("hint: check that the database is running"),
        "{users:?}"
    );
}

#[test]
fn a_missing_log_folder_fails_the_load_with_the_path() {
    let (site, _error) = second_day_fails(
        |site| {
            std::fs::rename(site.path().join("logs"), site.path().join("logs-moved")).expect("move");
        },
        &[
            "raw_events",
            "etl_log_files",
            "fact_page_views",
            "fact_likes",
            "dim_users",
            "dim_date",
        ],
    );
    std::fs::rename(site.path().join("logs-moved"), site.path().join("logs")).expect("move back");
    let tasks = site.last_run_tasks();
    let load = tasks.iter().find(|t| t[0] == "load_logs").expect("task");
    assert_eq!(load[1], "failed");
    assert!(
        load[2].contains(&site.path().join("logs").display().to_string()),
        "{load:?}"
    );
}

#[test]
fn a_project_file_with_an_unknown_key_or_a_wrong_type_names_the_key() {
    let site = TestProject::new();
    let config = std::fs::read_to_string(site.path().join("darkroom.toml")).expect("config");
    std::fs::write(
        site.path().join("darkroom.toml"),
        config.replace("[query]", "[run]\nmax_concurrent_taks = 3\n\n[query]"),
    )
    .expect("write");
    let error = Project::load(site.path()).expect_err("unknown key");
    assert!(error.to_string().contains("max_concurrent_taks"), "{error}");
    std::fs::write(
        site.path().join("darkroom.toml"),
        config.replace("[query]", "[run]\nmax_concurrent_tasks = \"two\"\n\n[query]"),
    )
    .expect("write");
    let error = Project::load(site.path()).expect_err("wrong type");
    // The key sits on the line after the one `[query]` had.
    let line = config[..config.find("[query]").expect("[query]")].lines().count() + 2;
    assert!(
        error.to_string().ends_with(&format!(
            "line {line}, column 24: [run] max_concurrent_tasks: invalid type: string \"two\", expected usize"
        )),
        "{error}"
    );
}

#[test]
fn a_metric_whose_sql_fails_names_the_metric_and_leaves_daily_metrics_unchanged() {
    let (site, error) = second_day_fails(
        |site| {
            let path = site.path().join("metrics.toml");
            let catalog = std::fs::read_to_string(&path).expect("catalog");
            let broken = catalog.replacen(
                "measure = \"count(DISTINCT user_id)\"",
                "measure = \"count(DISTINCT usr_id)\"",
                1,
            );
            assert_ne!(broken, catalog);
            std::fs::write(&path, broken).expect("write catalog");
        },
        &["daily_metrics", "daily_metrics_by_client", "metric_restatements"],
    );
    assert_eq!(
        error.to_string(),
        "1 task(s) of the run for 2015-02-03 failed: daily_metrics"
    );
    let history = site.last_run_tasks();
    let task = history.iter().find(|t| t[0] == "daily_metrics").expect("in history");
    assert_eq!(task[1], "failed");
    assert!(task[2].starts_with("metric `dau`: its SQL failed: "), "{}", task[2]);
    assert!(task[2].contains("usr_id"), "{}", task[2]);
    assert!(
        task[2].contains("hint: fix that metric's SQL in metrics.toml"),
        "{}",
        task[2]
    );
    // Day 0's published values are still there, and nothing of day 1.
    let days = site.query("SELECT DISTINCT CAST(date AS VARCHAR) FROM daily_metrics");
    assert_eq!(days, vec![vec![day(0)]]);
}

#[test]
fn a_bad_metric_catalog_is_named_with_the_metric_before_anything_runs() {
    let site = TestProject::new();
    site.advance(1, 100, "");
    let path = site.path().join("metrics.toml");
    let catalog = std::fs::read_to_string(&path).expect("catalog");
    let cases = [
        (
            catalog.replacen("table = \"fact_uploads\"", "table = \"fact_upload\"", 1),
            "metrics.toml: metric `uploads` reads table fact_upload, which no task produces",
        ),
        (
            catalog.replacen("team = \"web\"", "team = \"design\"", 1),
            "unknown variant `design`, expected one of `executive`, `product`, `web`, `mobile`, `marketing`, `sales`",
        ),
        (
            catalog.replacen("name = \"uploaders\"", "name = \"uploads\"", 1),
            "metric `uploads`: defined twice; a metric is defined once",
        ),
        (
            catalog.replacen(
                "measure = \"count(*)\"\nclient_column = \"signup_client\"",
                "measure = \"count(*)\"\nsql = \"SELECT 1\"",
                1,
            ),
            "metric `signups`: give either `sql`, or `table` with `measure` (and `date_column`), not both",
        ),
        (
            catalog.replacen("measure = \"sum(take_cents)\"", "measure = \"sum(take_cents\"", 1),
            "metric `marketplace_take_cents`: its SQL does not parse",
        ),
    ];
    for (text, expected) in cases {
        assert_ne!(text, catalog, "{expected}");
        std::fs::write(&path, &text).expect("write catalog");
        let error = site.run(&day(0), false).expect_err("the plan fails");
        assert!(error.to_string().contains(expected), "{error}\nexpected: {expected}");
        assert!(error.is_usage(), "{error}");
        assert!(error.hint().contains("metrics.toml"), "{}", error.hint());
    }
    assert!(!site.path().join("warehouse/daily_metrics").exists(), "nothing ran");
}

/// A `daily_metrics` that ran out of the pool (or met a DataFusion panic) beside
/// another task runs again in the spilling session: every metric must give the
/// same values there as in the run's own session, by day and by client.
#[test]
fn every_metric_gives_the_same_values_with_spilling_joins() {
    let site = TestProject::new();
    site.grow_and_run(3, 100, "");
    let project = site.project();
    let days: Vec<i32> = (0..3)
        .map(|n| darkroom_pipeline::parse_day(&day(n)).expect("day"))
        .collect();
    crate::support::runtime().block_on(async {
        let run = darkroom_warehouse::run_session(256).expect("session");
        darkroom_warehouse::Warehouse::open(&project.resolve(&project.config.warehouse.path))
            .expect("warehouse")
            .register_all(&run)
            .await
            .expect("register");
        let catalog =
            darkroom_metrics::Catalog::load(&site.path().join("metrics.toml"), &run.state()).expect("catalog");
        let hashed = darkroom_metrics::compute(&run, &catalog, &days)
            .await
            .expect("hash joins");
        let spilling = darkroom_warehouse::with_spilling_joins(&run);
        let sorted = darkroom_metrics::compute(&spilling, &catalog, &days)
            .await
            .expect("sort-merge joins");
        assert!(
            hashed.totals.values().filter(|v| v.is_some_and(|v| v > 0.0)).count() > 20,
            "the site's metrics have values to compare: {:?}",
            hashed.totals
        );
        assert_eq!(hashed.totals, sorted.totals);
        assert_eq!(hashed.by_client, sorted.by_client);
    });
}
