use std::path::Path;
use std::sync::Arc;

use arrow::array::{Date32Array, Float64Array, StringArray};
use chrono::NaiveDate;
use darkroom_metrics::{Plan, Team, Tearsheet, last_metric_day, parse_week, week_after_last_complete};
use datafusion::prelude::SessionContext;

use crate::{catalog, day, register, runtime};

const CATALOG: &str = r#"
[[metrics]]
name = "visitors"
definition = "distinct visitors on d"
team = "executive"
stage = "acquisition"
unit = "users"
table = "t"
date_column = "d"
measure = "count(*)"

[[metrics]]
name = "revenue_cents"
definition = "money on d"
team = "sales"
stage = "revenue"
unit = "cents"
table = "t"
date_column = "d"
measure = "count(*)"
"#;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// Visitors 10..16 each day of the week of 2015-02-02, revenue only on its first three days.
fn daily_metrics(ctx: &SessionContext) {
    let mut dates = Vec::new();
    let mut metrics = Vec::new();
    let mut values = Vec::new();
    for i in 0..7 {
        dates.push(day("2015-02-02") + i);
        metrics.push("visitors");
        values.push(Some(10.0 + f64::from(i)));
    }
    for i in 0..3 {
        dates.push(day("2015-02-02") + i);
        metrics.push("revenue_cents");
        values.push(Some(12_345.0));
    }
    register(
        ctx,
        "daily_metrics",
        vec![
            ("date", Arc::new(Date32Array::from(dates))),
            ("metric", Arc::new(StringArray::from(metrics))),
            ("value", Arc::new(Float64Array::from(values))),
        ],
    );
}

fn plan() -> Plan {
    Plan::parse(
        Path::new("plan.csv"),
        "metric,week_start,value\nvisitors,2015-02-02,12\nrevenue_cents,2015-02-02,10000\n",
        &catalog(CATALOG),
    )
    .expect("plan")
}

#[test]
fn weekly_numbers_are_daily_averages_beside_the_plan_grouped_by_team() {
    let ctx = SessionContext::new();
    daily_metrics(&ctx);
    let last = runtime().block_on(last_metric_day(&ctx)).expect("query");
    assert_eq!(last, Some(date("2015-02-08")));
    let end = week_after_last_complete(date("2015-02-08"));
    assert_eq!(end, date("2015-02-09"));
    let sheet = runtime()
        .block_on(Tearsheet::build(&ctx, &catalog(CATALOG), &plan(), end))
        .expect("sheet");
    assert_eq!(sheet.weeks.first(), Some(&date("2015-01-05")));
    assert_eq!(sheet.weeks.last(), Some(&date("2015-02-02")));
    assert_eq!(
        sheet.teams.iter().map(|t| t.team).collect::<Vec<_>>(),
        [Team::Executive, Team::Sales]
    );
    let visitors = &sheet.teams[0].rows[0].cells[4];
    assert_eq!(visitors.actual, Some(13.0), "mean of 10..16");
    assert_eq!(visitors.days, 7);
    assert_eq!(visitors.plan, Some(12.0));
    assert_eq!(
        visitors.diff_percent.map(|d| (d * 1000.0).round() / 1000.0),
        Some(8.333)
    );
    let revenue = &sheet.teams[1].rows[0].cells[4];
    assert_eq!(revenue.actual, Some(123.45), "dollars");
    assert_eq!(revenue.days, 3, "a partial week says how many days it has");
    assert_eq!(revenue.plan, Some(100.0));
    assert_eq!(sheet.empty_weeks().len(), 4);

    let csv = sheet.to_csv();
    assert!(
        csv.starts_with("team,metric,unit,week_start,days,actual,plan,diff_percent,failed_audits\n"),
        "{csv}"
    );
    assert!(
        csv.contains("executive,visitors,users,2015-02-02,7,13.0,12.0,8.3,\n"),
        "{csv}"
    );
    assert!(
        csv.contains("sales,revenue_cents,dollars,2015-02-02,3,123.45,100.00,23.5,\n"),
        "{csv}"
    );
    assert!(
        csv.contains("executive,visitors,users,2015-01-05,0,,,,\n"),
        "no data is blank, not zero: {csv}"
    );
    let html = sheet.to_html();
    assert!(html.contains("$123.45 (3d)"), "{html}");
    assert!(html.contains("No data for the week(s) of 2015-01-05, 2015-01-12, 2015-01-19, 2015-01-26"));
    assert!(html.contains("+8.3%"));

    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("t.xlsx");
    sheet.write_xlsx(&path).expect("xlsx");
    assert_xlsx_matches_csv(&path, &csv);
}

/// Reads the workbook back (calamine, not the writer) and compares every
/// number of the Tearsheet sheet with the CSV's, cell by cell, at the CSV's precision.
fn assert_xlsx_matches_csv(path: &Path, csv: &str) {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut workbook: Xlsx<_> = open_workbook(path).expect("the xlsx opens");
    let sheet = workbook.worksheet_range("Tearsheet").expect("a Tearsheet sheet");
    let text = |row: u32, column: u32| match sheet.get_value((row, column)) {
        Some(Data::String(s)) => s.clone(),
        Some(Data::Float(f)) => f.to_string(),
        Some(Data::Int(i)) => i.to_string(),
        _ => String::new(),
    };
    // Each metric's row under its team's heading, and each week's first column.
    let mut rows = std::collections::BTreeMap::new();
    let mut team = String::new();
    for row in 3..sheet.end().map_or(0, |(r, _)| r + 1) {
        let (first, unit) = (text(row, 0), text(row, 1));
        if unit.is_empty() {
            team = first;
        } else {
            rows.insert((team.clone(), first), row);
        }
    }
    let mut columns = std::collections::BTreeMap::new();
    for column in (2..sheet.end().map_or(0, |(_, c)| c + 1)).step_by(3) {
        if let Some(week) = text(1, column).strip_prefix("week of ") {
            columns.insert(week.to_owned(), column);
        }
    }
    let mut compared = 0;
    for line in csv.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [team, metric, _unit, week, _days, actual, plan, diff, _failed_audits] = fields[..] else {
            panic!("{line}")
        };
        let row = rows[&(team.to_owned(), metric.to_owned())];
        let column = columns[week];
        let same_at_csv_precision = |csv_value: &str, cell: u32, what: &str| {
            let decimals = csv_value.split_once('.').map_or(0, |(_, d)| d.len());
            let Some(Data::Float(value)) = sheet.get_value((row, cell)) else {
                panic!("{metric} {week} {what}: no number in the xlsx for {csv_value}")
            };
            assert_eq!(format!("{value:.decimals$}"), csv_value, "{metric} {week} {what}");
        };
        if actual.is_empty() {
            assert_eq!(text(row, column), "no data", "{metric} {week}");
        } else {
            same_at_csv_precision(actual, column, "actual");
        }
        for (csv_value, cell, what) in [(plan, column + 1, "plan"), (diff, column + 2, "vs plan")] {
            if csv_value.is_empty() {
                assert_eq!(text(row, cell), "", "{metric} {week} {what}");
            } else {
                same_at_csv_precision(csv_value, cell, what);
            }
        }
        compared += 1;
    }
    assert!(compared >= 10, "{compared} cells compared");
}

#[test]
fn weeks_with_no_data_at_all_say_so_instead_of_printing_zeros() {
    let ctx = SessionContext::new();
    daily_metrics(&ctx);
    let error = runtime()
        .block_on(Tearsheet::build(&ctx, &catalog(CATALOG), &plan(), date("2016-01-04")))
        .expect_err("no data");
    assert_eq!(
        error.to_string(),
        "no daily metrics for the weeks 2015-11-30 to 2016-01-03: the tearsheet would be all blanks"
    );
    assert!(error.hint().contains("darkroom run"));
    let empty = SessionContext::new();
    let error = runtime()
        .block_on(Tearsheet::build(&empty, &catalog(CATALOG), &plan(), date("2016-01-04")))
        .expect_err("no table");
    assert!(error.to_string().starts_with("no daily metrics"));
}

#[test]
fn a_week_that_is_not_a_monday_is_refused() {
    assert_eq!(
        parse_week("2015-02-04").expect_err("wednesday").to_string(),
        "--week 2015-02-04: a Wednesday, not a Monday"
    );
    assert!(parse_week("last week").is_err());
    assert_eq!(parse_week("2015-02-09").ok(), Some(date("2015-02-09")));
}

/// A failed audit shows beside the numbers it feeds, in the week it failed:
/// a `freshness` failure on Tuesday 2015-02-03 casts doubt on every metric of
/// that week; a `pass` and a `warn` mark nothing.
#[test]
fn a_failed_audit_is_shown_beside_the_metrics_it_feeds_in_its_week() {
    let ctx = SessionContext::new();
    daily_metrics(&ctx);
    register(
        &ctx,
        "audit_results",
        vec![
            (
                "audit_date",
                Arc::new(Date32Array::from(vec![
                    day_of("2015-02-03"),
                    day_of("2015-01-27"),
                    day_of("2015-01-20"),
                ])) as _,
            ),
            (
                "check",
                Arc::new(StringArray::from(vec!["freshness", "freshness", "anomaly"])) as _,
            ),
            ("status", Arc::new(StringArray::from(vec!["fail", "pass", "warn"])) as _),
        ],
    );
    let sheet = runtime()
        .block_on(Tearsheet::build(&ctx, &catalog(CATALOG), &plan(), date("2015-02-09")))
        .expect("sheet");
    let csv = sheet.to_csv();
    assert!(
        csv.contains("executive,visitors,users,2015-02-02,7,13.0,12.0,8.3,freshness\n"),
        "{csv}"
    );
    let flagged = csv.lines().filter(|l| l.ends_with(",freshness")).count();
    assert_eq!(flagged, 2, "the two metrics of the failed week only: {csv}");
    assert!(sheet.to_html().contains("failed: freshness"));
    let dir = tempfile::tempdir().expect("dir");
    sheet
        .write_xlsx(&dir.path().join("t.xlsx"))
        .expect("an xlsx with a note on the cell");
}

fn day_of(text: &str) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    (date(text) - epoch).num_days() as i32
}
