//! What can go wrong in a run, where, and what to do about it.

use std::path::PathBuf;

use darkroom_sources::SourcesError;
use darkroom_warehouse::{EngineFailure, WarehouseError};

use crate::project::ProjectError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Project(#[from] ProjectError),

    #[error("another darkroom run holds the lock on this project ({holder}), so this one did not start")]
    Locked { holder: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("run state database {}: {message}", path.display())]
    State { path: PathBuf, message: String },

    #[error("model {}{location}: {message}", path.display())]
    ModelSql {
        path: PathBuf,
        /// ` line L, column C` when the SQL engine knows where.
        location: String,
        message: String,
    },

    #[error("model {} reads table {table}, which no task produces", path.display())]
    UnknownTable { path: PathBuf, table: String },

    #[error("model {} has a bad header line {line}: {message}", path.display())]
    ModelHeader {
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error("the task graph has a cycle: {cycle}")]
    Cycle { cycle: String },

    #[error("model {} would replace table {table}, which the built-in task {task} produces", path.display())]
    ModelShadowsBuiltIn { path: PathBuf, table: String, task: String },

    #[error("no [sources.{source_name}] in darkroom.toml, and task {task} needs it")]
    SourceNotConfigured { source_name: &'static str, task: String },

    #[error(transparent)]
    Sources(#[from] SourcesError),

    #[error(transparent)]
    Warehouse(#[from] WarehouseError),

    #[error(transparent)]
    Logs(#[from] darkroom_logs::LogsError),

    #[error(transparent)]
    Metrics(#[from] darkroom_metrics::MetricsError),

    #[error(transparent)]
    Audit(#[from] darkroom_audit::AuditError),

    #[error("{}: metric `{metric}` reads table {table}, which no task produces", path.display())]
    MetricReadsUnknownTable {
        path: PathBuf,
        metric: String,
        table: String,
    },

    #[error("task {task} failed: {message}")]
    Task { task: String, message: String },

    #[error("reading log archive {} crashed: {message}; the load stopped and recorded nothing of it", path.display())]
    ParsePanicked { path: PathBuf, message: String },

    #[error("log archive {} was chosen for the load but never read", path.display())]
    FileNotRead { path: PathBuf },

    /// A task's SQL failed in the engine.
    #[error("task {task} failed: {message}")]
    TaskSql {
        task: String,
        message: String,
        /// Set when another attempt, alone, can mend it.
        failure: Option<EngineFailure>,
    },

    #[error("bad date {value:?}: expected YYYY-MM-DD")]
    BadDate { value: String },

    #[error("--from {from} is after --to {to}")]
    BackwardsRange { from: String, to: String },

    #[error("{failed} task(s) of the run for {day} failed: {tasks}")]
    RunFailed { day: String, failed: usize, tasks: String },
}

impl PipelineError {
    /// The engine failure behind this error, if another attempt alone can
    /// mend it: decided where the engine's typed error was still at hand.
    pub fn engine_failure(&self) -> Option<EngineFailure> {
        match self {
            Self::TaskSql { failure, .. } => *failure,
            Self::Warehouse(e) => e.engine_failure(),
            Self::Metrics(e) => e.engine_failure(),
            _ => None,
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            Self::Project(e) => e.hint(),
            Self::Locked { .. } => "wait for that run to finish (runs on one project never interleave), then run again",
            Self::Io { .. } => "check that the path exists and that this user may read and write it",
            Self::State { .. } => "the run state lives in state.db in the project folder; check that it is writable",
            Self::ModelSql { .. } => "fix the SQL at that line and column; models are plain DataFusion SQL",
            Self::UnknownTable { .. } => {
                "read a warehouse table (`darkroom dag` lists the tasks and their outputs) or add a model of that name"
            }
            Self::ModelHeader { .. } => "headers are `-- partition_by: <date column>` or `-- description: <text>`",
            Self::Cycle { .. } => {
                "a model cannot read, directly or through others, the table it writes; break the cycle"
            }
            Self::ModelShadowsBuiltIn { .. } => "rename the model file: built-in tables are written only by their task",
            Self::SourceNotConfigured { .. } => "add that section to darkroom.toml (see the README's \"Project file\")",
            Self::Sources(e) => e.hint(),
            Self::Warehouse(e) => e.hint(),
            Self::Logs(e) => e.hint(),
            Self::Metrics(e) => e.hint(),
            Self::Audit(e) => e.hint(),
            Self::MetricReadsUnknownTable { .. } => {
                "a metric in metrics.toml reads warehouse tables (`darkroom dag` lists each task's outputs); fix its table or SQL"
            }
            Self::ParsePanicked { .. } | Self::FileNotRead { .. } => {
                "this is a bug in darkroom's reader: keep the file, report it, and run the same day again \
                 (the load retries every file it did not finish)"
            }
            Self::Task { .. } | Self::TaskSql { .. } => {
                "fix the cause above and run the same day again: the run resumes at the failed task"
            }
            Self::BadDate { .. } | Self::BackwardsRange { .. } => "dates are UTC days, YYYY-MM-DD, --from before --to",
            Self::RunFailed { .. } => {
                "`darkroom sql \"SELECT * FROM etl_task_runs ORDER BY run_id DESC\"` shows each task's error; \
                 fix the cause and run the same day again: it resumes at the failed tasks"
            }
        }
    }

    /// Bad usage or configuration (exit 2), as opposed to failed work (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::Project(_)
                | Self::ModelSql { .. }
                | Self::UnknownTable { .. }
                | Self::ModelHeader { .. }
                | Self::Cycle { .. }
                | Self::ModelShadowsBuiltIn { .. }
                | Self::SourceNotConfigured { .. }
                | Self::MetricReadsUnknownTable { .. }
                | Self::Metrics(
                    darkroom_metrics::MetricsError::CatalogSyntax { .. }
                        | darkroom_metrics::MetricsError::CatalogEntry { .. }
                        | darkroom_metrics::MetricsError::PlanRow { .. }
                        | darkroom_metrics::MetricsError::BadWeek { .. }
                )
                | Self::Audit(darkroom_audit::AuditError::Settings { .. })
                | Self::BadDate { .. }
                | Self::BackwardsRange { .. }
        )
    }
}
