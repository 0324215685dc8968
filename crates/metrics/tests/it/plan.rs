use std::path::Path;

use darkroom_metrics::Plan;

use crate::template_catalog;

fn plan_error(text: &str) -> String {
    let error = Plan::parse(Path::new("plan.csv"), text, &template_catalog()).expect_err("refused");
    assert!(error.is_usage());
    assert!(error.hint().contains("plan.csv"));
    error.to_string()
}

#[test]
fn a_good_plan_reads_every_row() {
    let plan = Plan::parse(
        Path::new("plan.csv"),
        "metric,week_start,value\nvisitors,2015-02-02,120.5\nsignups,2015-02-02,7\n",
        &template_catalog(),
    )
    .expect("plan");
    let monday = chrono::NaiveDate::from_ymd_opt(2015, 2, 2).expect("date");
    assert_eq!(plan.value("visitors", monday), Some(120.5));
    assert_eq!(plan.value("signups", monday), Some(7.0));
    assert_eq!(plan.value("dau", monday), None);
}

#[test]
fn an_unknown_metric_is_reported_with_its_line_number() {
    assert_eq!(
        plan_error("metric,week_start,value\nvisitors,2015-02-02,1\nvisits,2015-02-02,1\n"),
        "plan.csv, line 3: unknown metric \"visits\"; metrics.toml does not define it"
    );
}

#[test]
fn a_week_start_that_is_not_a_monday_is_reported_with_its_line_number() {
    assert_eq!(
        plan_error("metric,week_start,value\nvisitors,2015-02-02,1\nvisitors,2015-02-04,1\n"),
        "plan.csv, line 3: week_start 2015-02-04 is a Wednesday, not a Monday"
    );
    assert_eq!(
        plan_error("metric,week_start,value\nvisitors,02/02/2015,1\n"),
        "plan.csv, line 2: week_start \"02/02/2015\" is not a date (YYYY-MM-DD)"
    );
}

#[test]
fn bad_values_headers_and_repeats_are_reported_with_their_line_numbers() {
    assert_eq!(
        plan_error("metric,week_start,value\nvisitors,2015-02-02,lots\n"),
        "plan.csv, line 2: value \"lots\" is not a number"
    );
    assert_eq!(
        plan_error("metric,week,value\n"),
        "plan.csv, line 1: the header is [\"metric\", \"week\", \"value\"], expected metric,week_start,value"
    );
    assert_eq!(
        plan_error("metric,week_start,value\nvisitors,2015-02-02,1\nvisitors,2015-02-02,2\n"),
        "plan.csv, line 3: a second row for visitors in the week of 2015-02-02"
    );
    assert!(
        plan_error("metric,week_start,value\nvisitors,2015-02-02\n").starts_with("plan.csv, line 2: not a CSV row")
    );
}
