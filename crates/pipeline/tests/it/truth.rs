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

/// Every metric of the truth equals daily_metrics on every final day, exactly
/// (an undefined value is NULL on both sides).
fn assert_daily_metrics_match_truth(site: &TestProject, days: &[String]) {
    let truth = site.truth();
    let published = site.keyed("SELECT CAST(date AS VARCHAR), metric, CAST(value AS VARCHAR) FROM daily_metrics");
    let mut compared = 0;
    let mut wrong = Vec::new();
    for ((d, metric), expected) in &truth {
        if !days.contains(d) {
            continue;
        }
        let got = published.get(&(d.clone(), metric.clone()));
        let expected = (!expected.is_empty()).then(|| number(expected));
        let got_value = got.and_then(|v| (v != "NULL").then(|| number(v)));
        compared += 1;
        if got.is_none() || expected.map(f64::to_bits) != got_value.map(f64::to_bits) {
            wrong.push(format!("{metric} on {d}: truth {expected:?}, daily_metrics {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {compared} values differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let metrics: std::collections::BTreeSet<&String> = truth.keys().map(|(_, m)| m).collect();
    assert_eq!(compared, metrics.len() * days.len(), "every metric, every final day");
    assert_eq!(metrics.len(), 27, "metrics.md lists 27 metrics");

    // The breakdown by client adds up to the total for every counted metric.
    let mismatched = site.query(
        "SELECT t.date, t.metric, t.value, sum(c.value) FROM daily_metrics t \
         JOIN daily_metrics_by_client c ON c.date = t.date AND c.metric = t.metric \
         WHERE t.metric IN ('uploads', 'likes', 'signup_events', 'signups', 'follows') \
         GROUP BY t.date, t.metric, t.value HAVING sum(c.value) <> t.value",
    );
    assert!(mismatched.is_empty(), "{mismatched:?}");
    let clients = site.query("SELECT count(DISTINCT client) FROM daily_metrics_by_client WHERE metric = 'visitors'");
    assert_ne!(clients, vec![vec!["0".to_owned()]]);
}

/// funnel_steps (all clients, all channels) equals truth/funnels.csv row for row, and
/// the breakdowns add up to the totals.
fn assert_funnels_match_truth(site: &TestProject) {
    let truth = std::fs::read_to_string(site.path().join("truth/funnels.csv")).expect("truth funnels");
    let mut expected: Vec<String> = truth.lines().skip(1).map(str::to_owned).collect();
    expected.sort();
    let mut got: Vec<String> = site
        .query(
            "SELECT funnel, CAST(entry_week AS VARCHAR), step, CAST(reached AS VARCHAR) FROM funnel_steps \
             WHERE client = 'all' AND channel = 'all'",
        )
        .into_iter()
        .map(|row| row.join(","))
        .collect();
    got.sort();
    assert!(expected.len() > 100, "the truth has funnels: {}", expected.len());
    let missing: Vec<&String> = expected.iter().filter(|r| !got.contains(r)).collect();
    let extra: Vec<&String> = got.iter().filter(|r| !expected.contains(r)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "truth only: {missing:#?}\nwarehouse only: {extra:#?}"
    );

    for breakdown in ["client", "channel"] {
        let unbalanced = site.query(&format!(
            "SELECT t.funnel, t.entry_week, t.step FROM funnel_steps t \
             JOIN funnel_steps b ON b.funnel = t.funnel AND b.entry_week = t.entry_week AND b.step = t.step \
             WHERE t.client = 'all' AND t.channel = 'all' AND b.{breakdown} <> 'all' \
             GROUP BY t.funnel, t.entry_week, t.step, t.reached HAVING sum(b.reached) <> t.reached"
        ));
        assert!(unbalanced.is_empty(), "{breakdown}: {unbalanced:?}");
    }
    // Conversions: from the first step and from the one before.
    let conversions = site.query(
        "SELECT step_number, reached, conversion_from_first, conversion_from_previous FROM funnel_steps \
         WHERE funnel = 'engagement' AND client = 'all' AND channel = 'all' \
         AND entry_week = (SELECT min(entry_week) FROM funnel_steps) ORDER BY step_number",
    );
    assert_eq!(conversions[0][2], "1.0");
    assert_eq!(conversions[0][3], "NULL");
    let reached: Vec<f64> = conversions.iter().map(|r| number(&r[1])).collect();
    for (i, row) in conversions.iter().enumerate().skip(1) {
        assert_eq!(number(&row[2]), reached[i] / reached[0]);
        if reached[i - 1] > 0.0 {
            assert_eq!(number(&row[3]), reached[i] / reached[i - 1]);
        }
    }
}

/// The tearsheet of the fixed eight-week world, against its golden files
/// (`DARKROOM_BLESS=1` rewrites them after a deliberate change), and its weekly
/// averages against the truth.
fn assert_tearsheet_matches_golden(site: &TestProject) {
    use darkroom_metrics::{Catalog, Plan, Tearsheet, last_metric_day, week_after_last_complete};
    let project = site.project();
    let sheet = crate::support::runtime().block_on(async {
        let session = darkroom_pipeline::open_query_session(&project).await.expect("session");
        let ctx = session.context();
        let catalog = Catalog::load(&project.dir.join("metrics.toml"), &ctx.state()).expect("catalog");
        let plan = Plan::load(&project.dir.join("plan.csv"), &catalog).expect("the simulator's plan is valid");
        let last = last_metric_day(ctx).await.expect("query").expect("metrics exist");
        Tearsheet::build(ctx, &catalog, &plan, week_after_last_complete(last))
            .await
            .expect("tearsheet")
    });
    assert_eq!(sheet.weeks.first().map(ToString::to_string), Some(day(21)));
    let csv = sheet.to_csv();
    // Weekly averages equal the truth's daily values averaged, in the sheet's rounding.
    let truth = site.truth();
    // The last week's Sunday is not final (its late lines come with the next night).
    for week in 0..4 {
        let monday = 21 + 7 * week;
        let mean = (monday..monday + 7)
            .map(|d| number(&truth[&(day(d), "visitors".to_owned())]))
            .sum::<f64>()
            / 7.0;
        let row = format!("executive,visitors,users,{},7,{mean:.1},", day(monday));
        assert!(csv.contains(&row), "{row} in\n{csv}");
    }
    golden("tearsheet.csv", &csv);
    golden("tearsheet.html", &sheet.to_html());
}

fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("DARKROOM_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("folder")).expect("golden folder");
        std::fs::write(&path, actual).expect("bless");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with DARKROOM_BLESS=1 to create it", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the golden file at line {}:\n  golden: {:?}\n  now:    {:?}\n\
             (DARKROOM_BLESS=1 rewrites it after a deliberate change)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
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
    assert_daily_metrics_match_truth(&site, &days);
    assert_funnels_match_truth(&site);
    assert_tearsheet_matches_golden(&site);
    assert_raw_events_equal_archives(&site);

    // Late lines restate the day before: old and new value, the day and the run are recorded.
    let restated = site.query(
        "SELECT count(*), count(DISTINCT date), min(run_id) > 0 FROM metric_restatements WHERE old_value <> new_value",
    );
    assert_ne!(restated[0][0], "0", "late lines change published values");
    assert_eq!(restated[0][2], "true");

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

    // A clean world: every check of every day ran and none failed; anomalies
    // warn on fewer than 1 in 1,000 metric-days.
    let audited = site.query(
        "SELECT count(DISTINCT audit_date), count(DISTINCT \"check\"), \
         count(*) FILTER (WHERE status = 'fail') FROM audit_results",
    );
    let failed = site.query(
        "SELECT CAST(audit_date AS VARCHAR), \"check\", subject, observed, detail FROM audit_results WHERE status = 'fail'",
    );
    assert_eq!(
        audited,
        vec![vec![DAYS.to_string(), "10".to_owned(), "0".to_owned()]],
        "{failed:?}"
    );
    let anomalies = site.query(
        "SELECT count(*), count(*) FILTER (WHERE status = 'warn') FROM audit_results WHERE \"check\" = 'anomaly'",
    );
    let (metric_days, warned) = (number(&anomalies[0][0]), number(&anomalies[0][1]));
    assert!(metric_days > 1000.0, "{anomalies:?}");
    assert!(
        warned / metric_days < 0.001,
        "{warned} warnings in {metric_days} metric-days"
    );
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
    assert_warehouse_matches_fault_ledger(&site);

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

/// One row of `truth/faults.csv`, the simulator's own record of what each fault damaged.
struct LedgerRow {
    fault: String,
    file: String,
    lines: u64,
    line_numbers: Vec<u64>,
    detail: String,
}

fn fault_ledger(site: &TestProject) -> Vec<LedgerRow> {
    let text = std::fs::read_to_string(site.path().join(darkroom_sim::TRUTH_FAULTS_FILE)).expect("fault ledger");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("fault,day,file,lines,line_numbers,detail"));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 6, "{line}");
            LedgerRow {
                fault: fields[0].to_owned(),
                file: fields[2].to_owned(),
                lines: fields[3].parse().expect("a count"),
                line_numbers: fields[4]
                    .split_whitespace()
                    .map(|n| n.parse().expect("a line number"))
                    .collect(),
                detail: fields[5].to_owned(),
            }
        })
        .collect()
}

/// The quarantine and `etl_log_files` against the simulator's fault ledger, an
/// oracle outside the parser: the same lines, files and transactions it damaged.
fn assert_warehouse_matches_fault_ledger(site: &TestProject) {
    let ledger = fault_ledger(site);
    let of = |fault: &'static str| ledger.iter().filter(move |row| row.fault == fault);
    let corrupt: Vec<&LedgerRow> = of("corrupt_gzip").collect();
    assert_eq!(corrupt.len(), 1);
    let corrupt_file = corrupt[0].file.clone();
    let marked = site.query("SELECT source_file FROM etl_log_files WHERE corrupt IS NOT NULL");
    assert_eq!(marked, vec![vec![corrupt_file.clone()]]);

    // Every malformed line, and nothing else, is quarantined under its own file
    // and line number (the corrupt file keeps only the lines before its damage).
    let mut quarantined: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for row in site.query("SELECT source_file, line_number FROM etl_quarantine ORDER BY 1, 2") {
        quarantined
            .entry(row[0].clone())
            .or_default()
            .push(number(&row[1]) as u64);
    }
    let malformed: BTreeMap<String, Vec<u64>> = of("bad_lines")
        .map(|row| (row.file.clone(), row.line_numbers.clone()))
        .collect();
    assert!(
        malformed.values().map(Vec::len).sum::<usize>() > 100,
        "the world has bad lines"
    );
    for row in of("bad_lines") {
        assert_eq!(row.lines as usize, row.line_numbers.len());
    }
    for (file, lines) in &quarantined {
        let none = Vec::new();
        let expected = malformed.get(file).unwrap_or(&none);
        if *file == corrupt_file {
            // Lines before the damage, and the one line the cut went through.
            let (cut, before) = lines.split_last().expect("a line");
            assert!(before.iter().all(|l| expected.contains(l)), "{file}");
            assert!(expected.contains(cut) || before.iter().all(|l| l < cut), "{file}");
        } else {
            assert!(!expected.is_empty(), "{file} quarantined lines no fault damaged");
            assert_eq!(lines, expected, "{file}");
        }
    }
    for file in malformed.keys().filter(|f| **f != corrupt_file) {
        assert!(
            quarantined.contains_key(file),
            "{file}'s bad lines were not quarantined"
        );
    }

    // The retried copy is recorded as a duplicate of its original and counts nothing.
    for row in of("duplicate_upload") {
        let recorded = site.query(&format!(
            "SELECT duplicate_of IS NOT NULL, events FROM etl_log_files WHERE source_file = '{}'",
            row.file
        ));
        assert_eq!(recorded, vec![vec!["true".to_owned(), "0".to_owned()]], "{}", row.file);
    }
    // A dead server's file never arrived, and nothing claims it did.
    let dead: Vec<&LedgerRow> = of("dead_server").collect();
    assert_eq!(dead.len(), 1);
    let recorded = site.query(&format!(
        "SELECT count(*) FROM etl_log_files WHERE source_file = '{}'",
        dead[0].file
    ));
    assert_eq!(recorded, vec![vec!["0".to_owned()]]);
    // A lossy day's files hold what the shipper kept of them, line for line.
    let lossy: Vec<&LedgerRow> = of("lossy_day").collect();
    assert!(
        lossy.iter().map(|row| row.lines).sum::<u64>() > 0,
        "the lossy day lost lines"
    );
    for row in lossy {
        let kept = row.detail.strip_prefix("kept=").expect("kept=N");
        let recorded = site.query(&format!(
            "SELECT lines FROM etl_log_files WHERE source_file = '{}'",
            row.file
        ));
        assert_eq!(recorded, vec![vec![kept.to_owned()]], "{}", row.file);
    }
    // The missing payment's transaction is in no fact table.
    let missing: Vec<&LedgerRow> = of("missing_payment").collect();
    assert_eq!(missing.len(), 1);
    let txn = &missing[0].detail;
    assert!(txn.len() > 4);
    let found = site.query(&format!(
        "SELECT (SELECT count(*) FROM fact_subscription_purchases WHERE provider_txn_id = '{txn}') + \
         (SELECT count(*) FROM fact_stock_purchases WHERE provider_txn_id = '{txn}')"
    ));
    assert_eq!(found, vec![vec!["0".to_owned()]]);
}
