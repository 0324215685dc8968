//! Who may change what, through HTTP: a viewer reads, an editor also writes
//! SQL, charts and dashboards, only an admin manages users and shares; and 30
//! attempts to write through the app change nothing in the warehouse.

use std::collections::BTreeSet;
use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{App, Login, site, url_encode};

fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("folder").filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let size = entry.metadata().map_or(0, |m| m.len());
                found.insert(format!("{} {size}", path.display()));
            }
        }
    }
    found
}

#[test]
fn a_viewer_cannot_query_or_save_and_an_editor_cannot_manage_users_or_shares() {
    let site = site();
    let app = App::open(site.path());
    let (viewer, editor) = (app.login("vic"), app.login("eve"));
    let chart = json!({"title": "x", "kind": "table", "sql": "SELECT 1"});
    let dashboard = app.get("/api/dashboards/product/source", &editor).json();
    let viewer_writes: Vec<(Method, &str, serde_json::Value)> = vec![
        (Method::POST, "/api/query", json!({"sql": "SELECT 1"})),
        (Method::POST, "/api/dashboards", json!({"title": "Mine", "team": "web"})),
        (Method::POST, "/api/dashboards/product/charts", chart.clone()),
        (Method::PUT, "/api/charts/product-uploads", chart.clone()),
        (Method::DELETE, "/api/charts/product-uploads", json!({})),
        (
            Method::PUT,
            "/api/dashboards/product",
            json!({"source": dashboard["source"]}),
        ),
        (Method::POST, "/api/dashboards/product/versions/1/restore", json!({})),
        (
            Method::POST,
            "/api/chart-preview",
            json!({"sql": "SELECT 1", "kind": "table"}),
        ),
        (Method::POST, "/api/query/cancel", json!({"query_id": "x"})),
    ];
    let before = std::fs::read_to_string(app.dir.join("dashboards/product.toml")).expect("file");
    for (method, path, body) in viewer_writes {
        let answer = app.send(
            method.clone(),
            path,
            &viewer,
            Some(("application/json", body.to_string())),
        );
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            answer.text()
        );
        assert_eq!(answer.json()["error"], "this needs the editor role; vic is a viewer");
    }
    for page in ["/sql", "/api/schema", "/api/dashboards/product/source"] {
        assert_eq!(app.get(page, &viewer).status, StatusCode::FORBIDDEN, "{page}");
    }
    assert_eq!(
        std::fs::read_to_string(app.dir.join("dashboards/product.toml")).expect("file"),
        before
    );
    let editor_admin_only: Vec<(Method, &str)> = vec![
        (Method::POST, "/api/dashboards/product/share"),
        (Method::GET, "/api/shares"),
        (Method::DELETE, "/api/share-links/abc"),
        (Method::DELETE, "/api/shares/abc"),
        (Method::GET, "/admin"),
    ];
    for (method, path) in editor_admin_only {
        let answer = app.send(
            method.clone(),
            path,
            &editor,
            Some(("application/json", "{}".to_owned())),
        );
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    // Everyone logged in reads the history; nobody logged out does.
    assert_eq!(
        app.get("/api/dashboards/product/versions", &viewer).status,
        StatusCode::OK
    );
    assert_eq!(app.get("/d/product/history", &viewer).status, StatusCode::OK);
    assert_eq!(
        app.get("/api/dashboards/product/versions", &Login::default()).status,
        StatusCode::UNAUTHORIZED
    );
}

/// Thirty ways to write through the app, each refused with a message; the
/// warehouse's Delta versions and files are the same after as before.
#[test]
fn thirty_write_attempts_are_refused_and_change_nothing() {
    let site = site();
    let app = App::open(site.path());
    let (editor, admin) = (app.login("eve"), app.login("ada"));
    let versions_before = app.versions();
    let files_before = files_under(&app.dir.join("warehouse"));
    let outside = app.dir.join("written-by-sql");
    let outside_text = outside.display().to_string();

    let statements = [
        "DROP TABLE daily_metrics".to_owned(),
        "DROP VIEW IF EXISTS daily_metrics".to_owned(),
        "CREATE TABLE stolen AS SELECT * FROM daily_metrics".to_owned(),
        "CREATE VIEW v AS SELECT 1".to_owned(),
        "CREATE SCHEMA other".to_owned(),
        "INSERT INTO daily_metrics SELECT * FROM daily_metrics".to_owned(),
        "DELETE FROM daily_metrics".to_owned(),
        "UPDATE daily_metrics SET value = 0".to_owned(),
        "TRUNCATE daily_metrics".to_owned(),
        format!("COPY daily_metrics TO '{outside_text}.csv'"),
        format!("COPY (SELECT 1) TO '{outside_text}.parquet' STORED AS PARQUET"),
        format!("CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '{outside_text}'"),
        "CREATE EXTERNAL TABLE pw STORED AS CSV LOCATION '/etc/passwd'".to_owned(),
        "SELECT * FROM '/etc/passwd'".to_owned(),
        "SET datafusion.execution.batch_size = 1".to_owned(),
        "SET datafusion.runtime.memory_limit = '100G'".to_owned(),
        "SELECT 1; DROP TABLE daily_metrics".to_owned(),
        "CREATE FUNCTION f() RETURNS INT RETURN 1".to_owned(),
        "DEALLOCATE p".to_owned(),
        "PREPARE p AS DELETE FROM daily_metrics".to_owned(),
    ];
    let mut attempts = 0;
    for sql in &statements {
        let answer = app.post_json("/api/query", &editor, json!({ "sql": sql }));
        assert!(
            answer.status.is_client_error(),
            "{sql}: {} {}",
            answer.status,
            answer.text()
        );
        assert!(!answer.json()["hint"].as_str().unwrap_or_default().is_empty(), "{sql}");
        attempts += 1;
    }
    // Through a chart: saved SQL that writes is refused before the file is touched.
    for sql in [
        "DROP TABLE daily_metrics",
        "INSERT INTO daily_metrics SELECT * FROM daily_metrics",
    ] {
        let answer = app.post_json(
            "/api/dashboards/product/charts",
            &editor,
            json!({"title": "Writes", "kind": "table", "sql": sql}),
        );
        assert!(answer.status.is_client_error(), "{sql}: {}", answer.text());
        attempts += 1;
    }
    // Through filter values: typed parameters, never SQL text. A select's
    // value is compared as text (it matches no client); a date is refused.
    let hostile = [
        "web' OR 1=1; DROP TABLE daily_metrics; --",
        "'); DELETE FROM daily_metrics; --",
        "all' OR '1'='1",
    ];
    for value in hostile {
        let path = format!(
            "/api/charts/product-daily-engaged-by-client/data?days=all_time&client={}",
            url_encode(value)
        );
        let answer = app.get(&path, &editor);
        assert_eq!(answer.status, StatusCode::OK, "{value}: {}", answer.text());
        assert_eq!(answer.json()["rows"], json!([]), "{value} is a value, not SQL");
        attempts += 1;
    }
    for value in [
        "2015-01-01'; TRUNCATE daily_metrics; --",
        "2015-01-01..2015-02-01' OR 1=1",
    ] {
        let path = format!(
            "/api/charts/product-daily-engaged-by-client/data?days={}",
            url_encode(value)
        );
        let answer = app.get(&path, &editor);
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{value}: {}", answer.text());
        attempts += 1;
    }
    // Through a share link: only the dashboard's own charts, typed values.
    let shared = app.post_json("/api/dashboards/product/share", &admin, json!({}));
    let token = shared.json()["token"].as_str().expect("token").to_owned();
    let anonymous = Login::default();
    let hostile_csv = format!(
        "/s/{token}/charts/product-daily-engaged-by-client.csv?days=all_time&client={}",
        url_encode("x'; DROP TABLE daily_metrics; --")
    );
    let answer = app.get(&hostile_csv, &anonymous);
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.text().trim(), "date,client,value", "the value matched no client");
    attempts += 1;
    let hostile_page = format!("/s/{token}?client={}", url_encode("'; DELETE FROM daily_metrics; --"));
    assert_eq!(app.get(&hostile_page, &anonymous).status, StatusCode::OK);
    attempts += 1;
    for path in [
        format!("/s/{token}/charts/executive-dau.csv"),
        format!("/s/{token}/../api/query"),
        format!("/s/{token}/charts/..%2F..%2Fapi%2Fquery"),
    ] {
        let answer = app.get(&path, &anonymous);
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}: {}", answer.text());
        attempts += 1;
    }
    let anonymous_query = app.post_json("/api/query", &anonymous, json!({"sql": "DROP TABLE daily_metrics"}));
    assert_eq!(anonymous_query.status, StatusCode::UNAUTHORIZED);
    attempts += 1;
    assert!(attempts >= 30, "{attempts} attempts");
    assert_eq!(app.versions(), versions_before, "no Delta table moved");
    assert_eq!(files_under(&app.dir.join("warehouse")), files_before, "no file written");
    assert!(
        std::fs::read_dir(&app.dir)
            .expect("project")
            .filter_map(Result::ok)
            .all(|e| !e.file_name().to_string_lossy().starts_with("written-by-sql")),
        "COPY wrote nothing"
    );
    let still = app.post_json(
        "/api/query",
        &editor,
        json!({"sql": "SELECT count(*) AS n FROM daily_metrics"}),
    );
    assert!(still.json()["rows"][0][0].as_i64().expect("count") > 0);
}
