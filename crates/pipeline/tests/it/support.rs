use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use arrow::util::display::{ArrayFormatter, FormatOptions};
use darkroom_pipeline::{PipelineError, Project, RunOptions, RunReport, parse_day, run_range};
use darkroom_sim::{AdvanceOptions, Fault, Outputs};

pub const START: &str = "2015-02-02";

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// A photo-site project in a temporary folder: the template's darkroom.toml and models.
pub struct TestProject {
    pub dir: tempfile::TempDir,
}

impl TestProject {
    pub fn new() -> Self {
        Self::with_production(None)
    }

    /// `url`: a production database other than the template's SQLite file.
    pub fn with_production(url: Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let template = template_dir();
        let mut config = std::fs::read_to_string(template.join("darkroom.toml")).expect("template");
        if let Some(url) = &url {
            config = config.replace("url = \"sqlite://production.db\"", &format!("url = \"{url}\""));
        }
        std::fs::write(dir.path().join("darkroom.toml"), config).expect("write config");
        std::fs::copy(template.join("metrics.toml"), dir.path().join("metrics.toml")).expect("copy metrics.toml");
        std::fs::create_dir_all(dir.path().join("models")).expect("models");
        for entry in std::fs::read_dir(template.join("models")).expect("template models") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, dir.path().join("models").join(path.file_name().expect("name"))).expect("copy");
        }
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn project(&self) -> Project {
        Project::load(self.path()).expect("project loads")
    }

    fn outputs(&self) -> Outputs {
        let project = self.project();
        let external = project.external();
        Outputs {
            logs: project.logs_root().expect("logs"),
            production_url: project.production_url(),
            google_analytics: external.google_analytics,
            stripe: external.stripe,
            paypal: external.paypal,
            plan: external.plan,
        }
    }

    /// Grows the site by `days`, without running anything.
    pub fn advance(&self, days: u32, users: u64, faults: &str) {
        darkroom_sim::advance(self.path(), &self.outputs(), &options(days, users, faults)).expect("advance");
    }

    /// Grows the site day by day and runs each night right after its day, as production would.
    pub fn grow_and_run(&self, days: u32, users: u64, faults: &str) -> Vec<RunReport> {
        let options = options(days, users, faults);
        let project = self.project();
        let runtime = runtime();
        let mut reports = Vec::new();
        darkroom_sim::advance_each_day(self.path(), &self.outputs(), &options, |day| {
            let day = parse_day(day).expect("day");
            let ran = runtime
                .block_on(run_range(&project, day, day, RunOptions { force: false }, |_| {}))
                .expect("nightly run succeeds");
            reports.extend(ran);
            ControlFlow::Continue(())
        })
        .expect("advance");
        reports
    }

    pub fn run(&self, day: &str, force: bool) -> Result<Vec<RunReport>, PipelineError> {
        let day = parse_day(day).expect("day");
        runtime().block_on(run_range(&self.project(), day, day, RunOptions { force }, |_| {}))
    }

    /// Every row as text (NULL as "NULL").
    /// Task, state and error of every task of the latest run, by task name.
    pub fn last_run_tasks(&self) -> Vec<Vec<String>> {
        self.query(
            "SELECT task, state, error FROM etl_task_runs WHERE run_id = (SELECT max(run_id) FROM etl_runs) ORDER BY task",
        )
    }

    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let project = self.project();
        let batches = runtime().block_on(async {
            let session = darkroom_pipeline::open_query_session(&project).await.expect("session");
            session.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
        });
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).expect("formatter"))
                .collect();
            for row in 0..batch.num_rows() {
                rows.push(formatters.iter().map(|f| f.value(row).to_string()).collect());
            }
        }
        rows
    }

    /// `(first column, second column) -> third column` of a three-column query.
    pub fn keyed(&self, sql: &str) -> BTreeMap<(String, String), String> {
        self.query(sql)
            .into_iter()
            .map(|row| ((row[0].clone(), row[1].clone()), row[2].clone()))
            .collect()
    }

    /// `truth/daily_metrics.csv` as `(date, metric) -> value` (empty for NULL).
    pub fn truth(&self) -> BTreeMap<(String, String), String> {
        let text = std::fs::read_to_string(self.path().join("truth/daily_metrics.csv")).expect("truth");
        text.lines()
            .skip(1)
            .filter_map(|line| {
                let mut parts = line.splitn(3, ',');
                Some((
                    (parts.next()?.to_owned(), parts.next()?.to_owned()),
                    parts.next()?.to_owned(),
                ))
            })
            .collect()
    }

    /// The latest Delta version of every warehouse table.
    pub fn versions(&self) -> BTreeMap<String, usize> {
        let warehouse = self.path().join("warehouse");
        let mut versions = BTreeMap::new();
        for entry in std::fs::read_dir(&warehouse).expect("warehouse") {
            let table = entry.expect("entry").path();
            let log = table.join("_delta_log");
            if log.is_dir() {
                let commits = std::fs::read_dir(&log)
                    .expect("log")
                    .filter(|e| {
                        e.as_ref()
                            .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    })
                    .count();
                versions.insert(table.file_name().expect("name").to_string_lossy().into_owned(), commits);
            }
        }
        versions
    }
}

/// The test worlds: seed 11, starting on a Monday.
fn options(days: u32, users: u64, faults: &str) -> AdvanceOptions {
    AdvanceOptions {
        days,
        seed: 11,
        users,
        start: START.into(),
        faults: Fault::parse_list(faults).expect("faults"),
    }
}

pub fn template_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates/photosite")
}

/// A day `n` days after the world's start, as YYYY-MM-DD.
pub fn day(n: i64) -> String {
    let start = chrono::NaiveDate::parse_from_str(START, "%Y-%m-%d").expect("start");
    (start + chrono::Duration::days(n)).format("%Y-%m-%d").to_string()
}

pub fn admin_url(kind: &str) -> String {
    match kind {
        "mysql" => {
            std::env::var("DARKROOM_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into())
        }
        _ => std::env::var("DARKROOM_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    }
}

/// Runs `statements` on the database at `url`.
pub fn execute(url: &str, statements: &[&str]) {
    runtime().block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        for statement in statements {
            sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
                .execute(&pool)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    });
}

/// A new, empty database on the real server; its URL.
pub fn fresh_database(kind: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "darkroom_pipeline_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let admin = admin_url(kind);
    execute(
        &admin,
        &[
            &format!("DROP DATABASE IF EXISTS {name}"),
            &format!("CREATE DATABASE {name}"),
        ],
    );
    let base = admin.rsplit_once('/').expect("url has a database").0;
    format!("{base}/{name}")
}
