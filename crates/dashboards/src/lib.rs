//! Dashboards as files (`dashboards/*.toml`), their filters bound to a chart's
//! SQL as typed parameters, the chart's rows, and a result cache keyed by the
//! data the rows came from. The web page, the email and Slack all read a
//! dashboard through here, so it reads the same everywhere.
//!
//! Nothing here opens a table: callers hand in a [`QuerySession`] on which the
//! warehouse is registered, and the committed version of each table.
//!
//! [`QuerySession`]: darkroom_warehouse::QuerySession

mod audit_status;
mod cache;
mod edit;
mod error;
mod export;
mod file;
mod filters;
mod rows;
mod run;
mod source;

pub use audit_status::latest_audit_status;
pub use cache::{CacheStats, ResultCache};
pub use error::DashboardError;
pub use export::{to_csv, to_xlsx};
pub use file::{Chart, DASHBOARDS_DIR, Dashboard, Filter, FilterKind, load_dir};
pub use filters::{DatePreset, FilterValues};
pub use rows::{ChartRows, ColumnInfo};
pub use run::{DataVersion, cached_shape, chart_shape, filter_options, query_cached, run_cached, run_chart, run_sql};
pub use source::{
    ChartSource, DashboardSource, FilterSource, TEAMS, dashboard_path, is_slug, slugify, write_dashboard,
};
