//! The simulator's errors. Usage errors (exit 2) say which argument is wrong.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{} is not a darkroom project: it has no darkroom.toml", dir.display())]
    NotAProject { dir: PathBuf },

    #[error("the project has no [sources.logs] path for the simulator to write archives to")]
    NoLogsSource,

    #[error("unknown fault `{name}`")]
    UnknownFault { name: String },

    #[error("fault `{fault}` has a bad value `{value}`: {reason}")]
    BadFaultValue {
        fault: String,
        value: String,
        reason: String,
    },

    #[error("fault `{fault}` names {date}, which is not one of the days this call generates ({first} to {last})")]
    FaultOutsideRange {
        fault: String,
        date: String,
        first: String,
        last: String,
    },

    #[error("production URL `{url}` is not sqlite://, mysql:// or postgres://")]
    ProductionUrl { url: String },

    #[error("cannot reach the production database at {url}: {message}")]
    ProductionUnreachable { url: String, message: String },

    #[error("writing to the production database failed (the day was rolled back): {message}")]
    ProductionWrite { message: String },

    #[error("the project has no [sources.production] url for the simulator to write to")]
    NoProductionSource,

    #[error("bad --start `{value}`: expected a real date as YYYY-MM-DD")]
    BadStart { value: String },

    #[error("--{option} must be at least 1")]
    NotPositive { option: &'static str },

    #[error("cannot read the world file {}: {message}", path.display())]
    BadWorldFile { path: PathBuf, message: String },

    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SimError {
    /// True when the command line or project is at fault (exit code 2).
    pub fn is_usage(&self) -> bool {
        !matches!(self, Self::Write { .. } | Self::ProductionWrite { .. })
    }

    pub fn hint(&self) -> &'static str {
        match self {
            Self::NotAProject { .. } => "create one first with `darkroom init DIR`, then `darkroom sim advance DIR`",
            Self::NoLogsSource => "add [sources.logs] path = \"logs\" and format = \"api-v1\" to darkroom.toml",
            Self::UnknownFault { .. } => {
                "faults are bad_lines=RATE, dead_server=SERVER@YYYY-MM-DDTHH, lossy_day=D, duplicate_upload=D, \
                 corrupt_gzip=D, missing_payment=D, lost_action=ACTION@D, new_action=NAME@D"
            }
            Self::BadFaultValue { .. } => "see `darkroom sim advance --help` for each fault's value",
            Self::FaultOutsideRange { .. } => "pick a date among the generated days, or generate more days with --days",
            Self::ProductionUrl { .. } => {
                "set [sources.production] url to sqlite://production.db, mysql://user:pass@host:port/db or postgres://user@host/db"
            }
            Self::ProductionUnreachable { .. } => {
                "check that the database server is running and the URL's host, port, user and database are right"
            }
            Self::ProductionWrite { .. } => {
                "check the database's free space and permissions, then run the same command again"
            }
            Self::NoProductionSource => "add [sources.production] url = \"sqlite://production.db\" to darkroom.toml",
            Self::BadStart { .. } => "for example --start 2015-01-05",
            Self::NotPositive { .. } => "pass a whole number of 1 or more",
            Self::BadWorldFile { .. } => {
                "the file sim/world.toml records the world's seed, size, start and days; restore it or start a new project"
            }
            Self::Write { .. } => "check free disk space and permissions; nothing of the day was published",
        }
    }
}
