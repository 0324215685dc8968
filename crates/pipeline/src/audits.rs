//! The built-in `audits` task: every check of `audits.toml` for each day the
//! run's metrics touched (the run's days, and a day before each that was
//! restated), replacing those days' rows of `audit_results`. It runs last;
//! a check that cannot run is a `fail` row, so the task itself fails only
//! when it cannot write.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use darkroom_audit::{
    AUDIT_RESULTS, AUDITS_FILE, AuditSettings, Finding, MetricScale, audit_results_batch, run_checks, worst_first,
};
use darkroom_metrics::{CATALOG_FILE, Catalog, DAILY_METRICS, Unit};
use darkroom_warehouse::WriteMode;

use crate::context::{RunContext, TaskOutput};
use crate::dag::AUDITS;
use crate::days::day_text;
use crate::error::PipelineError;
use crate::project::Project;
use crate::session::{SUBSCRIBER_SNAPSHOTS_TAKEN, open_query_session, register_batch, subscriber_snapshots_batch};

pub(crate) async fn audits(run: Arc<RunContext>, catalog: Option<&Catalog>) -> Result<TaskOutput, PipelineError> {
    let settings = AuditSettings::load(&run.project.dir.join(AUDITS_FILE))?;
    let days = audited_days(&run).await?;
    let taken = subscriber_snapshots_batch(&run.state())?;
    register_batch(&run.ctx, SUBSCRIBER_SNAPSHOTS_TAKEN, taken)?;
    let findings = run_checks(&run.ctx, &days, &settings, &metric_scales(catalog)).await;
    let batch = audit_results_batch(&findings)?;
    let written = run
        .write_batches(
            AUDIT_RESULTS,
            Some("audit_date"),
            batch,
            WriteMode::ReplaceDays {
                column: "audit_date",
                days: &days,
            },
        )
        .await?;
    let mut output = TaskOutput::default();
    output.record(AUDIT_RESULTS, written);
    output.touched_days.extend(days.iter().copied());
    let failed = findings
        .iter()
        .filter(|f| f.status == darkroom_audit::Status::Fail)
        .count();
    let warned = findings
        .iter()
        .filter(|f| f.status == darkroom_audit::Status::Warn)
        .count();
    if failed + warned > 0 {
        output.note = Some(format!(
            "{failed} fail and {warned} warn finding(s): `darkroom audit --date {}` lists them",
            day_text(run.day)
        ));
    }
    Ok(output)
}

/// Counts are judged by their square root's noise, money and ratios by a share.
fn metric_scales(catalog: Option<&Catalog>) -> HashMap<String, MetricScale> {
    catalog
        .map(|c| {
            c.metrics
                .iter()
                .map(|m| {
                    let scale = match m.unit {
                        Unit::Count | Unit::Users => MetricScale::Count,
                        Unit::Cents | Unit::Ratio => MetricScale::Continuous,
                    };
                    (m.name.clone(), scale)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The findings of every check for `days`, over the warehouse as it is now,
/// read-only (`darkroom audit`); the nightly run writes them to `audit_results`.
pub async fn audit_days(project: &Project, days: &[i32]) -> Result<Vec<Finding>, PipelineError> {
    let settings = AuditSettings::load(&project.dir.join(AUDITS_FILE))?;
    let session = open_query_session(project).await?;
    let catalog_path = project.dir.join(CATALOG_FILE);
    let catalog = if catalog_path.exists() {
        Some(Catalog::load(&catalog_path, &session.context().state())?)
    } else {
        None
    };
    let mut findings = run_checks(session.context(), days, &settings, &metric_scales(catalog.as_ref())).await;
    worst_first(&mut findings);
    Ok(findings)
}

/// The run's days, and the day before each when `daily_metrics` has it (a
/// day the metrics task may have restated).
async fn audited_days(run: &RunContext) -> Result<Vec<i32>, PipelineError> {
    let run_days: BTreeSet<i32> = run.run_days().into_iter().collect();
    let mut days = run_days.clone();
    if run.warehouse.exists(DAILY_METRICS) {
        for day in &run_days {
            let sql = format!(
                "SELECT count(*) FROM {DAILY_METRICS} WHERE date = DATE '{}'",
                day_text(day - 1)
            );
            if run.query_scalar_text(AUDITS, &sql).await?.is_some_and(|n| n != "0") {
                days.insert(day - 1);
            }
        }
    }
    Ok(days.into_iter().collect())
}
