use axum::http::StatusCode;

use crate::support::{App, site};

#[test]
fn the_tearsheet_page_and_its_downloads_are_the_cli_s() {
    let site = site();
    let app = App::open(site.path());
    let viewer = app.login("vic");
    let page = app.get("/tearsheet", &viewer);
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("Executive tearsheet: weeks"));
    assert!(page.text().contains("Daily active users"), "labels, not keys");
    let csv = app.get("/tearsheet.csv", &viewer);
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.text()
            .starts_with("team,metric,unit,week_start,days,actual,plan,diff_percent,failed_audits\n")
    );
    let xlsx = app.get("/tearsheet.xlsx", &viewer);
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.body.starts_with(b"PK"), "a zip (xlsx)");
    let bad = app.get("/tearsheet?week=2015-02-03", &viewer);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "not a Monday");
}

#[test]
fn the_data_dictionary_page_lists_every_table() {
    let site = site();
    let app = App::open(site.path());
    let viewer = app.login("vic");
    let page = app.get("/docs", &viewer);
    assert_eq!(page.status, StatusCode::OK);
    for table in ["daily_metrics", "fact_page_views", "funnel_steps", "audit_results"] {
        assert!(page.text().contains(table), "{table}");
    }
}

/// A chart's CSV and XLSX hold every row its query gives (counted by SQL, not
/// by the export code), read back with calamine.
#[test]
fn exports_hold_every_row() {
    use calamine::{Reader, Xlsx};
    let site = site();
    let app = App::open(site.path());
    let admin = app.login("ada");
    let count = app.post_json(
        "/api/query",
        &admin,
        serde_json::json!({"sql": "SELECT count(*) FROM daily_metrics_by_client WHERE metric = 'uploads'"}),
    );
    let expected = count.json()["rows"][0][0].as_u64().expect("a count") as usize;
    assert!(expected > 30, "more rows than a page shows: {expected}");
    let csv = app.get("/charts/product-uploads-by-client.csv?days=all_time", &admin);
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(
        csv.header("content-disposition"),
        "attachment; filename=\"product-uploads-by-client.csv\""
    );
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.body.as_slice());
    assert_eq!(reader.records().count(), expected);
    let xlsx = app.get("/charts/product-uploads-by-client.xlsx?days=all_time", &admin);
    let mut book = Xlsx::new(std::io::Cursor::new(xlsx.body)).expect("an xlsx");
    let sheet = book.worksheet_range_at(0).expect("a sheet").expect("readable");
    assert_eq!(sheet.height(), expected + 1, "a header and every row");
}

#[test]
fn audits_of_a_day_are_its_audit_results() {
    let site = site();
    let app = App::open(site.path());
    let viewer = app.login("vic");
    let answer = app.get("/api/audits?date=2015-02-10", &viewer);
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let rows = answer.json()["rows"].as_array().expect("rows").clone();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r[0] == "2015-02-10"));
    let bad = app.get("/api/audits?date=yesterday'--", &viewer);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
