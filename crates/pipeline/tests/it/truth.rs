//! The warehouse against the simulator's ground truth, to the row.

use std::collections::BTreeMap;

use crate::support::{TestProject, day};

const DAYS: u32 = 56;
const USERS: u64 = 500;

/// Fact table per truth metric that counts one action's events.
const COUNTED_FACTS: [(&str, &str); 7] = [
    ("signup_events", "fact_signups"),
    ("uploads", "fact_uploads"),
    ("likes", "fact_likes"),
    ("favourites", "fact_favourites"),
    ("comments", "fact_comments"),
    ("follows", "fact_follows"),
    ("marketplace_submissions", "fact_marketplace_submissions"),
];

fn number(text: &str) -> f64 {
    text.parse().unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

/// Checks every day in `days` for `metric`, comparing the truth with `observed` (missing = 0).
fn assert_metric_per_day(
    truth: &BTreeMap<(String, String), String>,
    observed: &BTreeMap<String, f64>,
    metric: &str,
    days: &[String],
) {
    for d in days {
        let expected = number(&truth[&(d.clone(), metric.to_owned())]);
        let got = observed.get(d).copied().unwrap_or(0.0);
        assert_eq!(got, expected, "{metric} on {d}");
    }
}

fn per_day(site: &TestProject, sql: &str) -> BTreeMap<String, f64> {
    site.query(sql)
        .into_iter()
        .map(|row| (row[0].clone(), number(&row[1])))
        .collect()
}

/// Days whose numbers are final: every day but the last (its late lines arrive with the next).
fn final_days(except: &[String]) -> Vec<String> {
    (0..i64::from(DAYS) - 1)
        .map(day)
        .filter(|d| !except.contains(d))
        .collect()
}

fn assert_facts_match_truth(site: &TestProject, log_days: &[String], money_days: &[String]) {
    let truth = site.truth();
    for (metric, table) in COUNTED_FACTS {
        let observed = per_day(
            site,
            &format!("SELECT CAST(event_date AS VARCHAR), count(*) FROM {table} GROUP BY 1"),
        );
        assert_metric_per_day(&truth, &observed, metric, log_days);
    }
    for (metric, kind) in [
        ("new_subscriptions", "new"),
        ("renewals", "renewal"),
        ("reactivations", "reactivation"),
    ] {
        let observed = per_day(
            site,
            &format!(
                "SELECT CAST(paid_date AS VARCHAR), count(*) FROM fact_subscription_purchases \
                 WHERE purchase_type = '{kind}' GROUP BY 1"
            ),
        );
        assert_metric_per_day(&truth, &observed, metric, money_days);
    }
    // Snapshot membership: the day's paying (not comped) active subscribers.
    let paid = per_day(
        site,
        "SELECT CAST(snapshot_date AS VARCHAR), count(*) FROM fact_subscriber_snapshots WHERE NOT is_comped GROUP BY 1",
    );
    assert_metric_per_day(&truth, &paid, "paid_subscribers", &final_days(&[]));
    let revenue = per_day(
        site,
        "SELECT CAST(paid_date AS VARCHAR), sum(amount_cents) FROM fact_subscription_purchases GROUP BY 1",
    );
    assert_metric_per_day(&truth, &revenue, "subscription_revenue_cents", money_days);
    let sold = per_day(
        site,
        "SELECT CAST(purchased_date AS VARCHAR), count(*) FROM fact_stock_purchases GROUP BY 1",
    );
    assert_metric_per_day(&truth, &sold, "photos_sold", money_days);
    let take = per_day(
        site,
        "SELECT CAST(purchased_date AS VARCHAR), sum(take_cents) FROM fact_stock_purchases GROUP BY 1",
    );
    assert_metric_per_day(&truth, &take, "marketplace_take_cents", money_days);
}

/// raw_events holds each archived line once: per day and action it equals a direct
/// read of the archives (a shipper's retry copies left out).
fn assert_raw_events_equal_archives(site: &TestProject) {
    let warehouse = site
        .keyed("SELECT CAST(event_date AS VARCHAR), action, CAST(count(*) AS VARCHAR) FROM raw_events GROUP BY 1, 2");
    let archives = site.keyed(
        "SELECT CAST(event_date AS VARCHAR), action, CAST(count(*) AS VARCHAR) FROM logs \
         WHERE source_file NOT LIKE '%.retry.%' GROUP BY 1, 2",
    );
    assert!(!warehouse.is_empty());
    assert_eq!(warehouse, archives);
    // Every fact's rows are exactly its action's raw events.
    for (table, action) in [
        ("fact_page_views", "page_view"),
        ("fact_logins", "login"),
        ("fact_photo_views", "photo_view"),
    ] {
        let fact = site.query(&format!("SELECT count(*) FROM {table}"));
        let raw = site.query(&format!("SELECT count(*) FROM raw_events WHERE action = '{action}'"));
        assert_eq!(fact, raw, "{table}");
    }
}

#[test]
fn eight_weeks_run_night_by_night_agree_with_the_truth_to_the_row() {
    let site = TestProject::new();
    let reports = site.grow_and_run(DAYS, USERS, "");
    assert_eq!(reports.len(), DAYS as usize);
    assert!(reports.iter().all(|r| r.failed().is_empty()));
    let days = final_days(&[]);
    assert_facts_match_truth(&site, &days, &days);
    assert_raw_events_equal_archives(&site);

    // Late lines: a day's events that were archived with the next day's hour 00 reached their own day.
    let late = site.query(
        "SELECT count(*) FROM raw_events WHERE event_date < CAST(replace(substr(source_file, 1, 10), '/', '-') AS DATE)",
    );
    assert_ne!(late, vec![vec!["0".to_owned()]], "the world has late lines");

    // Manual extensions exist and are renewals, not new subscriptions.
    let manual_renewals = site.query(
        "SELECT count(*) FROM fact_subscription_purchases WHERE purchase_type = 'renewal' AND NOT is_auto_renewal",
    );
    assert_ne!(manual_renewals, vec![vec!["0".to_owned()]]);

    // Every day has its snapshot, and no snapshot was taken twice.
    let snapshots = site.query("SELECT count(DISTINCT snapshot_date) FROM fact_subscriber_snapshots");
    assert_eq!(snapshots, vec![vec![DAYS.to_string()]]);
}

#[test]
fn faults_lose_only_what_the_archive_lost_and_count_a_retried_file_once() {
    let site = TestProject::new();
    let faults = format!(
        "duplicate_upload={},corrupt_gzip={},dead_server=api-02@{}T10,lossy_day={},missing_payment={},bad_lines=0.01",
        day(3),
        day(10),
        day(20),
        day(30),
        day(40)
    );
    let reports = site.grow_and_run(DAYS, USERS, &faults);
    assert!(reports.iter().all(|r| r.failed().is_empty()));
    assert_raw_events_equal_archives(&site);

    // Every line of every file is an event or a quarantined line, and the counts add up.
    let accounting = site.query(
        "SELECT sum(lines), sum(events), sum(rejected_lines), (SELECT count(*) FROM etl_quarantine) AS quarantined, \
         (SELECT count(*) FROM raw_events) AS raw FROM etl_log_files WHERE duplicate_of IS NULL",
    );
    let [lines, events, rejected, quarantined, raw] = &accounting[0][..] else {
        panic!("{accounting:?}")
    };
    assert_eq!(number(lines), number(events) + number(rejected));
    assert_eq!(rejected, quarantined);
    assert_eq!(events, raw);
    assert_ne!(rejected, "0");

    // Regression: every hour without lines archives the same 20 bytes; those are not duplicates.
    let duplicates =
        site.query("SELECT source_file, duplicate_of, events FROM etl_log_files WHERE duplicate_of IS NOT NULL");
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert!(duplicates[0][0].contains(".retry."));
    assert_eq!(duplicates[0][2], "0");
    let corrupt = site.query("SELECT count(*) FROM etl_log_files WHERE corrupt IS NOT NULL");
    assert_eq!(corrupt, vec![vec!["1".to_owned()]]);

    // Money comes from production, which the log faults do not touch; the missing
    // payment is missing from the warehouse's source, as the fault says.
    let money_days = final_days(&[day(40)]);
    let truth = site.truth();
    for (metric, kind) in [
        ("new_subscriptions", "new"),
        ("renewals", "renewal"),
        ("reactivations", "reactivation"),
    ] {
        let observed = per_day(
            &site,
            &format!(
                "SELECT CAST(paid_date AS VARCHAR), count(*) FROM fact_subscription_purchases \
                 WHERE purchase_type = '{kind}' GROUP BY 1"
            ),
        );
        assert_metric_per_day(&truth, &observed, metric, &money_days);
    }
    let payments_on_fault_day = per_day(
        &site,
        "SELECT CAST(paid_date AS VARCHAR), count(*) FROM fact_subscription_purchases GROUP BY 1",
    )
    .get(&day(40))
    .copied()
    .unwrap_or(0.0);
    let true_payments: f64 = ["new_subscriptions", "renewals", "reactivations"]
        .iter()
        .map(|m| number(&truth[&(day(40), (*m).to_owned())]))
        .sum();
    assert_eq!(payments_on_fault_day, true_payments - 1.0);
}
