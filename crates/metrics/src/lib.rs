//! What the company reads: the metric catalog (`metrics.toml`), daily metrics
//! and their restatements, the executive tearsheet with its plan, and the data
//! dictionary.
//!
//! Nothing here opens a table: callers hand in a DataFusion session on which
//! the warehouse is registered (see `darkroom-warehouse`).

mod catalog;
mod daily;
mod dictionary;
mod error;
mod plan;
mod tearsheet;

pub use catalog::{CATALOG_FILE, Catalog, Computation, METRIC_DAYS, Metric, Stage, Team, Unit, sentence_case};
pub use daily::{
    DAILY_METRICS, DAILY_METRICS_BY_CLIENT, DailyMetrics, DayValues, METRIC_RESTATEMENTS, RestatedValues, Restatement,
    by_client_schema, compute, daily_metrics_schema, day_text, not_yet_recorded, restated_values_of, restatements,
    restatements_batch, restatements_schema, values_of,
};
pub use dictionary::{ColumnEntry, DICTIONARY_FILE, Descriptions, Dictionary, TableEntry, TableWords};
pub use error::MetricsError;
pub use plan::{PLAN_HEADER, Plan};
pub use tearsheet::{
    Cell, Row, TeamSection, Tearsheet, WEEKS, audit_feeds, last_metric_day, parse_week, week_after_last_complete,
};
