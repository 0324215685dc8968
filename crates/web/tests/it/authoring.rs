//! Charts and dashboards made in the app: written to dashboards/*.toml, every
//! version kept with a diff and a restore, and nothing written that breaks a
//! rule (the file's bytes and the history are compared before and after).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{App, Login, site, truth};

fn put_json(app: &App, path: &str, login: &Login, body: Value) -> crate::support::Answer {
    app.send(Method::PUT, path, login, Some(("application/json", body.to_string())))
}

fn signups_chart(title: &str) -> Value {
    json!({
        "title": title,
        "kind": "line",
        "x": "date",
        "y": ["value"],
        "sql": "SELECT date, value\nFROM daily_metrics\nWHERE metric = 'signups'\nORDER BY date",
    })
}

fn file(app: &App, slug: &str) -> String {
    std::fs::read_to_string(app.dir.join("dashboards").join(format!("{slug}.toml"))).expect("dashboard file")
}

#[test]
fn a_query_saved_as_a_chart_lands_in_the_dashboard_file_and_draws_the_true_numbers() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let saved = app.post_json(
        "/api/dashboards/product/charts",
        &editor,
        signups_chart("Signups by day"),
    );
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text());
    let id = saved.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(id, "product-signups-by-day");
    let text = file(&app, "product");
    assert!(text.contains("id = \"product-signups-by-day\""), "{text}");
    assert!(
        text.contains("WHERE metric = 'signups'\n"),
        "the SQL keeps its lines: {text}"
    );
    assert!(text.contains("x = \"date\""), "{text}");

    let data = app.get(&format!("/api/charts/{id}/data"), &editor);
    assert_eq!(data.status, StatusCode::OK, "{}", data.text());
    let expected = truth(&app.dir, "signups");
    let rows = data.json()["rows"].as_array().expect("rows").clone();
    assert_eq!(rows.len(), expected.len());
    for row in rows {
        let date = row[0].as_str().expect("date");
        assert_eq!(row[1].as_f64(), expected.get(date).copied(), "{date}");
    }
    let svg = app.get(&format!("/charts/{id}.svg"), &editor);
    assert_eq!(svg.status, StatusCode::OK);
    assert!(svg.text().starts_with("<svg"), "{}", svg.text());
    // The chart is on the dashboard's page, last.
    let page = app.get("/d/product", &editor).text();
    assert!(page.contains(&format!("id=\"chart-{id}\"")));
}

#[test]
fn a_new_dashboard_is_a_new_file_and_a_second_with_its_slug_is_refused() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let made = app.post_json(
        "/api/dashboards",
        &editor,
        json!({"title": "Growth desk", "team": "marketing"}),
    );
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    assert_eq!(made.json()["slug"], "growth-desk");
    assert!(file(&app, "growth-desk").contains("title = \"Growth desk\""));
    let listed = app.get("/api/dashboards", &editor).json();
    assert!(
        listed
            .as_array()
            .expect("list")
            .iter()
            .any(|d| d["slug"] == "growth-desk")
    );
    let again = app.post_json(
        "/api/dashboards",
        &editor,
        json!({"title": "Growth desk", "team": "marketing"}),
    );
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json()["error"], "dashboard \"growth-desk\" exists already");
}

#[test]
fn every_version_is_kept_without_a_cap_with_a_diff_and_a_restore() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let saved = app.post_json("/api/dashboards/web/charts", &editor, signups_chart("Signups"));
    assert_eq!(saved.status, StatusCode::CREATED, "{}", saved.text());
    let id = saved.json()["id"].as_str().expect("id").to_owned();
    // Twenty changes: more than the fifteen revisions one tool keeps.
    for limit in 1..=20 {
        let mut chart = signups_chart("Signups");
        chart["sql"] = json!(format!(
            "SELECT date, value\nFROM daily_metrics\nWHERE metric = 'signups'\nORDER BY date DESC\nLIMIT {limit}"
        ));
        let changed = put_json(&app, &format!("/api/charts/{id}"), &editor, chart);
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    }
    let history = app.get(&format!("/api/charts/{id}/versions"), &editor).json();
    let versions = history["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 21, "the first and twenty changes");
    let newest = &versions[0];
    assert!(newest["chart"]["sql"].as_str().expect("sql").ends_with("LIMIT 20"));
    let diff = newest["sql_diff"].as_str().expect("diff");
    assert!(diff.contains("-LIMIT 19\n") && diff.contains("+LIMIT 20\n"), "{diff}");
    assert_eq!(newest["version"]["author"], "eve");

    let first = versions.last().expect("first");
    let first_version = first["version"]["version"].as_i64().expect("number");
    let restored = app.post_json(
        &format!("/api/charts/{id}/versions/{first_version}/restore"),
        &editor,
        json!({}),
    );
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text());
    let text = file(&app, "web");
    assert!(text.contains("ORDER BY date\"\"\""), "the first SQL is back: {text}");
    assert!(!text.contains("LIMIT 20"), "{text}");
    let all = app.get("/api/dashboards/web/versions", &editor).json();
    let all = all.as_array().expect("versions");
    assert_eq!(
        all[0]["note"],
        format!("restored chart {id} to version {first_version}")
    );
    // The file as it was first provisioned is version 1, from the file.
    assert_eq!(all.last().expect("first")["author"], "file");
    let one = app.get("/api/dashboards/web/versions/1", &editor).json();
    assert!(one["source"].as_str().expect("text").starts_with("title = "));
    let two = app.get("/api/dashboards/web/versions/2", &editor).json();
    assert!(two["diff"].as_str().expect("diff").contains("+id = \""), "{two}");
}

#[test]
fn a_hand_edit_of_the_file_becomes_a_version_by_the_file() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let path = app.dir.join("dashboards/sales.toml");
    let before = std::fs::read_to_string(&path).expect("file");
    std::fs::write(&path, before.replacen("title = \"", "title = \"Team ", 1)).expect("edit");
    app.runtime.block_on(app.state.live.refresh()).expect("refresh");
    let versions = app.get("/api/dashboards/sales/versions", &editor).json();
    let versions = versions.as_array().expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(
        (&versions[0]["author"], &versions[0]["note"]),
        (&json!("file"), &json!("changed on disk"))
    );
    let diff = app.get("/api/dashboards/sales/versions/2", &editor).json();
    assert!(
        diff["diff"].as_str().expect("diff").contains("+title = \"Team "),
        "{diff}"
    );
}

#[test]
fn the_grid_and_filters_change_through_the_whole_dashboard() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let current = app.get("/api/dashboards/marketing/source", &editor).json();
    let version = current["version"].clone();
    let mut source = current["source"].clone();
    let charts = source["charts"].as_array_mut().expect("charts");
    assert!(charts.len() >= 2);
    charts.swap(0, 1);
    charts[0]["width"] = json!(2);
    let (first, second) = (charts[0]["id"].clone(), charts[1]["id"].clone());
    let saved = put_json(
        &app,
        "/api/dashboards/marketing",
        &editor,
        json!({"source": source, "base_version": version, "note": "arranged"}),
    );
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    let after = app.get("/api/dashboards/marketing", &editor).json();
    assert_eq!(
        (&after["charts"][0]["id"], &after["charts"][1]["id"]),
        (&first, &second)
    );
    // A save from the old version is refused: someone saved since.
    let stale = put_json(
        &app,
        "/api/dashboards/marketing",
        &editor,
        json!({"source": source, "base_version": version}),
    );
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text());
    assert!(
        stale.json()["error"]
            .as_str()
            .expect("error")
            .contains("was saved by eve")
    );

    // A filter, then a chart that uses it.
    let current = app.get("/api/dashboards/marketing/source", &editor).json();
    let mut source = current["source"].clone();
    let filters = source["filters"].as_array_mut().expect("filters");
    filters.push(json!({"name": "metric_name", "kind": "select"}));
    let incomplete = put_json(
        &app,
        "/api/dashboards/marketing",
        &editor,
        json!({ "source": source.clone() }),
    );
    assert_eq!(incomplete.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        incomplete.json()["error"],
        "the dashboard cannot be saved: filter `metric_name`: a select filter needs options_sql"
    );
    let filters = source["filters"].as_array_mut().expect("filters");
    filters.last_mut().expect("the new filter")["options_sql"] =
        json!("SELECT DISTINCT metric FROM daily_metrics ORDER BY 1");
    let saved = put_json(&app, "/api/dashboards/marketing", &editor, json!({ "source": source }));
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    let chart = json!({
        "title": "One metric",
        "kind": "line",
        "sql": "SELECT date, value FROM daily_metrics WHERE metric = $metric_name ORDER BY date",
    });
    let added = app.post_json("/api/dashboards/marketing/charts", &editor, chart);
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let id = added.json()["id"].as_str().expect("id").to_owned();
    let rows = app
        .get(&format!("/api/charts/{id}/data?metric_name=signups"), &editor)
        .json();
    let expected = truth(&app.dir, "signups");
    assert_eq!(rows["rows"].as_array().expect("rows").len(), expected.len());
    let page = app.get("/d/marketing", &editor).text();
    assert!(page.contains("name=\"metric_name\""), "the filter is on the page");
}

/// A save that breaks a rule answers what to change and writes nothing: the
/// file's bytes and the number of versions are the same after.
#[test]
fn a_save_that_breaks_a_rule_writes_nothing() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let before = file(&app, "product");
    let versions = app.get("/api/dashboards/product/versions", &editor).json();
    let cases = [
        (
            json!({"title": "Pie", "kind": "pie", "sql": "SELECT 1"}),
            "unknown kind \"pie\"",
        ),
        (
            json!({"title": "Drop", "kind": "table", "sql": "DROP TABLE daily_metrics"}),
            "product-drop",
        ),
        (
            json!({"title": "Bad", "kind": "table", "sql": "SELECT nope FROM daily_metrics"}),
            "nope",
        ),
        (
            json!({"title": "Unbound", "kind": "table", "sql": "SELECT * FROM daily_metrics WHERE metric = $which"}),
            "$which is bound by no filter",
        ),
        (
            json!({"title": "", "kind": "table", "sql": "SELECT 1"}),
            "the title is empty",
        ),
        (
            json!({"title": "Wide", "kind": "table", "sql": "SELECT 1", "width": 3}),
            "width is 1 or 2",
        ),
    ];
    for (chart, expected) in cases {
        let answer = app.post_json("/api/dashboards/product/charts", &editor, chart.clone());
        assert!(answer.status.is_client_error(), "{chart}: {}", answer.text());
        let error = answer.json();
        assert!(
            error["error"].as_str().expect("error").contains(expected),
            "{chart}: {error}"
        );
        assert!(!error["hint"].as_str().expect("hint").is_empty());
    }
    let mut source = app.get("/api/dashboards/product/source", &editor).json()["source"].clone();
    let taken = app.get("/api/dashboards/executive", &editor).json()["charts"][0]["id"].clone();
    source["charts"][0]["id"] = taken;
    let clash = put_json(&app, "/api/dashboards/product", &editor, json!({ "source": source }));
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", clash.text());
    assert!(
        clash.json()["error"]
            .as_str()
            .expect("error")
            .contains("is already on dashboard `executive`")
    );
    assert_eq!(file(&app, "product"), before, "the file is as it was");
    assert_eq!(app.get("/api/dashboards/product/versions", &editor).json(), versions);
}

#[test]
fn the_schema_lists_every_table_with_its_columns() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let schema = app.get("/api/schema", &editor);
    assert_eq!(schema.status, StatusCode::OK, "{}", schema.text());
    let schema = schema.json();
    let tables = schema["tables"].as_array().expect("tables");
    for table in app.versions().keys() {
        assert!(tables.iter().any(|t| t["name"] == json!(table)), "{table} is listed");
    }
    let daily = tables
        .iter()
        .find(|t| t["name"] == "daily_metrics")
        .expect("daily_metrics");
    let listed: Vec<&str> = daily["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    let empty = app.post_json(
        "/api/query",
        &editor,
        json!({"sql": "SELECT * FROM daily_metrics LIMIT 0"}),
    );
    let columns: Vec<String> = empty.json()["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(listed, columns);
    let metric = daily["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == "metric")
        .expect("metric column");
    let values = metric["values"].as_array().expect("categorical values");
    assert!(values.contains(&json!("dau")), "{metric}");
    assert_eq!(app.get("/api/schema", &app.login("vic")).status, StatusCode::FORBIDDEN);
}

#[test]
fn a_running_query_is_cancelled_by_its_asker_only() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let slow = json!({
        "sql": "SELECT count(*) FROM generate_series(1, 20000000000) AS a(v) WHERE v % 7 = 3",
        "query_id": "slow-one",
    });
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/query")
        .header("cookie", editor.cookie.clone().expect("cookie"))
        .header("x-csrf-token", editor.csrf.clone().expect("csrf"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(slow.to_string()))
        .expect("request");
    let router = darkroom_web::router(app.state.clone());
    let running = app.runtime.spawn(async move {
        use tower::ServiceExt as _;
        let started = std::time::Instant::now();
        let answer = router.oneshot(request).await.expect("answered");
        (answer.status(), started.elapsed())
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    let other = app.login("ada");
    let theirs = app.post_json("/api/query/cancel", &other, json!({"query_id": "slow-one"}));
    assert_eq!(
        theirs.json()["cancelled"],
        false,
        "another user's query is not theirs to stop"
    );
    let mine = app.post_json("/api/query/cancel", &editor, json!({"query_id": "slow-one"}));
    assert_eq!(mine.json()["cancelled"], true, "{}", mine.text());
    let (status, took) = app.runtime.block_on(running).expect("joined");
    assert_eq!(status.as_u16(), 499);
    assert!(
        took < std::time::Duration::from_secs(20),
        "stopped, not finished: {took:?}"
    );
}

/// Regression: a check of the team against web.md's list refused every save
/// of the Funnels dashboard (team "funnels") and of any hand-made team.
#[test]
fn a_dashboard_of_any_team_on_disk_can_be_edited_and_a_new_one_names_a_known_team() {
    let site = site();
    let app = App::open(site.path());
    let editor = app.login("eve");
    let current = app.get("/api/dashboards/funnels/source", &editor).json();
    assert_eq!(current["source"]["team"], "funnels");
    let mut source = current["source"].clone();
    source["description"] = json!("Where people drop out.");
    let saved = put_json(&app, "/api/dashboards/funnels", &editor, json!({ "source": source }));
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert!(file(&app, "funnels").contains("description = \"Where people drop out.\""));
    let unknown = app.post_json("/api/dashboards", &editor, json!({"title": "Money", "team": "finance"}));
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.json()["error"]
            .as_str()
            .expect("error")
            .contains("team \"finance\" is not one of executive, product")
    );
    assert!(!app.dir.join("dashboards/money.toml").exists());
}
