//! The Postgres endpoint as BI tools and notebooks reach it: `darkroom pgwire`
//! started as a user starts it, and the real clients (psql, psycopg 3,
//! SQLAlchemy + pandas, pgJDBC; deltalake and Polars for the open tables)
//! that `scripts/test` installs. Every answer is compared with what
//! `darkroom sql` gives for the same query.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{darkroom, darkroom_with_input, project, stderr, stdout};

const USER: &str = "ana";
const PASSWORD: &str = "correct horse battery";

/// The three queries every client runs: doubles with NULLs, text and counts,
/// dates and a sum over a date range.
const QUERIES: [&str; 3] = [
    "SELECT date, metric, value FROM daily_metrics ORDER BY date, metric",
    "SELECT client, count(*) AS page_views, count(DISTINCT visitor_id) AS visitors \
     FROM fact_page_views GROUP BY client ORDER BY client",
    "SELECT event_date, action, count(*) AS events FROM raw_events \
     WHERE event_date >= DATE '2015-02-09' GROUP BY event_date, action ORDER BY event_date, action",
];

/// A project whose first simulated night has run, with the viewer `ana`.
fn night_project() -> tempfile::TempDir {
    let dir = project();
    add_user(&dir);
    let ran = darkroom(&["run", "--project", "site", "--date", "2015-02-09"], dir.path());
    assert!(ran.status.success(), "{}", stderr(&ran));
    dir
}

/// A project of one simulated day, its night run, with the viewer `ana`:
/// the next day is simulated and run by the test.
fn one_night_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(darkroom(&["init", "site"], dir.path()).status.success());
    let sim = darkroom(
        &[
            "sim",
            "advance",
            "site",
            "--days",
            "1",
            "--users",
            "300",
            "--start",
            "2015-02-09",
        ],
        dir.path(),
    );
    assert!(sim.status.success(), "{}", stderr(&sim));
    add_user(&dir);
    let ran = darkroom(&["run", "--project", "site", "--date", "2015-02-09"], dir.path());
    assert!(ran.status.success(), "{}", stderr(&ran));
    dir
}

/// The second simulated day, and its night.
fn second_night(dir: &Path) {
    let sim = darkroom(&["sim", "advance", "site", "--days", "1"], dir);
    assert!(sim.status.success(), "{}", stderr(&sim));
    let ran = darkroom(&["run", "--project", "site", "--date", "2015-02-10"], dir);
    assert!(ran.status.success(), "{}", stderr(&ran));
}

fn add_user(dir: &tempfile::TempDir) {
    let added = darkroom_with_input(
        &["user", "add", USER, "--role", "viewer", "--project", "site"],
        dir.path(),
        &format!("{PASSWORD}\n"),
    );
    assert!(added.status.success(), "{}", stderr(&added));
}

/// `darkroom pgwire` running on a free port; stopped when dropped.
struct Endpoint {
    child: Child,
    port: u16,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Endpoint {
    let mut child = Command::new(env!("CARGO_BIN_EXE_darkroom"))
        .args(["pgwire", "--project", "site", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("darkroom pgwire starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = lines
        .find_map(|l| l.ok().filter(|l| l.contains("port=")))
        .expect("the endpoint prints how to connect");
    let port = line
        .split("port=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a port in {line}"));
    // The rest of its output is not read; keep the pipe open so it never blocks.
    std::thread::spawn(move || lines.for_each(drop));
    Endpoint { child, port }
}

fn psql(port: u16, password: Option<&str>, extra: &[&str]) -> std::process::Output {
    let mut command = Command::new("psql");
    command
        .arg(format!(
            "host=127.0.0.1 port={port} dbname=darkroom user={USER} sslmode=disable"
        ))
        .args(["--no-psqlrc", "-w", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"])
        .args(extra)
        .env_remove("PGPASSWORD");
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    command
        .output()
        .expect("psql runs (scripts/test installs PostgreSQL's client)")
}

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/pgwire")
}

/// `tests/pgwire/clients.py MODE` with `input` as JSON on stdin; its JSON answer.
fn python(mode: &str, port: u16, user: &str, password: &str, input: &Value) -> Value {
    let mut child = Command::new("python3")
        .arg(tests_dir().join("clients.py"))
        .args([mode, "127.0.0.1", &port.to_string(), user, password])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("input");
    let out = child.wait_with_output().expect("clients.py ends");
    assert!(
        out.status.success(),
        "clients.py {mode} failed (scripts/test installs psycopg, SQLAlchemy, pandas, deltalake and polars): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("clients.py {mode}: not JSON ({e}): {}", stdout(&out)))
}

/// `tests/pgwire/Jdbc.java MODE` through pgJDBC, one statement per line; its output lines.
fn jdbc(mode: &str, port: u16, statements: &[String]) -> Vec<String> {
    let jar = "/usr/share/java/postgresql.jar";
    assert!(
        Path::new(jar).exists(),
        "{jar} is missing: scripts/test installs Debian's libpostgresql-jdbc-java"
    );
    let mut child = Command::new("java")
        .args(["-cp", jar])
        .arg(tests_dir().join("Jdbc.java"))
        .args([mode, "127.0.0.1", &port.to_string(), USER, PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("java runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(statements.join("\n").as_bytes())
        .expect("input");
    let out = child.wait_with_output().expect("java ends");
    assert!(out.status.success(), "Jdbc.java {mode}: {}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

/// A pgJDBC login as `user`: "ok" or the server's SQLSTATE.
fn jdbc_login(port: u16, user: &str, password: &str) -> String {
    let out = Command::new("java")
        .args(["-cp", "/usr/share/java/postgresql.jar"])
        .arg(tests_dir().join("Jdbc.java"))
        .args(["login", "127.0.0.1", &port.to_string(), user, password])
        .stdin(Stdio::null())
        .output()
        .expect("java runs");
    assert!(out.status.success(), "Jdbc.java login: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

/// `darkroom sql --format json`: rows in the order of `columns`, a missing key as NULL.
fn darkroom_rows(dir: &Path, sql: &str, columns: &[String]) -> Vec<Vec<Value>> {
    let out = darkroom(&["sql", "--project", "site", "--format", "json", sql], dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Map<String, Value>> = serde_json::from_str(&stdout(&out)).expect("JSON rows");
    rows.into_iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| row.get(c).cloned().unwrap_or(Value::Null))
                .collect()
        })
        .collect()
}

/// Two cells are the same value: numbers within rounding (a client may read
/// a count as a float), text exactly, NULL only as NULL (or psql's empty field).
fn same_cell(expected: &Value, got: &Value) -> bool {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match (expected, got) {
        (Value::Null, Value::Null) => true,
        (Value::Null, Value::String(s)) => s.is_empty(),
        (Value::Null, _) | (_, Value::Null) => false,
        _ => match (number(expected), number(got)) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
            _ => expected.as_str().is_some_and(|e| got.as_str() == Some(e)),
        },
    }
}

fn assert_same_rows(who: &str, sql: &str, expected: &[Vec<Value>], got: &[Vec<Value>]) {
    assert!(
        !expected.is_empty(),
        "{sql}: darkroom sql gave no rows, nothing to compare"
    );
    assert_eq!(expected.len(), got.len(), "{who}: row count of {sql}");
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        assert!(
            e.len() == g.len() && e.iter().zip(g).all(|(a, b)| same_cell(a, b)),
            "{who}: row {i} of {sql}: darkroom sql {e:?}, client {g:?}"
        );
    }
}

fn rows_of(answer: &Value) -> (Vec<String>, Vec<Vec<Value>>) {
    let columns = answer["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| c.as_str().expect("name").to_owned())
        .collect();
    let rows = answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().expect("row").clone())
        .collect();
    (columns, rows)
}

/// Every file below `dir` with its size: what a write would change.
fn files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut found: Vec<(PathBuf, u64)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_owned(), e.metadata().map_or(0, |m| m.len())))
        .collect();
    found.sort();
    found
}

#[test]
fn psql_psycopg_sqlalchemy_and_jdbc_get_the_rows_darkroom_sql_gives() {
    let dir = night_project();
    let endpoint = start(dir.path());

    let tables = psql(endpoint.port, Some(PASSWORD), &["-c", "\\dt"]);
    assert!(tables.status.success(), "{}", stderr(&tables));
    for table in ["daily_metrics", "fact_page_views", "dim_users", "raw_events"] {
        assert!(
            stdout(&tables).contains(table),
            "\\dt lists {table}: {}",
            stdout(&tables)
        );
    }
    // psql's `\\d TABLE` runs, but datafusion-pg-catalog 0.19 answers it with
    // the wrong table's columns (docs/guide.md): information_schema is right.
    let described = psql(endpoint.port, Some(PASSWORD), &["-c", "\\d daily_metrics"]);
    assert!(described.status.success(), "{}", stderr(&described));
    let columns = psql(
        endpoint.port,
        Some(PASSWORD),
        &[
            "-At",
            "-c",
            "SELECT column_name FROM information_schema.columns \
             WHERE table_name = 'daily_metrics' ORDER BY ordinal_position",
        ],
    );
    assert!(columns.status.success(), "{}", stderr(&columns));
    assert_eq!(stdout(&columns), "date\nmetric\nvalue\n", "the columns of warehouse.md");

    for sql in QUERIES {
        let out = psql(endpoint.port, Some(PASSWORD), &["--csv", "-c", sql]);
        assert!(out.status.success(), "psql {sql}: {}", stderr(&out));
        let text = stdout(&out);
        let mut lines = text.lines();
        let columns: Vec<String> = lines.next().expect("header").split(',').map(str::to_owned).collect();
        let got: Vec<Vec<Value>> = lines
            .map(|l| l.split(',').map(|c| Value::String(c.to_owned())).collect())
            .collect();
        assert_same_rows("psql", sql, &darkroom_rows(dir.path(), sql, &columns), &got);
    }

    let answers = python("queries", endpoint.port, USER, PASSWORD, &serde_json::json!(QUERIES));
    for client in ["psycopg", "psycopg_prepared", "sqlalchemy_pandas"] {
        for (sql, answer) in QUERIES.iter().zip(answers[client].as_array().expect("answers")) {
            let (columns, got) = rows_of(answer);
            assert_same_rows(client, sql, &darkroom_rows(dir.path(), sql, &columns), &got);
        }
    }

    let statements: Vec<String> = QUERIES.iter().map(|q| (*q).to_owned()).collect();
    let lines = jdbc("queries", endpoint.port, &statements);
    assert_eq!(lines.len(), QUERIES.len(), "{lines:?}");
    for (sql, line) in QUERIES.iter().zip(&lines) {
        let (columns, got) = rows_of(&serde_json::from_str(line).expect("JSON"));
        assert_same_rows("pgJDBC", sql, &darkroom_rows(dir.path(), sql, &columns), &got);
    }
}

/// Statements that would change something, each with whether it parses (and
/// is then refused as not read-only, 25006) or is refused by the parser.
fn writes(dir: &Path) -> Vec<(String, &'static str)> {
    let out = dir.display();
    [
        (
            "INSERT INTO daily_metrics VALUES (DATE '2015-01-01', 'signups', 1.0)",
            "25006",
        ),
        ("INSERT INTO fact_signups SELECT * FROM fact_signups", "25006"),
        (
            "INSERT INTO daily_metrics_by_client SELECT * FROM daily_metrics_by_client",
            "25006",
        ),
        ("UPDATE daily_metrics SET value = 0", "25006"),
        ("DELETE FROM daily_metrics", "25006"),
        ("TRUNCATE TABLE daily_metrics", "25006"),
        ("DROP TABLE daily_metrics", "25006"),
        ("DROP TABLE IF EXISTS fact_likes", "25006"),
        ("DROP VIEW IF EXISTS v", "25006"),
        ("DROP SCHEMA public CASCADE", "25006"),
        ("CREATE TABLE copied AS SELECT * FROM daily_metrics", "25006"),
        ("CREATE TABLE empty_one (a INT)", "25006"),
        ("CREATE OR REPLACE TABLE daily_metrics AS SELECT 1 AS a", "25006"),
        ("CREATE VIEW v AS SELECT 1 AS a", "25006"),
        ("CREATE SCHEMA other", "25006"),
        ("CREATE DATABASE other", "25006"),
        // DataFusion's own syntax, not PostgreSQL's: refused by the endpoint's parser.
        (
            "CREATE EXTERNAL TABLE secrets STORED AS CSV LOCATION '/etc/passwd'",
            "42601",
        ),
        (
            &*format!("CREATE EXTERNAL TABLE again STORED AS PARQUET LOCATION '{out}/site/warehouse/daily_metrics'"),
            "25006",
        ),
        (&*format!("COPY daily_metrics TO '{out}/copied.csv'"), "25006"),
        (
            &*format!("COPY (SELECT * FROM fact_signups) TO '{out}/copied.parquet' STORED AS PARQUET"),
            "42601",
        ),
        ("ALTER TABLE daily_metrics ADD COLUMN x INT", "25006"),
        ("ALTER TABLE daily_metrics RENAME TO gone", "25006"),
        ("PREPARE p AS INSERT INTO daily_metrics VALUES ($1, $2, $3)", "25006"),
        ("SET datafusion.execution.batch_size = 1", "25006"),
        ("SET datafusion.execution.target_partitions TO 1", "25006"),
        ("SET datafusion.catalog.default_catalog = 'other'", "25006"),
        ("SET datafusion.sql_parser.dialect = 'mysql'", "25006"),
        ("SET datafusion.runtime.memory_limit = '1G'", "25006"),
        ("SET datafusion.execution.time_zone = '+05:00'", "25006"),
        ("SELECT * INTO copied FROM daily_metrics", "25006"),
    ]
    .into_iter()
    .map(|(sql, code)| (sql.to_owned(), code))
    .collect()
}

#[test]
fn writes_and_engine_settings_are_refused_through_every_client_and_change_nothing() {
    let dir = night_project();
    let endpoint = start(dir.path());
    let statements = writes(dir.path());
    assert!(statements.len() >= 30);
    let before = files(dir.path());
    let expected: Vec<&str> = statements.iter().map(|(_, code)| *code).collect();
    let sql: Vec<String> = statements.iter().map(|(s, _)| s.clone()).collect();

    // psql: the simple protocol, one statement per call.
    let simple: Vec<String> = sql
        .iter()
        .map(|s| {
            let out = psql(endpoint.port, Some(PASSWORD), &["-c", s]);
            assert!(!out.status.success(), "psql ran {s}");
            let err = stderr(&out);
            err.split("ERROR:  ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .unwrap_or_else(|| panic!("{s}: no SQLSTATE in {err}"))
                .to_owned()
        })
        .collect();
    assert_eq!(simple, expected, "psql");
    // psycopg and pgJDBC: the extended protocol, prepared.
    let extended = python("refused", endpoint.port, USER, PASSWORD, &serde_json::json!(sql));
    assert_eq!(extended, serde_json::json!(expected), "psycopg");
    assert_eq!(jdbc("refused", endpoint.port, &sql), expected, "pgJDBC");

    assert_eq!(before, files(dir.path()), "no file was written, changed or removed");
    // The engine's settings are what they were, for a new connection too.
    let batch = psql(
        endpoint.port,
        Some(PASSWORD),
        &[
            "-At",
            "-c",
            "SELECT value FROM information_schema.df_settings WHERE name = 'datafusion.execution.batch_size'",
        ],
    );
    assert!(batch.status.success(), "{}", stderr(&batch));
    assert_eq!(
        stdout(&batch).trim(),
        "8192",
        "DataFusion's default batch size, unchanged"
    );
    let still = psql(
        endpoint.port,
        Some(PASSWORD),
        &["-At", "-c", "SELECT count(*) FROM daily_metrics"],
    );
    assert!(still.status.success(), "{}", stderr(&still));
}

fn set_in_project_file(dir: &Path, section: &str) {
    let path = dir.join("site/darkroom.toml");
    let text = std::fs::read_to_string(&path).expect("project file");
    std::fs::write(&path, format!("{text}\n{section}\n")).expect("write");
}

#[test]
fn logins_need_a_darkroom_account_and_its_password_and_tls_when_required() {
    let dir = night_project();
    {
        let endpoint = start(dir.path());
        let wrong = psql(endpoint.port, Some("not the password"), &["-c", "SELECT 1"]);
        assert_eq!(wrong.status.code(), Some(2));
        assert!(
            stderr(&wrong).contains("password authentication failed for user \"ana\""),
            "{}",
            stderr(&wrong)
        );
        let none = psql(endpoint.port, None, &["-c", "SELECT 1"]);
        assert_eq!(none.status.code(), Some(2), "no login without a password");
        // libpq does not hand a login failure's SQLSTATE to psycopg; pgJDBC does.
        let attempts = [
            (USER, "not the password", "28P01"),
            ("nobody", PASSWORD, "28P01"),
            ("postgres", "postgres", "28P01"),
            (USER, PASSWORD, "ok"),
        ];
        for (user, password, outcome) in attempts {
            assert_eq!(jdbc_login(endpoint.port, user, password), outcome, "{user}");
        }
        let login = python(
            "login",
            endpoint.port,
            USER,
            PASSWORD,
            &serde_json::json!({"sslmode": "disable"}),
        );
        assert_eq!(login["outcome"], "ok", "{login}");
    }

    // TLS required: plaintext is refused, TLS logs in.
    let site = dir.path().join("site");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args(["-keyout", "server.key", "-out", "server.crt"])
        .current_dir(&site)
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{}", stderr(&made));
    set_in_project_file(
        dir.path(),
        "[pgwire]\ntls_cert = \"server.crt\"\ntls_key = \"server.key\"\nrequire_tls = true",
    );
    {
        let endpoint = start(dir.path());
        let plain = python(
            "login",
            endpoint.port,
            USER,
            PASSWORD,
            &serde_json::json!({"sslmode": "disable"}),
        );
        assert!(
            plain["message"].as_str().is_some_and(|m| m
                .contains("FATAL:  this endpoint accepts only encrypted connections")
                && m.contains("sslmode=require")),
            "{plain}"
        );
        let tls = python(
            "login",
            endpoint.port,
            USER,
            PASSWORD,
            &serde_json::json!({"sslmode": "require"}),
        );
        assert_eq!(tls["outcome"], "ok", "{tls}");
        assert_eq!(tls["tls"], true, "{tls}");
    }

    // A certificate that cannot be read stops the start: never plain text instead.
    std::fs::remove_file(site.join("server.crt")).expect("remove");
    let out = darkroom(&["pgwire", "--project", "site", "--listen", "127.0.0.1:0"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("error: [pgwire] TLS file "), "{err}");
    assert!(err.contains("server.crt"), "{err}");
    assert!(err.contains("\nhint: tls_cert and tls_key are PEM files"), "{err}");
}

#[test]
fn a_connection_sees_each_new_night_whole_without_reconnecting() {
    let dir = one_night_project();
    let endpoint = start(dir.path());
    // Written by different commits of a night: equal in any whole night.
    let night = "SELECT (SELECT count(*) FROM raw_events) AS events, \
                 (SELECT sum(events) FROM etl_log_files) AS logged, \
                 (SELECT count(*) FROM daily_metrics) AS metrics";
    let sample = |port: u16| {
        let out = psql(port, Some(PASSWORD), &["-At", "-F", ",", "-c", night]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).trim().to_owned()
    };
    let first_night = sample(endpoint.port);
    let mut follower = Command::new("python3")
        .arg(tests_dir().join("clients.py"))
        .args(["follow", "127.0.0.1", &endpoint.port.to_string(), USER, PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut to_follower = follower.stdin.take().expect("stdin");
    writeln!(to_follower, "{}", serde_json::json!({"sql": night})).expect("sql");
    let mut from_follower = std::io::BufReader::new(follower.stdout.take().expect("stdout"));
    let mut first = String::new();
    from_follower.read_line(&mut first).expect("first answer");

    // Readers in a loop while the second night commits table after table: each
    // answer is one whole night, the first or the second.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let port = endpoint.port;
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seen.push(sample(port));
            }
            seen
        })
    };
    second_night(dir.path());
    // The reader's next answers come after the run.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.join().expect("reader");
    let second_night = sample(endpoint.port);
    assert_ne!(first_night, second_night, "the second night added rows");
    assert!(seen.len() > 3, "the reader read during the run: {seen:?}");
    for answer in &seen {
        let cells: Vec<&str> = answer.split(',').collect();
        assert_eq!(
            cells[0], cells[1],
            "raw_events and etl_log_files of different nights: {seen:?}"
        );
        assert!(
            *answer == first_night || *answer == second_night,
            "half a night: {answer}, not {first_night} or {second_night}"
        );
    }

    writeln!(to_follower).expect("go on");
    let mut again = String::new();
    from_follower.read_to_string_lossy(&mut again);
    let _ = follower.wait();
    let as_row = |text: &str| -> Value {
        let cells: Vec<Value> = text
            .split(',')
            .map(|c| serde_json::json!(c.parse::<f64>().expect("a number")))
            .collect();
        serde_json::json!([cells])
    };
    let numbers = |v: Value| -> Value {
        serde_json::json!(
            v.as_array()
                .expect("rows")
                .iter()
                .map(|row| row
                    .as_array()
                    .expect("row")
                    .iter()
                    .map(|c| serde_json::json!(c.as_f64().expect("a number")))
                    .collect::<Vec<_>>())
                .collect::<Vec<_>>()
        )
    };
    assert_eq!(
        numbers(serde_json::from_str(&first).expect("JSON")),
        as_row(&first_night)
    );
    assert_eq!(
        numbers(serde_json::from_str(&again).expect("JSON")),
        as_row(&second_night),
        "the same connection sees the new night"
    );
}

trait ReadAll {
    fn read_to_string_lossy(&mut self, into: &mut String);
}

impl<R: std::io::Read> ReadAll for R {
    fn read_to_string_lossy(&mut self, into: &mut String) {
        let mut bytes = Vec::new();
        let _ = self.read_to_end(&mut bytes);
        into.push_str(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn a_query_past_its_time_or_memory_is_stopped_with_its_sqlstate_and_others_go_on() {
    let dir = night_project();
    let path = dir.path().join("site/darkroom.toml");
    let text = std::fs::read_to_string(&path).expect("project file");
    assert!(
        text.contains("\nmemory_limit_mb = 4096") && text.contains("\ntimeout_seconds = 300"),
        "{text}"
    );
    std::fs::write(
        &path,
        text.replace("\nmemory_limit_mb = 4096", "\nmemory_limit_mb = 64")
            .replace("\ntimeout_seconds = 300", "\ntimeout_seconds = 2"),
    )
    .expect("write");
    let endpoint = start(dir.path());
    let slow = "SELECT count(*) FROM generate_series(1, 100000000000) AS t(g) WHERE g % 7 = 3";
    let big = "SELECT count(*), count(DISTINCT f.m['b']) FROM (\
               SELECT g % 50000 AS k, min(named_struct('a', g, 'b', CAST(g % 7 AS VARCHAR))) AS m \
               FROM generate_series(1, 1000000) AS t(g) GROUP BY g % 50000) f";
    for (sql, prepare, code) in [(slow, false, "57014"), (slow, true, "57014"), (big, false, "53200")] {
        let got = python(
            "sqlstate",
            endpoint.port,
            USER,
            PASSWORD,
            &serde_json::json!({"sql": sql, "prepare": prepare}),
        );
        assert_eq!(got, code, "{sql}");
    }
    let timed = psql(endpoint.port, Some(PASSWORD), &["-c", slow]);
    assert!(
        stderr(&timed).contains("ERROR:  57014: query stopped after 2 s"),
        "{}",
        stderr(&timed)
    );
    assert!(stderr(&timed).contains("HINT:  narrow the query"), "{}", stderr(&timed));
    let fine = psql(
        endpoint.port,
        Some(PASSWORD),
        &["-At", "-c", "SELECT count(*) > 0 FROM daily_metrics"],
    );
    assert_eq!(stdout(&fine).trim(), "t", "{}", stderr(&fine));
}

#[test]
fn deltalake_and_polars_read_the_warehouse_tables_without_darkroom() {
    let dir = one_night_project();
    let warehouse = dir.path().join("site/warehouse");
    let everything = "SELECT date, metric, value FROM daily_metrics ORDER BY date, metric";
    let columns: Vec<String> = ["date", "metric", "value"].map(str::to_owned).to_vec();
    // What darkroom said after the first night, and the table's version then.
    let first_night = darkroom_rows(dir.path(), everything, &columns);
    let commits = |table: &str| {
        std::fs::read_dir(warehouse.join(table).join("_delta_log"))
            .expect("a Delta log")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count() as u64
    };
    let first_version = commits("daily_metrics") - 1;
    second_night(dir.path());
    assert!(
        commits("daily_metrics") - 1 > first_version,
        "the second night committed"
    );

    let read = |table: &str, version: Option<u64>, sql: &str| {
        python(
            "open",
            0,
            "",
            "",
            &serde_json::json!({"warehouse": warehouse, "table": table, "version": version, "sql": sql}),
        )
    };
    let cases = [
        (
            "daily_metrics",
            "SELECT date, metric, value FROM t ORDER BY date, metric",
            everything,
        ),
        (
            "fact_page_views",
            "SELECT client, count(*) AS page_views FROM t GROUP BY client ORDER BY client",
            "SELECT client, count(*) AS page_views FROM fact_page_views GROUP BY client ORDER BY client",
        ),
    ];
    for (table, polars_sql, darkroom_sql) in cases {
        let got = read(table, None, polars_sql);
        let (columns, rows) = rows_of(&got["polars"]);
        assert_same_rows(
            "polars",
            polars_sql,
            &darkroom_rows(dir.path(), darkroom_sql, &columns),
            &rows,
        );
        assert!(got["deltalake_rows"].as_u64().is_some_and(|n| n > 0), "{got}");
    }
    // Time travel: the version after the first night is what darkroom said then.
    let got = read(
        "daily_metrics",
        Some(first_version),
        "SELECT date, metric, value FROM t ORDER BY date, metric",
    );
    assert_eq!(got["deltalake_version"], first_version, "{got}");
    let (_, rows) = rows_of(&got["polars"]);
    assert_same_rows("polars, the first night's version", everything, &first_night, &rows);
}
