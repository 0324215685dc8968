//! The api-v1 log reader.
//!
//! Archive files (`.log.gz`, `.log`) become Arrow batches of events with the
//! `raw_events` columns, plus quarantined lines and per-file statistics.
//! Nothing is dropped: every line is an event or a [`RejectedLine`] with a
//! [`RejectReason`]; a broken gzip stream keeps what came before it and marks
//! the file corrupt. [`LogArchiveTable`] exposes a folder of archives to SQL.

mod archive;
mod batch;
mod blocks;
mod error;
mod gzip;
mod line;
mod reader;
mod reason;
mod schema;
mod spare_buffer;
#[cfg(feature = "datafusion")]
mod table;
mod vocab;

pub use archive::{ArchiveFile, is_archive_name, list_archives};
pub use error::LogsError;
pub use gzip::{GzipInput, gzip_input};
pub use line::{Event, LineParser, MAX_REQUEST_BYTES, days_from_civil};
pub use reader::{Chunk, FileReader, FileStats, MAX_LINE_BYTES, MAX_RAW_LINE_BYTES, RejectedLine};
pub use reason::RejectReason;
pub use schema::{ColumnSet, EventColumn, event_schema, utc_micros};
pub use spare_buffer::recycle as recycle_buffer;
#[cfg(feature = "datafusion")]
pub use table::LogArchiveTable;
pub use vocab::{Action, Channel, Client};
