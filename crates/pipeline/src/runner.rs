//! Runs the DAG for a day: Luigi's contract on Delta tables.
//!
//! A task is complete when its output exists: its latest record for the day in
//! the state database says `succeeded` (the subscriber snapshot also checks its
//! own table). Complete tasks are skipped, so a rerun resumes at what failed
//! and a finished day writes nothing. Ready tasks run concurrently up to
//! `[run] max_concurrent_tasks`; a failure stops its dependants only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use darkroom_metrics::{CATALOG_FILE, Catalog};
use darkroom_warehouse::{EngineFailure, Warehouse, run_session, with_spilling_joins};
use datafusion::prelude::SessionContext;
use tokio::task::JoinSet;

use crate::context::{RunContext, TaskOutput, task_failed};
use crate::dag::{Dag, LOAD_LOGS, TaskKind};
use crate::days::{day_text, days_text, parse_days_text};
use crate::error::PipelineError;
use crate::lock::RunLock;
use crate::model::load_models;
use crate::project::Project;
use crate::state::{StateDb, TaskRecord, TaskState};
use crate::task_log::{read_tail, task_log_path, task_span};
use tracing::Instrument as _;

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

/// What to do about a failed task. Any task's SQL can run out of the run's
/// memory, whatever kind of task it is.
fn task_hint(error: &PipelineError, memory_limit_mb: u64) -> String {
    if error.engine_failure() == Some(EngineFailure::OutOfMemory) {
        format!(
            "the task's SQL needed more than the run's memory limit ([run] memory_limit_mb = {memory_limit_mb} \
             in darkroom.toml) even alone, with joins and sorts spilling to disk; raise it and run the same day again"
        )
    } else {
        error.hint().to_owned()
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
    let run = Arc::new(RunContext::new(project.clone(), warehouse, ctx, run_id, day, state)?);
    let mut day_run = DayRun {
        run: Arc::clone(&run),
        dag: &dag,
        day_name: day_name.clone(),
        status: BTreeMap::new(),
        reports: BTreeMap::new(),
    };
    if !options.force {
        day_run.skip_complete_tasks()?;
    }
    day_run.schedule().await?;
    let DayRun { mut reports, .. } = day_run;
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

/// The state of one day's DAG while its tasks run.
struct DayRun<'a> {
    run: Arc<RunContext>,
    dag: &'a Dag,
    day_name: String,
    status: BTreeMap<String, TaskState>,
    reports: BTreeMap<String, TaskReport>,
}

impl DayRun<'_> {
    /// Marks every task whose output exists as skipped; a skipped load still
    /// tells the models which days it touched.
    fn skip_complete_tasks(&mut self) -> Result<(), PipelineError> {
        for task in &self.dag.tasks {
            let Some(record) = self.run.state().completed(&self.day_name, &task.name)? else {
                continue;
            };
            if task.name == LOAD_LOGS {
                self.run.add_run_days(&parse_days_text(&record.touched_days))?;
            }
            let mut report = TaskReport::of(&task.name, TaskState::Skipped, &TaskRecord::default());
            report.note = Some("complete".into());
            self.finish(&task.name, TaskState::Skipped, &TaskRecord::default(), Some(report))?;
        }
        Ok(())
    }

    /// Runs ready tasks, up to `[run] max_concurrent_tasks` at once, until none is left.
    async fn schedule(&mut self) -> Result<(), PipelineError> {
        let limit = self.run.project.config.run.max_concurrent_tasks;
        let mut running: JoinSet<TaskResult> = JoinSet::new();
        let mut retry = RetryAlone::default();
        loop {
            if running.is_empty()
                && let Some((name, first_seconds, cause)) = retry.waiting.pop()
            {
                let Some(task) = self.dag.task(&name) else { continue };
                retry.running = Some(cause);
                spawn_task(&mut running, &self.run, name, task.kind.clone(), true, first_seconds);
                continue;
            }
            let starting = if retry.running.is_some() || !retry.waiting.is_empty() {
                0 // a retry runs alone: the pool is all its own
            } else {
                limit.saturating_sub(running.len())
            };
            for name in self.ready().into_iter().take(starting) {
                let Some(task) = self.dag.task(&name) else { continue };
                self.status.insert(name.clone(), TaskState::Running);
                self.run.state().start_task(self.run.run_id, &self.day_name, &name)?;
                spawn_task(&mut running, &self.run, name, task.kind.clone(), false, 0.0);
            }
            let Some(joined) = running.join_next().await else {
                return Ok(());
            };
            let (name, seconds, result) = joined.map_err(|e| task_failed("scheduler", e.to_string()))?;
            let retried = retry.running.take();
            match result {
                Err(error) if retried.is_none() && error.engine_failure().is_some() => {
                    tracing::warn!(
                        task = %name,
                        seconds,
                        memory_limit_mb = self.run.project.config.run.memory_limit_mb,
                        error = %error,
                        "task failed in a way that running alone can mend; it runs again alone, with joins that spill"
                    );
                    let cause = error.engine_failure().unwrap_or(EngineFailure::OutOfMemory);
                    retry.waiting.push((name, seconds, cause));
                }
                Ok(output) => self.succeeded(&name, seconds, output, retried)?,
                Err(error) => self.failed(&name, seconds, &error)?,
            }
        }
    }

    /// Tasks not yet started whose requirements all succeeded or were complete.
    /// The upkeep tasks also wait for every other task to end, however it
    /// ended: they rewrite and delete files, so nothing else may be writing.
    fn ready(&self) -> Vec<String> {
        let night_ended = self
            .dag
            .tasks
            .iter()
            .filter(|t| !matches!(t.kind, TaskKind::Upkeep(_)))
            .all(|t| self.status.get(&t.name).is_some_and(|s| *s != TaskState::Running));
        self.dag
            .tasks
            .iter()
            .filter(|t| !self.status.contains_key(&t.name))
            .filter(|t| night_ended || !matches!(t.kind, TaskKind::Upkeep(_)))
            .filter(|t| {
                t.requires
                    .iter()
                    .all(|r| matches!(self.status.get(r), Some(TaskState::Succeeded | TaskState::Skipped)))
            })
            .map(|t| t.name.clone())
            .collect()
    }

    fn succeeded(
        &mut self,
        name: &str,
        seconds: f64,
        mut output: TaskOutput,
        retried: Option<EngineFailure>,
    ) -> Result<(), PipelineError> {
        if let Some(cause) = retried {
            let retried = retry_note(cause, self.run.project.config.run.memory_limit_mb);
            output.note = Some(match output.note.take() {
                Some(note) => format!("{note}; {retried}"),
                None => retried,
            });
        }
        if name == LOAD_LOGS {
            self.run.add_run_days(&output.touched_days)?;
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
            log_tail: None, // read from the task's log file when it is recorded
        };
        self.finish(name, TaskState::Succeeded, &record, None)
    }

    /// Records the failure, and marks every task downstream of it as not run.
    fn failed(&mut self, name: &str, seconds: f64, error: &PipelineError) -> Result<(), PipelineError> {
        let record = TaskRecord {
            seconds,
            error: Some(format!(
                "{error} (hint: {})",
                task_hint(error, self.run.project.config.run.memory_limit_mb)
            )),
            ..TaskRecord::default()
        };
        for dependant in self.dag.downstream_of(name) {
            if dependant != name && !self.status.contains_key(&dependant) {
                let upstream = TaskRecord {
                    error: Some(format!("not run: {name} failed")),
                    ..TaskRecord::default()
                };
                self.finish(&dependant, TaskState::UpstreamFailed, &upstream, None)?;
            }
        }
        self.finish(name, TaskState::Failed, &record, None)
    }

    /// Records a task's end in the state database and in the day's report.
    fn finish(
        &mut self,
        name: &str,
        state: TaskState,
        record: &TaskRecord,
        report: Option<TaskReport>,
    ) -> Result<(), PipelineError> {
        self.status.insert(name.to_owned(), state);
        let record = TaskRecord {
            log_tail: read_tail(&task_log_path(&self.run.project.dir, self.run.run_id, name)),
            ..record.clone()
        };
        self.run
            .state()
            .finish_task(self.run.run_id, &self.day_name, name, state, &record)?;
        let report = report.unwrap_or_else(|| TaskReport::of(name, state, &record));
        self.reports.insert(name.to_owned(), report);
        Ok(())
    }
}

impl TaskReport {
    fn of(task: &str, state: TaskState, record: &TaskRecord) -> Self {
        Self {
            task: task.to_owned(),
            state,
            seconds: record.seconds,
            rows_written: record.rows_written,
            table_versions: record.table_versions.clone(),
            note: record.note.clone(),
            error: record.error.clone(),
        }
    }
}

/// A task that ran out of the run's memory, or met a DataFusion panic
/// ([`EngineFailure`], decided from the engine's own error type), gets one
/// more attempt, alone (no other task starts until it ends) and with
/// sort-merge joins, which spill.
#[derive(Debug, Default)]
struct RetryAlone {
    /// Tasks waiting for the others to finish, with the seconds of their first attempt.
    waiting: Vec<(String, f64, EngineFailure)>,
    /// Why the retry that is running (and so nothing else) runs again.
    running: Option<EngineFailure>,
}

/// The task's note after its retry succeeded.
fn retry_note(cause: EngineFailure, memory_limit_mb: u64) -> String {
    match cause {
        EngineFailure::OutOfMemory => format!(
            "ran out of [run] memory_limit_mb = {memory_limit_mb} beside other tasks or in a hash join; \
             ran again alone with sort-merge joins"
        ),
        EngineFailure::Panic => format!(
            "DataFusion panicked running its SQL beside other tasks (under [run] memory_limit_mb = \
             {memory_limit_mb}); ran again alone with sort-merge joins"
        ),
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
    let log_file = task_log_path(&run.project.dir, run.run_id, &name);
    let span = task_span(&name, run.run_id, &day_text(run.day), &log_file);
    running.spawn(
        async move {
            let clock = Instant::now();
            let sql = if spilling_joins {
                tracing::info!("started again alone, with joins that spill");
                with_spilling_joins(&run.ctx)
            } else {
                tracing::info!("started");
                run.ctx.clone()
            };
            let result = execute(run, &name, kind, &sql).await;
            let seconds = earlier_seconds + clock.elapsed().as_secs_f64();
            match &result {
                Ok(output) => tracing::info!(
                    seconds = format!("{seconds:.2}"),
                    rows_written = output.rows,
                    tables = output
                        .versions
                        .iter()
                        .map(|(t, v)| format!("{t}@{v}"))
                        .collect::<Vec<_>>()
                        .join(","),
                    "succeeded"
                ),
                Err(error) => tracing::error!(seconds = format!("{seconds:.2}"), error = %error, "failed"),
            }
            (name, seconds, result)
        }
        .instrument(span),
    );
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
        TaskKind::Model(model) => crate::build_model::build_model(&run, name, &model, sql).await,
        TaskKind::LoadExports => crate::exports::load_exports(run).await,
        TaskKind::Audits(catalog) => crate::audits::audits(run, catalog.as_deref()).await,
        TaskKind::Upkeep(step) => crate::upkeep::upkeep(run, step).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_task_says_why_it_ran_again() {
        assert!(retry_note(EngineFailure::Panic, 64).contains("ran again alone with sort-merge joins"));
        assert!(retry_note(EngineFailure::OutOfMemory, 64).contains("memory_limit_mb = 64"));
    }

    /// The retry is decided by the error's type: text that merely reads like
    /// an engine failure does not earn it.
    #[test]
    fn only_a_typed_engine_failure_earns_the_retry_alone() {
        let text_alike = task_failed("broken", "Resources exhausted: task 1 panicked with message".to_owned());
        assert_eq!(text_alike.engine_failure(), None);
        let typed = PipelineError::TaskSql {
            task: "funnel_steps".into(),
            message: "Resources exhausted".into(),
            failure: Some(EngineFailure::OutOfMemory),
        };
        assert_eq!(typed.engine_failure(), Some(EngineFailure::OutOfMemory));
        assert!(task_hint(&typed, 64).contains("[run] memory_limit_mb = 64"));
    }
}
