//! The audits of metrics.md: the logs against Google Analytics, payments
//! against the providers' exports, logs against production, the logs'
//! completeness and parse errors, freshness, anomalies, snapshot gaps and
//! unknown actions. Each check judges one day and says so for every subject,
//! pass rows included, as rows of `audit_results`.
//!
//! Nothing here opens a table: callers hand in a DataFusion session on which
//! the warehouse is registered.

mod checks;
mod error;
mod finding;
mod query;
mod settings;

use std::collections::HashMap;

use datafusion::prelude::SessionContext;

pub use checks::anomaly::MetricScale;
pub use error::AuditError;
pub use finding::{AUDIT_RESULTS, Finding, Status, audit_results_batch, audit_results_schema, worst_first};
pub use settings::{AUDITS_FILE, AuditSettings};

use checks::cross_reference::{SIGNUPS, UPLOADS};
use checks::{
    anomaly, cross_reference, freshness, ga_visitors, log_completeness, parse_errors, payments_reconcile, snapshot_gap,
    unknown_actions,
};

/// Every check's name, in the order they run.
pub const CHECKS: [&str; 10] = [
    ga_visitors::CHECK,
    payments_reconcile::CHECK,
    SIGNUPS.check,
    UPLOADS.check,
    log_completeness::CHECK,
    parse_errors::CHECK,
    freshness::CHECK,
    anomaly::CHECK,
    snapshot_gap::CHECK,
    unknown_actions::CHECK,
];

/// Runs every enabled check for each of `days` (days since 1970-01-01). A
/// check that cannot run (a table missing, its SQL failing) is a `fail` row
/// saying so, and the other checks still run: never a silent pass.
pub async fn run_checks(
    ctx: &SessionContext,
    days: &[i32],
    settings: &AuditSettings,
    scales: &HashMap<String, MetricScale>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for &day in days {
        for check in CHECKS {
            let result = match check {
                c if c == ga_visitors::CHECK && settings.ga_visitors.enabled => {
                    ga_visitors::run(ctx, day, &settings.ga_visitors).await
                }
                c if c == payments_reconcile::CHECK && settings.payments_reconcile.enabled => {
                    payments_reconcile::run(ctx, day, &settings.payments_reconcile).await
                }
                c if c == SIGNUPS.check && settings.signups_xref.enabled => {
                    cross_reference::run(ctx, day, SIGNUPS, &settings.signups_xref).await
                }
                c if c == UPLOADS.check && settings.uploads_xref.enabled => {
                    cross_reference::run(ctx, day, UPLOADS, &settings.uploads_xref).await
                }
                c if c == log_completeness::CHECK && settings.log_completeness.enabled => {
                    log_completeness::run(ctx, day, &settings.log_completeness).await
                }
                c if c == parse_errors::CHECK && settings.parse_errors.enabled => {
                    parse_errors::run(ctx, day, &settings.parse_errors).await
                }
                c if c == freshness::CHECK && settings.freshness.enabled => {
                    freshness::run(ctx, day, &settings.freshness).await
                }
                c if c == anomaly::CHECK && settings.anomaly.enabled => {
                    anomaly::run(ctx, day, &settings.anomaly, scales).await
                }
                c if c == snapshot_gap::CHECK && settings.snapshot_gap.enabled => snapshot_gap::run(ctx, day).await,
                c if c == unknown_actions::CHECK && settings.unknown_actions.enabled => {
                    unknown_actions::run(ctx, day).await
                }
                _ => continue,
            };
            match result {
                Ok(found) => findings.extend(found),
                Err(error) => {
                    tracing::warn!(check, day, error = %error, "an audit check could not run");
                    findings.push(
                        Finding::new(day, check, "the check itself", Status::Fail)
                            .observed("could not run")
                            .expected("a verdict")
                            .detail(format!("{error} (hint: {})", error.hint())),
                    );
                }
            }
        }
    }
    findings
}
