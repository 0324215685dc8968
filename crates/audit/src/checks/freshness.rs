//! `freshness`: tables that must have rows for every finished day, judged by
//! their newest date.

use datafusion::prelude::SessionContext;

use crate::error::AuditError;
use crate::finding::{Finding, Status};
use crate::query::{day_date, rows, table_exists};
use crate::settings::Freshness;

pub const CHECK: &str = "freshness";

pub async fn run(ctx: &SessionContext, day: i32, settings: &Freshness) -> Result<Vec<Finding>, AuditError> {
    let mut findings = Vec::new();
    for entry in &settings.tables {
        let Some((table, column)) = entry.split_once('.') else {
            findings.push(
                Finding::new(day, CHECK, entry.as_str(), Status::Fail)
                    .observed("not table.date_column")
                    .expected("table.date_column")
                    .detail("fix [freshness] tables in audits.toml: each entry is table.date_column"),
            );
            continue;
        };
        let finding = Finding::new(day, CHECK, table, Status::Pass).expected(format!("rows of {}", day_date(day)));
        if !table_exists(ctx, table) {
            findings.push(finding.status(Status::Fail).observed("no such table").detail(format!(
                "{table} does not exist: its task never succeeded (see etl_task_runs)"
            )));
            continue;
        }
        let newest = rows(
            ctx,
            &format!("reading the newest {column} of {table}"),
            &format!("SELECT CAST(max({column}) AS DATE) FROM {table}"),
        )
        .await?;
        let newest = newest.first().and_then(|r| r[0].clone());
        let fresh = newest
            .as_deref()
            .is_some_and(|n| n >= day_date(day).to_string().as_str());
        findings.push(if fresh {
            finding
                .observed(format!("newest {column} {}", newest.unwrap_or_default()))
                .detail("up to date")
        } else {
            finding
                .status(Status::Fail)
                .observed(format!("newest {column} {}", newest.unwrap_or_else(|| "none".into())))
                .detail(format!(
                    "{table} has no rows of the last finished day: its task was skipped or failed, or its \
                     source had nothing (see etl_task_runs)"
                ))
        });
    }
    Ok(findings)
}
