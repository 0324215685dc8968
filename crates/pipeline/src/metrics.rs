//! The `daily_metrics` task: every metric of the catalog for the days the run
//! touched, plus the day before each when it was already published (an upload
//! session that crosses midnight, or late lines, change it), with every changed
//! published value recorded in `metric_restatements`.

use std::collections::BTreeSet;
use std::sync::Arc;

use darkroom_metrics::{
    Catalog, DAILY_METRICS, DAILY_METRICS_BY_CLIENT, DayValues, METRIC_RESTATEMENTS, compute, restatements,
    restatements_batch, values_of,
};
use darkroom_warehouse::WriteMode;
use datafusion::prelude::SessionContext;

use crate::error::PipelineError;
use crate::runner::{RunContext, TaskOutput, day_text};

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
    if !restated.is_empty() {
        tracing::info!(restated = restated.len(), "published metric values changed");
    }
    let mut output = TaskOutput::default();
    let replace = WriteMode::ReplaceDays {
        column: "date",
        days: &days,
    };
    let written = run
        .write_batches(DAILY_METRICS, Some("date"), computed.totals_batch()?, replace)
        .await?;
    output.record(DAILY_METRICS, written);
    let written = run
        .write_batches(
            DAILY_METRICS_BY_CLIENT,
            Some("date"),
            computed.by_client_batch()?,
            replace,
        )
        .await?;
    output.record(DAILY_METRICS_BY_CLIENT, written);
    if !restated.is_empty() || !run.warehouse.exists(METRIC_RESTATEMENTS) {
        let now = chrono::Utc::now().timestamp_micros();
        let batch = restatements_batch(&restated, run.run_id, now)?;
        let written = run
            .write_batches(METRIC_RESTATEMENTS, None, batch, WriteMode::Append)
            .await?;
        output.record(METRIC_RESTATEMENTS, written);
    }
    output.touched_days.extend(days);
    if !restated.is_empty() {
        output.note = Some(format!(
            "{} published value(s) changed: see metric_restatements",
            restated.len()
        ));
    }
    Ok(output)
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
    let failed = |e: datafusion::error::DataFusionError| PipelineError::Task {
        task: DAILY_METRICS.into(),
        message: format!("reading the published values: {e}"),
    };
    let batches = run
        .ctx
        .sql(&sql)
        .await
        .map_err(failed)?
        .collect()
        .await
        .map_err(failed)?;
    Ok(values_of(&batches)?)
}
