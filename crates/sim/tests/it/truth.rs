//! The truth file agrees with what the archives say, and the world is reproducible.

use crate::support::{SimProject, per_day};

/// The log-derived metrics of metrics.md as SQL over the raw archives.
const LOG_METRICS: &[(&str, &str)] = &[
    ("visitors", "count(DISTINCT visitor_id)"),
    (
        "web_visitors",
        "count(DISTINCT CASE WHEN client IN ('web', 'mobile_web') THEN visitor_id END)",
    ),
    ("signup_events", "count(*) FILTER (WHERE action = 'signup')"),
    ("dau", "count(DISTINCT user_id)"),
    (
        "daily_engaged",
        "count(DISTINCT CASE WHEN action IN ('photo_like', 'photo_favourite', 'photo_comment', 'follow', 'photo_upload') THEN user_id END)",
    ),
    ("uploads", "count(*) FILTER (WHERE action = 'photo_upload')"),
    (
        "uploaders",
        "count(DISTINCT CASE WHEN action = 'photo_upload' THEN user_id END)",
    ),
    ("likes", "count(*) FILTER (WHERE action = 'photo_like')"),
    ("favourites", "count(*) FILTER (WHERE action = 'photo_favourite')"),
    ("comments", "count(*) FILTER (WHERE action = 'photo_comment')"),
    ("follows", "count(*) FILTER (WHERE action = 'follow')"),
    (
        "marketplace_submissions",
        "count(*) FILTER (WHERE action = 'marketplace_submit')",
    ),
];

#[test]
fn truth_matches_the_archives_on_every_final_day() {
    let project = SimProject::new();
    project.advance(10, "");
    project.advance(4, "");
    let truth = project.truth();
    assert_eq!(truth.len(), 14, "one row set per generated day");
    let last_day = truth.keys().last().cloned().expect("days");
    for (metric, expression) in LOG_METRICS {
        let sql = format!("SELECT event_date, {expression} FROM logs GROUP BY event_date");
        let from_logs = per_day(&project.logs(), &sql);
        for (date, metrics) in &truth {
            if *date == last_day {
                continue; // its late lines arrive with the next day
            }
            let expected = &metrics[*metric];
            assert_eq!(from_logs.get(date), Some(expected), "{metric} on {date}");
        }
    }
    // Signups and uploads each create a row in production: the truth counts those separately.
    for metrics in truth.values() {
        assert_eq!(metrics["signups"], metrics["signup_events"]);
    }
}

/// Lines whose event is older than the hour of the file they were archived in.
/// Zero-padded paths and times compare as text.
const LATE_LINES: &str = "SELECT 'late', count(*) FROM logs WHERE to_char(event_time, '%Y/%m/%d/%H') < substr(source_file, 1, 13) GROUP BY 1";

#[test]
fn late_lines_cross_the_hour_and_midnight() {
    let project = SimProject::new();
    project.advance(2, "");
    let late = per_day(&project.logs(), LATE_LINES);
    assert!(
        late.get("late").is_some_and(|n| n != "0"),
        "lines cross the hour: {late:?}"
    );

    // Across midnight they are rarer: a bigger world shows them within three days.
    let big = SimProject::new();
    big.advance_world(3, 6000);
    let sql = LATE_LINES
        .replace("'%Y/%m/%d/%H'", "'%Y/%m/%d'")
        .replace("1, 13)", "1, 10)");
    let late = per_day(&big.logs(), &sql);
    assert!(
        late.get("late").is_some_and(|n| n != "0"),
        "the first hour holds lines of the day before: {late:?}"
    );
}

#[test]
fn same_seed_same_bytes_however_the_days_are_split() {
    let once = SimProject::new();
    once.advance(6, "");
    let in_steps = SimProject::new();
    in_steps.advance(2, "");
    in_steps.advance(1, "");
    in_steps.advance(3, "");
    assert_eq!(once.files(), in_steps.files());
    assert_eq!(once.truth(), in_steps.truth());
    let funnels =
        |p: &SimProject| std::fs::read_to_string(p.dir.path().join(darkroom_sim::TRUTH_FUNNELS_FILE)).expect("funnels");
    assert_eq!(funnels(&once), funnels(&in_steps));
    assert_eq!(once.files().len(), 6 * 24 * 4, "four servers archive a file every hour");
}

#[test]
fn every_metric_is_present_every_day_and_ratios_are_null_when_undefined() {
    let project = SimProject::new();
    project.advance(3, "");
    for (date, metrics) in project.truth() {
        assert_eq!(metrics.len(), 27, "{date}");
        let sessions: f64 = metrics["upload_sessions"].parse().expect("number");
        assert_eq!(
            metrics["photos_per_upload_session"].is_empty(),
            sessions == 0.0,
            "{date}"
        );
    }
}

#[test]
fn a_bad_start_date_is_refused_and_nothing_is_written() {
    let project = SimProject::new();
    let options = darkroom_sim::AdvanceOptions {
        start: "2015-02-30".into(),
        ..darkroom_sim::AdvanceOptions::default()
    };
    let err = darkroom_sim::advance(project.dir.path(), &project.outputs(), &options).expect_err("bad start");
    assert_eq!(
        err.to_string(),
        "bad --start `2015-02-30`: expected a real date as YYYY-MM-DD"
    );
    assert!(!project.logs().exists());
    assert!(!project.dir.path().join(darkroom_sim::WORLD_FILE).exists());
}

#[test]
fn funnel_truth_narrows_step_by_step_and_every_signup_of_a_new_visitor_enters() {
    let project = SimProject::new();
    project.advance(21, "");
    let text = std::fs::read_to_string(project.dir.path().join(darkroom_sim::TRUTH_FUNNELS_FILE)).expect("funnels");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("funnel,entry_week,step,reached"));
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
    for pair in rows.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a[0] == b[0] && a[1] == b[1] {
            let (x, y): (u64, u64) = (a[3].parse().expect("n"), b[3].parse().expect("n"));
            assert!(
                y <= x,
                "each step reaches no more people than the one before: {a:?} {b:?}"
            );
        }
    }
    let signups_in_funnel: u64 = rows
        .iter()
        .filter(|r| r[0] == "engagement" && r[2] == "signup")
        .map(|r| r[3].parse::<u64>().expect("n"))
        .sum();
    let signup_events: f64 = project
        .truth()
        .values()
        .map(|m| m["signup_events"].parse::<f64>().expect("n"))
        .sum();
    assert!(signups_in_funnel > 0 && signups_in_funnel as f64 <= signup_events);
    for funnel in ["engagement", "contributor", "buyer"] {
        assert!(
            rows.iter()
                .any(|r| r[0] == funnel && r[3] != "0" && r[2] != "first_page_view" && r[2] != "signup"),
            "{funnel} converts someone past signup"
        );
    }
}
