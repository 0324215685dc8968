//! What can go wrong reading production, and what to do about it.

#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("production URL {url} has an unknown scheme")]
    UnknownScheme { url: String },

    #[error("cannot connect to the production database {url}: {message}")]
    Unreachable { url: String, message: String },

    #[error("production table {table} is missing")]
    MissingTable { table: String },

    #[error(
        "production table {table} has no column {column} (the warehouse's models expect {expected}; \
         columns not in the warehouse's schema: {unexpected})"
    )]
    MissingColumn {
        table: String,
        column: String,
        expected: &'static str,
        unexpected: String,
    },

    #[error("production column {table}.{column} is now {found}, and the warehouse's models expect {expected}")]
    RetypedColumn {
        table: String,
        column: String,
        found: String,
        expected: &'static str,
    },

    #[error("reading production table {table} failed: {message}")]
    Query { table: String, message: String },

    #[error("cannot read the export {}: {source}", path.display())]
    Export {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the export {} starts with the header {found:?}, and darkroom reads {expected}", path.display())]
    ExportHeader {
        path: std::path::PathBuf,
        found: String,
        expected: String,
    },

    #[error("cannot build the rows of the export {}: {message}", path.display())]
    ExportBatch { path: std::path::PathBuf, message: String },

    #[error("production {table}.{column} holds {value:?}, which is not {expected}")]
    BadValue {
        table: String,
        column: String,
        value: String,
        expected: &'static str,
    },
}

impl SourcesError {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::UnknownScheme { .. } => {
                "[sources.production] url must start with sqlite://, mysql://, mariadb:// or postgres://"
            }
            Self::Unreachable { .. } => {
                "check that the database is running and that [sources.production] url in darkroom.toml is right"
            }
            Self::MissingTable { .. } | Self::MissingColumn { .. } | Self::RetypedColumn { .. } => {
                "production's schema changed under the warehouse: undo the change (or give production a view with \
                 the old columns) and run the same day again; the warehouse keeps its last good tables meanwhile"
            }
            Self::Query { .. } => "the message above is the database's; fix the cause and run again",
            Self::BadValue { .. } => "fix that row in production, or the models that expect this type",
            Self::Export { .. } => {
                "put the export at that path, or point [sources.external] in darkroom.toml at it; \
                 the nightly run never counts a missing export as zero"
            }
            Self::ExportHeader { .. } => "export the file with that header (metrics.md lists each export's columns)",
            Self::ExportBatch { .. } => "this is a bug in darkroom; please report it with the file named",
        }
    }

    /// A change on production's side: its schema no longer matches the models.
    pub fn is_schema_change(&self) -> bool {
        matches!(
            self,
            Self::MissingTable { .. } | Self::MissingColumn { .. } | Self::RetypedColumn { .. }
        )
    }
}
