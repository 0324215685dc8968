//! The log reader's errors. Bad lines and corrupt gzip are not errors: they are
//! quarantined or recorded in the file's statistics. These are the cases that
//! stop a read: a folder or file that cannot be listed or opened.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("log folder {} does not exist", path.display())]
    MissingRoot { path: PathBuf },

    #[error("log path {} is not a folder", path.display())]
    RootNotAFolder { path: PathBuf },

    #[error("cannot list log folder {}: {source}", path.display())]
    List {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },

    #[error("cannot open log archive {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot build an event batch from {source_file}: {source}")]
    Batch {
        source_file: String,
        #[source]
        source: arrow::error::ArrowError,
    },
}

impl LogsError {
    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::MissingRoot { .. } | Self::RootNotAFolder { .. } => {
                "set [sources.logs] path in darkroom.toml to the folder holding YYYY/MM/DD/HH/<server>.log.gz"
            }
            Self::List { .. } | Self::Open { .. } => {
                "check that the file exists and that this user may read it, then run again"
            }
            Self::Batch { .. } => "this is a bug in darkroom; please report it with the file named",
        }
    }
}
