//! The audits against simulated worlds: each fault of `sim advance --faults`
//! is caught by the right check on the right day, naming the right subject
//! (the simulator's fault ledger says which file and transaction), and the
//! outside exports load with their bad rows quarantined.

use crate::support::{TestProject, day};

/// `truth/faults.csv` rows of one fault: (day, file, detail).
fn ledger(site: &TestProject, fault: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(site.path().join(darkroom_sim::TRUTH_FAULTS_FILE)).expect("ledger");
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields[0] == fault).then(|| (fields[1].to_owned(), fields[2].to_owned(), fields[5].to_owned()))
        })
        .collect()
}

/// (check, subject, status, detail) of a day's findings that are not passes.
fn findings(site: &TestProject, on: &str) -> Vec<Vec<String>> {
    site.query(&format!(
        "SELECT \"check\", subject, status, detail FROM audit_results
         WHERE audit_date = DATE '{on}' AND status <> 'pass' ORDER BY 1, 2"
    ))
}

fn caught(found: &[Vec<String>], check: &str, subject: Option<&str>, status: &str) -> bool {
    found
        .iter()
        .any(|f| f[0] == check && subject.is_none_or(|s| f[1] == s) && f[2] == status)
}

/// The detection matrix of issue 25 (and the README). One world, one fault a
/// day after five clean weeks (the anomaly check needs four earlier weekdays
/// and the week before each).
#[test]
fn each_fault_is_caught_by_its_check_on_its_day_naming_its_subject() {
    let site = TestProject::new();
    let faults = format!(
        "dead_server=api-02@{}T10,lossy_day={},corrupt_gzip={},missing_payment={},duplicate_upload={},\
         lost_action=photo_like@{},new_action=photo_share@{}",
        day(29),
        day(30),
        day(31),
        day(32),
        day(33),
        day(37),
        day(38)
    );
    let reports = site.grow_and_run(40, 2000, &faults);
    assert!(reports.iter().all(|r| r.failed().is_empty()));
    // Days before any fault: nothing fails.
    let early = site.query(&format!(
        "SELECT count(*) FROM audit_results WHERE status = 'fail' AND audit_date < DATE '{}'",
        day(29)
    ));
    assert_eq!(early, vec![vec!["0".to_owned()]]);

    let dead = findings(&site, &day(29));
    let api02 = dead.iter().find(|f| f[0] == "log_completeness" && f[1] == "api-02");
    assert!(
        api02.is_some_and(|f| f[2] == "fail" && f[3].contains(&format!("no file for {} 10:00", day(29)))),
        "{dead:?}"
    );

    let lossy = findings(&site, &day(30));
    assert!(
        caught(&lossy, "signups_xref", None, "fail") || caught(&lossy, "uploads_xref", None, "fail"),
        "{lossy:?}"
    );

    let corrupt_file = &ledger(&site, "corrupt_gzip")[0].1;
    let corrupt = findings(&site, &day(31));
    assert!(
        caught(&corrupt, "parse_errors", Some(corrupt_file), "fail"),
        "{corrupt:?}"
    );

    let txn = &ledger(&site, "missing_payment")[0].2;
    let missing = findings(&site, &day(32));
    let stripe = missing
        .iter()
        .find(|f| f[0] == "payments_reconcile" && f[1] == "stripe");
    assert!(
        stripe.is_some_and(|f| f[2] == "fail" && f[3].contains(txn.as_str())),
        "{missing:?}"
    );

    // A byte-identical retry counts nothing twice and fails nothing.
    let retried = findings(&site, &day(33));
    assert!(retried.iter().all(|f| f[2] != "fail"), "{retried:?}");

    let lost = findings(&site, &day(37));
    assert!(caught(&lost, "anomaly", Some("likes"), "warn"), "{lost:?}");

    let new_action = findings(&site, &day(38));
    let shared = new_action
        .iter()
        .find(|f| f[0] == "unknown_actions" && f[1] == "photo_share");
    assert!(
        shared.is_some_and(|f| f[2] == "warn" && f[3].starts_with("example request: /")),
        "{new_action:?}"
    );
    let known = site.query(&format!(
        "SELECT count(*) FROM audit_results WHERE \"check\" = 'unknown_actions' AND status = 'warn' \
         AND audit_date < DATE '{}'",
        day(38)
    ));
    assert_eq!(known, vec![vec!["0".to_owned()]], "known actions never warn");
}

#[test]
fn bad_lines_warn_as_parse_errors_with_their_reasons() {
    let site = TestProject::new();
    site.grow_and_run(2, 300, "bad_lines=0.01");
    let found = findings(&site, &day(0));
    let rejected = found
        .iter()
        .find(|f| f[0] == "parse_errors" && f[1] == "rejected lines");
    assert!(
        rejected.is_some_and(|f| f[2] == "warn" && f[3].starts_with("reasons: ")),
        "{found:?}"
    );
}

#[test]
fn exports_load_their_good_rows_quarantine_bad_ones_and_record_corrections() {
    let site = TestProject::new();
    site.grow_and_run(2, 300, "");
    let stripe = site.path().join("external/stripe.csv");
    let text = std::fs::read_to_string(&stripe).expect("stripe.csv");
    let good_rows = text.lines().count() - 1;
    assert!(good_rows > 2, "{text}");
    // The provider corrects its first row's amount, and three bad rows arrive.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut first: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    first[2] = "1".into();
    lines[1] = first.join(",");
    let bad_from = lines.len() + 1;
    lines.push("ch_bad1,charge,12.50,USD,2015-02-03 10:00:00".into());
    lines.push("ch_bad2,chargeback,999,USD,2015-02-03 10:00:00".into());
    lines.push(lines[2].clone());
    std::fs::write(&stripe, lines.join("\n") + "\n").expect("write");
    let rerun = site.run(&day(1), true).expect("the forced rerun succeeds");
    assert!(rerun[0].failed().is_empty());

    let loaded = site.query("SELECT count(*) FROM ext_payments WHERE provider = 'stripe'");
    assert_eq!(loaded, vec![vec![good_rows.to_string()]]);
    let quarantined = site
        .query("SELECT line_number, reason FROM etl_quarantine WHERE source_file = 'external/stripe.csv' ORDER BY 1");
    let expected: Vec<Vec<String>> = [("bad_number", 0), ("unknown_type", 1), ("duplicate_key", 2)]
        .iter()
        .map(|(reason, i)| vec![(bad_from + i).to_string(), (*reason).to_owned()])
        .collect();
    assert_eq!(quarantined, expected);
    // (The simulator rewrites plan.csv as its plan learns; those rows are restated too.)
    let corrected =
        site.query("SELECT source_table, row_key FROM ext_restatements WHERE source_table = 'ext_payments'");
    let key = first[..2].join(",");
    assert_eq!(
        corrected,
        vec![vec!["ext_payments".to_owned(), format!("stripe,{key}")]]
    );

    // Running again quarantines the same rows once, not twice, and restates nothing new.
    site.run(&day(1), true).expect("again");
    let again = site.query("SELECT count(*) FROM etl_quarantine WHERE source_file = 'external/stripe.csv'");
    assert_eq!(again, vec![vec!["3".to_owned()]]);
    assert_eq!(
        site.query("SELECT count(*) FROM ext_restatements WHERE source_table = 'ext_payments'"),
        vec![vec!["1".to_owned()]]
    );

    // A configured export that is missing fails its task with the path.
    std::fs::remove_file(site.path().join("external/paypal.csv")).expect("remove");
    let failed = site.run(&day(1), true).expect_err("load_exports fails");
    assert!(failed.to_string().contains("load_exports"), "{failed}");
    let tasks = site.last_run_tasks();
    let exports = tasks.iter().find(|t| t[0] == "load_exports").expect("the task ran");
    assert_eq!(exports[1], "failed");
    assert!(exports[2].contains("external/paypal.csv"), "{exports:?}");
}
