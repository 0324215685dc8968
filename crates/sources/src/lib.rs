//! Production database snapshots, streamed to Arrow.
//!
//! [`Production::connect`] opens MySQL/MariaDB, PostgreSQL or SQLite through
//! sqlx; [`Production::check_schema`] compares the live tables with what the
//! warehouse expects ([`PRODUCTION_TABLES`], from spec/production-schema.sql)
//! and names the table and column that changed; [`Production::snapshot`]
//! streams a table's current rows as record batches of bounded size. The
//! outside exports (GA, payment providers, the plan) are read from CSV by
//! [`read_ga`], [`read_payments`] and [`read_plan`].

mod error;
mod expected;
mod exports;
mod production;

pub use error::SourcesError;
pub use expected::{ColumnKind, ExpectedColumn, ExpectedTable, PRODUCTION_TABLES};
pub use exports::{
    ExportRows, GA_HEADER, PAYMENTS_HEADER, PLAN_HEADER, RejectedRow, ga_schema, payments_schema, plan_schema, read_ga,
    read_payments, read_plan,
};
pub use production::{Dialect, Production, SnapshotStream, redact};
