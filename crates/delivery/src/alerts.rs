//! Alerts after a night: a failed run, or an audit check that failed, goes to
//! the subscribers of the Pipeline and Audit dashboards at once, with the
//! failed task or check, the error, the log tail and the command to rerun.

use chrono::NaiveDate;
use darkroom_dashboards::run_sql;
use darkroom_pipeline::open_query_session;
use datafusion::common::{ParamValues, ScalarValue};

use crate::deliver::{Delivered, Deliverer, Recipients};
use crate::error::DeliveryError;
use crate::report::{Body, FailedTask, NightProblem, Report, night_problem};

/// The dashboards whose subscribers get alerts.
pub const ALERTED_DASHBOARDS: [&str; 2] = ["pipeline", "audit"];

/// Everyone subscribed to the Pipeline or Audit dashboard.
pub fn alert_recipients(deliverer: &Deliverer) -> Recipients {
    let mut recipients = Recipients::default();
    for subscription in &deliverer.config.subscriptions {
        if !ALERTED_DASHBOARDS.contains(&subscription.dashboard.as_str()) {
            continue;
        }
        for address in &subscription.to {
            if !recipients.to.contains(address) {
                recipients.to.push(address.clone());
            }
        }
        recipients.slack |= subscription.slack;
    }
    recipients
}

/// What went wrong with the night of `day`, if anything: the failed run, else
/// the audit checks that failed for it.
pub async fn night_alert(deliverer: &Deliverer, day: NaiveDate) -> Result<Option<Report>, DeliveryError> {
    let project = &deliverer.project;
    let day_text = day.format("%Y-%m-%d").to_string();
    let pipeline = format!("{}/d/pipeline", deliverer.config.public_url);
    if let Some(problem) = night_problem(project, day)? {
        return Ok(Some(Report {
            slug: "pipeline".into(),
            title: format!("darkroom: {}", problem.summary.trim_end_matches('.')),
            description: None,
            day: Some(day),
            link: pipeline,
            body: Body::Alert(problem),
        }));
    }
    let session = open_query_session(project).await?;
    let sql = "SELECT \"check\", subject, detail FROM audit_results \
               WHERE audit_date = CAST($day AS DATE) AND status = 'fail' ORDER BY \"check\", subject";
    let day_value = std::collections::HashMap::from([("day".to_owned(), ScalarValue::Utf8(Some(day_text.clone())))]);
    let Ok(rows) = run_sql(&session, sql, Some(ParamValues::from(day_value))).await else {
        return Ok(None); // no audit_results table: a project without audits
    };
    let table = rows.table();
    if table.rows.is_empty() {
        return Ok(None);
    }
    let count = darkroom_charts::NumberFormat::Count;
    let failed: Vec<FailedTask> = table
        .rows
        .iter()
        .map(|row| FailedTask {
            task: format!("{} ({})", row[0].label(count), row[1].label(count)),
            error: row[2].label(count),
            log_tail: None,
        })
        .collect();
    let summary = format!("{} audit check(s) failed for {day_text}.", failed.len());
    Ok(Some(Report {
        slug: "audit".into(),
        title: format!("darkroom: {}", summary.trim_end_matches('.')),
        description: None,
        day: Some(day),
        link: format!("{}/d/audit", deliverer.config.public_url),
        body: Body::Alert(NightProblem {
            day: day_text.clone(),
            run_id: None,
            summary,
            failed,
            rerun: format!("darkroom audit --project {} --date {day_text}", project.dir.display()),
        }),
    }))
}

/// Sends the alert for `day`'s night, if there is one and anyone to tell.
pub async fn alert_after_night(deliverer: &Deliverer, day: NaiveDate) -> Result<Option<Delivered>, DeliveryError> {
    let recipients = alert_recipients(deliverer);
    if recipients.to.is_empty() && !recipients.slack {
        return Ok(None);
    }
    match night_alert(deliverer, day).await? {
        Some(report) => Ok(Some(deliverer.send_report(&report, &recipients).await?)),
        None => Ok(None),
    }
}
