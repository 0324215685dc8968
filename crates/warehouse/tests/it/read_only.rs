//! User SQL is read-only and bounded: every kind of write is refused before it runs.

use std::time::Duration;

use darkroom_warehouse::{QueryLimits, QuerySession, WarehouseError};

fn session() -> QuerySession {
    QuerySession::new(QueryLimits::default()).expect("session")
}

#[tokio::test]
async fn select_runs() {
    let batches = session().query("SELECT 1 + 1 AS two").await.expect("select");
    assert_eq!(
        arrow::util::pretty::pretty_format_batches(&batches)
            .expect("format")
            .to_string()
            .lines()
            .nth(3),
        Some("| 2   |")
    );
}

#[tokio::test]
async fn writes_and_ddl_are_refused_with_the_statement_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("leak.csv");
    let s = session();
    s.query("SELECT 1").await.expect("warm up");
    for sql in [
        "CREATE TABLE t AS SELECT 1 AS x".to_owned(),
        "CREATE VIEW v AS SELECT 1 AS x".to_owned(),
        "CREATE EXTERNAL TABLE e (a INT) STORED AS CSV LOCATION '/etc/'".to_owned(),
        "DROP TABLE IF EXISTS t".to_owned(),
        format!("COPY (SELECT 1) TO '{}'", target.display()),
        "SET datafusion.execution.batch_size = 1".to_owned(),
    ] {
        let err = s.query(&sql).await.expect_err(&sql);
        assert!(matches!(err, WarehouseError::NotReadOnly { .. }), "{sql}: {err}");
        assert!(
            err.to_string().starts_with("only read-only queries are allowed here"),
            "{err}"
        );
        assert!(err.hint().contains("darkroom run"));
    }
    assert!(!target.exists(), "COPY wrote nothing");
    let tables = s.query("SHOW TABLES").await.expect("show tables");
    let listing = arrow::util::pretty::pretty_format_batches(&tables)
        .expect("format")
        .to_string();
    assert!(!listing.contains("| t "), "no table was created:\n{listing}");
}

#[tokio::test]
async fn insert_into_a_table_is_refused() {
    let s = session();
    s.context()
        .sql("CREATE TABLE t (x INT)")
        .await
        .expect("setup table")
        .collect()
        .await
        .expect("setup");
    let err = s.query("INSERT INTO t VALUES (1)").await.expect_err("insert");
    assert!(matches!(err, WarehouseError::NotReadOnly { .. }), "{err}");
    let count = s.query("SELECT count(*) AS n FROM t").await.expect("count");
    let text = arrow::util::pretty::pretty_format_batches(&count)
        .expect("format")
        .to_string();
    assert!(text.contains("| 0 "), "nothing was inserted:\n{text}");
}

#[tokio::test]
async fn bad_sql_says_what_is_wrong() {
    let err = session().query("SELEC 1").await.expect_err("typo");
    assert!(matches!(err, WarehouseError::Sql { .. }));
    assert!(err.to_string().contains("SELEC"), "{err}");
    let err = session()
        .query("SELECT nope FROM (SELECT 1 AS x)")
        .await
        .expect_err("unknown column");
    assert!(err.to_string().contains("nope"), "{err}");
    assert!(!err.to_string().contains('\n'), "one line: {err}");
}

#[tokio::test]
async fn a_query_past_its_time_limit_is_stopped() {
    let s = QuerySession::new(QueryLimits {
        timeout: Duration::from_millis(200),
        ..QueryLimits::default()
    })
    .expect("session");
    let err = s
        .query("SELECT count(DISTINCT value % 1000003) FROM generate_series(1, 100000000000)")
        .await
        .expect_err("too slow");
    assert!(matches!(err, WarehouseError::Timeout { .. }), "{err}");
    assert_eq!(err.to_string(), "query stopped after 0.2 s, its time limit");
}

#[tokio::test]
async fn a_query_past_its_memory_limit_is_stopped() {
    let s = QuerySession::new(QueryLimits {
        memory_limit_mb: 1,
        ..QueryLimits::default()
    })
    .expect("session");
    let err = s
        .query("SELECT array_agg(value) FROM (SELECT value FROM generate_series(1, 3000000) ORDER BY value DESC)")
        .await
        .expect_err("too big");
    assert!(matches!(err, WarehouseError::MemoryLimit { .. }), "{err}");
    assert!(
        err.to_string().starts_with("query stopped at its memory limit of 1 MB"),
        "{err}"
    );
}
