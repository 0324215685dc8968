//! The warehouse's errors: what went wrong with a query, and what to do about it.

use std::time::Duration;

use crate::failure::EngineFailure;

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("SQL error: {message}")]
    Sql { message: String },

    #[error("only read-only queries are allowed here, and this statement would change something ({message})")]
    NotReadOnly { message: String },

    #[error("query stopped after {} s, its time limit", limit.as_secs_f64())]
    Timeout { limit: Duration },

    #[error("query stopped at its memory limit of {limit_mb} MB: {message}")]
    MemoryLimit { limit_mb: u64, message: String },

    #[error("query failed while running: {message}")]
    Execution { message: String },

    #[error(transparent)]
    Logs(#[from] darkroom_logs::LogsError),

    /// A log archive failed while a query read it.
    #[error("{message}")]
    Archive { message: String, hint: &'static str },

    #[error("cannot register table {table}: {message}")]
    Register { table: String, message: String },

    #[error("warehouse table {table}: {message}")]
    Delta { table: String, message: String },

    /// The rows being written failed to come: the SQL or the reader producing them.
    #[error("writing table {table}: {message}")]
    Input {
        table: String,
        message: String,
        /// Set when another attempt, alone, can mend it.
        failure: Option<EngineFailure>,
    },

    #[error("the warehouse has no table {table} yet")]
    NoSuchTable { table: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl WarehouseError {
    /// The engine failure behind this error, if another attempt alone can mend it.
    pub fn engine_failure(&self) -> Option<EngineFailure> {
        match self {
            Self::Input { failure, .. } => *failure,
            Self::MemoryLimit { .. } => Some(EngineFailure::OutOfMemory),
            _ => None,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Sql { .. } => {
                "check the table and column names with `darkroom sql \"SHOW TABLES\"` and `SHOW COLUMNS FROM <table>`"
            }
            Self::NotReadOnly { .. } => {
                "write a SELECT (or WITH ... SELECT, EXPLAIN, SHOW); tables change only through `darkroom run`"
            }
            Self::Timeout { .. } => {
                "narrow the query (a WHERE on the date column) or raise [query] timeout_seconds in darkroom.toml"
            }
            Self::MemoryLimit { .. } => {
                "aggregate more or select fewer columns, or raise [query] memory_limit_mb in darkroom.toml"
            }
            Self::Execution { .. } => "the message above names the cause; fix it and run the query again",
            Self::Logs(e) => e.hint(),
            Self::Archive { hint, .. } => hint,
            Self::Register { .. } => "check the table's path in darkroom.toml",
            Self::Input {
                failure: Some(EngineFailure::OutOfMemory),
                ..
            } => {
                "the SQL writing the table ran out of the run's memory; raise [run] memory_limit_mb in darkroom.toml \
                 and run the same day again"
            }
            Self::Input { .. } => {
                "the table was left at its last good version; fix the cause above and run the same day again"
            }
            Self::Delta { .. } => {
                "the table was left at its last good version; fix the cause above and run `darkroom run` again"
            }
            Self::NoSuchTable { .. } => "run `darkroom run --date YYYY-MM-DD` to build the warehouse first",
            Self::Io { .. } => "check that the warehouse folder exists and that this user may write to it",
        }
    }
}
