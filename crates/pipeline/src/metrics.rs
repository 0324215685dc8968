//! The `daily_metrics` task: every metric of the catalog for the days the run
//! touched, plus the day before each when it was already published (an upload
//! session that crosses midnight, or late lines, change it), with every changed
//! published value recorded in `metric_restatements`, before the new values are
//! published, and once.

use std::collections::BTreeSet;
use std::sync::Arc;

use darkroom_metrics::{
    Catalog, DAILY_METRICS, DAILY_METRICS_BY_CLIENT, DayValues, METRIC_RESTATEMENTS, RestatedValues, compute,
    not_yet_recorded, restated_values_of, restatements, restatements_batch, values_of,
};
use darkroom_warehouse::WriteMode;
use datafusion::prelude::SessionContext;

use crate::context::{RunContext, TaskOutput};
use crate::days::day_text;
use crate::error::PipelineError;

/// `sql` plans the metrics' SQL: the run's session, or one with spilling joins on a retry.
pub async fn daily_metrics(
    run: Arc<RunContext>,
    catalog: &Catalog,
    sql: &SessionContext,
) -> Result<TaskOutput, PipelineError> {
    let run_days: BTreeSet<i32> = run.run_days().into_iter().collect();
    let candidates: BTreeSet<i32> = run_days.iter().flat_map(|d| [*d - 1, *d]).collect();
    let published = published_values(&run, &candidates).await?;
    let published_days: BTreeSet<i32> = published.keys().map(|(d, _)| *d).collect();
    let days: Vec<i32> = candidates
        .into_iter()
        .filter(|d| run_days.contains(d) || published_days.contains(d))
        .collect();

    let computed = compute(sql, catalog, &days).await?;
    let restated = restatements(&published, &computed.totals);
    // A run that died after recording these and before publishing the new
    // values finds the old values still published: it must not record them twice.
    let restated = not_yet_recorded(restated, &latest_restatements(&run, &published_days).await?);
    if !restated.is_empty() {
        tracing::info!(restated = restated.len(), "published metric values changed");
    }
    let mut output = TaskOutput::default();
    // Restatements first: once the new values are published, the old ones are
    // gone, so a run that died between the commits must not leave them unrecorded.
    if !restated.is_empty() || !run.warehouse.exists(METRIC_RESTATEMENTS) {
        let now = chrono::Utc::now().timestamp_micros();
        let batch = restatements_batch(&restated, run.run_id, now)?;
        let written = run
            .write_batches(METRIC_RESTATEMENTS, None, batch, WriteMode::Append)
            .await?;
        output.record(METRIC_RESTATEMENTS, written);
    }
    fail::fail_point!("daily_metrics::after_restatements", |_| Err(stopped_by_test()));
    let replace = WriteMode::ReplaceDays {
        column: "date",
        days: &days,
    };
    let written = run
        .write_batches(DAILY_METRICS, Some("date"), computed.totals_batch()?, replace)
        .await?;
    output.record(DAILY_METRICS, written);
    fail::fail_point!("daily_metrics::after_totals", |_| Err(stopped_by_test()));
    let written = run
        .write_batches(
            DAILY_METRICS_BY_CLIENT,
            Some("date"),
            computed.by_client_batch()?,
            replace,
        )
        .await?;
    output.record(DAILY_METRICS_BY_CLIENT, written);
    output.touched_days.extend(days);
    if !restated.is_empty() {
        output.note = Some(format!(
            "{} published value(s) changed: see metric_restatements",
            restated.len()
        ));
    }
    Ok(output)
}

/// What a fail point that stops the task between two commits returns.
// Unused where the fail points compile to nothing (every build but the tests').
#[allow(dead_code)]
fn stopped_by_test() -> PipelineError {
    PipelineError::Task {
        task: DAILY_METRICS.into(),
        message: "stopped between two commits by a test's fail point".into(),
    }
}

/// The last restatement recorded for each (day, metric) of `days`.
async fn latest_restatements(run: &RunContext, days: &BTreeSet<i32>) -> Result<RestatedValues, PipelineError> {
    if !run.warehouse.exists(METRIC_RESTATEMENTS) || days.is_empty() {
        return Ok(RestatedValues::new());
    }
    let list: Vec<String> = days.iter().map(|d| format!("DATE '{}'", day_text(*d))).collect();
    let sql = format!(
        "SELECT date, metric, old_value, new_value FROM (
           SELECT *, row_number() OVER (PARTITION BY date, metric ORDER BY run_id DESC, restated_time DESC) AS newest
           FROM {METRIC_RESTATEMENTS} WHERE date IN ({}))
         WHERE newest = 1",
        list.join(", ")
    );
    let batches = collect(run, &sql, "reading the recorded restatements").await?;
    Ok(restated_values_of(&batches)?)
}

async fn collect(run: &RunContext, sql: &str, doing: &str) -> Result<Vec<arrow::array::RecordBatch>, PipelineError> {
    let failed = |e: datafusion::error::DataFusionError| PipelineError::Task {
        task: DAILY_METRICS.into(),
        message: format!("{doing}: {e}"),
    };
    run.ctx.sql(sql).await.map_err(failed)?.collect().await.map_err(failed)
}

/// What `daily_metrics` holds now for `days`.
async fn published_values(run: &RunContext, days: &BTreeSet<i32>) -> Result<DayValues, PipelineError> {
    if !run.warehouse.exists(DAILY_METRICS) || days.is_empty() {
        return Ok(DayValues::new());
    }
    let list: Vec<String> = days.iter().map(|d| format!("DATE '{}'", day_text(*d))).collect();
    let sql = format!(
        "SELECT date, metric, value FROM {DAILY_METRICS} WHERE date IN ({})",
        list.join(", ")
    );
    let batches = collect(run, &sql, "reading the published values").await?;
    Ok(values_of(&batches)?)
}
