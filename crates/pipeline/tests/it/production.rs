//! Snapshots from the real MariaDB and PostgreSQL servers of this machine.

use crate::support::{TestProject, day, execute, fresh_database};

/// Every snapshot table's row count and a checksum of its ids, as text.
fn fingerprint(site: &TestProject) -> Vec<Vec<String>> {
    site.query(
        "SELECT 'users', count(*), sum(id), sum(CAST(date_part('epoch', created_at) AS BIGINT)) FROM prod_users \
         UNION ALL SELECT 'photos', count(*), sum(id), sum(category) FROM prod_photos \
         UNION ALL SELECT 'subscriptions', count(*), sum(user_id), sum(is_active) FROM prod_subscriptions \
         UNION ALL SELECT 'payments', count(*), sum(id), sum(amount_cents) FROM prod_subscription_payments \
         UNION ALL SELECT 'sales', count(*), sum(id), sum(price_cents) FROM prod_stock_purchases \
         UNION ALL SELECT 'purchase_types', count(DISTINCT purchase_type), count(*) AS payments, sum(amount_cents) FROM fact_subscription_purchases \
         ORDER BY 1",
    )
}

#[test]
fn mariadb_postgresql_and_sqlite_give_the_same_warehouse() {
    let sqlite = TestProject::new();
    sqlite.grow_and_run(3, 150, "");
    let expected = fingerprint(&sqlite);
    assert!(expected.iter().all(|row| row[1] != "0"), "{expected:?}");
    for kind in ["mysql", "postgres"] {
        let site = TestProject::with_production(Some(fresh_database(kind)));
        site.grow_and_run(3, 150, "");
        assert_eq!(fingerprint(&site), expected, "{kind}");
    }
}

#[test]
fn a_retyped_column_on_mariadb_and_postgresql_names_the_table_column_and_types() {
    for (kind, alter) in [
        (
            "mysql",
            "ALTER TABLE subscription_payments MODIFY paid_at VARCHAR(32) NOT NULL",
        ),
        (
            "postgres",
            "ALTER TABLE subscription_payments ALTER COLUMN paid_at TYPE VARCHAR(32)",
        ),
    ] {
        let url = fresh_database(kind);
        let site = TestProject::with_production(Some(url.clone()));
        site.grow_and_run(1, 100, "");
        site.advance(1, 100, "");
        let before = site.query("SELECT count(*) FROM prod_subscription_payments");
        execute(&url, &[alter]);
        site.run(&day(1), false).expect_err("fails");
        let failed = site.query(
            "SELECT task, error FROM etl_task_runs WHERE state = 'failed' AND run_id = (SELECT max(run_id) FROM etl_runs)",
        );
        assert_eq!(failed.len(), 1, "{kind}: {failed:?}");
        assert_eq!(failed[0][0], "snapshot_subscription_payments");
        assert!(
            failed[0][1].contains("production column subscription_payments.paid_at is now")
                && failed[0][1].contains("expect a DATETIME/TIMESTAMP"),
            "{kind}: {}",
            failed[0][1]
        );
        assert_eq!(
            site.query("SELECT count(*) FROM prod_subscription_payments"),
            before,
            "{kind}"
        );
    }
}

/// The audits read the same warehouse from each production database: the same
/// findings for every final day, and the missing payment caught on each.
#[test]
fn mariadb_postgresql_and_sqlite_give_the_same_audit_findings() {
    let faults = format!("missing_payment={}", day(1));
    let findings = |site: &TestProject| {
        site.query(&format!(
            "SELECT CAST(audit_date AS VARCHAR), \"check\", subject, status FROM audit_results \
             WHERE audit_date < DATE '{}' ORDER BY 1, 2, 3",
            day(2)
        ))
    };
    let sqlite = TestProject::new();
    sqlite.grow_and_run(3, 1000, &faults);
    let expected = findings(&sqlite);
    let caught = [day(1), "payments_reconcile".into(), "stripe".into(), "fail".into()];
    assert!(expected.iter().any(|row| row[..] == caught[..]), "{expected:?}");
    assert!(expected.len() > 20, "every check wrote its rows: {expected:?}");
    for kind in ["mysql", "postgres"] {
        let site = TestProject::with_production(Some(fresh_database(kind)));
        site.grow_and_run(3, 1000, &faults);
        assert_eq!(findings(&site), expected, "{kind}");
    }
}
