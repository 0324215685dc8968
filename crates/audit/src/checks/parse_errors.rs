//! `parse_errors`: the share of a day's log lines the reader quarantined, and
//! any archive that could not be read to its end.

use datafusion::prelude::SessionContext;

use crate::error::AuditError;
use crate::finding::{Finding, Status};
use crate::query::{date_literal, day_date, number, rows, shown, table_exists};
use crate::settings::ParseErrors;

pub const CHECK: &str = "parse_errors";

pub async fn run(ctx: &SessionContext, day: i32, settings: &ParseErrors) -> Result<Vec<Finding>, AuditError> {
    let d = date_literal(day);
    let files = rows(
        ctx,
        "reading etl_log_files",
        &format!(
            "SELECT source_file, lines, rejected_lines, corrupt FROM etl_log_files
             WHERE duplicate_of IS NULL AND CAST(file_hour AS DATE) = {d} ORDER BY source_file"
        ),
    )
    .await?;
    let mut findings = Vec::new();
    let lines: f64 = files.iter().filter_map(|f| number(&f[1])).sum();
    let rejected: f64 = files.iter().filter_map(|f| number(&f[2])).sum();
    let percent = if lines > 0.0 { rejected / lines * 100.0 } else { 0.0 };
    // A warehouse that never met a bad line has no quarantine table yet.
    let reasons = if table_exists(ctx, "etl_quarantine") {
        rows(
            ctx,
            "reading etl_quarantine",
            &format!(
                "SELECT q.reason, count(*) FROM etl_quarantine q JOIN etl_log_files f ON f.source_file = q.source_file
                 WHERE f.duplicate_of IS NULL AND CAST(f.file_hour AS DATE) = {d}
                 GROUP BY q.reason ORDER BY 2 DESC, 1 LIMIT 5"
            ),
        )
        .await?
    } else {
        Vec::new()
    };
    let reasons: Vec<String> = reasons
        .iter()
        .filter_map(|r| Some(format!("{} {}", r[0].as_deref()?, r[1].as_deref()?)))
        .collect();
    let status = if percent > settings.warn_rejected_percent {
        Status::Warn
    } else {
        Status::Pass
    };
    let detail = if rejected == 0.0 {
        "no line quarantined".to_owned()
    } else {
        format!(
            "reasons: {}; the lines are in etl_quarantine with their file and line number{}",
            reasons.join(", "),
            if status == Status::Warn {
                ": a release that changed the log format, or a shipper that damages lines"
            } else {
                ""
            }
        )
    };
    findings.push(
        Finding::new(day, CHECK, "rejected lines", status)
            .observed(format!(
                "{} of {} lines ({percent:.3}%) in {} files",
                shown(rejected, 0),
                shown(lines, 0),
                files.len()
            ))
            .expected(format!("at most {}%", settings.warn_rejected_percent))
            .detail(detail),
    );
    let corrupt: Vec<&Vec<Option<String>>> = files.iter().filter(|f| f[3].is_some()).collect();
    for file in &corrupt {
        let name = file[0].clone().unwrap_or_default();
        findings.push(
            Finding::new(day, CHECK, name, Status::Fail)
                .observed(format!(
                    "corrupt: {}; {} lines read before the damage",
                    file[3].as_deref().unwrap_or_default(),
                    file[1].as_deref().unwrap_or("0")
                ))
                .expected("a whole gzip file")
                .detail(
                    "the lines after the damage are not in the warehouse: ask for the file again from its server; \
                     under a new name it loads as a new file, byte-identical copies are skipped",
                ),
        );
    }
    if corrupt.is_empty() {
        findings.push(
            Finding::new(day, CHECK, "corrupt files", Status::Pass)
                .observed(format!("none of {} files", files.len()))
                .expected("none")
                .detail(if files.is_empty() {
                    format!("no log file of {} is loaded", day_date(day))
                } else {
                    "every file read to its end".to_owned()
                }),
        );
    }
    Ok(findings)
}
