//! Keeping tables cheap to open and read as the nights add up: small files
//! compacted, files no version within the retention needs removed, and a
//! checkpoint every few commits so that opening a table replays a handful of
//! JSON commits rather than all of them.
//!
//! Each is one Delta operation on one table. Compaction and vacuum are
//! commits (a reader sees the table before or after them, never between);
//! a checkpoint changes no version. Nothing here runs while a night writes:
//! the runner runs them after every other task of the night.

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::{FilterOp, FilterValue};

use crate::delta::{Warehouse, delta_error};
use crate::encoding::writer_properties;
use crate::error::WarehouseError;

/// A partition (or an unpartitioned table) is compacted once it holds this many
/// files smaller than [`COMPACT_TARGET_BYTES`]: one file a night is added to an
/// appended partition, so a table is rewritten every few nights, not each night.
pub const COMPACT_AT_FILES: usize = 8;

/// The size compaction packs small files into (Delta's own default is 100 MiB).
pub const COMPACT_TARGET_BYTES: u64 = 128 * 1024 * 1024;

/// Delta's default `logRetentionDuration`: commit files are kept at least this long.
const DELTA_LOG_RETENTION_DAYS: i64 = 30;

/// What compacting one table did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compacted {
    pub files_removed: u64,
    pub files_added: u64,
    pub partitions: u64,
    /// The commit it made; `None` when no partition had enough small files.
    pub version: Option<i64>,
}

/// What vacuuming one table did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vacuumed {
    pub files_deleted: u64,
    pub bytes_deleted: u64,
    /// The commit that records it; `None` when nothing was old enough.
    pub version: Option<i64>,
}

impl Warehouse {
    /// Rewrites the small files of each partition of `table` holding at least
    /// [`COMPACT_AT_FILES`] of them into files of up to [`COMPACT_TARGET_BYTES`],
    /// in one commit. The files it replaces stay on disk for readers of older
    /// versions until [`Warehouse::vacuum`] removes them.
    pub async fn compact(&self, table: &str) -> Result<Compacted, WarehouseError> {
        let delta = self.load(table).await?;
        let state = delta.snapshot().map_err(delta_error(table))?;
        let partition_column = state.metadata().partition_columns().first().cloned();
        let files = state.add_actions_table(true).map_err(delta_error(table))?;
        let crowded = crowded_partitions(&files, partition_column.as_deref()).map_err(delta_error(table))?;
        if crowded.is_empty() {
            return Ok(Compacted::default());
        }
        let values: Vec<&str> = crowded.iter().filter_map(|p| p.as_deref()).collect();
        let filters = match &partition_column {
            Some(column) => vec![(column.as_str(), FilterOp::In, FilterValue::Set(values))],
            None => Vec::new(),
        };
        let target = NonZeroU64::new(COMPACT_TARGET_BYTES).unwrap_or(NonZeroU64::MIN);
        let (after, metrics) = delta
            .optimize()
            .with_filters(&filters)
            .with_target_size(target)
            .with_writer_properties(writer_properties(&[]))
            // The night's other tasks are done; two cores are the machine's whole.
            .with_max_concurrent_tasks(2)
            .await
            .map_err(delta_error(table))?;
        let changed = metrics.num_files_removed > 0;
        Ok(Compacted {
            files_removed: metrics.num_files_removed,
            files_added: metrics.num_files_added,
            partitions: metrics.partitions_optimized,
            version: after.version().map(|v| v as i64).filter(|_| changed),
        })
    }

    /// Deletes the files of `table` that no version from the last `keep` is
    /// made of (replaced partitions, compacted files) and files no commit
    /// names (a write that was killed), once older than `keep`. Time travel
    /// keeps working to any version inside `keep`.
    pub async fn vacuum(&self, table: &str, keep: chrono::Duration) -> Result<Vacuumed, WarehouseError> {
        let delta = self.load(table).await?;
        let sizes = file_sizes(&self.table_dir(table));
        let (after, metrics) = delta
            .vacuum()
            .with_mode(VacuumMode::Full)
            .with_retention_period(keep)
            // `[warehouse] keep_versions_days` is the user's choice, below Delta's 7-day default too.
            .with_enforce_retention_duration(false)
            .await
            .map_err(delta_error(table))?;
        let deleted = &metrics.files_deleted;
        Ok(Vacuumed {
            files_deleted: deleted.len() as u64,
            bytes_deleted: deleted.iter().filter_map(|path| sizes.get(path.as_str())).sum(),
            version: after.version().map(|v| v as i64).filter(|_| !deleted.is_empty()),
        })
    }

    /// Writes a checkpoint of `table`'s latest version when it is at least
    /// `every_commits` commits past the last checkpoint (or has none and that
    /// many commits), then deletes the commit files it covers that are older
    /// than Delta's log retention or `keep`, whichever is longer; the version
    /// checkpointed, or `None`.
    pub async fn checkpoint(
        &self,
        table: &str,
        every_commits: u64,
        keep: chrono::Duration,
    ) -> Result<Option<i64>, WarehouseError> {
        // From the commit files' names: most nights no table is due, and none is opened.
        let Some(latest) = self.committed_version(table)? else {
            return Err(WarehouseError::NoSuchTable {
                table: table.to_owned(),
            });
        };
        let last = last_checkpoint(&self.table_dir(table));
        let commits_since = match last {
            Some(version) => latest - version,
            None => latest + 1,
        };
        if commits_since < every_commits as i64 {
            return Ok(None);
        }
        let delta = self.load(table).await?;
        deltalake::checkpoints::create_checkpoint(&delta, None)
            .await
            .map_err(delta_error(table))?;
        // Without this the log folder grows by a file a night forever. Commits
        // stay for Delta's 30 days, or `keep` if longer: time travel needs them.
        let keep_logs = keep.max(chrono::Duration::days(DELTA_LOG_RETENTION_DAYS));
        let cutoff = chrono::Utc::now().timestamp_millis() - keep_logs.num_milliseconds();
        deltalake::checkpoints::cleanup_expired_logs_for(latest as u64, delta.log_store().as_ref(), cutoff, None)
            .await
            .map_err(delta_error(table))?;
        Ok(Some(latest))
    }
}

/// The partition values (as Delta writes them, `None` for an unpartitioned
/// table) holding at least [`COMPACT_AT_FILES`] files below the target size.
fn crowded_partitions(files: &RecordBatch, partition_column: Option<&str>) -> Result<Vec<Option<String>>, String> {
    let sizes = files
        .column_by_name("size_bytes")
        .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Int64Type>())
        .ok_or("the table's file list has no size_bytes")?;
    let partitions = match partition_column {
        Some(column) => {
            let values = files
                .column_by_name(&format!("partition.{column}"))
                .ok_or_else(|| format!("the table's file list has no partition.{column}"))?;
            let text = cast(values, &DataType::Utf8).map_err(|e| e.to_string())?;
            Some(text.as_string::<i32>().clone())
        }
        None => None,
    };
    let mut small_files: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for row in 0..files.num_rows() {
        if sizes.is_null(row) || sizes.value(row) as u64 >= COMPACT_TARGET_BYTES {
            continue;
        }
        let partition = match &partitions {
            // A null partition cannot be named in a filter; it is left as it is.
            Some(values) if values.is_null(row) => continue,
            Some(values) => Some(values.value(row).to_owned()),
            None => None,
        };
        *small_files.entry(partition).or_default() += 1;
    }
    Ok(small_files
        .into_iter()
        .filter(|(_, count)| *count >= COMPACT_AT_FILES)
        .map(|(partition, _)| partition)
        .collect())
}

/// The version of the table's last checkpoint, from `_delta_log/_last_checkpoint`.
fn last_checkpoint(table_dir: &Path) -> Option<i64> {
    let text = std::fs::read_to_string(table_dir.join("_delta_log").join("_last_checkpoint")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value.get("version")?.as_i64()
}

/// Every data file's size, keyed by its path below the table's folder as
/// vacuum names it, read before vacuum deletes any.
fn file_sizes(table_dir: &Path) -> BTreeMap<String, u64> {
    walkdir::WalkDir::new(table_dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter_map(|entry| {
            let relative = entry.path().strip_prefix(table_dir).ok()?.to_str()?.to_owned();
            Some((relative, entry.metadata().ok()?.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Int64Array};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn file_list(sizes: &[i64], days: &[Option<i32>]) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("size_bytes", DataType::Int64, false),
            Field::new("partition.day", DataType::Date32, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(sizes.to_vec())),
                Arc::new(Date32Array::from(days.to_vec())),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_partitions_with_enough_small_files_are_compacted() {
        // 1970-01-02 has 8 small files, 1970-01-03 has 7 small ones and a big one.
        let mut sizes = vec![1000; 8];
        let mut days = vec![Some(1); 8];
        sizes.extend([1000; 7]);
        days.extend([Some(2); 7]);
        sizes.push(COMPACT_TARGET_BYTES as i64);
        days.push(Some(2));
        sizes.extend([1000; 9]);
        days.extend([None; 9]);
        let crowded = crowded_partitions(&file_list(&sizes, &days), Some("day")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(crowded, vec![Some("1970-01-02".to_owned())]);
    }

    #[test]
    fn an_unpartitioned_table_is_one_partition() {
        let files = file_list(&[10; COMPACT_AT_FILES], &[None; COMPACT_AT_FILES]);
        let crowded = crowded_partitions(&files, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(crowded, vec![None]);
        let fewer = file_list(&[10; COMPACT_AT_FILES - 1], &[None; COMPACT_AT_FILES - 1]);
        assert!(
            crowded_partitions(&fewer, None)
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty()
        );
    }
}
