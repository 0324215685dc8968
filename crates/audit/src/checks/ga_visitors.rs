//! `ga_visitors`: the logs' web visitors against Google Analytics' users. The
//! ratio moves little from day to day (ad blockers hide a steady share from
//! GA); a day whose ratio leaves its recent median by more than the threshold
//! lost logs, or GA lost tracking.

use datafusion::prelude::SessionContext;

use crate::error::AuditError;
use crate::finding::{Finding, Status};
use crate::query::{date_literal, day_date, median, number, rows, shown};
use crate::settings::GaVisitors;

pub const CHECK: &str = "ga_visitors";
const SUBJECT: &str = "web_visitors / GA users";
/// How far GA's users must be from what the usual ratio predicts, in binomial
/// standard deviations, before a change is more than chance.
const CHANCE_SIGMAS: f64 = 4.0;

pub async fn run(ctx: &SessionContext, day: i32, settings: &GaVisitors) -> Result<Vec<Finding>, AuditError> {
    let first = day - i32::try_from(settings.history_days).unwrap_or(i32::MAX);
    let sql = format!(
        "SELECT CAST(g.date AS INT) AS day, m.value AS web_visitors, g.users
         FROM ext_ga_daily g JOIN daily_metrics m ON m.date = g.date AND m.metric = 'web_visitors'
         WHERE g.date BETWEEN {} AND {}",
        date_literal(first),
        date_literal(day)
    );
    let found = rows(ctx, "comparing web_visitors with the GA export", &sql).await?;
    let mut today = None;
    let mut history = Vec::new();
    for row in &found {
        let (Some(d), Some(visitors), Some(users)) = (number(&row[0]), number(&row[1]), number(&row[2])) else {
            continue;
        };
        if users <= 0.0 {
            continue;
        }
        if d as i32 == day {
            today = Some((visitors, users));
        } else {
            history.push(visitors / users);
        }
    }
    let finding = Finding::new(day, CHECK, SUBJECT, Status::Pass);
    let Some((visitors, users)) = today else {
        return Ok(vec![
            finding
                .status(Status::Fail)
                .observed(format!("no GA row with users for {}", day_date(day)))
                .expected("a row of ext_ga_daily for every day")
                .detail(
                    "the GA export ([sources.external] google_analytics) has no users for this day, or daily_metrics \
                     has no web_visitors: is the export late, or did the night's run fail?",
                ),
        ]);
    };
    let ratio = visitors / users;
    let observed = format!(
        "ratio {ratio:.3} (web_visitors {} / GA users {})",
        shown(visitors, 0),
        shown(users, 0)
    );
    let window = format!("{} to {}", day_date(first), day_date(day - 1));
    if history.len() < settings.min_history_days as usize {
        return Ok(vec![
            finding
                .observed(observed)
                .expected("a history to judge by")
                .detail(format!(
                    "not judged: {} day(s) with GA rows from {window}, fewer than min_history_days = {}",
                    history.len(),
                    settings.min_history_days
                )),
        ]);
    }
    let usual = median(&history).unwrap_or(ratio);
    let change = (ratio / usual - 1.0) * 100.0;
    // GA sees each visitor with a steady chance; on a small day the ratio moves
    // by chance alone, so a change is judged by its binomial spread as well.
    let seen = (1.0 / usual).clamp(0.0, 1.0);
    let sigma = (visitors * seen * (1.0 - seen)).sqrt().max(1.0);
    let beyond_chance = ((users - visitors * seen) / sigma).abs() > CHANCE_SIGMAS;
    let status = if change.abs() > settings.max_change_percent && beyond_chance {
        Status::Fail
    } else {
        Status::Pass
    };
    let detail = format!(
        "{change:+.1}% against the median ratio of {} days from {window}{}",
        history.len(),
        if status == Status::Fail {
            if change < 0.0 {
                "; the logs saw fewer web visitors than GA would predict: look for lost log files or lines \
                 (log_completeness, parse_errors) on this day"
            } else {
                "; GA saw fewer users than the logs would predict: has the site's GA tracking broken?"
            }
        } else {
            ""
        }
    );
    Ok(vec![
        finding
            .status(status)
            .observed(observed)
            .expected(format!("within {}% of {usual:.3}", settings.max_change_percent))
            .detail(detail),
    ])
}
