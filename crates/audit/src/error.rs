//! What can go wrong running the audits, and what to do about it. A check that
//! fails to run is not an error of the run: it becomes a `fail` row saying so
//! (see `run_checks`); these are what stops the audits as a whole.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{}, line {line}: {message}", path.display())]
    Settings {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// A check's query failed; reported as a `fail` row of that check.
    #[error("{doing}: {message}")]
    Query { doing: String, message: String },

    #[error("cannot build the audit_results rows: {message}")]
    Batch { message: String },
}

impl AuditError {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Io { .. } => "check that the file exists and that this user may read it",
            Self::Settings { .. } => {
                "fix that key in audits.toml; `darkroom init` writes the file with every key, its default and a comment"
            }
            Self::Query { .. } => "the message names the table or column; run `darkroom run` for the day first",
            Self::Batch { .. } => "this is a bug in darkroom; please report it",
        }
    }

    /// Bad configuration (exit 2), as opposed to failed work (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::Settings { .. })
    }
}
