//! `darkroom.toml`: the keys of spec/cli.md, validated strictly so a typo is an error, not a default.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const PROJECT_FILE: &str = "darkroom.toml";

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("{} is not a darkroom project: it has no {PROJECT_FILE}", dir.display())]
    NotAProject { dir: PathBuf },

    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}{location}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        /// ` line L, column C` when the parser knows where.
        location: String,
        message: String,
    },
}

impl ProjectError {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::NotAProject { .. } => {
                "run inside a project folder or pass --project DIR; `darkroom init DIR` writes a new project"
            }
            Self::Read { .. } => "check that the file exists and that this user may read it",
            Self::Invalid { .. } => {
                "fix that key in darkroom.toml; the keys are listed in the README under \"Project file\""
            }
        }
    }
}

/// The log line formats darkroom reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum LogFormat {
    #[serde(rename = "api-v1")]
    ApiV1,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    #[serde(default)]
    pub warehouse: WarehouseSection,
    #[serde(default)]
    pub sources: SourcesSection,
    #[serde(default)]
    pub query: QuerySection,
    #[serde(default)]
    pub run: RunSection,
    #[serde(default)]
    pub pgwire: PgwireSection,
    /// `[schedule]`, `[email]`, `[slack]`, `[web]` and `[[subscriptions]]` belong
    /// to darkroom-delivery, which reads and checks them from the same file.
    #[serde(default, rename = "schedule")]
    pub delivery_schedule: Option<toml::Value>,
    #[serde(default, rename = "email")]
    pub delivery_email: Option<toml::Value>,
    #[serde(default, rename = "slack")]
    pub delivery_slack: Option<toml::Value>,
    #[serde(default, rename = "web")]
    pub delivery_web: Option<toml::Value>,
    #[serde(default, rename = "subscriptions")]
    pub delivery_subscriptions: Option<toml::Value>,
}

/// How the nightly run uses the machine. A key left out keeps its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunSection {
    /// Tasks of one run that may execute at the same time (independent ones only).
    pub max_concurrent_tasks: usize,
    /// What the run's SQL (models, metrics) may hold in memory at once, all
    /// tasks together; sorts and aggregations spill to disk beyond it.
    pub memory_limit_mb: u64,
}

/// A floor that catches a limit written as if in gigabytes (`memory_limit_mb = 2`).
pub const MIN_RUN_MEMORY_LIMIT_MB: u64 = 64;

impl Default for RunSection {
    fn default() -> Self {
        Self {
            max_concurrent_tasks: 2,
            memory_limit_mb: 2048,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseSection {
    pub path: String,
    /// Files that only versions older than this many days are made of are
    /// deleted by the night's `vacuum_tables`; time travel works inside it.
    #[serde(default = "default_keep_versions_days")]
    pub keep_versions_days: u64,
    /// The night's `checkpoint_tables` writes a Delta checkpoint of a table
    /// once it is this many commits past its last one.
    #[serde(default = "default_checkpoint_every_commits")]
    pub checkpoint_every_commits: u64,
}

/// A bound that keeps the retention a representable duration.
pub const MAX_KEEP_VERSIONS_DAYS: u64 = 36_500;

fn default_keep_versions_days() -> u64 {
    7
}

fn default_checkpoint_every_commits() -> u64 {
    10
}

impl Default for WarehouseSection {
    fn default() -> Self {
        Self {
            path: "warehouse".into(),
            keep_versions_days: default_keep_versions_days(),
            checkpoint_every_commits: default_checkpoint_every_commits(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesSection {
    pub production: Option<ProductionSection>,
    pub logs: Option<LogsSection>,
    pub external: Option<ExternalSection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductionSection {
    pub url: String,
    /// How long the snapshot waits for a connection before the task fails.
    #[serde(default = "default_connect_timeout_seconds")]
    pub connect_timeout_seconds: u64,
}

fn default_connect_timeout_seconds() -> u64 {
    10
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsSection {
    pub path: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSection {
    pub google_analytics: Option<String>,
    pub stripe: Option<String>,
    pub paypal: Option<String>,
    pub plan: Option<String>,
}

/// Bounds on user queries (`darkroom sql`, the web app, the Postgres endpoint).
/// A key left out keeps its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuerySection {
    pub memory_limit_mb: u64,
    pub timeout_seconds: u64,
}

impl Default for QuerySection {
    fn default() -> Self {
        Self {
            memory_limit_mb: 4096,
            timeout_seconds: 300,
        }
    }
}

/// `[pgwire]`: the Postgres-protocol endpoint (`darkroom serve` and `darkroom pgwire`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PgwireSection {
    /// `false` leaves the endpoint out of `darkroom serve`.
    pub enabled: bool,
    pub listen: String,
    /// PEM files, relative to the project folder; both or neither.
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    /// Refuse clients that do not ask for TLS (needs `tls_cert` and `tls_key`).
    pub require_tls: bool,
    pub max_connections: usize,
}

impl Default for PgwireSection {
    fn default() -> Self {
        Self {
            enabled: true,
            // Redshift's port, so BI tools' Redshift presets find it.
            listen: "127.0.0.1:5439".into(),
            tls_cert: None,
            tls_key: None,
            require_tls: false,
            max_connections: 100,
        }
    }
}

/// `[sources.external]` with every path resolved against the project folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalPaths {
    pub google_analytics: Option<PathBuf>,
    pub stripe: Option<PathBuf>,
    pub paypal: Option<PathBuf>,
    pub plan: Option<PathBuf>,
}

/// A loaded project: its folder and validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub dir: PathBuf,
    pub config: ProjectConfig,
}

impl Project {
    /// Reads `DIR/darkroom.toml`.
    pub fn load(dir: &Path) -> Result<Self, ProjectError> {
        let path = dir.join(PROJECT_FILE);
        if !path.is_file() {
            return Err(ProjectError::NotAProject { dir: dir.to_owned() });
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ProjectError::Read {
            path: path.clone(),
            source,
        })?;
        let config = Self::parse(&text, &path)?;
        let memory_floor = format!("[run] memory_limit_mb must be at least {MIN_RUN_MEMORY_LIMIT_MB}");
        for (out_of_range, message) in [
            (
                config.query.timeout_seconds == 0,
                "[query] timeout_seconds must be at least 1",
            ),
            (
                config.warehouse.keep_versions_days > MAX_KEEP_VERSIONS_DAYS,
                "[warehouse] keep_versions_days must be at most 36500 (a hundred years)",
            ),
            (
                config.warehouse.checkpoint_every_commits == 0,
                "[warehouse] checkpoint_every_commits must be at least 1",
            ),
            (
                config.run.max_concurrent_tasks == 0,
                "[run] max_concurrent_tasks must be at least 1",
            ),
            (
                config.run.memory_limit_mb < MIN_RUN_MEMORY_LIMIT_MB,
                memory_floor.as_str(),
            ),
            (
                config
                    .sources
                    .production
                    .as_ref()
                    .is_some_and(|p| p.connect_timeout_seconds == 0),
                "[sources.production] connect_timeout_seconds must be at least 1",
            ),
        ] {
            if out_of_range {
                return Err(ProjectError::Invalid {
                    path,
                    location: String::new(),
                    message: message.into(),
                });
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            config,
        })
    }

    fn parse(text: &str, path: &Path) -> Result<ProjectConfig, ProjectError> {
        toml::from_str(text).map_err(|e| {
            let location = e.span().map_or_else(String::new, |span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                format!(" line {line}, column {column}")
            });
            let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            let key = e.span().and_then(|span| key_at(text, span.start));
            ProjectError::Invalid {
                path: path.to_owned(),
                location,
                message: match key {
                    Some((section, key)) if !message.contains(&format!("`{key}`")) => {
                        format!("{section}{key}: {message}")
                    }
                    _ => message,
                },
            }
        })
    }

    /// A path from the project file, relative to the project folder unless absolute.
    pub fn resolve(&self, path: &str) -> PathBuf {
        self.dir.join(path)
    }

    /// The production database URL, a relative SQLite path resolved against the project folder.
    pub fn production_url(&self) -> Option<String> {
        let url = &self.config.sources.production.as_ref()?.url;
        match url.strip_prefix("sqlite://") {
            Some(path) if !path.starts_with('/') && !path.starts_with(':') => {
                Some(format!("sqlite://{}", self.resolve(path).display()))
            }
            _ => Some(url.clone()),
        }
    }

    /// The outside exports and the plan, resolved.
    pub fn external(&self) -> ExternalPaths {
        let external = self.config.sources.external.clone().unwrap_or_default();
        let resolve = |p: Option<String>| p.map(|p| self.resolve(&p));
        ExternalPaths {
            google_analytics: resolve(external.google_analytics),
            stripe: resolve(external.stripe),
            paypal: resolve(external.paypal),
            plan: resolve(external.plan),
        }
    }

    /// The log archive root, when the project reads logs.
    pub fn logs_root(&self) -> Option<PathBuf> {
        self.config.sources.logs.as_ref().map(|logs| self.resolve(&logs.path))
    }
}

/// `("[section] ", key)` of the `key = value` line holding byte `offset`, for messages about values.
fn key_at(text: &str, offset: usize) -> Option<(String, String)> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let section = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'));
    Some((section.map(|s| format!("{s} ")).unwrap_or_default(), key.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Project, ProjectError> {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(PROJECT_FILE), text).expect("write");
        Project::load(dir.path())
    }

    const SPEC_EXAMPLE: &str = r#"
[warehouse]
path = "warehouse"                 # folder, or an object store URL

[sources.production]
url = "sqlite://production.db"     # or mysql://user:pass@host:port/db, postgres://...

[sources.logs]
path = "logs"                      # root of YYYY/MM/DD/HH/<server>.log.gz
format = "api-v1"

[sources.external]
google_analytics = "external/ga_daily.csv"
stripe = "external/stripe.csv"
paypal = "external/paypal.csv"
plan = "plan.csv"
"#;

    #[test]
    fn the_spec_example_loads() {
        let project = load(SPEC_EXAMPLE).expect("spec example");
        assert_eq!(
            project.config.sources.logs.as_ref().map(|l| l.format),
            Some(LogFormat::ApiV1)
        );
        assert_eq!(project.logs_root(), Some(project.dir.join("logs")));
        assert_eq!(project.config.query, QuerySection::default());
        assert_eq!(
            project.production_url(),
            Some(format!("sqlite://{}", project.dir.join("production.db").display()))
        );
        assert_eq!(project.external().stripe, Some(project.dir.join("external/stripe.csv")));
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = load("[warehouse]\npath = \"w\"\ncolour = \"red\"\n").expect_err("unknown key");
        let text = err.to_string();
        assert!(
            text.contains("darkroom.toml line 3, column 1: unknown field `colour`"),
            "{text}"
        );
    }

    #[test]
    fn unknown_log_format_is_refused() {
        let err = load("[sources.logs]\npath = \"logs\"\nformat = \"nginx\"\n").expect_err("format");
        let text = err.to_string();
        assert!(
            text.contains("line 3") && text.contains("unknown variant `nginx`, expected `api-v1`"),
            "{text}"
        );
    }

    #[test]
    fn wrong_type_is_named() {
        let err = load("[query]\nmemory_limit_mb = \"lots\"\ntimeout_seconds = 5\n").expect_err("type");
        assert!(
            err.to_string()
                .contains("line 2, column 19: [query] memory_limit_mb: invalid type: string \"lots\", expected u64"),
            "{err}"
        );
    }

    #[test]
    fn a_run_memory_limit_below_64_mb_is_refused_and_the_default_is_2048() {
        let err = load("[run]\nmax_concurrent_tasks = 2\nmemory_limit_mb = 16\n").expect_err("too small");
        assert!(
            err.to_string().contains("[run] memory_limit_mb must be at least 64"),
            "{err}"
        );
        let project = load("[run]\nmax_concurrent_tasks = 3\n").expect("memory_limit_mb may be left out");
        assert_eq!(project.config.run.memory_limit_mb, 2048);
        assert_eq!(project.config.run.max_concurrent_tasks, 3);
    }

    #[test]
    fn warehouse_upkeep_settings_have_defaults_and_bounds() {
        let project = load("[warehouse]\npath = \"w\"\n").expect("upkeep keys may be left out");
        assert_eq!(project.config.warehouse.keep_versions_days, 7);
        assert_eq!(project.config.warehouse.checkpoint_every_commits, 10);
        let err = load("[warehouse]\npath = \"w\"\ncheckpoint_every_commits = 0\n").expect_err("zero");
        assert!(
            err.to_string()
                .contains("[warehouse] checkpoint_every_commits must be at least 1"),
            "{err}"
        );
        let err = load("[warehouse]\npath = \"w\"\nkeep_versions_days = 99999999999\n").expect_err("too long");
        assert!(
            err.to_string()
                .contains("[warehouse] keep_versions_days must be at most 36500"),
            "{err}"
        );
        let err = load("[warehouse]\npath = \"w\"\nkeep_versions_days = -1\n").expect_err("negative");
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    /// Regression: `[run]` with only `memory_limit_mb` was refused with "missing
    /// field `max_concurrent_tasks`"; each key of a section has its own default.
    #[test]
    fn a_section_with_one_key_keeps_the_other_defaults() {
        let project = load("[run]\nmemory_limit_mb = 512\n").expect("max_concurrent_tasks may be left out");
        assert_eq!(project.config.run.max_concurrent_tasks, 2);
        assert_eq!(project.config.run.memory_limit_mb, 512);
        let project = load("[query]\ntimeout_seconds = 5\n").expect("memory_limit_mb may be left out");
        assert_eq!(project.config.query.memory_limit_mb, 4096);
        assert_eq!(project.config.query.timeout_seconds, 5);
    }

    #[test]
    fn a_folder_without_a_project_file_says_so() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = Project::load(dir.path()).expect_err("no project");
        assert!(
            err.to_string()
                .ends_with("is not a darkroom project: it has no darkroom.toml")
        );
        assert!(err.hint().contains("darkroom init"));
    }
}
