//! The project and its nightly run.
//!
//! A project is a folder of files; [`Project::load`] reads and validates its
//! `darkroom.toml`. [`project_dag`] joins the built-in tasks (load logs,
//! snapshot production, subscriber snapshot) and the SQL models of
//! `models/*.sql` into one [`Dag`]; [`run_range`] runs it for each day, under
//! the project's lock, recording every run in the state database.

mod audits;
mod build_model;
mod context;
mod dag;
mod days;
mod error;
mod exports;
mod load;
mod lock;
mod metrics;
mod model;
mod project;
mod reports;
mod runner;
mod session;
mod snapshot;
mod state;
mod task_log;
mod upkeep;

pub use audits::audit_days;
pub use dag::{Dag, Task, TaskKind};
pub use days::{day_text, parse_day};
pub use error::PipelineError;
pub use lock::{LOCK_FILE, RunLock, run_in_progress};
pub use model::{Model, RUN_DAYS};
pub use project::{LogFormat, PROJECT_FILE, PgwireSection, Project, ProjectConfig, ProjectError, WarehouseSection};
pub use reports::{project_catalog, project_dictionary, project_tearsheet};
pub use runner::{RunOptions, RunReport, TaskReport, project_dag, run_range};
pub use session::{open_query_session, register_history};
pub use state::{STATE_FILE, StateDb, TaskRecord, TaskState};
pub use task_log::{RUN_LOGS_DIR, TaskLogLayer, task_log_filter, task_log_path};
pub use upkeep::{CHECKPOINT_TABLES, COMPACT_TABLES, Upkeep, VACUUM_TABLES};
