//! `unknown_actions`: events whose action log-format.md's vocabulary does not
//! know: engineering shipped an event nobody mapped, so no model counts it.

use darkroom_logs::Action;
use datafusion::prelude::SessionContext;

use crate::error::AuditError;
use crate::finding::{Finding, Status};
use crate::query::{date_literal, rows};

pub const CHECK: &str = "unknown_actions";

pub async fn run(ctx: &SessionContext, day: i32) -> Result<Vec<Finding>, AuditError> {
    let known: Vec<String> = Action::ALL.iter().map(|a| format!("'{}'", a.name())).collect();
    let sql = format!(
        "SELECT action, count(*), CAST(min(event_time) AS VARCHAR), first_value(request ORDER BY event_time)
         FROM raw_events WHERE event_date = {} AND action NOT IN ({})
         GROUP BY action ORDER BY 2 DESC, 1",
        date_literal(day),
        known.join(", ")
    );
    let found = rows(ctx, "reading raw_events", &sql).await?;
    if found.is_empty() {
        return Ok(vec![
            Finding::new(day, CHECK, "actions", Status::Pass)
                .observed("every action known")
                .expected("only the actions of log-format.md")
                .detail(format!("known: {}", known.join(", ").replace('\'', ""))),
        ]);
    }
    Ok(found
        .into_iter()
        .map(|row| {
            let action = row[0].clone().unwrap_or_default();
            Finding::new(day, CHECK, action.clone(), Status::Warn)
                .observed(format!(
                    "{} events, first at {}",
                    row[1].as_deref().unwrap_or("0"),
                    row[2].as_deref().unwrap_or("?")
                ))
                .expected("only the actions of log-format.md")
                .detail(format!(
                    "example request: {}; no model counts `{action}`: map it in the models (and metrics.toml) \
                     or ask engineering what it is",
                    row[3].as_deref().unwrap_or("?")
                ))
        })
        .collect())
}
