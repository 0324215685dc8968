//! Runs the DAG for a day: Luigi's contract on Delta tables.
//!
//! A task is complete when its output exists: its latest record for the day in
//! the state database says `succeeded` (the subscriber snapshot also checks its
//! own table). Complete tasks are skipped, so a rerun resumes at what failed
//! and a finished day writes nothing. Ready tasks run concurrently up to
//! `[run] max_concurrent_tasks`; a failure stops its dependants only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use arrow::array::{Array, Date32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use darkroom_metrics::{CATALOG_FILE, Catalog};
use darkroom_sources::Production;
use darkroom_warehouse::{Warehouse, WriteMode, Written, run_session, with_spilling_joins};
use datafusion::datasource::MemTable;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::SessionContext;
use tokio::task::JoinSet;

use crate::dag::{Dag, LOAD_LOGS, SUBSCRIBER_SNAPSHOT, TaskKind};
use crate::error::PipelineError;
use crate::lock::RunLock;
use crate::model::{RUN_DAYS, load_models, sql_error};
use crate::project::Project;
use crate::state::{StateDb, TaskRecord, TaskState};

/// The models folder of a project.
pub const MODELS_DIR: &str = "models";

/// What `darkroom run` was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Rebuild even when the day is complete (the subscriber snapshot stays as taken).
    pub force: bool,
}

/// One task's outcome, for the person at the terminal.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskReport {
    pub task: String,
    pub state: TaskState,
    pub seconds: f64,
    pub rows_written: u64,
    pub table_versions: String,
    pub note: Option<String>,
    pub error: Option<String>,
}

/// One day's run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub run_id: i64,
    pub day: String,
    pub tasks: Vec<TaskReport>,
    pub seconds: f64,
}

impl RunReport {
    pub fn failed(&self) -> Vec<&TaskReport> {
        self.tasks.iter().filter(|t| t.state == TaskState::Failed).collect()
    }
}

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
    pub async fn query_scalar_text(&self, sql: &str) -> Result<Option<String>, PipelineError> {
        let failed = |e: datafusion::error::DataFusionError| PipelineError::Task {
            task: SUBSCRIBER_SNAPSHOT.into(),
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
            task: SUBSCRIBER_SNAPSHOT.into(),
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

    fn add_run_days(&self, days: &BTreeSet<i32>) -> Result<(), PipelineError> {
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

/// What to do about a failed task. Any task's SQL can run out of the run's
/// memory, whatever error type carried the message there.
fn task_hint(error: &PipelineError, memory_limit_mb: u64) -> String {
    if darkroom_warehouse::ran_out_of_memory(&error.to_string()) {
        format!(
            "the task's SQL needed more than the run's memory limit ([run] memory_limit_mb = {memory_limit_mb} \
             in darkroom.toml) even alone, with joins and sorts spilling to disk; raise it and run the same day again"
        )
    } else {
        error.hint().to_owned()
    }
}

fn task_failed(task: &str, message: String) -> PipelineError {
    PipelineError::Task {
        task: task.to_owned(),
        message,
    }
}

/// The DAG of a project: its built-in tasks and `models/*.sql`.
pub fn project_dag(project: &Project) -> Result<Dag, PipelineError> {
    let ctx = run_session(project.config.run.memory_limit_mb)?;
    let models = load_models(&project.dir.join(MODELS_DIR), &ctx.state())?;
    let catalog_path = project.dir.join(CATALOG_FILE);
    let catalog = if catalog_path.exists() {
        Some(Catalog::load(&catalog_path, &ctx.state())?)
    } else {
        None
    };
    Dag::build(models, catalog)
}

pub fn parse_day(text: &str) -> Result<i32, PipelineError> {
    let bad = || PipelineError::BadDate { value: text.to_owned() };
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(bad)?;
    i32::try_from((date - epoch).num_days()).map_err(|_| bad())
}

pub fn day_text(day: i32) -> String {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(i64::from(day))))
        .map_or_else(|| day.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn days_text(days: &BTreeSet<i32>) -> String {
    days.iter().map(|d| day_text(*d)).collect::<Vec<_>>().join(",")
}

fn parse_days_text(text: &str) -> BTreeSet<i32> {
    text.split(',').filter_map(|d| parse_day(d.trim()).ok()).collect()
}

/// The nightly run for each day from `first` to `last`, in order, under the project's lock.
/// Stops after the first day that fails: later days need its tables.
pub async fn run_range(
    project: &Project,
    first: i32,
    last: i32,
    options: RunOptions,
    mut on_report: impl FnMut(&RunReport),
) -> Result<Vec<RunReport>, PipelineError> {
    if first > last {
        return Err(PipelineError::BackwardsRange {
            from: day_text(first),
            to: day_text(last),
        });
    }
    let _lock = RunLock::acquire(&project.dir)?;
    let mut reports = Vec::new();
    for day in first..=last {
        let report = run_day(project, day, options).await?;
        on_report(&report);
        let failed: Vec<String> = report.failed().iter().map(|t| t.task.clone()).collect();
        reports.push(report);
        if !failed.is_empty() {
            return Err(PipelineError::RunFailed {
                day: day_text(day),
                failed: failed.len(),
                tasks: failed.join(", "),
            });
        }
    }
    Ok(reports)
}

/// One day's run; the caller holds the lock.
async fn run_day(project: &Project, day: i32, options: RunOptions) -> Result<RunReport, PipelineError> {
    let started = Instant::now();
    let day_name = day_text(day);
    let state = StateDb::open(&project.dir)?;
    let run_id = state.start_run(&day_name, options.force)?;
    let dag = match project_dag(project) {
        Ok(dag) => dag,
        Err(error) => {
            // The plan itself failed: recorded as a failed task, nothing written.
            let record = TaskRecord {
                error: Some(error.to_string()),
                ..TaskRecord::default()
            };
            state.finish_task(run_id, &day_name, "plan", TaskState::Failed, &record)?;
            state.finish_run(run_id, "failed", Some(&error.to_string()))?;
            return Err(error);
        }
    };
    let warehouse = Warehouse::open(&project.resolve(&project.config.warehouse.path))?;
    let ctx = run_session(project.config.run.memory_limit_mb)?;
    warehouse.register_all(&ctx).await?;
    let run = Arc::new(RunContext {
        project: project.clone(),
        warehouse,
        ctx,
        run_id,
        day,
        state: Mutex::new(state),
        production: tokio::sync::OnceCell::new(),
        run_days_list: Mutex::new(BTreeSet::from([day])),
    });
    run.set_run_days(&BTreeSet::from([day]))?;

    let mut status: BTreeMap<String, TaskState> = BTreeMap::new();
    let mut reports: BTreeMap<String, TaskReport> = BTreeMap::new();
    for task in &dag.tasks {
        let complete = if options.force {
            None
        } else {
            run.state().completed(&day_name, &task.name)?
        };
        if let Some(record) = complete {
            if task.name == LOAD_LOGS {
                run.add_run_days(&parse_days_text(&record.touched_days))?;
            }
            status.insert(task.name.clone(), TaskState::Skipped);
            run.state().finish_task(
                run_id,
                &day_name,
                &task.name,
                TaskState::Skipped,
                &TaskRecord::default(),
            )?;
            reports.insert(
                task.name.clone(),
                TaskReport {
                    task: task.name.clone(),
                    state: TaskState::Skipped,
                    seconds: 0.0,
                    rows_written: 0,
                    table_versions: String::new(),
                    note: Some("complete".into()),
                    error: None,
                },
            );
        }
    }

    let limit = project.config.run.max_concurrent_tasks;
    let mut running: JoinSet<TaskResult> = JoinSet::new();
    let mut retry = RetryAlone::default();
    loop {
        if running.is_empty()
            && let Some((name, first_seconds, cause)) = retry.waiting.pop()
        {
            let Some(task) = dag.task(&name) else { continue };
            retry.running = Some(cause);
            spawn_task(&mut running, &run, name, task.kind.clone(), true, first_seconds);
            continue;
        }
        let starting = if retry.running.is_some() || !retry.waiting.is_empty() {
            0 // a retry runs alone: the pool is all its own
        } else {
            limit.saturating_sub(running.len())
        };
        let ready: Vec<String> = dag
            .tasks
            .iter()
            .filter(|t| !status.contains_key(&t.name))
            .filter(|t| {
                t.requires
                    .iter()
                    .all(|r| matches!(status.get(r), Some(TaskState::Succeeded | TaskState::Skipped)))
            })
            .map(|t| t.name.clone())
            .collect();
        for name in ready.into_iter().take(starting) {
            let Some(task) = dag.task(&name) else { continue };
            status.insert(name.clone(), TaskState::Running);
            run.state().start_task(run_id, &day_name, &name)?;
            spawn_task(&mut running, &run, name, task.kind.clone(), false, 0.0);
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (name, seconds, result) = joined.map_err(|e| task_failed("scheduler", e.to_string()))?;
        let retried = retry.running.take();
        let (state, record) = match result {
            Err(error)
                if retried.is_none()
                    && let Some(cause) = RetryCause::of(&error) =>
            {
                tracing::warn!(
                    task = %name,
                    seconds,
                    memory_limit_mb = run.project.config.run.memory_limit_mb,
                    error = %error,
                    "task failed in a way that running alone can mend; it runs again alone, with joins that spill"
                );
                retry.waiting.push((name, seconds, cause));
                continue;
            }
            Ok(mut output) => {
                if let Some(cause) = retried {
                    let retried = cause.note(run.project.config.run.memory_limit_mb);
                    output.note = Some(match output.note.take() {
                        Some(note) => format!("{note}; {retried}"),
                        None => retried,
                    });
                }
                if name == LOAD_LOGS {
                    run.add_run_days(&output.touched_days)?;
                }
                let record = TaskRecord {
                    seconds,
                    rows_written: output.rows,
                    table_versions: output
                        .versions
                        .iter()
                        .map(|(t, v)| format!("{t}@{v}"))
                        .collect::<Vec<_>>()
                        .join(","),
                    touched_days: days_text(&output.touched_days),
                    error: None,
                    note: output.note,
                };
                (TaskState::Succeeded, record)
            }
            Err(error) => {
                tracing::error!(task = %name, error = %error, "task failed");
                let record = TaskRecord {
                    seconds,
                    error: Some(format!(
                        "{error} (hint: {})",
                        task_hint(&error, run.project.config.run.memory_limit_mb)
                    )),
                    ..TaskRecord::default()
                };
                for dependant in dag.downstream_of(&name) {
                    if dependant != name && !status.contains_key(&dependant) {
                        status.insert(dependant.clone(), TaskState::UpstreamFailed);
                        let upstream = TaskRecord {
                            error: Some(format!("not run: {name} failed")),
                            ..TaskRecord::default()
                        };
                        run.state()
                            .finish_task(run_id, &day_name, &dependant, TaskState::UpstreamFailed, &upstream)?;
                        reports.insert(
                            dependant.clone(),
                            TaskReport {
                                task: dependant.clone(),
                                state: TaskState::UpstreamFailed,
                                seconds: 0.0,
                                rows_written: 0,
                                table_versions: String::new(),
                                note: None,
                                error: upstream.error,
                            },
                        );
                    }
                }
                (TaskState::Failed, record)
            }
        };
        status.insert(name.clone(), state);
        run.state().finish_task(run_id, &day_name, &name, state, &record)?;
        reports.insert(
            name.clone(),
            TaskReport {
                task: name.clone(),
                state,
                seconds,
                rows_written: record.rows_written,
                table_versions: record.table_versions.clone(),
                note: record.note.clone(),
                error: record.error.clone(),
            },
        );
    }
    let tasks: Vec<TaskReport> = dag.tasks.iter().filter_map(|t| reports.remove(&t.name)).collect();
    let failed = tasks.iter().filter(|t| t.state == TaskState::Failed).count();
    let outcome = if failed == 0 { "succeeded" } else { "failed" };
    run.state().finish_run(run_id, outcome, None)?;
    Ok(RunReport {
        run_id,
        day: day_name,
        tasks,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A task that ran out of the run's memory, or met a DataFusion panic
/// ([`RetryCause`]), gets one more attempt, alone (no other task starts until
/// it ends) and with sort-merge joins, which spill.
#[derive(Debug, Default)]
struct RetryAlone {
    /// Tasks waiting for the others to finish, with the seconds of their first attempt.
    waiting: Vec<(String, f64, RetryCause)>,
    /// Why the retry that is running (and so nothing else) runs again.
    running: Option<RetryCause>,
}

/// Why a failed task gets its one attempt alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryCause {
    /// Its SQL ran out of the run's memory pool.
    OutOfMemory,
    /// DataFusion panicked while running its SQL. DataFusion 55 does so ("partition
    /// not used yet") in a query beside another that exhausts the shared pool,
    /// where the query itself would have failed for memory or not at all.
    EnginePanic,
}

impl RetryCause {
    fn of(error: &PipelineError) -> Option<Self> {
        let message = error.to_string();
        if darkroom_warehouse::ran_out_of_memory(&message) {
            Some(Self::OutOfMemory)
        } else if darkroom_warehouse::engine_panicked(&message) {
            Some(Self::EnginePanic)
        } else {
            None
        }
    }

    /// The task's note after its retry succeeded.
    fn note(self, memory_limit_mb: u64) -> String {
        match self {
            Self::OutOfMemory => format!(
                "ran out of [run] memory_limit_mb = {memory_limit_mb} beside other tasks or in a hash join; \
                 ran again alone with sort-merge joins"
            ),
            Self::EnginePanic => format!(
                "DataFusion panicked running its SQL beside other tasks (under [run] memory_limit_mb = \
                 {memory_limit_mb}); ran again alone with sort-merge joins"
            ),
        }
    }
}

/// A finished task: its name, seconds (both attempts for a retry) and outcome.
type TaskResult = (String, f64, Result<TaskOutput, PipelineError>);

/// Starts a task on `running`. A retry plans its SQL with joins that spill and
/// counts the seconds of its first attempt too.
fn spawn_task(
    running: &mut JoinSet<TaskResult>,
    run: &Arc<RunContext>,
    name: String,
    kind: TaskKind,
    spilling_joins: bool,
    earlier_seconds: f64,
) {
    let run = Arc::clone(run);
    running.spawn(async move {
        let clock = Instant::now();
        let sql = if spilling_joins {
            with_spilling_joins(&run.ctx)
        } else {
            run.ctx.clone()
        };
        let result = execute(run, &name, kind, &sql).await;
        (name, earlier_seconds + clock.elapsed().as_secs_f64(), result)
    });
}

/// Runs one task; `sql` is the session its SQL is planned in (the run's, or
/// one with spilling joins for a retry).
async fn execute(
    run: Arc<RunContext>,
    name: &str,
    kind: TaskKind,
    sql: &SessionContext,
) -> Result<TaskOutput, PipelineError> {
    match kind {
        TaskKind::LoadLogs => crate::load::load_logs(run).await,
        TaskKind::Snapshot(table) => crate::snapshot::snapshot_production(run, table).await,
        TaskKind::SubscriberSnapshot => crate::snapshot::subscriber_snapshot(run).await,
        TaskKind::DailyMetrics(catalog) => crate::metrics::daily_metrics(run, &catalog, sql).await,
        TaskKind::Model(model) => {
            let mut output = TaskOutput::default();
            let days = run.run_days();
            let mode = match &model.partition_by {
                Some(column) if model.reads_run_days => WriteMode::ReplaceDays { column, days: &days },
                _ => WriteMode::Overwrite,
            };
            let frame = sql.sql(&model.sql).await.map_err(|e| sql_error(&model.path, e))?;
            let stream = frame
                .execute_stream()
                .await
                .map_err(|e| task_failed(name, e.to_string()))?;
            let written = run
                .warehouse
                .write(&run.ctx, name, model.partition_by.as_deref(), stream, mode)
                .await?;
            run.refresh(name).await?;
            output.record(name, written);
            if matches!(mode, WriteMode::ReplaceDays { .. }) {
                output.touched_days.extend(days);
            }
            Ok(output)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: CI saw `daily_metrics` fail, beside a model that exhausted the
    /// pool, with DataFusion's panic instead of its out-of-memory error, so it
    /// was not run again alone. The message is the one its reproduction (the
    /// metrics beside a hungry join in a 64 MB pool, 1 attempt in 30) recorded.
    #[test]
    fn a_datafusion_panic_beside_other_tasks_earns_the_retry_alone() {
        let panic = task_failed(
            "daily_metrics",
            "metric `upload_sessions_per_uploader_30d`: its SQL failed: Join Error caused by External error: \
             task 33258 panicked with message \"partition not used yet\""
                .to_owned(),
        );
        assert_eq!(RetryCause::of(&panic), Some(RetryCause::EnginePanic));
        let memory = task_failed(
            "funnel_steps",
            "Resources exhausted: Failed to allocate additional 12.6 MB for ExternalSorter[0]".to_owned(),
        );
        assert_eq!(RetryCause::of(&memory), Some(RetryCause::OutOfMemory));
        let typo = task_failed("broken", "Schema error: No field named actoin".to_owned());
        assert_eq!(RetryCause::of(&typo), None);
        assert!(
            RetryCause::EnginePanic
                .note(64)
                .contains("ran again alone with sort-merge joins")
        );
    }
}
