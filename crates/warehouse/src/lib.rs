//! The warehouse: the DataFusion session every query runs in.
//!
//! Only this crate opens tables and sessions. User SQL goes through
//! [`QuerySession::query`], which refuses DDL, DML, COPY and `SET`-style
//! statements before anything runs, and bounds memory and time.

mod error;
mod session;

pub use error::WarehouseError;
pub use session::{QueryLimits, QuerySession};
