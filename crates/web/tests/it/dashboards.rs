use axum::http::StatusCode;
use serde_json::Value;

use crate::support::{App, DAYS, grow_and_run, site, truth};

#[test]
fn every_provisioned_dashboard_draws_every_chart() {
    let site = site();
    let app = App::open(site.path());
    let viewer = app.login("vic");
    let list = app.get("/api/dashboards", &viewer).json();
    let slugs: Vec<&str> = list
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|d| d["slug"].as_str())
        .collect();
    assert_eq!(
        slugs,
        [
            "audit",
            "executive",
            "funnels",
            "marketing",
            "mobile",
            "pipeline",
            "product",
            "sales",
            "web"
        ]
    );
    for slug in slugs {
        let page = app.get(&format!("/d/{slug}"), &viewer);
        assert_eq!(page.status, StatusCode::OK, "{slug}");
        let html = page.text();
        assert!(!html.contains("chart-error"), "{slug}: {}", error_lines(&html));
        let detail = app.get(&format!("/api/dashboards/{slug}"), &viewer).json();
        for chart in detail["charts"].as_array().expect("charts") {
            let id = chart["id"].as_str().expect("id");
            assert!(html.contains(&format!("id=\"chart-{id}\"")), "{slug}/{id} on the page");
            let svg = app.get(&format!("/charts/{id}.svg"), &viewer);
            assert_eq!(svg.status, StatusCode::OK, "{id}: {}", svg.text());
            assert_eq!(svg.header("content-type"), "image/svg+xml");
            assert!(svg.text().starts_with("<svg"), "{id}");
            let png = app.get(&format!("/charts/{id}.png"), &viewer);
            assert_eq!(png.status, StatusCode::OK, "{id}: {}", png.text());
            assert_eq!(png.header("content-type"), "image/png");
            assert_drawn_png(&png.body, id);
        }
    }
}

/// A PNG that decodes, is the SVG's size at twice its scale, and is not one colour.
fn assert_drawn_png(bytes: &[u8], id: &str) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{id}.png does not decode: {e}"));
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let frame = reader.next_frame(&mut pixels).expect("a frame");
    assert_eq!(frame.width, 1280, "{id}.png is 640 SVG units wide at 2x");
    let pixels = &pixels[..frame.buffer_size()];
    let step = frame.color_type.samples();
    let first = &pixels[..step];
    let colours_unlike_first = pixels.chunks(step).filter(|p| *p != first).count();
    assert!(
        colours_unlike_first > 1000,
        "{id}.png is (almost) one colour: {colours_unlike_first} pixels differ"
    );
}

fn error_lines(html: &str) -> String {
    html.split("chart-error")
        .skip(1)
        .map(|rest| rest.chars().take(300).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn rows(answer: &Value) -> Vec<Vec<Value>> {
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().expect("a row").clone())
        .collect()
}

/// The numbers on the dashboards are the simulator's truth (all days but the
/// last, whose late lines come with the next night).
#[test]
fn charts_show_the_true_numbers() {
    let site = site();
    let app = App::open(site.path());
    let viewer = app.login("vic");
    for (chart, metric) in [
        ("executive-dau", "dau"),
        ("product-uploads", "uploads"),
        ("sales-renewals", "renewals"),
    ] {
        let expected = truth(site.path(), metric);
        let answer = app.get(&format!("/api/charts/{chart}/data"), &viewer);
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        let body = answer.json();
        let rows = rows(&body);
        assert_eq!(rows.len(), DAYS as usize, "{chart}: a row per day");
        for row in &rows[..rows.len() - 1] {
            let day = row[0].as_str().expect("date");
            let value = row[1].as_f64().expect("a number");
            assert_eq!(Some(value), expected.get(day).copied(), "{chart} on {day}");
        }
    }
    let page = app.get("/d/executive", &viewer).text();
    let definition = "distinct user_id with any logged-in event on d";
    assert!(
        page.contains(&format!("{definition} · owner: executive team")),
        "definitions under charts"
    );
}

#[test]
fn a_chart_s_mistake_shows_on_that_chart_with_file_and_line_and_the_rest_works() {
    let site = site();
    std::fs::write(
        site.path().join("dashboards/broken.toml"),
        r#"title = "Broken"
team = "product"

[[filters]]
name = "days"
kind = "date_range"

[[filters]]
name = "country"
kind = "select"
options_sql = "SELECT 'nl'"

[[charts]]
id = "fine"
title = "Fine"
kind = "line"
sql = "SELECT date, value FROM daily_metrics WHERE metric = 'dau' AND date BETWEEN $days_start AND $days_end"

[[charts]]
id = "pie"
title = "Pie"
kind = "pie"
sql = "SELECT 1"

[[charts]]
id = "unbound"
title = "Unbound"
kind = "line"
sql = "SELECT date, value FROM daily_metrics WHERE metric = $metric"

[[charts]]
id = "no-plan"
title = "No plan"
kind = "table"
sql = "SELECT nothing FROM nowhere"
"#,
    )
    .expect("write");
    let app = App::open(site.path());
    let viewer = app.login("vic");
    let page = app.get("/d/broken", &viewer);
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("id=\"chart-fine\""));
    assert_eq!(html.matches("chart-error").count(), 3, "{}", error_lines(&html));
    for expected in [
        "dashboards/broken.toml, line 19: chart `pie`: unknown kind &quot;pie&quot;, expected one of line, bar, area, number, table, funnel",
        "$metric is bound by no filter (its filters bind $days_start, $days_end, $country)",
        "dashboards/broken.toml, line 25)",
        "its SQL does not plan",
        "nowhere",
        "dashboards/broken.toml, line 8: filter `country` binds $country, which no chart's SQL uses",
    ] {
        assert!(html.contains(expected), "{expected} in {}", error_lines(&html));
    }
    let fine = app.get("/api/charts/fine/data", &viewer);
    assert_eq!(fine.status, StatusCode::OK);
    let broken = app.get("/api/charts/no-plan/data", &viewer);
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        broken.json()["error"].as_str().is_some_and(|e| e.contains("line 31")),
        "{}",
        broken.text()
    );
}

#[test]
fn an_answer_is_cached_until_a_night_commits_the_tables_it_read() {
    let site = site();
    let app = App::open(site.path());
    let viewer = app.login("vic");
    let path = "/api/charts/product-uploads/data?days=all_time";
    let first = app.get(path, &viewer).json();
    let misses = app.state.live.cache.stats().misses;
    std::thread::sleep(darkroom_web::CHECK_EVERY);
    let again = app.get(path, &viewer).json();
    assert_eq!(first, again);
    assert_eq!(app.state.live.cache.stats().misses, misses, "served from the cache");
    assert!(app.state.live.cache.stats().hits >= 1);
    // Another night, while the app runs: the next answer has the new day.
    grow_and_run(site.path(), 1);
    std::thread::sleep(darkroom_web::CHECK_EVERY);
    let after = app.get(path, &viewer).json();
    assert_eq!(
        rows(&after).len(),
        rows(&first).len() + 1,
        "the new night is on the chart"
    );
    assert!(app.state.live.cache.stats().misses > misses);
}

/// While a run holds the project's lock (the lock file names a live process)
/// the app answers from the last whole night; once the run is gone, from the new one.
#[test]
fn a_reader_sees_the_last_whole_night_while_a_run_is_going() {
    let site = site();
    let app = App::open(site.path());
    let viewer = app.login("vic");
    let path = "/api/charts/product-uploads/data?days=all_time";
    let before = rows(&app.get(path, &viewer).json()).len();
    grow_and_run(site.path(), 1);
    let mut other_run = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("a live process");
    std::fs::write(
        site.path().join("run.lock"),
        format!("pid {} since now", other_run.id()),
    )
    .expect("lock file");
    std::thread::sleep(darkroom_web::CHECK_EVERY);
    assert_eq!(rows(&app.get(path, &viewer).json()).len(), before, "no half night");
    other_run.kill().expect("stopped");
    other_run.wait().expect("gone");
    std::thread::sleep(darkroom_web::CHECK_EVERY);
    assert_eq!(
        rows(&app.get(path, &viewer).json()).len(),
        before + 1,
        "the finished night"
    );
}
