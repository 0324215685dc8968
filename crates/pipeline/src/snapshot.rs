//! The production tasks: `snapshot_<table>` copies one production table as it
//! is now; `subscriber_snapshot` records the day's active subscribers once.

use std::sync::Arc;

use darkroom_sources::{ExpectedTable, PRODUCTION_TABLES, SourcesError};
use darkroom_warehouse::WriteMode;
use datafusion::error::DataFusionError;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::TryStreamExt;

use crate::context::{RunContext, TaskOutput};
use crate::dag::{SUBSCRIBER_SNAPSHOT, SUBSCRIBER_SNAPSHOTS, snapshot_table};
use crate::days::day_text;
use crate::error::PipelineError;

const BATCH_ROWS: usize = 8192;

/// Checks the table's schema first, so a changed production fails here and the
/// warehouse keeps its last good snapshot; then streams the rows into one overwrite.
pub(crate) async fn snapshot_production(
    run: Arc<RunContext>,
    table: &'static ExpectedTable,
) -> Result<TaskOutput, PipelineError> {
    let production = run.production().await?;
    production.check_schema(table).await?;
    let schema = table.schema();
    let rows = production
        .snapshot(table, BATCH_ROWS)
        .map_err(|e: SourcesError| DataFusionError::External(Box::new(e)));
    let input = Box::pin(RecordBatchStreamAdapter::new(schema, rows));
    let name = snapshot_table(table.name);
    let written = run
        .warehouse
        .write(&run.ctx, &name, None, input, WriteMode::Overwrite)
        .await?;
    run.refresh(&name).await?;
    let mut output = TaskOutput::default();
    output.record(&name, written);
    Ok(output)
}

/// The day's active subscriptions. Taken once per day and never rewritten
/// (production keeps no history to rebuild it from), and only while production
/// still shows the end of that day: a backfill long after the day records no
/// snapshot and leaves the gap for the audit to report.
pub(crate) async fn subscriber_snapshot(run: Arc<RunContext>) -> Result<TaskOutput, PipelineError> {
    let day = day_text(run.day);
    let mut output = TaskOutput::default();
    if run.state().has_subscriber_snapshot(&day)? {
        output.note = Some(format!("the snapshot of {day} exists and is never rewritten"));
        return Ok(output);
    }
    // The newest change production shows, in any table: a quiet day for
    // subscriptions says nothing, a new user or photo says production moved on.
    let newest: Vec<String> = [
        ("users", "created_at"),
        ("photos", "created_at"),
        ("subscriptions", "updated_at"),
        ("subscription_payments", "paid_at"),
        ("stock_purchases", "purchased_at"),
    ]
    .iter()
    .map(|(table, column)| format!("SELECT max({column}) AS t FROM {}", snapshot_table(table)))
    .collect();
    let latest = run
        .query_scalar_text(
            SUBSCRIBER_SNAPSHOT,
            &format!(
                "SELECT CAST(CAST(max(t) AS DATE) AS VARCHAR) FROM ({})",
                newest.join(" UNION ALL ")
            ),
        )
        .await?;
    let subscriptions = snapshot_table(PRODUCTION_TABLES[2].name);
    let sql = format!(
        "SELECT CAST('{day}' AS DATE) AS snapshot_date, user_id, plan, comped = 1 AS is_comped \
         FROM {subscriptions} WHERE is_active = 1"
    );
    let newest_allowed = day_text(run.day + 1);
    if let Some(latest) = latest.filter(|latest| *latest > newest_allowed) {
        output.note = Some(format!(
            "no subscriber snapshot for {day}: production already holds changes of {latest}, so it no longer \
             shows the end of {day} (a snapshot_gap for the audit)"
        ));
        tracing::warn!(day = %day, latest = %latest, "subscriber snapshot skipped: production is past the day");
        if !run.warehouse.exists(SUBSCRIBER_SNAPSHOTS) {
            // The models read the table: a gap leaves it empty, never missing,
            // so a first backfill of old days still builds every fact.
            let written = run
                .write_sql(
                    SUBSCRIBER_SNAPSHOT,
                    SUBSCRIBER_SNAPSHOTS,
                    Some("snapshot_date"),
                    &format!("{sql} AND false"),
                    WriteMode::Append,
                )
                .await?;
            output.record(SUBSCRIBER_SNAPSHOTS, written);
        }
        return Ok(output);
    }
    let written = run
        .write_sql(
            SUBSCRIBER_SNAPSHOT,
            SUBSCRIBER_SNAPSHOTS,
            Some("snapshot_date"),
            &sql,
            WriteMode::ReplaceDays {
                column: "snapshot_date",
                days: &[run.day],
            },
        )
        .await?;
    run.state().record_subscriber_snapshot(&day, run.run_id, written.rows)?;
    output.record(SUBSCRIBER_SNAPSHOTS, written);
    output.touched_days.insert(run.day);
    Ok(output)
}
