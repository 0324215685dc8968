//! The session users query: every warehouse table at its latest version, the
//! raw archives as `logs`, and the run history as `etl_runs` / `etl_task_runs`.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use darkroom_warehouse::{QueryLimits, QuerySession, Warehouse};
use datafusion::datasource::MemTable;

use crate::error::PipelineError;
use crate::project::Project;
use crate::state::{STATE_FILE, StateDb};

pub async fn open_query_session(project: &Project) -> Result<QuerySession, PipelineError> {
    let limits = QueryLimits {
        memory_limit_mb: project.config.query.memory_limit_mb,
        timeout: Duration::from_secs(project.config.query.timeout_seconds),
    };
    let session = QuerySession::new(limits)?;
    if let Some(root) = project.logs_root() {
        session.register_log_archives("logs", &root)?;
    }
    let warehouse_dir = project.resolve(&project.config.warehouse.path);
    if warehouse_dir.is_dir() {
        Warehouse::open(&warehouse_dir)?.register_all(session.context()).await?;
    }
    if project.dir.join(STATE_FILE).is_file() {
        register_history(project, &session)?;
    }
    Ok(session)
}

/// Registers (again) the run history of `project`'s state database as `etl_runs`,
/// `etl_task_runs` and `etl_subscriber_snapshots`: a snapshot, so it is taken again when the history changes.
pub fn register_history(project: &Project, session: &QuerySession) -> Result<(), PipelineError> {
    let state = StateDb::open(&project.dir)?;
    let runs = state.runs()?;
    let text = |values: Vec<Option<String>>| -> ArrayRef { Arc::new(StringArray::from(values)) };
    let runs_batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("run_id", DataType::Int64, false),
            Field::new("day", DataType::Utf8, false),
            Field::new("state", DataType::Utf8, false),
            Field::new("forced", DataType::Boolean, false),
            Field::new("started", DataType::Utf8, false),
            Field::new("finished", DataType::Utf8, true),
            Field::new("error", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from_iter_values(runs.iter().map(|r| r.run_id))),
            text(runs.iter().map(|r| Some(r.day.clone())).collect()),
            text(runs.iter().map(|r| Some(r.state.clone())).collect()),
            Arc::new(BooleanArray::from(runs.iter().map(|r| r.forced).collect::<Vec<_>>())),
            text(runs.iter().map(|r| Some(r.started.clone())).collect()),
            text(runs.iter().map(|r| r.finished.clone()).collect()),
            text(runs.iter().map(|r| r.error.clone()).collect()),
        ],
    )
    .map_err(|e| history_error(&e))?;
    let tasks = state.task_runs()?;
    let tasks_batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("run_id", DataType::Int64, false),
            Field::new("day", DataType::Utf8, false),
            Field::new("task", DataType::Utf8, false),
            Field::new("state", DataType::Utf8, false),
            Field::new("started", DataType::Utf8, true),
            Field::new("finished", DataType::Utf8, true),
            Field::new("seconds", DataType::Float64, true),
            Field::new("rows_written", DataType::Int64, true),
            Field::new("table_versions", DataType::Utf8, true),
            Field::new("touched_days", DataType::Utf8, true),
            Field::new("error", DataType::Utf8, true),
            Field::new("note", DataType::Utf8, true),
            Field::new("log_tail", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from_iter_values(tasks.iter().map(|t| t.run_id))),
            text(tasks.iter().map(|t| Some(t.day.clone())).collect()),
            text(tasks.iter().map(|t| Some(t.task.clone())).collect()),
            text(tasks.iter().map(|t| Some(t.state.clone())).collect()),
            text(tasks.iter().map(|t| t.started.clone()).collect()),
            text(tasks.iter().map(|t| t.finished.clone()).collect()),
            Arc::new(Float64Array::from(tasks.iter().map(|t| t.seconds).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(
                tasks.iter().map(|t| t.rows_written).collect::<Vec<_>>(),
            )),
            text(tasks.iter().map(|t| t.table_versions.clone()).collect()),
            text(tasks.iter().map(|t| t.touched_days.clone()).collect()),
            text(tasks.iter().map(|t| t.error.clone()).collect()),
            text(tasks.iter().map(|t| t.note.clone()).collect()),
            text(tasks.iter().map(|t| t.log_tail.clone()).collect()),
        ],
    )
    .map_err(|e| history_error(&e))?;
    let snapshots = subscriber_snapshots_batch(&state)?;
    let mut tables = vec![
        ("etl_runs", runs_batch),
        ("etl_task_runs", tasks_batch),
        (SUBSCRIBER_SNAPSHOTS_TAKEN, snapshots),
        (SCHEDULES, schedules_batch(&state)?),
    ];
    // The graph is the project's as it is now; a project whose graph does not
    // build (a bad model) still answers queries, without this table.
    match crate::runner::project_dag(project) {
        Ok(dag) => tables.push((TASK_GRAPH, task_graph_batch(&dag)?)),
        Err(error) => tracing::warn!(%error, "no etl_task_graph: the task graph does not build"),
    }
    for (name, batch) in tables {
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(|e| history_error(&e))?;
        let _ = session.context().deregister_table(name);
        session
            .context()
            .register_table(name, Arc::new(table))
            .map_err(|e| history_error(&e))?;
    }
    Ok(())
}

/// The project's task graph as a table: each task in run order, what it
/// requires and what it writes (`darkroom dag` as rows).
pub const TASK_GRAPH: &str = "etl_task_graph";

fn task_graph_batch(dag: &crate::dag::Dag) -> Result<RecordBatch, PipelineError> {
    let position = Int64Array::from_iter_values((0..dag.tasks.len()).map(|i| i as i64 + 1));
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("position", DataType::Int64, false),
            Field::new("task", DataType::Utf8, false),
            Field::new("requires", DataType::Utf8, false),
            Field::new("writes", DataType::Utf8, false),
        ])),
        vec![
            Arc::new(position),
            Arc::new(StringArray::from_iter_values(dag.tasks.iter().map(|t| t.name.as_str()))),
            Arc::new(StringArray::from_iter_values(
                dag.tasks.iter().map(|t| t.requires.join(", ")),
            )),
            Arc::new(StringArray::from_iter_values(
                dag.tasks.iter().map(|t| t.outputs.join(", ")),
            )),
        ],
    )
    .map_err(|e| history_error(&e))
}

/// The schedules of `darkroom serve` (nightly run, refresh, subscriptions):
/// each one's cron, when it was last due and how that went, when it is next due.
pub const SCHEDULES: &str = "etl_schedules";

fn schedules_batch(state: &StateDb) -> Result<RecordBatch, PipelineError> {
    let rows = state.schedules()?;
    let names = [
        "schedule",
        "cron",
        "last_due",
        "last_finished",
        "last_outcome",
        "last_error",
        "next_due",
    ];
    let fields: Vec<Field> = names
        .iter()
        .enumerate()
        .map(|(i, name)| Field::new(*name, DataType::Utf8, i > 1))
        .collect();
    let columns: Vec<ArrayRef> = (0..names.len())
        .map(|i| Arc::new(StringArray::from(rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>())) as ArrayRef)
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| history_error(&e))
}

/// The state database's record of subscriber snapshots taken, as a table: a
/// snapshot of zero subscribers is taken all the same, which its rows cannot show.
pub const SUBSCRIBER_SNAPSHOTS_TAKEN: &str = "etl_subscriber_snapshots";

pub(crate) fn subscriber_snapshots_batch(state: &StateDb) -> Result<RecordBatch, PipelineError> {
    let taken = state.subscriber_snapshots()?;
    RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("day", DataType::Utf8, false),
            Field::new("subscribers", DataType::Int64, false),
        ])),
        vec![
            Arc::new(StringArray::from_iter_values(taken.iter().map(|(day, _)| day.as_str()))),
            Arc::new(Int64Array::from_iter_values(taken.iter().map(|(_, rows)| *rows))),
        ],
    )
    .map_err(|e| history_error(&e))
}

/// Registers (or replaces) `name` as an in-memory table of `batch`.
pub(crate) fn register_batch(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    batch: RecordBatch,
) -> Result<(), PipelineError> {
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(|e| history_error(&e))?;
    let _ = ctx.deregister_table(name);
    ctx.register_table(name, Arc::new(table))
        .map_err(|e| history_error(&e))?;
    Ok(())
}

fn history_error(error: &dyn std::fmt::Display) -> PipelineError {
    PipelineError::State {
        path: STATE_FILE.into(),
        message: error.to_string(),
    }
}
