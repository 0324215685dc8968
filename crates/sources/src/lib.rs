//! Production database snapshots, streamed to Arrow.
//!
//! [`Production::connect`] opens MySQL/MariaDB, PostgreSQL or SQLite through
//! sqlx; [`Production::check_schema`] compares the live tables with what the
//! warehouse expects ([`PRODUCTION_TABLES`], from spec/production-schema.sql)
//! and names the table and column that changed; [`Production::snapshot`]
//! streams a table's current rows as record batches of bounded size.

mod error;
mod expected;
mod production;

pub use error::SourcesError;
pub use expected::{ColumnKind, ExpectedColumn, ExpectedTable, PRODUCTION_TABLES};
pub use production::{Dialect, Production, SnapshotStream, redact};
