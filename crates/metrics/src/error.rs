use std::path::PathBuf;

use darkroom_warehouse::EngineFailure;

/// Everything that can go wrong reading the catalog or the plan, computing
/// metrics, or writing a report. Each variant names the file, line, metric or
/// table involved; [`MetricsError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    #[error("{}: {message}", path.display())]
    CatalogSyntax { path: PathBuf, message: String },

    #[error("{}: metric `{metric}`: {message}", path.display())]
    CatalogEntry {
        path: PathBuf,
        metric: String,
        message: String,
    },

    #[error("{}: {message}", path.display())]
    DictionarySyntax { path: PathBuf, message: String },

    #[error("metric `{metric}`: its SQL failed: {message}")]
    MetricSql {
        metric: String,
        message: String,
        /// Set when another attempt, alone, can mend it.
        failure: Option<EngineFailure>,
    },

    #[error("{}, line {line}: {message}", path.display())]
    PlanRow { path: PathBuf, line: u64, message: String },

    #[error("no daily metrics for the weeks {first} to {last}: the tearsheet would be all blanks")]
    NoData { first: String, last: String },

    #[error("--week {value}: {message}")]
    BadWeek { value: String, message: String },

    #[error("query failed while {doing}: {message}")]
    Query { doing: String, message: String },

    #[error("cannot write the spreadsheet {}: {message}", path.display())]
    Xlsx { path: PathBuf, message: String },
}

impl MetricsError {
    /// The engine failure behind this error, if another attempt alone can mend it.
    pub fn engine_failure(&self) -> Option<EngineFailure> {
        match self {
            Self::MetricSql { failure, .. } => *failure,
            _ => None,
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            Self::Io { .. } => "check that the file exists and is readable",
            Self::CatalogSyntax { .. } | Self::CatalogEntry { .. } => {
                "fix metrics.toml; each [[metrics]] entry needs name, definition, team, stage, unit and either \
                 `table` + `measure` or `sql` (see the template written by `darkroom init`)"
            }
            Self::DictionarySyntax { .. } => {
                "fix dictionary.toml: [tables.NAME] with description, categorical = [...] and [tables.NAME.columns]"
            }
            Self::MetricSql { .. } => {
                "fix that metric's SQL in metrics.toml; try it with `darkroom sql` first, then rerun the day"
            }
            Self::PlanRow { .. } => {
                "fix that row of plan.csv: `metric,week_start,value`, a metric of metrics.toml, a Monday, a number"
            }
            Self::NoData { .. } => {
                "run the nightly run for those days first (`darkroom run --from D1 --to D2`), or pick another --week"
            }
            Self::BadWeek { .. } => "give --week as the Monday after the last week to show, as YYYY-MM-DD",
            Self::Query { .. } => "check that the nightly run has built the warehouse (`darkroom run --date D`)",
            Self::Xlsx { .. } => "check that the output folder exists and is writable",
        }
    }

    /// Bad usage or configuration (exit 2), as opposed to failed work (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Self::CatalogSyntax { .. }
                | Self::CatalogEntry { .. }
                | Self::DictionarySyntax { .. }
                | Self::PlanRow { .. }
                | Self::BadWeek { .. }
        )
    }
}
