//! The task of a SQL model: its SELECT streamed into the table of its name.

use darkroom_warehouse::{EngineFailure, WriteMode};
use datafusion::prelude::SessionContext;

use crate::context::{RunContext, TaskOutput};
use crate::error::PipelineError;
use crate::model::{Model, sql_error};

/// A model with `-- partition_by:` that reads `run_days` replaces only those
/// days' partitions; any other model replaces its whole table.
pub(crate) async fn build_model(
    run: &RunContext,
    name: &str,
    model: &Model,
    sql: &SessionContext,
) -> Result<TaskOutput, PipelineError> {
    let mut output = TaskOutput::default();
    let days = run.run_days();
    let mode = match &model.partition_by {
        Some(column) if model.reads_run_days => WriteMode::ReplaceDays { column, days: &days },
        _ => WriteMode::Overwrite,
    };
    let frame = sql.sql(&model.sql).await.map_err(|e| sql_error(&model.path, e))?;
    let stream = frame.execute_stream().await.map_err(|e| PipelineError::TaskSql {
        task: name.to_owned(),
        message: e.to_string(),
        failure: EngineFailure::find(&e),
    })?;
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
