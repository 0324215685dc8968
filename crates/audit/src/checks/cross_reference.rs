//! `signups_xref` and `uploads_xref`: one thing counted by two sources, the
//! logs (events) and production (rows). They agree on a whole day; a gap means
//! log lines were lost or not parsed.

use datafusion::prelude::SessionContext;

use crate::error::AuditError;
use crate::finding::{Finding, Status};
use crate::query::{date_literal, number, rows, shown};
use crate::settings::CrossReference;

/// What a cross-reference compares.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub check: &'static str,
    /// The metric counted from the logs.
    pub from_logs: &'static str,
    /// The metric counted from production.
    pub from_production: &'static str,
}

pub const SIGNUPS: Pair = Pair {
    check: "signups_xref",
    from_logs: "signup_events",
    from_production: "signups",
};

pub const UPLOADS: Pair = Pair {
    check: "uploads_xref",
    from_logs: "uploads",
    from_production: "photos_created",
};

pub async fn run(
    ctx: &SessionContext,
    day: i32,
    pair: Pair,
    settings: &CrossReference,
) -> Result<Vec<Finding>, AuditError> {
    let sql = format!(
        "SELECT metric, value FROM daily_metrics WHERE date = {} AND metric IN ('{}', '{}')",
        date_literal(day),
        pair.from_logs,
        pair.from_production
    );
    let found = rows(ctx, "reading daily_metrics", &sql).await?;
    let value = |metric: &str| {
        found
            .iter()
            .find(|row| row[0].as_deref() == Some(metric))
            .and_then(|row| number(&row[1]))
    };
    let subject = format!("{} vs {}", pair.from_logs, pair.from_production);
    let finding = Finding::new(day, pair.check, subject, Status::Pass)
        .expected(format!("within {}% of each other", settings.max_difference_percent));
    let (Some(logs), Some(production)) = (value(pair.from_logs), value(pair.from_production)) else {
        return Ok(vec![
            finding
                .status(Status::Fail)
                .observed("a metric is missing")
                .detail(format!(
                    "daily_metrics has no {} or no {} for this day: did the night's daily_metrics task fail?",
                    pair.from_logs, pair.from_production
                )),
        ]);
    };
    let difference = (logs - production).abs() / production.max(1.0) * 100.0;
    let status = if difference > settings.max_difference_percent {
        Status::Fail
    } else {
        Status::Pass
    };
    let detail = if status == Status::Pass {
        format!("{difference:.2}% apart")
    } else if logs < production {
        format!(
            "the logs show {} fewer than production ({difference:.1}% apart): log lines were lost or not \
             parsed this day; see log_completeness and parse_errors, and etl_log_files for the day's files",
            shown(production - logs, 0)
        )
    } else {
        format!(
            "the logs show {} more than production ({difference:.1}% apart): events logged twice, or \
             production rows lost or deleted",
            shown(logs - production, 0)
        )
    };
    Ok(vec![
        finding
            .status(status)
            .observed(format!(
                "{} {}, {} {}",
                pair.from_logs,
                shown(logs, 0),
                pair.from_production,
                shown(production, 0)
            ))
            .detail(detail),
    ])
}
