//! The warehouse's tables: one Delta table per folder below the warehouse root.
//!
//! Every write is one Delta commit, so a reader sees a table before or after a
//! write, never half of it. Writes stream their input (a one-shot
//! [`StreamingTable`] under `with_input_plan`), never collecting it first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, col, lit};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use deltalake::DeltaTable;
use deltalake::protocol::SaveMode;
use futures::StreamExt;
use url::Url;

use crate::encoding::{SAMPLE_ROWS, writer_properties};
use crate::error::WarehouseError;
use crate::failure::{EngineFailure, root_message};

/// The folder every table lives under.
#[derive(Debug, Clone)]
pub struct Warehouse {
    root: PathBuf,
}

/// How a write changes its table; each is one commit.
#[derive(Debug, Clone, Copy)]
pub enum WriteMode<'a> {
    /// Adds rows; nothing is removed.
    Append,
    /// Replaces the whole table (and its schema, which may have changed).
    Overwrite,
    /// Replaces the partitions of these days (days since 1970-01-01) of the date
    /// column `column`, and only them; every input row must fall on one of them.
    ReplaceDays { column: &'a str, days: &'a [i32] },
    /// Replaces the rows whose text column `column` holds one of `values`, and
    /// only them; every input row must hold one of them.
    ReplaceValues { column: &'a str, values: &'a [String] },
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub version: i64,
    pub rows: u64,
}

impl Warehouse {
    /// The warehouse at `root`, created if it does not exist.
    pub fn open(root: &Path) -> Result<Self, WarehouseError> {
        std::fs::create_dir_all(root).map_err(|source| WarehouseError::Io {
            path: root.to_owned(),
            source,
        })?;
        let root = root.canonicalize().map_err(|source| WarehouseError::Io {
            path: root.to_owned(),
            source,
        })?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn table_dir(&self, table: &str) -> PathBuf {
        self.root.join(table)
    }

    /// Whether `table` has at least one commit.
    pub fn exists(&self, table: &str) -> bool {
        self.table_dir(table).join("_delta_log").is_dir()
    }

    /// The tables with at least one commit, by name.
    pub fn table_names(&self) -> Result<Vec<String>, WarehouseError> {
        let entries = std::fs::read_dir(&self.root).map_err(|source| WarehouseError::Io {
            path: self.root.clone(),
            source,
        })?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().join("_delta_log").is_dir())
            .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    fn url(&self, table: &str) -> Result<Url, WarehouseError> {
        let dir = self.table_dir(table);
        std::fs::create_dir_all(&dir).map_err(|source| WarehouseError::Io {
            path: dir.clone(),
            source,
        })?;
        Url::from_directory_path(&dir).map_err(|()| WarehouseError::Delta {
            table: table.to_owned(),
            message: format!("{} is not an absolute path", dir.display()),
        })
    }

    /// The table as of its latest commit.
    pub async fn load(&self, table: &str) -> Result<DeltaTable, WarehouseError> {
        if !self.exists(table) {
            return Err(WarehouseError::NoSuchTable {
                table: table.to_owned(),
            });
        }
        deltalake::open_table(self.url(table)?)
            .await
            .map_err(delta_error(table))
    }

    /// The latest version of `table`, or `None` before its first commit.
    pub async fn version(&self, table: &str) -> Result<Option<i64>, WarehouseError> {
        if !self.exists(table) {
            return Ok(None);
        }
        Ok(self.load(table).await?.version().map(|v| v as i64))
    }

    /// The latest committed version of every table, from the names of its commit
    /// files alone: cheap enough to ask before every cached answer is served.
    pub fn committed_versions(&self) -> Result<BTreeMap<String, i64>, WarehouseError> {
        let mut versions = BTreeMap::new();
        for table in self.table_names()? {
            if let Some(version) = self.committed_version(&table)? {
                versions.insert(table, version);
            }
        }
        Ok(versions)
    }

    /// The latest committed version of `table`, from its commit files' names alone.
    pub fn committed_version(&self, table: &str) -> Result<Option<i64>, WarehouseError> {
        let log = self.table_dir(table).join("_delta_log");
        let entries = std::fs::read_dir(&log).map_err(|source| WarehouseError::Io {
            path: log.clone(),
            source,
        })?;
        Ok(entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name();
                let stem = name.to_str()?.strip_suffix(".json")?.to_owned();
                stem.parse::<i64>().ok()
            })
            .max())
    }

    /// Streams `input` into `table` as one commit, creating the table (partitioned
    /// by `partition_by`) on its first write.
    pub async fn write(
        &self,
        ctx: &SessionContext,
        table: &str,
        partition_by: Option<&str>,
        input: SendableRecordBatchStream,
        mode: WriteMode<'_>,
    ) -> Result<Written, WarehouseError> {
        let rows = Arc::new(AtomicU64::new(0));
        // deltalake turns its input's error into text; what it was is kept here first.
        let input_failed: Arc<Mutex<Option<WarehouseError>>> = Arc::default();
        let schema = input.schema();
        let (sample, input) = sample_first_rows(input).await;
        let properties = writer_properties(&sample);
        let counted: SendableRecordBatchStream = {
            let rows = Arc::clone(&rows);
            let input_failed = Arc::clone(&input_failed);
            let table = table.to_owned();
            Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&schema),
                input.inspect(move |batch| match batch {
                    Ok(batch) => {
                        rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                    }
                    Err(error) => {
                        let mut slot = input_failed.lock().unwrap_or_else(PoisonError::into_inner);
                        slot.get_or_insert_with(|| WarehouseError::Input {
                            table: table.clone(),
                            message: root_message(error),
                            failure: EngineFailure::find(error),
                        });
                    }
                }),
            ))
        };
        let source = StreamingTable::try_new(Arc::clone(&schema), vec![Arc::new(OneShot::new(schema, counted))])
            .map_err(delta_error(table))?;
        let plan = ctx
            .read_table(Arc::new(source))
            .map_err(delta_error(table))?
            .logical_plan()
            .clone();
        let delta = if self.exists(table) {
            self.load(table).await?
        } else {
            // Not loaded: loading a folder that is not a table yet logs a kernel error.
            deltalake::DeltaTableBuilder::from_url(self.url(table)?)
                .and_then(deltalake::DeltaTableBuilder::build)
                .map_err(delta_error(table))?
        };
        let mut builder = delta
            .write(Vec::new())
            // Not our session: the write plans with deltalake's own planner
            // extensions, which a plain session lacks; the input is already a stream.
            .with_session_state(Arc::new(write_session()))
            .with_input_plan(plan)
            .with_table_name(table)
            .with_writer_properties(properties);
        if let Some(column) = partition_by {
            builder = builder.with_partition_columns([column]);
        }
        builder = match mode {
            WriteMode::Append => builder.with_save_mode(SaveMode::Append),
            WriteMode::Overwrite => builder
                .with_save_mode(SaveMode::Overwrite)
                .with_schema_mode(deltalake::operations::write::SchemaMode::Overwrite),
            WriteMode::ReplaceDays { column, days } => builder
                .with_save_mode(SaveMode::Overwrite)
                .with_replace_where(days_predicate(column, days)),
            WriteMode::ReplaceValues { column, values } => builder
                .with_save_mode(SaveMode::Overwrite)
                .with_replace_where(col(column).in_list(values.iter().map(|v| lit(v.clone())).collect(), false)),
        };
        let written = match builder.await {
            Ok(written) => written,
            Err(error) => {
                let input_error = input_failed.lock().unwrap_or_else(PoisonError::into_inner).take();
                return Err(input_error.unwrap_or_else(|| delta_error(table)(error)));
            }
        };
        Ok(Written {
            version: written.version().map_or(0, |v| v as i64),
            rows: rows.load(Ordering::Relaxed),
        })
    }

    /// Removes the rows matching `predicate` in one commit; `None` when nothing matched
    /// or the table does not exist.
    pub async fn delete(&self, table: &str, predicate: Expr) -> Result<Option<i64>, WarehouseError> {
        if !self.exists(table) {
            return Ok(None);
        }
        let before = self.version(table).await?;
        let (after, metrics) = self
            .load(table)
            .await?
            .delete()
            .with_predicate(predicate)
            .await
            .map_err(delta_error(table))?;
        if metrics.num_deleted_rows.unwrap_or(0) == 0 {
            return Ok(None);
        }
        Ok(after.version().map(|v| v as i64).filter(|v| Some(*v) != before))
    }

    /// Registers every table in `ctx` at its latest version, replacing what was
    /// registered before: a registered Delta provider is frozen at the snapshot it
    /// was built from, so this runs again after every commit.
    pub async fn register_all(&self, ctx: &SessionContext) -> Result<Vec<String>, WarehouseError> {
        let names = self.table_names()?;
        for name in &names {
            self.register(ctx, name).await?;
        }
        Ok(names)
    }

    /// Registers (or refreshes) one table in `ctx`.
    pub async fn register(&self, ctx: &SessionContext, table: &str) -> Result<(), WarehouseError> {
        let delta = self.load(table).await?;
        let provider = delta.table_provider().await.map_err(delta_error(table))?;
        let _ = ctx.deregister_table(table);
        ctx.register_table(table, provider)
            .map_err(|e| WarehouseError::Register {
                table: table.to_owned(),
                message: e.to_string(),
            })?;
        Ok(())
    }
}

/// deltalake's session, less round-robin repartitioning. With it, the one-stream
/// input became two, which deltalake hashes by partition column to its writers;
/// one day's rows all hash to one writer, the other channel stays empty, and
/// DataFusion's repartition only waits for a slow consumer once every channel
/// holds data: so it buffered the whole day (1.35 GB of a 1 GB day's
/// `raw_events`) instead of slowing the parser. One stream keeps the backpressure.
fn write_session() -> SessionState {
    let state = deltalake::delta_datafusion::create_session().state();
    let mut config = state.config().clone();
    config.options_mut().optimizer.enable_round_robin_repartition = false;
    SessionStateBuilder::new_from_existing(state)
        .with_config(config)
        .build()
}

/// The first batches of `input`, at least [`SAMPLE_ROWS`] rows of them (all of a
/// smaller input), and `input` as it was, those batches included.
async fn sample_first_rows(mut input: SendableRecordBatchStream) -> (Vec<RecordBatch>, SendableRecordBatchStream) {
    let schema = input.schema();
    let mut taken = Vec::new();
    let mut rows = 0;
    while rows < SAMPLE_ROWS {
        let Some(next) = input.next().await else {
            break;
        };
        let failed = next.is_err();
        rows += next.as_ref().map_or(0, RecordBatch::num_rows);
        taken.push(next);
        if failed {
            break;
        }
    }
    let sample = taken.iter().filter_map(|next| next.as_ref().ok().cloned()).collect();
    let whole = futures::stream::iter(taken).chain(input);
    (sample, Box::pin(RecordBatchStreamAdapter::new(schema, whole)))
}

/// `column IN (day, ...)` over Date32 values.
pub fn days_predicate(column: &str, days: &[i32]) -> Expr {
    let list = days.iter().map(|d| lit(ScalarValue::Date32(Some(*d)))).collect();
    col(column).in_list(list, false)
}

pub(crate) fn delta_error<E: std::fmt::Display>(table: &str) -> impl Fn(E) -> WarehouseError + '_ {
    move |e| WarehouseError::Delta {
        table: table.to_owned(),
        message: e.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A stream that a write plan executes exactly once.
struct OneShot {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl std::fmt::Debug for OneShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneShot").finish_non_exhaustive()
    }
}

impl OneShot {
    fn new(schema: SchemaRef, stream: SendableRecordBatchStream) -> Self {
        Self {
            schema,
            stream: Mutex::new(Some(stream)),
        }
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut slot| slot.take());
        taken.unwrap_or_else(|| {
            let error = DataFusionError::Execution("a write's input stream can be read only once".into());
            Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.schema),
                futures::stream::once(async move { Err(error) }),
            ))
        })
    }
}
