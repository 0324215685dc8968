use std::sync::Arc;

use arrow::array::{Date32Array, Int64Array, StringArray};
use darkroom_metrics::{DayValues, compute, restatements};
use datafusion::prelude::SessionContext;

use crate::{catalog, day, register, runtime};

const CATALOG: &str = r#"
[[metrics]]
name = "active_users"
definition = "distinct users with an event on d"
team = "product"
stage = "engagement"
unit = "users"
table = "events"
date_column = "event_date"
measure = "count(DISTINCT user_id)"
client_column = "client"

[[metrics]]
name = "events_per_user"
definition = "events on d / distinct users on d"
team = "product"
stage = "engagement"
unit = "ratio"
sql = """
SELECT event_date AS date, CAST(count(*) AS DOUBLE) / count(DISTINCT user_id) AS value
FROM events WHERE event_date IN (SELECT day FROM metric_days)
GROUP BY 1
"""
"#;

fn events(ctx: &SessionContext) {
    let (mon, tue) = (day("2015-02-02"), day("2015-02-03"));
    register(
        ctx,
        "events",
        vec![
            ("event_date", Arc::new(Date32Array::from(vec![mon, mon, mon, tue]))),
            ("user_id", Arc::new(Int64Array::from(vec![1, 1, 2, 3]))),
            (
                "client",
                Arc::new(StringArray::from(vec![Some("web"), Some("iphone"), None, Some("web")])),
            ),
        ],
    );
}

#[test]
fn totals_breakdowns_and_empty_days_follow_the_unit() {
    let ctx = SessionContext::new();
    events(&ctx);
    let (mon, tue, wed) = (day("2015-02-02"), day("2015-02-03"), day("2015-02-04"));
    let result = runtime()
        .block_on(compute(&ctx, &catalog(CATALOG), &[mon, tue, wed]))
        .expect("computed");
    let total = |d: i32, m: &str| result.totals[&(d, m.to_owned())];
    assert_eq!(total(mon, "active_users"), Some(2.0));
    assert_eq!(total(tue, "active_users"), Some(1.0));
    assert_eq!(total(wed, "active_users"), Some(0.0), "no events: zero users");
    assert_eq!(total(mon, "events_per_user"), Some(1.5));
    assert_eq!(total(wed, "events_per_user"), None, "a ratio of nothing is undefined");
    let client = |c: &str| {
        result
            .by_client
            .get(&(mon, "active_users".to_owned(), c.to_owned()))
            .copied()
    };
    assert_eq!(client("web"), Some(Some(1.0)));
    assert_eq!(client("iphone"), Some(Some(1.0)));
    assert_eq!(client("unknown"), Some(Some(1.0)), "a NULL client is unknown");
    assert!(
        !result.by_client.keys().any(|(_, m, _)| m == "events_per_user"),
        "a SQL metric has no breakdown"
    );
    let batch = result.totals_batch().expect("batch");
    assert_eq!(batch.num_rows(), 6);
}

#[test]
fn a_failing_metric_names_itself_and_the_engine_error() {
    let ctx = SessionContext::new();
    events(&ctx);
    let text = CATALOG.replace("count(DISTINCT user_id)\"", "count(DISTINCT usr)\"");
    let error = runtime()
        .block_on(compute(&ctx, &catalog(&text), &[day("2015-02-02")]))
        .expect_err("fails");
    let message = error.to_string();
    assert!(
        message.starts_with("metric `active_users`: its SQL failed: "),
        "{message}"
    );
    assert!(message.contains("usr"), "{message}");
    assert!(!error.is_usage());
}

#[test]
fn a_metric_of_the_wrong_shape_is_named() {
    let ctx = SessionContext::new();
    events(&ctx);
    let text = CATALOG
        .replace(
            "SELECT event_date AS date, CAST(count(*) AS DOUBLE) / count(DISTINCT user_id) AS value",
            "SELECT DISTINCT event_date AS date",
        )
        .replace("GROUP BY 1\n", "");
    let error = runtime()
        .block_on(compute(&ctx, &catalog(&text), &[day("2015-02-02")]))
        .expect_err("fails");
    assert_eq!(
        error.to_string(),
        "metric `events_per_user`: its SQL failed: it must return the columns date and value"
    );
}

#[test]
fn a_recomputed_day_restates_only_what_changed() {
    let ctx = SessionContext::new();
    events(&ctx);
    let mon = day("2015-02-02");
    let published: DayValues = runtime()
        .block_on(compute(&ctx, &catalog(CATALOG), &[mon]))
        .expect("first")
        .totals;
    // A late line for Monday arrives.
    let ctx = SessionContext::new();
    register(
        &ctx,
        "events",
        vec![
            ("event_date", Arc::new(Date32Array::from(vec![mon, mon, mon, mon]))),
            ("user_id", Arc::new(Int64Array::from(vec![1, 1, 2, 4]))),
            (
                "client",
                Arc::new(StringArray::from(vec!["web", "iphone", "web", "web"])),
            ),
        ],
    );
    let recomputed = runtime()
        .block_on(compute(&ctx, &catalog(CATALOG), &[mon]))
        .expect("again");
    let restated = restatements(&published, &recomputed.totals);
    let changes: Vec<(String, Option<f64>, Option<f64>)> = restated
        .iter()
        .map(|r| (r.metric.clone(), r.old_value, r.new_value))
        .collect();
    assert_eq!(
        changes,
        [
            ("active_users".to_owned(), Some(2.0), Some(3.0)),
            ("events_per_user".to_owned(), Some(1.5), Some(4.0 / 3.0)),
        ]
    );
}
