use axum::http::StatusCode;
use serde_json::json;

use crate::support::{App, site, url_encode as encode};

/// The select filters of the charts the injection test reads.
fn select_filters(chart: &str) -> &'static [&'static str] {
    match chart {
        "product-uploads-by-client" => &["client"],
        "funnel-engagement" => &["client", "channel"],
        _ => &[],
    }
}

/// SQL injection through every filter and query-string value: each is refused
/// as a value of the wrong type or matched as a plain value, and the
/// warehouse is exactly as it was.
#[test]
fn filter_values_reach_sql_only_as_typed_values() {
    let site = site();
    let app = App::open(site.path());
    let viewer = app.login("vic");
    let before = app.versions();
    let outside = site.path().join("stolen.csv");
    let hostile = [
        "' OR '1'='1".to_owned(),
        "2015-02-01'; DROP TABLE daily_metrics; --".to_owned(),
        format!("x'); COPY daily_metrics TO '{}'; --", outside.display()),
        "all' UNION SELECT user_id, 'x', 1 FROM dim_users --".to_owned(),
        "$days_start".to_owned(),
        "web\"; SET datafusion.execution.batch_size = 1; --".to_owned(),
        "x".repeat(10_000),
    ];
    let charts = ["product-uploads-by-client", "funnel-engagement", "executive-dau"];
    let defaults: Vec<serde_json::Value> = charts
        .iter()
        .map(|c| app.get(&format!("/api/charts/{c}/data"), &viewer).json())
        .collect();
    for value in &hostile {
        for (chart, default) in charts.iter().zip(&defaults) {
            for key in ["days", "days_start", "days_end", "client", "channel", "sql", "metric"] {
                let path = format!("/api/charts/{chart}/data?{key}={}", encode(value));
                let answer = app.get(&path, &viewer);
                match key {
                    "days" | "days_start" | "days_end" => {
                        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
                        let error = answer.json()["error"].as_str().unwrap_or_default().to_owned();
                        assert!(error.starts_with(&format!("filter `{key}`")), "{path}: {error}");
                    }
                    key if select_filters(chart).contains(&key) => {
                        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
                        assert_eq!(answer.json()["rows"], json!([]), "{path}: matched as a plain value");
                    }
                    _ => {
                        assert_eq!(answer.status, StatusCode::OK, "{path}");
                        assert_eq!(&answer.json(), default, "{path}: a key no filter has changes nothing");
                    }
                }
            }
        }
    }
    // The editor's own parameters are typed the same way.
    let editor = app.login("eve");
    let answer = app.post_json(
        "/api/query",
        &editor,
        json!({"sql": "SELECT count(*) AS n FROM daily_metrics WHERE metric = $m", "params": {"m": "dau' OR '1'='1"}}),
    );
    assert_eq!(answer.json()["rows"], json!([[0]]), "{}", answer.text());
    assert_eq!(app.versions(), before, "no table changed");
    assert!(!outside.exists(), "no file written");
}

/// Statements that would change something, through `/api/query`: refused
/// before anything runs, with the warehouse as it was.
#[test]
fn the_query_api_is_read_only() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let before = app.versions();
    let written = site.path().join("written.csv");
    let attempts = [
        "DROP TABLE daily_metrics".to_owned(),
        "DELETE FROM daily_metrics".to_owned(),
        "INSERT INTO daily_metrics VALUES (DATE '2015-01-01', 'dau', 1)".to_owned(),
        "UPDATE daily_metrics SET value = 0".to_owned(),
        "CREATE TABLE t AS SELECT 1".to_owned(),
        "CREATE VIEW v AS SELECT 1".to_owned(),
        format!("COPY daily_metrics TO '{}'", written.display()),
        format!("CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '{}'", written.display()),
        "SET datafusion.execution.batch_size = 1".to_owned(),
        "TRUNCATE daily_metrics".to_owned(),
    ];
    for sql in &attempts {
        let answer = app.post_json("/api/query", &editor, json!({ "sql": sql }));
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{sql}: {}", answer.text());
        assert!(answer.json()["hint"].as_str().is_some_and(|h| !h.is_empty()), "{sql}");
    }
    assert_eq!(app.versions(), before);
    assert!(!written.exists());
    let limited = app.post_json(
        "/api/query",
        &editor,
        json!({"sql": "SELECT * FROM daily_metrics", "limit": 5}),
    );
    let body = limited.json();
    assert_eq!(
        (body["row_count"].as_u64(), body["truncated"].as_bool()),
        (Some(5), Some(true))
    );
    assert_eq!(body["rows"].as_array().map(Vec::len), Some(5));
    assert_eq!(body["columns"][0], json!({"name": "date", "type": "Date32"}));
}
