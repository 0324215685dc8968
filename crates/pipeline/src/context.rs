//! What a task of one day's run can reach ([`RunContext`]) and what it reports
//! back ([`TaskOutput`]). Tasks (`load.rs`, `snapshot.rs`, `metrics.rs`,
//! `model.rs`) use this module; the runner builds the context and schedules them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use arrow::array::{Array, Date32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use darkroom_sources::Production;
use darkroom_warehouse::{Warehouse, WriteMode, Written};
use datafusion::datasource::MemTable;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;

use crate::dag::LOAD_LOGS;
use crate::error::PipelineError;
use crate::model::RUN_DAYS;
use crate::project::Project;
use crate::state::StateDb;

/// What a task did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskOutput {
    pub rows: u64,
    pub versions: Vec<(String, i64)>,
    pub touched_days: BTreeSet<i32>,
    pub note: Option<String>,
}

impl TaskOutput {
    pub fn record(&mut self, table: &str, written: Written) {
        self.rows += written.rows;
        self.versions.push((table.to_owned(), written.version));
    }
}

/// Everything a task of one day's run can reach.
pub(crate) struct RunContext {
    pub project: Project,
    pub warehouse: Warehouse,
    pub ctx: SessionContext,
    pub run_id: i64,
    pub day: i32,
    state: Mutex<StateDb>,
    production: tokio::sync::OnceCell<Production>,
    /// The days partitioned models rebuild: the run's day and every day its load touched.
    run_days_list: Mutex<BTreeSet<i32>>,
    /// Each table's latest commit when the run began: upkeep compacts only what the night wrote.
    pub versions_at_start: BTreeMap<String, i64>,
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("run_id", &self.run_id)
            .field("day", &self.day)
            .finish_non_exhaustive()
    }
}

impl RunContext {
    /// A context for `day` whose models see `run_days` = that day alone until the load adds more.
    pub fn new(
        project: Project,
        warehouse: Warehouse,
        ctx: SessionContext,
        run_id: i64,
        day: i32,
        state: StateDb,
    ) -> Result<Self, PipelineError> {
        let versions_at_start = warehouse.committed_versions()?;
        let run = Self {
            project,
            versions_at_start,
            warehouse,
            ctx,
            run_id,
            day,
            state: Mutex::new(state),
            production: tokio::sync::OnceCell::new(),
            run_days_list: Mutex::new(BTreeSet::from([day])),
        };
        run.set_run_days(&BTreeSet::from([day]))?;
        Ok(run)
    }

    pub fn state(&self) -> MutexGuard<'_, StateDb> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The production database, connected on first use and shared by the snapshot tasks.
    pub async fn production(&self) -> Result<&Production, PipelineError> {
        self.production
            .get_or_try_init(|| async {
                let url = self
                    .project
                    .production_url()
                    .ok_or(PipelineError::SourceNotConfigured {
                        source_name: "production",
                        task: "snapshot_*".into(),
                    })?;
                let timeout = self
                    .project
                    .config
                    .sources
                    .production
                    .as_ref()
                    .map_or(10, |p| p.connect_timeout_seconds);
                Ok(Production::connect(&url, std::time::Duration::from_secs(timeout)).await?)
            })
            .await
    }

    /// Re-registers `table` at its latest version: a registered Delta provider is
    /// frozen at the snapshot it was built from.
    pub async fn refresh(&self, table: &str) -> Result<(), PipelineError> {
        self.warehouse.register(&self.ctx, table).await?;
        Ok(())
    }

    pub async fn write_batches(
        &self,
        table: &str,
        partition_by: Option<&str>,
        batch: RecordBatch,
        mode: WriteMode<'_>,
    ) -> Result<Written, PipelineError> {
        let schema = batch.schema();
        let stream = futures::stream::iter(vec![Ok(batch)]);
        let input = Box::pin(RecordBatchStreamAdapter::new(schema, stream));
        let written = self
            .warehouse
            .write(&self.ctx, table, partition_by, input, mode)
            .await?;
        self.refresh(table).await?;
        Ok(written)
    }

    /// Streams the result of `sql` into `table`.
    pub async fn write_sql(
        &self,
        task: &str,
        table: &str,
        partition_by: Option<&str>,
        sql: &str,
        mode: WriteMode<'_>,
    ) -> Result<Written, PipelineError> {
        let failed = |e: datafusion::error::DataFusionError| PipelineError::Task {
            task: task.to_owned(),
            message: e.to_string(),
        };
        let frame = self.ctx.sql(sql).await.map_err(failed)?;
        let stream = frame.execute_stream().await.map_err(failed)?;
        let written = self
            .warehouse
            .write(&self.ctx, table, partition_by, stream, mode)
            .await?;
        self.refresh(table).await?;
        Ok(written)
    }

    /// The first column of the first row, as text; `None` for no row or NULL.
    /// A failure is `task`'s.
    pub async fn query_scalar_text(&self, task: &str, sql: &str) -> Result<Option<String>, PipelineError> {
        let failed = |e: datafusion::error::DataFusionError| PipelineError::Task {
            task: task.to_owned(),
            message: e.to_string(),
        };
        let batches = self
            .ctx
            .sql(sql)
            .await
            .map_err(failed)?
            .collect()
            .await
            .map_err(failed)?;
        let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
            return Ok(None);
        };
        let column = arrow::compute::cast(batch.column(0), &DataType::Utf8).map_err(|e| PipelineError::Task {
            task: task.to_owned(),
            message: e.to_string(),
        })?;
        let text = column.as_any().downcast_ref::<arrow::array::StringArray>();
        Ok(text.and_then(|t| (!t.is_null(0)).then(|| t.value(0).to_owned())))
    }

    fn set_run_days(&self, days: &BTreeSet<i32>) -> Result<(), PipelineError> {
        let schema = Arc::new(Schema::new(vec![Field::new("day", DataType::Date32, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Date32Array::from_iter_values(days.iter().copied()))],
        )
        .map_err(|e| task_failed(LOAD_LOGS, e.to_string()))?;
        let table = MemTable::try_new(schema, vec![vec![batch]]).map_err(|e| task_failed(LOAD_LOGS, e.to_string()))?;
        let _ = self.ctx.deregister_table(RUN_DAYS);
        self.ctx
            .register_table(RUN_DAYS, Arc::new(table))
            .map_err(|e| task_failed(LOAD_LOGS, e.to_string()))?;
        Ok(())
    }

    pub fn add_run_days(&self, days: &BTreeSet<i32>) -> Result<(), PipelineError> {
        let all = {
            let mut list = self
                .run_days_list
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            list.extend(days.iter().copied());
            list.clone()
        };
        self.set_run_days(&all)
    }

    pub fn run_days(&self) -> Vec<i32> {
        self.run_days_list
            .lock()
            .map(|d| d.iter().copied().collect())
            .unwrap_or_default()
    }
}

pub(crate) fn task_failed(task: &str, message: String) -> PipelineError {
    PipelineError::Task {
        task: task.to_owned(),
        message,
    }
}
