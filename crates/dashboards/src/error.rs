use std::path::PathBuf;

/// What can go wrong reading a dashboard file or answering one of its charts.
/// A message names the file and line, the chart, or the filter.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    #[error("{}, line {line}: {message}", path.display())]
    File {
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error("filter `{filter}`: {value:?} is not {expected}")]
    BadFilterValue {
        filter: String,
        value: String,
        expected: String,
    },

    #[error("{0}")]
    Query(#[from] darkroom_warehouse::WarehouseError),

    #[error("chart `{chart}`: {message}")]
    Chart { chart: String, message: String },

    #[error("cannot write the spreadsheet: {message}")]
    Xlsx { message: String },

    #[error("the dashboard cannot be saved: {message}")]
    Invalid { message: String },
}

impl DashboardError {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Io { .. } => "check that the dashboards folder is readable",
            Self::File { .. } => "fix the dashboard file at that line; the other charts keep working",
            Self::BadFilterValue { .. } => "pick a value the filter offers (dates are YYYY-MM-DD)",
            Self::Query(inner) => inner.hint(),
            Self::Chart { .. } => "fix the chart in its dashboard file",
            Self::Xlsx { .. } => "download the CSV instead, and report this",
            Self::Invalid { .. } => "change what the message names and save again; nothing was written",
        }
    }
}
