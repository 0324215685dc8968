//! The warehouse: the DataFusion session every query runs in.
//!
//! Only this crate opens tables and sessions. [`Warehouse`] holds the Delta
//! tables; every write is one commit. User SQL goes through
//! [`QuerySession::query`], which refuses DDL, DML, COPY and `SET`-style
//! statements before anything runs, and bounds memory and time.

mod delta;
mod encoding;
mod error;
mod failure;
mod resident;
mod session;
mod sort_merge_filter;
mod upkeep;

pub use delta::{Warehouse, WriteMode, Written, days_predicate};
pub use encoding::{SAMPLE_ROWS, writer_properties};
pub use error::WarehouseError;
pub use failure::EngineFailure;
pub use session::{QueryLimits, QuerySession, QueryShape, run_session, verify_read_only, with_spilling_joins};
pub use upkeep::{COMPACT_AT_FILES, COMPACT_TARGET_BYTES, Compacted, Vacuumed};
