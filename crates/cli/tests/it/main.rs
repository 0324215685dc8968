//! The `darkroom` binary as a user runs it: arguments in, stdout, stderr and exit code out.

mod pgwire;
mod secrets;

use std::path::Path;
use std::process::{Command, Output};

fn darkroom(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_darkroom"))
        .args(args)
        .current_dir(cwd)
        .env_remove("DARKROOM_LOG")
        .output()
        .expect("run darkroom")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `darkroom sql --project site --format FORMAT QUERY` in `cwd`.
fn sql(cwd: &Path, format: &str, query: &str) -> Output {
    darkroom(&["sql", "--project", "site", "--format", format, query], cwd)
}

/// A project with two simulated days of 300 users from 2015-02-09, made
/// through the CLI, `more` added to `sim advance`'s arguments; and what
/// `sim advance` printed.
fn simulated_project(more: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().expect("temp dir");
    let init = darkroom(&["init", "site"], dir.path());
    assert!(init.status.success(), "{}", stderr(&init));
    let mut args = vec![
        "sim",
        "advance",
        "site",
        "--days",
        "2",
        "--users",
        "300",
        "--start",
        "2015-02-09",
    ];
    args.extend_from_slice(more);
    let sim = darkroom(&args, dir.path());
    assert!(sim.status.success(), "{}", stderr(&sim));
    (dir, sim)
}

/// A project with two simulated days, made through the CLI.
fn project() -> tempfile::TempDir {
    let (dir, sim) = simulated_project(&[]);
    assert!(
        stdout(&sim).starts_with("generated 2015-02-09 to 2015-02-10: 192 files"),
        "{}",
        stdout(&sim)
    );
    dir
}

#[test]
fn sql_over_raw_archives_as_rfc4180_csv() {
    let dir = project();
    let out = sql(
        dir.path(),
        "csv",
        "SELECT action, count(*) FROM logs GROUP BY action ORDER BY action",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("action,count(*)"));
    let actions: Vec<&str> = lines.map(|l| l.split(',').next().unwrap_or_default()).collect();
    assert!(actions.contains(&"page_view") && actions.contains(&"signup"), "{text}");
    assert!(actions.windows(2).all(|w| w[0] < w[1]), "ordered: {text}");
}

#[test]
fn csv_quotes_fields_that_need_it_and_json_is_an_array() {
    let dir = project();
    let out = sql(dir.path(), "csv", "SELECT 'a,b' AS x, 'say \"hi\"' AS y, NULL AS z");
    assert_eq!(stdout(&out), "x,y,z\n\"a,b\",\"say \"\"hi\"\"\",\n");
    let out = sql(dir.path(), "json", "SELECT 1 AS n, 'x' AS s");
    assert_eq!(stdout(&out).trim(), r#"[{"n":1,"s":"x"}]"#);
}

#[test]
fn timestamps_print_as_utc_iso_8601() {
    let dir = project();
    let out = sql(dir.path(), "csv", "SELECT min(event_time) AS first FROM logs");
    let text = stdout(&out);
    let value = text.lines().nth(1).unwrap_or_default();
    assert!(
        value.starts_with("2015-02-0") && value.ends_with('Z') && value.contains('T'),
        "{text}"
    );
}

#[test]
fn writes_are_refused_with_exit_code_1_and_a_hint() {
    let dir = project();
    let out = darkroom(&["sql", "--project", "site", "CREATE TABLE t AS SELECT 1"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("error: only read-only queries are allowed here"),
        "{err}"
    );
    assert!(lines[1].starts_with("hint: write a SELECT"), "{err}");
}

#[test]
fn bad_sql_names_the_problem() {
    let dir = project();
    let out = darkroom(&["sql", "--project", "site", "SELECT nope FROM logs"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error: SQL error:") && stderr(&out).contains("nope"),
        "{}",
        stderr(&out)
    );
}

/// Regression: a query whose memory DataFusion's pool does not count (`min()` of a
/// struct per group, then a distinct count of one of its fields) grew `darkroom sql`
/// to 8.7 GB under a 4,096 MB limit. Now it stops at the limit, and the error comes
/// at once, though a worker may still be inside the aggregate.
#[test]
fn a_query_that_outgrows_its_memory_limit_is_stopped_with_exit_code_1() {
    let dir = project();
    let toml = dir.path().join("site/darkroom.toml");
    let text = std::fs::read_to_string(&toml).expect("project file");
    assert!(text.contains("\nmemory_limit_mb = 4096"), "{text}");
    std::fs::write(
        &toml,
        text.replace("\nmemory_limit_mb = 4096", "\nmemory_limit_mb = 64"),
    )
    .expect("write");
    let out = sql(
        dir.path(),
        "csv",
        "SELECT count(*), count(DISTINCT f.m['b']) FROM (\
           SELECT g % 50000 AS k, min(named_struct('a', g, 'b', CAST(g % 7 AS VARCHAR))) AS m \
           FROM generate_series(1, 1000000) AS t(g) GROUP BY g % 50000) f",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("error: query stopped at its memory limit of 64 MB: the process grew by "),
        "{err}"
    );
    assert_eq!(
        lines[1],
        "hint: aggregate more or select fewer columns, or raise [query] memory_limit_mb in darkroom.toml"
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

#[test]
fn a_folder_that_is_not_a_project_is_exit_code_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = darkroom(&["sql", "SELECT 1"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: . is not a darkroom project: it has no darkroom.toml\nhint: run inside a project folder or pass --project DIR; `darkroom init DIR` writes a new project\n"
    );
    let out = darkroom(&["sim", "advance", "nowhere"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("nowhere").exists(), "nothing was created");
}

#[test]
fn a_missing_log_folder_is_named_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(darkroom(&["init", "site"], dir.path()).status.success());
    let out = darkroom(&["sql", "--project", "site", "SELECT count(*) FROM logs"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with("error: log folder site/logs does not exist\n"), "{err}");
    assert!(err.contains("hint: set [sources.logs] path"), "{err}");
}

#[test]
fn an_unknown_log_format_in_the_project_file_is_exit_code_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(darkroom(&["init", "site"], dir.path()).status.success());
    let file = dir.path().join("site/darkroom.toml");
    let written = std::fs::read_to_string(&file).expect("read");
    let line = written[..written.find("\"api-v1\"").expect("format")].lines().count();
    std::fs::write(&file, written.replace("\"api-v1\"", "\"apache-combined\"")).expect("write");
    let out = darkroom(&["sql", "--project", "site", "SELECT 1"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "site/darkroom.toml line {line}, column 10: [sources.logs] format: unknown variant `apache-combined`, expected `api-v1`"
        )),
        "{err}"
    );
}

#[test]
fn an_unknown_fault_is_exit_code_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(darkroom(&["init", "site"], dir.path()).status.success());
    let out = darkroom(&["sim", "advance", "site", "--faults", "gremlins=3"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: unknown fault `gremlins`\nhint: faults are bad_lines=RATE"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("site/logs").exists());
}

#[test]
fn init_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(darkroom(&["init", "site"], dir.path()).status.success());
    let out = darkroom(&["init", "site"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: site is already a darkroom project"));
}

#[test]
fn demo_generates_and_queries_a_fresh_project() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = darkroom(&["demo", "--days", "3", "--no-serve"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("wrote a new project in darkroom-demo"), "{text}");
    assert!(text.contains("and ran 3 nightly runs"), "{text}");
    assert!(text.contains("| purchase_type |"), "{text}");
    let again = darkroom(&["demo", "--days", "1", "--no-serve"], dir.path());
    assert!(
        stdout(&again).contains("wrote a new project in darkroom-demo-2"),
        "never reuses a folder"
    );
}

#[test]
fn an_archive_that_cannot_be_read_is_named_with_exit_code_2() {
    let dir = project();
    let hour = dir.path().join("site/logs/2015/02/10/05");
    std::os::unix::fs::symlink("/nonexistent/api-09.log.gz", hour.join("api-09.log.gz")).expect("symlink");
    let out = darkroom(&["sql", "--project", "site", "SELECT count(*) FROM logs"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot list log folder site/logs/2015/02/10/05/api-09.log.gz:"),
        "{err}"
    );
    assert!(
        err.contains("\nhint: check that the file exists and that this user may read it"),
        "{err}"
    );
}

#[test]
fn a_production_url_of_an_unknown_kind_is_exit_code_2_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(darkroom(&["init", "site"], dir.path()).status.success());
    let file = dir.path().join("site/darkroom.toml");
    let text = std::fs::read_to_string(&file)
        .expect("read")
        .replace("sqlite://production.db", "oracle://prod/db");
    std::fs::write(&file, text).expect("write");
    let out = darkroom(&["sim", "advance", "site"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("error: production URL `oracle://prod/db` is not sqlite://, mysql:// or postgres://\nhint: set [sources.production] url"), "{}", stderr(&out));
    assert!(!dir.path().join("site/logs").exists());
}

#[test]
fn an_answer_of_no_rows_still_has_its_csv_header() {
    let dir = project();
    let out = sql(
        dir.path(),
        "csv",
        "SELECT action, user_id FROM logs WHERE action = 'no_such_action'",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "action,user_id\n");
}

#[test]
fn run_builds_the_warehouse_and_a_second_run_of_the_day_does_nothing() {
    let dir = project();
    let first = darkroom(
        &["run", "--project", "site", "--from", "2015-02-09", "--to", "2015-02-10"],
        dir.path(),
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let lines: Vec<String> = stdout(&first)
        .lines()
        .filter(|l| !l.starts_with("  "))
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2, "one line per day, then indented task notes: {lines:?}");
    assert!(
        stdout(&first).contains("daily_metrics")
            && stdout(&first).contains("published value(s) changed: see metric_restatements"),
        "the second night restates the first day's late lines: {}",
        stdout(&first)
    );
    assert!(lines[0].starts_with("2015-02-09: run 1 succeeded in "), "{}", lines[0]);
    assert!(lines[1].starts_with("2015-02-10: run 2 succeeded in "), "{}", lines[1]);
    let again = darkroom(&["run", "--project", "site", "--date", "2015-02-10"], dir.path());
    assert!(again.status.success(), "{}", stderr(&again));
    // Every task of the graph `darkroom dag` lists (a task's name is its unindented line).
    let dag = stdout(&darkroom(&["dag", "--project", "site"], dir.path()));
    let tasks = dag.lines().filter(|l| !l.starts_with(' ')).count();
    assert!(
        stdout(&again).contains(&format!(
            "0 tasks ran, {tasks} were complete already, 0 failed, 0 not run; 0 rows written"
        )),
        "{}",
        stdout(&again)
    );
    let counts = sql(
        dir.path(),
        "csv",
        "SELECT (SELECT count(*) FROM fact_page_views) = (SELECT count(*) FROM logs WHERE action = 'page_view') AS same",
    );
    assert_eq!(stdout(&counts), "same\ntrue\n", "{}", stderr(&counts));
    let history = sql(
        dir.path(),
        "csv",
        "SELECT count(*) AS runs FROM etl_runs WHERE state = 'succeeded'",
    );
    assert_eq!(stdout(&history), "runs\n3\n");
}

#[test]
fn run_without_a_day_or_with_a_bad_one_is_exit_code_2() {
    let dir = project();
    let none = darkroom(&["run", "--project", "site"], dir.path());
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(
        stderr(&none),
        "error: darkroom run needs a day\nhint: pass --date YYYY-MM-DD, or --from YYYY-MM-DD --to YYYY-MM-DD for a backfill\n"
    );
    let bad = darkroom(&["run", "--project", "site", "--date", "2015-02-30"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).starts_with("error: bad date \"2015-02-30\": expected YYYY-MM-DD\n"),
        "{}",
        stderr(&bad)
    );
    let backwards = darkroom(
        &["run", "--project", "site", "--from", "2015-02-10", "--to", "2015-02-09"],
        dir.path(),
    );
    assert_eq!(backwards.status.code(), Some(2));
    assert!(stderr(&backwards).contains("--from 2015-02-10 is after --to 2015-02-09"));
}

#[test]
fn a_failed_task_is_exit_code_1_with_the_task_named() {
    let dir = project();
    std::fs::write(
        dir.path().join("site/models/broken.sql"),
        "SELECT nosuchcolumn FROM raw_events\n",
    )
    .expect("write");
    let out = darkroom(&["run", "--project", "site", "--date", "2015-02-09"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("broken"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("models/broken.sql line 1, column 8"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("error: 1 task(s) of the run for 2015-02-09 failed: broken\nhint: "),
        "{}",
        stderr(&out)
    );
    // The Pipeline dashboard and the failure alert show the end of the task's own log.
    let log = std::fs::read_to_string(dir.path().join("site/run-logs/1/broken.log")).expect("the task's log file");
    assert!(log.contains(" INFO darkroom_pipeline::runner: started\n"), "{log}");
    assert!(
        log.contains("ERROR darkroom_pipeline::runner: failed") && log.contains("nosuchcolumn"),
        "{log}"
    );
    let tails = sql(
        dir.path(),
        "json",
        "SELECT task, log_tail FROM etl_task_runs WHERE task IN ('broken', 'load_logs') ORDER BY task",
    );
    let tails: serde_json::Value =
        serde_json::from_str(&stdout(&tails)).unwrap_or_else(|_| panic!("{}", stderr(&tails)));
    assert_eq!(
        tails[0]["log_tail"].as_str(),
        Some(log.trim_end()),
        "a short log is its own tail"
    );
    let load_tail = tails[1]["log_tail"].as_str().expect("load_logs ran");
    let loaded = sql(
        dir.path(),
        "csv",
        "SELECT rows_written FROM etl_task_runs WHERE task = 'load_logs'",
    );
    let rows_written = stdout(&loaded).lines().nth(1).expect("a row").to_owned();
    assert!(
        load_tail.contains("succeeded seconds=") && load_tail.contains(&format!("rows_written={rows_written} ")),
        "{load_tail}"
    );
}

#[test]
fn dag_prints_the_graph_as_text_and_dot() {
    let dir = project();
    let text = darkroom(&["dag", "--project", "site"], dir.path());
    assert!(text.status.success(), "{}", stderr(&text));
    let text = stdout(&text);
    assert!(
        text.starts_with("load_logs\n    built-in: parse new log archives\n"),
        "{text}"
    );
    assert!(text.contains("fact_subscription_purchases\n    model "), "{text}");
    let dot = stdout(&darkroom(&["dag", "--project", "site", "--format", "dot"], dir.path()));
    assert!(dot.starts_with("digraph darkroom {"), "{dot}");
    assert!(
        dot.contains("\"fact_subscriber_snapshots\"")
            || dot.contains("\"subscriber_snapshot\" -> \"fact_subscription_purchases\";"),
        "{dot}"
    );
    assert!(dot.trim_end().ends_with('}'));
}

#[test]
fn tearsheet_says_when_its_weeks_have_no_data_and_writes_html_csv_and_xlsx() {
    let dir = project();
    let site = dir.path().join("site");
    for file in ["metrics.toml", "plan.csv", "dictionary.toml", "models/funnel_steps.sql"] {
        assert!(site.join(file).is_file(), "init writes {file}");
    }
    let none = darkroom(&["tearsheet", "--project", "site"], dir.path());
    assert_eq!(none.status.code(), Some(2), "{}", stderr(&none));
    assert_eq!(
        stderr(&none),
        "error: the warehouse has no daily_metrics yet\nhint: run the nightly run first: `darkroom run --date YYYY-MM-DD`\n"
    );
    let run = darkroom(
        &["run", "--project", "site", "--from", "2015-02-09", "--to", "2015-02-10"],
        dir.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));

    // The latest complete week ends 2015-02-08: the five weeks before it have no data.
    let empty = darkroom(&["tearsheet", "--project", "site"], dir.path());
    assert_eq!(empty.status.code(), Some(1), "{}", stderr(&empty));
    assert_eq!(
        stderr(&empty),
        "error: no daily metrics for the weeks 2015-01-05 to 2015-02-08: the tearsheet would be all blanks\n\
         hint: run the nightly run for those days first (`darkroom run --from D1 --to D2`), or pick another --week\n"
    );
    assert_eq!(stdout(&empty), "", "no page of zeros");

    let not_monday = darkroom(&["tearsheet", "--project", "site", "--week", "2015-02-11"], dir.path());
    assert_eq!(not_monday.status.code(), Some(2));
    assert!(stderr(&not_monday).starts_with("error: --week 2015-02-11: a Wednesday, not a Monday\n"));

    let csv = darkroom(
        &[
            "tearsheet",
            "--project",
            "site",
            "--week",
            "2015-02-16",
            "--format",
            "csv",
        ],
        dir.path(),
    );
    assert!(csv.status.success(), "{}", stderr(&csv));
    let text = stdout(&csv);
    assert!(
        text.starts_with("team,metric,unit,week_start,days,actual,plan,diff_percent,failed_audits\n"),
        "{text}"
    );
    assert!(
        text.contains("\nexecutive,visitors,users,2015-02-09,2,"),
        "two days of the week: {text}"
    );
    assert!(text.contains("\nexecutive,visitors,users,2015-01-12,0,,,,\n"), "{text}");
    assert!(text.contains(",subscription_revenue_cents,dollars,"), "{text}");

    let html = darkroom(
        &[
            "tearsheet",
            "--project",
            "site",
            "--week",
            "2015-02-16",
            "--out",
            "sheet.html",
        ],
        dir.path(),
    );
    assert!(html.status.success(), "{}", stderr(&html));
    let page = std::fs::read_to_string(dir.path().join("sheet.html")).expect("page");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("Executive tearsheet: weeks 2015-01-12 to 2015-02-15"));
    assert!(page.contains("@media print"));

    let xlsx = darkroom(
        &[
            "tearsheet",
            "--project",
            "site",
            "--week",
            "2015-02-16",
            "--format",
            "xlsx",
            "--out",
            "sheet.xlsx",
        ],
        dir.path(),
    );
    assert!(xlsx.status.success(), "{}", stderr(&xlsx));
    assert_eq!(stdout(&xlsx), "wrote sheet.xlsx\n");
    let bytes = std::fs::read(dir.path().join("sheet.xlsx")).expect("xlsx");
    assert_eq!(&bytes[..2], b"PK");

    // The data dictionary, read from the same warehouse.
    let docs = darkroom(&["docs", "--project", "site", "--out", "dictionary"], dir.path());
    assert!(docs.status.success(), "{}", stderr(&docs));
    assert!(
        stdout(&docs).starts_with("wrote dictionary/index.html and dictionary/dictionary.md: "),
        "{}",
        stdout(&docs)
    );
    assert!(
        !stdout(&docs).contains("without a description"),
        "the shipped dictionary.toml describes every column, the run history's included: {}",
        stdout(&docs)
    );
    let markdown = std::fs::read_to_string(dir.path().join("dictionary/dictionary.md")).expect("markdown");
    assert!(markdown.contains("\n## fact_page_views\n"), "{markdown}");
    let action = markdown
        .lines()
        .find(|l| l.starts_with("| action | text"))
        .expect("raw_events.action is listed");
    assert!(
        action.contains("page_view ("),
        "its values, read from the data: {action}"
    );
    assert!(
        markdown.contains("| subscription_type | text | free, or the plan of an active subscription. | free ("),
        "{markdown}"
    );
    assert!(markdown.contains("| churned_subscribers | users in the snapshot of d-1 and not in the snapshot of d | sales | retention | users |"));
    let page = std::fs::read_to_string(dir.path().join("dictionary/index.html")).expect("html");
    assert!(page.contains("id=\"dim_users\""));
}

#[test]
fn a_plan_row_for_an_unknown_metric_is_named_with_its_line() {
    let dir = project();
    let run = darkroom(&["run", "--project", "site", "--date", "2015-02-09"], dir.path());
    assert!(run.status.success(), "{}", stderr(&run));
    let plan = dir.path().join("site/plan.csv");
    let text = std::fs::read_to_string(&plan).expect("plan");
    let second = text.lines().nth(1).expect("a row").to_owned();
    let (_, rest) = second.split_once(',').expect("metric,week_start,value");
    let broken = text.replacen(&second, &format!("vistors,{rest}"), 1);
    assert_ne!(broken, text);
    std::fs::write(&plan, broken).expect("write");
    let out = darkroom(&["tearsheet", "--project", "site", "--week", "2015-02-16"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "plan.csv, line 2: unknown metric \"vistors\"; metrics.toml does not define it\nhint: fix that row"
        ),
        "{}",
        stderr(&out)
    );
}

/// `darkroom audit`: the findings of a day as the audit_results columns, worst
/// first; `--fail-on fail` makes a corrupt archive exit 1, naming the file.
#[test]
fn audit_prints_findings_worst_first_and_fails_on_request() {
    let (dir, _) = simulated_project(&["--faults", "corrupt_gzip=2015-02-10"]);
    let run = darkroom(
        &["run", "--project", "site", "--from", "2015-02-09", "--to", "2015-02-10"],
        dir.path(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let ledger = std::fs::read_to_string(dir.path().join("site/truth/faults.csv")).expect("fault ledger");
    let corrupt_file = ledger
        .lines()
        .find_map(|l| l.strip_prefix("corrupt_gzip,2015-02-10,"))
        .and_then(|rest| rest.split(',').next())
        .expect("the ledger names the corrupt file")
        .to_owned();

    let out = darkroom(
        &[
            "audit",
            "--project",
            "site",
            "--date",
            "2015-02-10",
            "--format",
            "csv",
            "--fail-on",
            "fail",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("audit_date,check,subject,status,observed,expected,detail")
    );
    let statuses: Vec<&str> = lines.map(|l| l.split(',').nth(3).unwrap_or_default()).collect();
    let fails = statuses.iter().filter(|s| **s == "fail").count();
    assert!(
        statuses.windows(2).all(|w| w[0] == "fail" || w[1] != "fail"),
        "worst first: {statuses:?}"
    );
    assert!(
        text.contains(&format!("2015-02-10,parse_errors,{corrupt_file},fail,corrupt: ")),
        "the corrupt file is named: {text}"
    );
    assert!(
        text.contains(",unknown_actions,actions,pass,every action known,"),
        "pass rows too: {text}"
    );
    assert!(
        stderr(&out).starts_with(&format!(
            "error: {fails} finding(s) at or above fail (--fail-on fail)\nhint: "
        )),
        "{}",
        stderr(&out)
    );
    // Without --fail-on the same findings exit 0; the night wrote them to audit_results too.
    let plain = darkroom(&["audit", "--project", "site", "--date", "2015-02-10"], dir.path());
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    let stored = sql(
        dir.path(),
        "csv",
        "SELECT subject FROM audit_results WHERE audit_date = DATE '2015-02-10' AND status = 'fail'",
    );
    assert!(
        stdout(&stored).lines().any(|l| l == corrupt_file),
        "{}",
        stdout(&stored)
    );
}

#[test]
fn a_bad_audits_toml_is_exit_code_2_naming_file_line_and_key() {
    let dir = project();
    std::fs::write(dir.path().join("site/audits.toml"), "[anomaly]\nmax_z = 3\n").expect("write");
    let out = darkroom(&["audit", "--project", "site", "--date", "2015-02-09"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error: site/audits.toml, line 2: unknown field `max_z`"),
        "{}",
        stderr(&out)
    );
}

/// `darkroom` with `input` on its standard input (not a terminal: the password's line).
fn darkroom_with_input(args: &[&str], cwd: &Path, input: &str) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_darkroom"))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run darkroom");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write the password");
    child.wait_with_output().expect("darkroom ends")
}

#[test]
fn users_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(darkroom(&["init", "site"], dir.path()).status.success());
    let add = darkroom_with_input(
        &["user", "add", "ana", "--role", "editor", "--project", "site"],
        dir.path(),
        "correct horse battery\n",
    );
    assert!(add.status.success(), "{}", stderr(&add));
    assert_eq!(stdout(&add), "added ana (editor)\n");
    let short = darkroom_with_input(
        &["user", "add", "bo", "--role", "viewer", "--project", "site"],
        dir.path(),
        "short\n",
    );
    assert_eq!(short.status.code(), Some(2));
    assert!(
        stderr(&short).starts_with("error: a password needs at least 8 characters"),
        "{}",
        stderr(&short)
    );
    let twice = darkroom_with_input(
        &["user", "add", "ana", "--role", "admin", "--project", "site"],
        dir.path(),
        "another password\n",
    );
    assert!(
        stderr(&twice).starts_with("error: user \"ana\" already exists"),
        "{}",
        stderr(&twice)
    );
    assert!(
        darkroom(&["user", "role", "ana", "admin", "--project", "site"], dir.path())
            .status
            .success()
    );
    let list = darkroom(&["user", "list", "--project", "site"], dir.path());
    assert_eq!(stdout(&list), "ana\tadmin\n");
    let token = darkroom(&["user", "token", "ana", "--project", "site"], dir.path());
    let token = stdout(&token);
    assert_eq!(token.trim().len(), 64, "{token}");
    let gone = darkroom(&["user", "remove", "nobody", "--project", "site"], dir.path());
    assert!(
        stderr(&gone).starts_with("error: no user \"nobody\""),
        "{}",
        stderr(&gone)
    );
}

/// `darkroom serve` as a user starts it: it prints its URL, answers, and
/// refuses an address it cannot take with the address named.
#[test]
fn serve_prints_its_url_and_answers() {
    use std::io::{BufRead as _, Read as _, Write as _};
    let dir = project();
    let mut server = Command::new(env!("CARGO_BIN_EXE_darkroom"))
        .args([
            "serve",
            "--project",
            "site",
            "--listen",
            "127.0.0.1:0",
            "--pgwire-listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut lines = std::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    let line = lines
        .find_map(|l| l.ok().filter(|l| l.contains("serving on")))
        .expect("the URL is printed");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("an address")
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connects");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
    let taken = darkroom(
        &[
            "serve",
            "--project",
            "site",
            "--listen",
            &addr,
            "--pgwire-listen",
            "127.0.0.1:0",
        ],
        dir.path(),
    );
    assert_eq!(taken.status.code(), Some(2));
    assert!(
        stderr(&taken).starts_with(&format!("error: cannot listen on {addr}:")),
        "{}",
        stderr(&taken)
    );
    server.kill().expect("stopped");
    let _ = server.wait();
}

/// The `.eml` files in `dir`.
fn outbox(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut mails: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    mails.retain(|p| p.extension().is_some_and(|x| x == "eml"));
    mails
}

fn append_to_project_file(dir: &Path, text: &str) {
    let path = dir.join("site/darkroom.toml");
    let mut project = std::fs::read_to_string(&path).expect("project file");
    project.push_str(text);
    std::fs::write(&path, project).expect("write project file");
}

#[test]
fn send_writes_the_email_to_the_outbox_and_bad_arguments_are_exit_code_2() {
    let dir = project();
    let ran = darkroom(
        &["run", "--project", "site", "--from", "2015-02-09", "--to", "2015-02-10"],
        dir.path(),
    );
    assert!(ran.status.success(), "{}", stderr(&ran));
    let sent = darkroom(
        &[
            "send",
            "--project",
            "site",
            "--dashboard",
            "sales",
            "--to",
            "sales@example.com",
            "--attach",
            "xlsx",
        ],
        dir.path(),
    );
    assert!(sent.status.success(), "{}", stderr(&sent));
    let mails = outbox(&dir.path().join("site/outbox"));
    assert_eq!(mails.len(), 1);
    assert_eq!(
        stdout(&sent),
        format!(
            "sent \"Sales: the numbers to Tue 10 Feb 2015\" (7 charts) emailed to {}\n",
            Path::new("site/outbox")
                .join(mails[0].file_name().expect("name"))
                .display()
        )
    );
    let mail = std::fs::read_to_string(&mails[0]).expect("mail");
    assert!(mail.contains("To: sales@example.com\r\n"), "{mail}");
    assert!(mail.contains("Content-Type: image/png"), "charts inline");
    assert!(mail.contains("filename=\"sales-renewals.xlsx\""), "rows attached");

    // Without --to, to the dashboard's subscribers: the template's executive subscription.
    let subscribers = darkroom(&["send", "--project", "site", "--dashboard", "executive"], dir.path());
    assert!(subscribers.status.success(), "{}", stderr(&subscribers));
    assert!(
        stdout(&subscribers).starts_with("sent \"Executive: "),
        "{}",
        stdout(&subscribers)
    );
    assert_eq!(outbox(&dir.path().join("site/outbox")).len(), 2);

    let bad_address = darkroom(
        &[
            "send",
            "--project",
            "site",
            "--dashboard",
            "sales",
            "--to",
            "sales at example",
        ],
        dir.path(),
    );
    assert_eq!(bad_address.status.code(), Some(2));
    assert!(
        stderr(&bad_address).starts_with("error: --to \"sales at example\" is not an email address"),
        "{}",
        stderr(&bad_address)
    );
    let unknown = darkroom(
        &[
            "send",
            "--project",
            "site",
            "--dashboard",
            "finance",
            "--to",
            "a@example.com",
        ],
        dir.path(),
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(
        stderr(&unknown),
        "error: dashboard \"finance\" does not exist\nhint: name a file of dashboards/ without .toml, or tearsheet\n"
    );
    assert_eq!(outbox(&dir.path().join("site/outbox")).len(), 2, "nothing more sent");
}

#[test]
fn serve_sends_a_subscription_when_it_is_due_and_the_pipeline_shows_it() {
    let dir = project();
    let ran = darkroom(&["run", "--project", "site", "--date", "2015-02-09"], dir.path());
    assert!(ran.status.success(), "{}", stderr(&ran));
    append_to_project_file(
        dir.path(),
        "\n[[subscriptions]]\ndashboard = \"pipeline\"\nto = [\"ops@example.com\"]\ncron = \"*/2 * * * * *\"\n",
    );
    let mut server = Command::new(env!("CARGO_BIN_EXE_darkroom"))
        .args([
            "serve",
            "--project",
            "site",
            "--listen",
            "127.0.0.1:0",
            "--pgwire-listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mailbox = dir.path().join("site/outbox");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while outbox(&mailbox).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    server.kill().expect("stopped");
    let _ = server.wait();
    let mails = outbox(&mailbox);
    assert!(
        !mails.is_empty(),
        "a mail within two minutes of a schedule due every two seconds"
    );
    let mail = std::fs::read_to_string(&mails[0]).expect("mail");
    assert!(mail.contains("Subject: Pipeline: the numbers to "), "{mail}");
    assert!(mail.contains("To: ops@example.com"), "{mail}");
    let schedules = sql(
        dir.path(),
        "csv",
        "SELECT schedule, cron, last_outcome, next_due IS NOT NULL AS next FROM etl_schedules ORDER BY schedule",
    );
    let text = stdout(&schedules);
    assert!(
        text.starts_with("schedule,cron,last_outcome,next\nsubscriptions[1] executive,0 7 * * *,,true\n"),
        "the template's subscription is scheduled, not run at first start: {text}{}",
        stderr(&schedules)
    );
    assert!(
        text.contains("subscriptions[2] pipeline,*/2 * * * * *,succeeded,true\n"),
        "{text}"
    );
}

#[test]
fn a_bad_cron_expression_stops_serve_at_start_naming_the_key_and_line() {
    let dir = project();
    append_to_project_file(
        dir.path(),
        "\n[[subscriptions]]\ndashboard = \"pipeline\"\nto = [\"ops@example.com\"]\ncron = \"0 25 * * *\"\n",
    );
    let lines = std::fs::read_to_string(dir.path().join("site/darkroom.toml"))
        .expect("project file")
        .lines()
        .count();
    let out = darkroom(
        &[
            "serve",
            "--project",
            "site",
            "--listen",
            "127.0.0.1:0",
            "--pgwire-listen",
            "127.0.0.1:0",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let expected = format!(
        "error: {} line {}: subscriptions[2].cron: \"0 25 * * *\" is not a cron schedule",
        Path::new("site").join("darkroom.toml").display(),
        lines - 3
    );
    assert!(
        stderr(&out).starts_with(&expected),
        "{}\nwanted: {expected}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("\nhint: fix that key in darkroom.toml"),
        "{}",
        stderr(&out)
    );
}
