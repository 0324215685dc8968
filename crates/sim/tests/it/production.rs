//! The production database on the real servers: SQLite, MariaDB and PostgreSQL
//! hold the same rows for the same world, agree with the truth, and a day that
//! cannot be written is not written anywhere.

use std::sync::atomic::{AtomicU32, Ordering};

use darkroom_sim::{AdvanceOptions, Outputs, advance};
use sqlx::Row;
use sqlx::any::AnyPoolOptions;

use crate::support::SimProject;

const TABLES: [(&str, &str); 5] = [
    (
        "users",
        "id, username, email, firstname, lastname, country, registration_client, acquisition_channel, visitor_id, created_at, deleted_at",
    ),
    (
        "photos",
        "id, user_id, title, category, privacy, for_sale, marketplace_status, marketplace_submitted_at, created_at, deleted_at",
    ),
    (
        "subscriptions",
        "user_id, plan, is_active, auto_renew, expires_at, comped, updated_at",
    ),
    (
        "subscription_payments",
        "id, user_id, plan, period_months, amount_cents, currency, provider, provider_txn_id, auto_renewal, paid_at, refunded_at",
    ),
    (
        "stock_purchases",
        "id, photo_id, buyer_user_id, license, price_cents, seller_payout_cents, currency, provider, provider_txn_id, purchased_at",
    ),
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn admin_url(kind: &str) -> String {
    match kind {
        "mysql" => {
            std::env::var("DARKROOM_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
        }
        _ => std::env::var("DARKROOM_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    }
}

/// A new, empty database on the real server; its URL.
fn fresh_database(kind: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "darkroom_sim_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let admin = admin_url(kind);
    runtime().block_on(async {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&admin)
            .await
            .expect("database server reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .execute(&pool)
            .await
            .expect("drop");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create");
    });
    let base = admin.rsplit_once('/').expect("url has a database").0;
    format!("{base}/{name}")
}

/// Every row of every table, every value as text, in key order.
fn dump(url: &str) -> Vec<Vec<Option<String>>> {
    let text = if url.starts_with("mysql") { "CHAR" } else { "TEXT" };
    runtime().block_on(async {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("connect");
        let mut rows = Vec::new();
        for (table, columns) in TABLES {
            let select: Vec<String> = columns.split(", ").map(|c| format!("CAST({c} AS {text})")).collect();
            let sql = format!("SELECT {} FROM {table} ORDER BY 1", select.join(", "));
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&pool)
                .await
                .expect("select")
            {
                let mut values = vec![Some(table.to_owned())];
                for i in 0..row.len() {
                    values.push(row.try_get::<Option<String>, _>(i).expect("text"));
                }
                rows.push(values);
            }
        }
        rows
    })
}

fn advance_into(
    project: &SimProject,
    production_url: &str,
    days: u32,
    faults: &str,
) -> Result<(), darkroom_sim::SimError> {
    let outputs = Outputs {
        production_url: Some(production_url.to_owned()),
        ..project.outputs()
    };
    let options = AdvanceOptions {
        days,
        seed: 7,
        users: 400,
        start: "2015-02-02".into(),
        faults: darkroom_sim::Fault::parse_list(faults)?,
    };
    advance(project.dir.path(), &outputs, &options).map(|_| ())
}

#[test]
fn the_same_world_writes_the_same_rows_to_sqlite_mariadb_and_postgresql() {
    let sqlite = SimProject::new();
    sqlite.advance(3, "");
    sqlite.advance(2, "");
    let sqlite_rows = dump(&sqlite.outputs().production_url.expect("url"));
    assert!(
        sqlite_rows.len() > 400,
        "users, photos and sales were written: {}",
        sqlite_rows.len()
    );
    for kind in ["mysql", "postgres"] {
        let url = fresh_database(kind);
        let project = SimProject::new();
        advance_into(&project, &url, 3, "").expect("advance");
        advance_into(&project, &url, 2, "").expect("advance");
        let rows = dump(&url);
        assert_eq!(rows.len(), sqlite_rows.len(), "{kind}");
        for (theirs, ours) in rows.iter().zip(&sqlite_rows) {
            assert_eq!(theirs, ours, "{kind}");
        }
    }
}

#[test]
fn production_agrees_with_the_truth_day_by_day() {
    let project = SimProject::new();
    project.advance(6, "");
    let truth = project.truth();
    let url = project.outputs().production_url.expect("url");
    let per_day = |sql: &str| -> std::collections::BTreeMap<String, String> {
        runtime().block_on(async {
            sqlx::any::install_default_drivers();
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .expect("connect");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_all(&pool)
                .await
                .expect("query");
            rows.iter()
                .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1).to_string()))
                .collect()
        })
    };
    let signups = per_day("SELECT substr(created_at, 1, 10), count(*) FROM users GROUP BY 1");
    let revenue = per_day("SELECT substr(paid_at, 1, 10), sum(amount_cents) FROM subscription_payments GROUP BY 1");
    let sold = per_day("SELECT substr(purchased_at, 1, 10), count(*) FROM stock_purchases GROUP BY 1");
    let take = per_day(
        "SELECT substr(purchased_at, 1, 10), sum(price_cents - seller_payout_cents) FROM stock_purchases GROUP BY 1",
    );
    for (date, metrics) in &truth {
        let zero = "0".to_owned();
        assert_eq!(
            signups.get(date).unwrap_or(&zero),
            &metrics["signups"],
            "signups {date}"
        );
        assert_eq!(
            revenue.get(date).unwrap_or(&zero),
            &metrics["subscription_revenue_cents"],
            "revenue {date}"
        );
        assert_eq!(sold.get(date).unwrap_or(&zero), &metrics["photos_sold"], "sold {date}");
        assert_eq!(
            take.get(date).unwrap_or(&zero),
            &metrics["marketplace_take_cents"],
            "take {date}"
        );
    }
}

#[test]
fn provider_exports_add_up_to_revenue_and_ga_sees_a_little_less_than_the_logs() {
    let project = SimProject::new();
    project.advance(5, "");
    let truth = project.truth();
    let read = |name: &str| std::fs::read_to_string(project.dir.path().join(name)).expect("export");
    let mut charges: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
    for file in ["external/stripe.csv", "external/paypal.csv"] {
        let text = read(file);
        assert!(text.starts_with("provider_txn_id,type,amount_cents,currency,created_at\n"));
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f[1] == "charge" {
                *charges.entry(f[4][..10].to_owned()).or_default() += f[2].parse::<i64>().expect("cents");
            }
        }
    }
    let ga = read("external/ga_daily.csv");
    for line in ga.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let metrics = &truth[f[0]];
        let expected: f64 = metrics["subscription_revenue_cents"].parse::<f64>().expect("n")
            + metrics["marketplace_gross_cents"].parse::<f64>().expect("n");
        assert_eq!(charges.get(f[0]).copied().unwrap_or(0) as f64, expected, "{}", f[0]);
        let (ga_users, web): (f64, f64) = (f[1].parse().expect("n"), metrics["web_visitors"].parse().expect("n"));
        assert!(
            ga_users < web && ga_users > web * 0.85,
            "GA misses a few percent: {ga_users} vs {web}"
        );
    }
    let plan = read("plan.csv");
    assert!(plan.starts_with("metric,week_start,value\n"));
    assert!(
        plan.lines().any(|l| l.starts_with("paid_subscribers,2015-02-02,")),
        "{plan}"
    );
}

#[test]
fn missing_payment_keeps_one_stripe_charge_out_of_production_only() {
    let clean = SimProject::new();
    clean.advance(2, "");
    let faulty = SimProject::new();
    faulty.advance(2, "missing_payment=2015-02-03");
    assert_eq!(clean.truth(), faulty.truth());
    let stripe = |p: &SimProject| std::fs::read_to_string(p.dir.path().join("external/stripe.csv")).expect("stripe");
    assert_eq!(stripe(&clean), stripe(&faulty), "the provider still has it");
    let (clean_rows, faulty_rows) = (
        dump(&clean.outputs().production_url.expect("url")),
        dump(&faulty.outputs().production_url.expect("url")),
    );
    let missing: Vec<_> = clean_rows.iter().filter(|r| !faulty_rows.contains(r)).collect();
    assert_eq!(missing.len(), 1, "{missing:?}");
    let txn = missing[0]
        .iter()
        .flatten()
        .find(|v| v.starts_with("ch_"))
        .expect("a stripe charge");
    assert!(stripe(&faulty).contains(&format!("{txn},charge,")));
}

#[test]
fn an_unreachable_production_database_is_named_and_nothing_is_written() {
    let project = SimProject::new();
    let err = advance_into(&project, "postgres://darkroom:secret@127.0.0.1:1/nowhere", 2, "").expect_err("unreachable");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot reach the production database at postgres://darkroom:***@127.0.0.1:1/nowhere"),
        "{message}"
    );
    assert!(!message.contains("secret"));
    assert!(err.is_usage());
    assert!(project.files().is_empty());
    assert!(!project.dir.path().join("truth").exists());
    assert!(!project.dir.path().join(darkroom_sim::WORLD_FILE).exists());
}

#[test]
fn a_day_production_refuses_is_rolled_back_everywhere() {
    let project = SimProject::new();
    let url = fresh_database("postgres");
    // Engineering's constraint makes every sale fail, after users and photos were written in the same transaction.
    runtime().block_on(async {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new().max_connections(1).connect(&url).await.expect("connect");
        let sql = "CREATE TABLE stock_purchases (id BIGINT PRIMARY KEY, photo_id BIGINT NOT NULL, buyer_user_id BIGINT NULL, \
            license VARCHAR(16) NOT NULL, price_cents INT NOT NULL CHECK (price_cents < 0), seller_payout_cents INT NOT NULL, \
            currency CHAR(3) NOT NULL, provider VARCHAR(16) NOT NULL, provider_txn_id VARCHAR(64) NOT NULL, purchased_at TIMESTAMP NOT NULL)";
        sqlx::query(sql).execute(&pool).await.expect("create");
    });
    let err = advance_into(&project, &url, 2, "").expect_err("check constraint");
    assert!(
        err.to_string()
            .starts_with("writing to the production database failed (the day was rolled back)"),
        "{err}"
    );
    assert!(dump(&url).is_empty(), "no user or photo of the day stayed");
    assert!(project.files().is_empty());
    assert!(!project.dir.path().join(darkroom_sim::WORLD_FILE).exists());
}
