//! Every error variant of every library crate, printed as the binary prints
//! it (`report::render`): each cause said once, and a hint that points only at
//! things that exist (a key of darkroom.toml, a command, a project file),
//! never at darkroom's source code.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use clap::CommandFactory;
use darkroom_audit::AuditError;
use darkroom_delivery::DeliveryError;
use darkroom_logs::LogsError;
use darkroom_metrics::MetricsError;
use darkroom_pgwire::PgwireError;
use darkroom_pipeline::{PipelineError, ProjectConfig, ProjectError};
use darkroom_sim::SimError;
use darkroom_sources::SourcesError;
use darkroom_warehouse::{EngineFailure, WarehouseError};

use crate::report::{UsageError, render};

fn io_error() -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, "permission denied (os error 13)")
}

fn path() -> PathBuf {
    PathBuf::from("site/warehouse/raw_events")
}

fn walk_error() -> walkdir::Error {
    walkdir::WalkDir::new("/no/such/folder/anywhere")
        .into_iter()
        .find_map(Result::err)
        .unwrap_or_else(|| unreachable!("walking a missing folder fails"))
}

fn logs_errors() -> Vec<LogsError> {
    vec![
        LogsError::MissingRoot { path: path() },
        LogsError::RootNotAFolder { path: path() },
        LogsError::List {
            path: path(),
            source: walk_error(),
        },
        LogsError::Open {
            path: path(),
            source: io_error(),
        },
        LogsError::Batch {
            source_file: "2015/02/10/10/api-01.log.gz".into(),
            source: arrow::error::ArrowError::ComputeError("columns differ".into()),
        },
    ]
}

fn sources_errors() -> Vec<SourcesError> {
    vec![
        SourcesError::UnknownScheme {
            url: "oracle://db".into(),
        },
        SourcesError::Unreachable {
            url: "mysql://root@127.0.0.1:3306/site".into(),
            message: "connection refused".into(),
        },
        SourcesError::MissingTable { table: "users".into() },
        SourcesError::MissingColumn {
            table: "users".into(),
            column: "created_at".into(),
            expected: "a time",
            unexpected: "registered_at".into(),
        },
        SourcesError::RetypedColumn {
            table: "users".into(),
            column: "id".into(),
            found: "text".into(),
            expected: "an integer",
        },
        SourcesError::Query {
            table: "users".into(),
            message: "lost connection".into(),
        },
        SourcesError::Export {
            path: "site/external/stripe.csv".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "No such file or directory (os error 2)"),
        },
        SourcesError::ExportHeader {
            path: "site/external/stripe.csv".into(),
            found: "id,kind".into(),
            expected: "provider_txn_id,type,amount_cents,currency,created_at".into(),
        },
        SourcesError::ExportBatch {
            path: "site/external/stripe.csv".into(),
            message: "columns differ".into(),
        },
        SourcesError::BadValue {
            table: "users".into(),
            column: "id".into(),
            value: "x".into(),
            expected: "an integer",
        },
    ]
}

fn warehouse_errors() -> Vec<WarehouseError> {
    vec![
        WarehouseError::Sql {
            message: "no table nope".into(),
        },
        WarehouseError::NotReadOnly {
            message: "DDL not supported".into(),
        },
        WarehouseError::Timeout {
            limit: Duration::from_secs(300),
        },
        WarehouseError::MemoryLimit {
            limit_mb: 64,
            message: "the process grew".into(),
        },
        WarehouseError::Execution {
            message: "divide by zero".into(),
        },
        WarehouseError::Logs(LogsError::MissingRoot { path: path() }),
        WarehouseError::Archive {
            message: "cannot open log archive x".into(),
            hint: "check that the file exists",
        },
        WarehouseError::Register {
            table: "raw_events".into(),
            message: "not a Delta table".into(),
        },
        WarehouseError::Delta {
            table: "raw_events".into(),
            message: "commit conflict".into(),
        },
        WarehouseError::Input {
            table: "funnel_steps".into(),
            message: "Resources exhausted".into(),
            failure: Some(EngineFailure::OutOfMemory),
        },
        WarehouseError::Input {
            table: "funnel_steps".into(),
            message: "Divide by zero".into(),
            failure: None,
        },
        WarehouseError::NoSuchTable {
            table: "daily_metrics".into(),
        },
        WarehouseError::Io {
            path: path(),
            source: io_error(),
        },
    ]
}

fn metrics_errors() -> Vec<MetricsError> {
    let file = || PathBuf::from("site/metrics.toml");
    vec![
        MetricsError::Io {
            path: file(),
            source: io_error(),
        },
        MetricsError::CatalogSyntax {
            path: file(),
            message: "expected `=`".into(),
        },
        MetricsError::CatalogEntry {
            path: file(),
            metric: "dau".into(),
            message: "no measure".into(),
        },
        MetricsError::DictionarySyntax {
            path: "site/dictionary.toml".into(),
            message: "expected a table".into(),
        },
        MetricsError::MetricSql {
            metric: "dau".into(),
            message: "no field actoin".into(),
            failure: None,
        },
        MetricsError::PlanRow {
            path: "site/plan.csv".into(),
            line: 3,
            message: "not a Monday".into(),
        },
        MetricsError::NoData {
            first: "2015-01-05".into(),
            last: "2015-02-08".into(),
        },
        MetricsError::BadWeek {
            value: "2015-01-06".into(),
            message: "not a Monday".into(),
        },
        MetricsError::Query {
            doing: "reading daily_metrics".into(),
            message: "no table".into(),
        },
        MetricsError::Xlsx {
            path: "out/tearsheet.xlsx".into(),
            message: "no such folder".into(),
        },
    ]
}

fn project_errors() -> Vec<ProjectError> {
    vec![
        ProjectError::NotAProject { dir: "site".into() },
        ProjectError::Read {
            path: "site/darkroom.toml".into(),
            source: io_error(),
        },
        ProjectError::Invalid {
            path: "site/darkroom.toml".into(),
            location: " line 3, column 1".into(),
            message: "unknown field `paht`".into(),
        },
    ]
}

fn pipeline_errors() -> Vec<PipelineError> {
    let model = || PathBuf::from("site/models/dim_users.sql");
    let mut errors = vec![
        PipelineError::Locked {
            holder: "pid 4242".into(),
        },
        PipelineError::Io {
            path: path(),
            source: io_error(),
        },
        PipelineError::State {
            path: "site/state.db".into(),
            message: "database is locked".into(),
        },
        PipelineError::ModelSql {
            path: model(),
            location: " line 1, column 8".into(),
            message: "no field actoin".into(),
        },
        PipelineError::UnknownTable {
            path: model(),
            table: "nope".into(),
        },
        PipelineError::ModelHeader {
            path: model(),
            line: 1,
            message: "unknown header".into(),
        },
        PipelineError::Cycle {
            cycle: "a -> b -> a".into(),
        },
        PipelineError::ModelShadowsBuiltIn {
            path: model(),
            table: "raw_events".into(),
            task: "load_logs".into(),
        },
        PipelineError::SourceNotConfigured {
            source_name: "logs",
            task: "load_logs".into(),
        },
        PipelineError::MetricReadsUnknownTable {
            path: "site/metrics.toml".into(),
            metric: "dau".into(),
            table: "nope".into(),
        },
        PipelineError::Task {
            task: "load_logs".into(),
            message: "it failed".into(),
        },
        PipelineError::TaskSql {
            task: "funnel_steps".into(),
            message: "Resources exhausted".into(),
            failure: Some(EngineFailure::OutOfMemory),
        },
        PipelineError::ParsePanicked {
            path: "site/logs/2015/02/10/10/api-01.log.gz".into(),
            message: "index out of bounds".into(),
        },
        PipelineError::FileNotRead {
            path: "site/logs/2015/02/10/10/api-01.log.gz".into(),
        },
        PipelineError::BadDate {
            value: "2015-02-30".into(),
        },
        PipelineError::BackwardsRange {
            from: "2015-02-10".into(),
            to: "2015-02-09".into(),
        },
        PipelineError::RunFailed {
            day: "2015-02-09".into(),
            failed: 1,
            tasks: "broken".into(),
        },
    ];
    errors.extend(project_errors().into_iter().map(PipelineError::Project));
    errors.extend(sources_errors().into_iter().map(PipelineError::Sources));
    errors.extend(warehouse_errors().into_iter().map(PipelineError::Warehouse));
    errors.extend(logs_errors().into_iter().map(PipelineError::Logs));
    errors.extend(metrics_errors().into_iter().map(PipelineError::Metrics));
    errors.extend(audit_errors().into_iter().map(PipelineError::Audit));
    errors
}

fn audit_errors() -> Vec<AuditError> {
    vec![
        AuditError::Io {
            path: "site/audits.toml".into(),
            source: io_error(),
        },
        AuditError::Settings {
            path: "site/audits.toml".into(),
            line: 3,
            message: "unknown field `max_z`".into(),
        },
        AuditError::Query {
            doing: "reading daily_metrics".into(),
            message: "table not found".into(),
        },
        AuditError::Batch {
            message: "columns differ".into(),
        },
    ]
}

fn sim_errors() -> Vec<SimError> {
    vec![
        SimError::NotAProject { dir: "site".into() },
        SimError::NoLogsSource,
        SimError::UnknownFault {
            name: "gremlins".into(),
        },
        SimError::BadFaultValue {
            fault: "bad_lines".into(),
            value: "2".into(),
            reason: "a rate is 0 to 1".into(),
        },
        SimError::FaultOutsideRange {
            fault: "lossy_day".into(),
            date: "2016-01-01".into(),
            first: "2015-01-05".into(),
            last: "2015-01-06".into(),
        },
        SimError::ProductionUrl {
            url: "oracle://db".into(),
        },
        SimError::ProductionUnreachable {
            url: "mysql://root@127.0.0.1:3306/site".into(),
            message: "refused".into(),
        },
        SimError::ProductionWrite {
            message: "disk full".into(),
        },
        SimError::NoProductionSource,
        SimError::BadStart {
            value: "2015-13-01".into(),
        },
        SimError::NotPositive { option: "days" },
        SimError::BadWorldFile {
            path: "site/sim/world.toml".into(),
            message: "missing seed".into(),
        },
        SimError::Write {
            path: "site/logs/2015".into(),
            source: io_error(),
        },
    ]
}

fn delivery_errors() -> Vec<DeliveryError> {
    let sqlite = rusqlite_error();
    vec![
        DeliveryError::Read {
            path: "site/darkroom.toml".into(),
            source: io_error(),
        },
        DeliveryError::Config {
            file: "site/darkroom.toml".into(),
            line: 31,
            key: "subscriptions[2].cron".into(),
            message: "\"0 25 * * *\" is not a cron schedule".into(),
        },
        DeliveryError::State {
            path: "site/state.db".into(),
            source: sqlite,
        },
        DeliveryError::NoTearsheet,
        DeliveryError::NoSuchDashboard { slug: "finance".into() },
        DeliveryError::Chart {
            dashboard: "web".into(),
            chart: "web-dau".into(),
            message: "table 'no_such_table' not found".into(),
        },
        DeliveryError::Compose {
            message: "missing sender".into(),
        },
        DeliveryError::Smtp {
            server: "smtp://ann@mail.example.com:587".into(),
            message: "permanent error (535): authentication failed".into(),
        },
        DeliveryError::Outbox {
            path: "site/outbox".into(),
            source: io_error(),
        },
        DeliveryError::Slack {
            url: "https://hooks.slack.com/…".into(),
            message: "it answered 404 Not Found: no_service".into(),
        },
        DeliveryError::Share {
            dashboard: "executive".into(),
            message: "database is locked".into(),
        },
        DeliveryError::NoRecipients {
            dashboard: "executive".into(),
        },
        DeliveryError::Refresh {
            message: "chart web-dau: table not found".into(),
        },
    ]
}

fn pgwire_errors() -> Vec<PgwireError> {
    vec![
        PgwireError::Setting {
            key: "require_tls",
            message: "require_tls = true needs tls_cert and tls_key".into(),
        },
        PgwireError::Tls {
            path: "site/server.crt".into(),
            message: "No such file or directory (os error 2)".into(),
        },
        PgwireError::Listen {
            addr: "127.0.0.1:5439".into(),
            source: io::Error::new(io::ErrorKind::AddrInUse, "Address already in use (os error 98)"),
        },
        PgwireError::Session {
            message: "the warehouse has no table daily_metrics yet".into(),
        },
    ]
}

fn rusqlite_error() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY), None)
}

fn every_error() -> Vec<anyhow::Error> {
    let mut all: Vec<anyhow::Error> = Vec::new();
    all.extend(logs_errors().into_iter().map(anyhow::Error::from));
    all.extend(sources_errors().into_iter().map(anyhow::Error::from));
    all.extend(warehouse_errors().into_iter().map(anyhow::Error::from));
    all.extend(metrics_errors().into_iter().map(anyhow::Error::from));
    all.extend(project_errors().into_iter().map(anyhow::Error::from));
    all.extend(pipeline_errors().into_iter().map(anyhow::Error::from));
    all.extend(sim_errors().into_iter().map(anyhow::Error::from));
    all.extend(audit_errors().into_iter().map(anyhow::Error::from));
    all.extend(delivery_errors().into_iter().map(anyhow::Error::from));
    all.extend(pgwire_errors().into_iter().map(anyhow::Error::from));
    all.push(anyhow::Error::from(UsageError {
        message: "darkroom run needs a day".into(),
        hint: "pass --date YYYY-MM-DD, or --from YYYY-MM-DD --to YYYY-MM-DD for a backfill",
    }));
    all
}

/// Whether `[section] key` is a key darkroom.toml accepts: the project file's
/// own parser (which refuses unknown keys) is the judge.
fn is_project_key(section: &str, key: &str) -> bool {
    let file = format!("[warehouse]\npath = \"w\"\n[{section}]\n{key} = 1\n");
    match toml::from_str::<ProjectConfig>(&file) {
        Ok(_) => true,
        Err(error) => !error.to_string().contains("unknown field"),
    }
}

/// Files a hint may name: the template's, and those `darkroom run` and
/// `sim advance` write.
const PROJECT_FILES: [&str; 8] = [
    "darkroom.toml",
    "audits.toml",
    "metrics.toml",
    "dictionary.toml",
    "plan.csv",
    "state.db",
    "sim/world.toml",
    "models/*.sql",
];

#[test]
fn every_error_says_each_cause_once_and_points_at_real_things() {
    let commands = crate::Cli::command();
    let mut checked = 0;
    for error in every_error() {
        let (message, hint, _code) = render(&error);
        let said = format!("{message}\n{hint}");
        // Each cause once: no piece of the message (split at ": ") repeats.
        let pieces: Vec<&str> = message.split(": ").filter(|p| p.len() > 12).collect();
        for (i, piece) in pieces.iter().enumerate() {
            assert!(!pieces[i + 1..].contains(piece), "said twice: {message}");
        }
        assert!(!hint.is_empty(), "no hint for: {message}");
        assert!(!said.contains("crates/"), "points at the source code: {said}");
        // `[section] key`: a key of darkroom.toml.
        for (at, _) in hint.match_indices('[') {
            let rest = &hint[at + 1..];
            let Some((section, after)) = rest.split_once("] ") else {
                continue;
            };
            let prose = section.contains(' ') || section.starts_with('[');
            if prose || section.contains('.') && !section.starts_with("sources.") {
                continue; // "[...]", metrics.toml's [[metrics]], a dictionary's [tables.NAME]
            }
            let key: String = after
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if section == "sources.external" || key.is_empty() {
                continue;
            }
            assert!(is_project_key(section, &key), "no key [{section}] {key}: {hint}");
        }
        // `darkroom COMMAND`: a command of this binary.
        for (at, _) in said.match_indices("`darkroom ") {
            let name: String = said[at + 10..].chars().take_while(char::is_ascii_lowercase).collect();
            assert!(
                commands.find_subcommand(&name).is_some(),
                "no command `darkroom {name}`: {said}"
            );
        }
        // A file name in the hint: one a project has.
        for word in hint.split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '(' || c == ')') {
            let word = word.trim_matches(|c: char| c == '`' || c == '"' || c == '.' || c == ':');
            let is_url = word.contains("://");
            let is_file = !is_url && [".toml", ".csv", ".db", ".sql"].iter().any(|ext| word.ends_with(ext));
            if is_file {
                assert!(PROJECT_FILES.contains(&word), "no project file {word}: {hint}");
            }
        }
        checked += 1;
    }
    assert!(checked > 90, "{checked} errors checked");
}

/// Regression: an I/O error printed its cause two or three times, once in
/// each layer that wrapped it.
#[test]
fn an_io_error_wrapped_twice_says_its_cause_once() {
    let error = anyhow::Error::from(PipelineError::Warehouse(WarehouseError::Io {
        path: path(),
        source: io_error(),
    }));
    let (message, _, _) = render(&error);
    assert_eq!(message, "site/warehouse/raw_events: permission denied (os error 13)");
}
