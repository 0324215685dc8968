//! The one DataFusion session of a warehouse, and read-only queries on it.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::common::ParamValues;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::DataFusionError;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};

use crate::error::WarehouseError;
use crate::failure::{EngineFailure, root_message};
use crate::resident::{Stop, watch};
use crate::sort_merge_filter::NullableSortMergeJoinFilters;

/// How many sorted spill files one merge reads at once; more are merged in
/// several passes. DataFusion's default, no bound, lets one merge reserve a
/// buffer per file for as many files as the pool can seat, and the other sorts
/// of the same night or query then find the pool empty: the 6.8M-user day
/// failed at a 256 MB limit with two merges holding 153 MB.
const SPILL_MERGE_FAN_IN: usize = 8;

/// Rows per batch in the spilling session (DataFusion's default is 8,192).
const SPILLING_BATCH_ROWS: usize = 2048;
/// What each sort of the spilling session sets aside for merging its spill files.
const SPILLING_SORT_RESERVATION_BYTES: usize = 2 << 20;

/// The session the nightly run plans and runs its SQL in, with spans on so a
/// model's error names its line and column. Its memory is bounded so that a
/// bigger day spills to disk instead of growing the process: a fair pool, as
/// several tasks' sorts and aggregations run at once. No time limit: the run is trusted.
pub fn run_session(memory_limit_mb: u64) -> Result<SessionContext, WarehouseError> {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_default_catalog_and_schema("darkroom", "public");
    config.options_mut().sql_parser.collect_spans = true;
    let bytes = usize::try_from(memory_limit_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
    let pool = TrackConsumersPool::new(
        FairSpillPool::new(bytes),
        NonZeroUsize::new(3).unwrap_or(NonZeroUsize::MIN),
    );
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(pool))
        .with_max_spill_merge_fan_in(SPILL_MERGE_FAN_IN)
        .build_arc()
        .map_err(|e| WarehouseError::Execution { message: e.to_string() })?;
    Ok(SessionContext::new_with_config_rt(config, runtime))
}

/// The run's session, planning equi-joins as sort-merge joins: slower than hash
/// joins, but their sorts and buffers spill to disk, where a hash join's build
/// side must fit the pool or fail. Tables and memory pool are shared with `run`
/// (a table refreshed there is seen here); settings are copied, with smaller
/// batches and merge set-asides so that its many sorts fit the pool together.
/// Outer joins' filters get nullable columns ([`crate::sort_merge_filter`]).
pub fn with_spilling_joins(run: &SessionContext) -> SessionContext {
    let state = run.state();
    // Without this the builder makes a new, empty default catalog and puts it in
    // the shared catalog list, in place of the run's tables.
    let mut config = state.config().clone().with_create_default_catalog_and_schema(false);
    config.options_mut().optimizer.prefer_hash_join = false;
    // A plan of sort-merge joins runs a dozen sorts at once. Each sets aside
    // sort_spill_reservation_bytes for its merge (10 MB by default) and reserves
    // twice a batch before it can spill (12.6 MB at 8,192 rows of the 6.8M-user
    // day's funnel timeline): at a 256 MB limit a sort found 8.4 MB left and the
    // retry failed. Smaller batches and set-asides let the sorts spill instead.
    config.options_mut().execution.sort_spill_reservation_bytes = SPILLING_SORT_RESERVATION_BYTES;
    let config = config.with_batch_size(SPILLING_BATCH_ROWS);
    SessionContext::new_with_state(
        SessionStateBuilder::new_from_existing(state)
            .with_config(config)
            .with_physical_optimizer_rule(Arc::new(NullableSortMergeJoinFilters))
            .build(),
    )
}

/// Bounds on one user query. Names carry their units, as in `darkroom.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    pub memory_limit_mb: u64,
    pub timeout: Duration,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            memory_limit_mb: 4096,
            timeout: Duration::from_secs(300),
        }
    }
}

/// Refuses a plan unless it only reads: no DDL, no DML (COPY included), no
/// SET or other statements that change the session.
pub fn verify_read_only(plan: &LogicalPlan) -> Result<(), WarehouseError> {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(plan)
        .map_err(|e| WarehouseError::NotReadOnly {
            message: root_message(&e),
        })
}

fn is_text(data_type: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType;
    matches!(data_type, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

/// What a statement reads and the parameters it takes ([`QuerySession::describe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryShape {
    /// The tables its plan scans, subqueries included.
    pub tables: BTreeSet<String>,
    /// Each `$name` (without the `$`), with the type DataFusion infers for it,
    /// where it can (a comparison with a column).
    pub parameters: BTreeMap<String, Option<arrow::datatypes::DataType>>,
}

/// A session whose every user query is read-only and bounded.
#[derive(Clone)]
pub struct QuerySession {
    ctx: SessionContext,
    limits: QueryLimits,
}

impl std::fmt::Debug for QuerySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuerySession")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl QuerySession {
    pub fn new(limits: QueryLimits) -> Result<Self, WarehouseError> {
        let bytes = usize::try_from(limits.memory_limit_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_limit(bytes, 1.0)
            .with_max_spill_merge_fan_in(SPILL_MERGE_FAN_IN)
            .build_arc()
            .map_err(|e| WarehouseError::Execution { message: e.to_string() })?;
        let config = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema("darkroom", "public");
        Ok(Self {
            ctx: SessionContext::new_with_config_rt(config, runtime),
            limits,
        })
    }

    /// The raw log archives below `root`, as the table `name`.
    pub fn register_log_archives(&self, name: &str, root: &std::path::Path) -> Result<(), WarehouseError> {
        let table = darkroom_logs::LogArchiveTable::try_new(root)?;
        self.ctx
            .register_table(name, Arc::new(table))
            .map_err(|e| WarehouseError::Register {
                table: name.to_owned(),
                message: e.to_string(),
            })?;
        Ok(())
    }

    /// A new session with the same limits and every table registered as in
    /// this one: a table registered again in the copy leaves this one's
    /// snapshot alone, for the queries still running on it.
    pub async fn fresh_copy(&self) -> Result<Self, WarehouseError> {
        let copy = Self::new(self.limits)?;
        let state = self.ctx.state();
        let options = &state.config().options().catalog;
        let schema = self
            .ctx
            .catalog(&options.default_catalog)
            .and_then(|c| c.schema(&options.default_schema));
        if let Some(schema) = schema {
            for name in schema.table_names() {
                let provider = schema.table(&name).await.map_err(|e| WarehouseError::Register {
                    table: name.clone(),
                    message: root_message(&e),
                })?;
                if let Some(provider) = provider {
                    copy.ctx
                        .register_table(name.as_str(), provider)
                        .map_err(|e| WarehouseError::Register {
                            table: name.clone(),
                            message: root_message(&e),
                        })?;
                }
            }
        }
        Ok(copy)
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Plans `sql`, refuses anything but reads, and runs it within the limits:
    /// stopped past its time, when DataFusion's pool refuses a reservation, or
    /// when the process grows by more than the memory limit while it runs
    /// ([`crate::resident`]: not all of a query's memory is reserved).
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>, WarehouseError> {
        Ok(self.query_with_schema(sql).await?.1)
    }

    /// As [`Self::query`], with the result's schema, which an answer of no rows still has.
    pub async fn query_with_schema(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>), WarehouseError> {
        self.query_with_params(sql, None).await
    }

    /// Plans `sql` and refuses it unless it only reads: the one gate every user
    /// statement passes before anything runs.
    async fn read_only_plan(&self, sql: &str) -> Result<LogicalPlan, WarehouseError> {
        let plan = self
            .ctx
            .state()
            .create_logical_plan(sql)
            .await
            .map_err(|e| WarehouseError::Sql {
                message: root_message(&e),
            })?;
        verify_read_only(&plan)?;
        Ok(plan)
    }

    pub fn limits(&self) -> QueryLimits {
        self.limits
    }

    /// What a read-only statement reads and which `$name` parameters it takes,
    /// with the type each is compared with, without running it.
    pub async fn describe(&self, sql: &str) -> Result<QueryShape, WarehouseError> {
        let plan = self.read_only_plan(sql).await?;
        let sql_error = |e: DataFusionError| WarehouseError::Sql {
            message: root_message(&e),
        };
        let mut tables = BTreeSet::new();
        plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                tables.insert(scan.table_name.table().to_owned());
            }
            Ok(TreeNodeRecursion::Continue)
        })
        .map_err(sql_error)?;
        // DataFusion's own `get_parameter_types` refuses a parameter compared
        // with two types (`$client = 'all' OR client = $client`: Utf8 and
        // Utf8View, or `$day - INTERVAL ...` beside `date <= $day`); a bound
        // value is coerced wherever it lands, so such a parameter takes the
        // one string type, or no type at all.
        let mut seen: BTreeMap<String, Vec<arrow::datatypes::DataType>> = BTreeMap::new();
        plan.apply_with_subqueries(|node| {
            node.apply_expressions(|expr| {
                expr.apply(|expr| {
                    if let Expr::Placeholder(placeholder) = expr {
                        let types = seen
                            .entry(placeholder.id.trim_start_matches('$').to_owned())
                            .or_default();
                        if let Some(field) = &placeholder.field {
                            types.push(field.data_type().clone());
                        }
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
            })
        })
        .map_err(sql_error)?;
        let parameters = seen
            .into_iter()
            .map(|(name, mut types)| {
                types.sort_by_key(ToString::to_string);
                types.dedup();
                let one = match types.as_slice() {
                    [only] => Some(only.clone()),
                    several if !several.is_empty() && several.iter().all(is_text) => {
                        Some(arrow::datatypes::DataType::Utf8)
                    }
                    _ => None,
                };
                (name, one)
            })
            .collect();
        Ok(QueryShape { tables, parameters })
    }

    /// As [`Self::query_with_schema`], with `$name` placeholders bound to typed
    /// values: a value is never pasted into the SQL text.
    pub async fn query_with_params(
        &self,
        sql: &str,
        params: Option<ParamValues>,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), WarehouseError> {
        let mut plan = self.read_only_plan(sql).await?;
        if let Some(params) = params {
            plan = plan.with_param_values(params).map_err(|e| WarehouseError::Sql {
                message: root_message(&e),
            })?;
        }
        self.run_plan(plan).await
    }

    /// Runs a plan made elsewhere (the Postgres endpoint plans each statement
    /// itself) as [`Self::query`] runs SQL: refused unless it only reads, and
    /// stopped past its time or memory.
    pub async fn run_plan(&self, plan: LogicalPlan) -> Result<(SchemaRef, Vec<RecordBatch>), WarehouseError> {
        verify_read_only(&plan)?;
        let frame = self
            .ctx
            .execute_logical_plan(plan)
            .await
            .map_err(|e| WarehouseError::Sql {
                message: root_message(&e),
            })?;
        let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
        let limit_bytes = self.limits.memory_limit_mb.saturating_mul(1024 * 1024);
        let verdict = watch(limit_bytes, self.limits.timeout);
        // Its own task, so that this one is free to take the watch's verdict
        // while an operator computes for seconds without yielding.
        let running = tokio::spawn(frame.collect());
        let cancel = running.abort_handle();
        let outcome = tokio::select! {
            collected = running => match collected {
                Ok(Ok(batches)) => Ok((schema, batches)),
                Ok(Err(e)) => Err(self.execution_error(e)),
                Err(failed) => Err(WarehouseError::Execution {
                    message: format!("the query's task failed: {failed}"),
                }),
            },
            Ok(stop) = verdict => Err(match stop {
                Stop::Timeout => WarehouseError::Timeout {
                    limit: self.limits.timeout,
                },
                Stop::Grown(grown) => WarehouseError::MemoryLimit {
                    limit_mb: self.limits.memory_limit_mb,
                    message: format!(
                        "the process grew by {} MB while it ran, in memory DataFusion does not count \
                         (the rows of the answer, or an aggregate's state per group)",
                        grown / (1024 * 1024)
                    ),
                },
            }),
        };
        // A query stopped by a limit ends at its next await, and its memory with it.
        cancel.abort();
        outcome
    }

    fn execution_error(&self, error: DataFusionError) -> WarehouseError {
        if let DataFusionError::External(cause) = error.find_root()
            && let Some(logs) = cause.downcast_ref::<darkroom_logs::LogsError>()
        {
            return WarehouseError::Archive {
                message: logs.to_string(),
                hint: logs.hint(),
            };
        }
        let message = root_message(&error);
        if EngineFailure::find(&error) == Some(EngineFailure::OutOfMemory) {
            WarehouseError::MemoryLimit {
                limit_mb: self.limits.memory_limit_mb,
                message,
            }
        } else {
            WarehouseError::Execution { message }
        }
    }
}
