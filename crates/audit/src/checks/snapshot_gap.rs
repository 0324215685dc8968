//! `snapshot_gap`: a day without its subscriber snapshot. Production keeps no
//! history, so it cannot be rebuilt, and the next day's payments are
//! classified (new, renewal, reactivation) without it.

use datafusion::prelude::SessionContext;

use crate::error::AuditError;
use crate::finding::{Finding, Status};
use crate::query::{date_literal, day_date, number, rows, table_exists};

pub const CHECK: &str = "snapshot_gap";

/// The nightly run's record of the snapshots it took (the state database), when
/// the caller registered it: a snapshot of zero subscribers is taken all the
/// same, which the fact table's rows cannot show.
const TAKEN: &str = "etl_subscriber_snapshots";

pub async fn run(ctx: &SessionContext, day: i32) -> Result<Vec<Finding>, AuditError> {
    let (taken, subscribers) = if table_exists(ctx, TAKEN) {
        let found = rows(
            ctx,
            "reading the record of snapshots taken",
            &format!("SELECT subscribers FROM {TAKEN} WHERE day = '{}'", day_date(day)),
        )
        .await?;
        (
            !found.is_empty(),
            found.first().and_then(|r| number(&r[0])).unwrap_or(0.0),
        )
    } else {
        let found = rows(
            ctx,
            "reading fact_subscriber_snapshots",
            &format!(
                "SELECT count(*) FROM fact_subscriber_snapshots WHERE snapshot_date = {}",
                date_literal(day)
            ),
        )
        .await?;
        let subscribers = found.first().and_then(|r| number(&r[0])).unwrap_or(0.0);
        (subscribers > 0.0, subscribers)
    };
    let finding = Finding::new(day, CHECK, "fact_subscriber_snapshots", Status::Pass)
        .expected(format!("the active subscribers of {}", day_date(day)));
    Ok(vec![if taken {
        finding
            .observed(format!("{subscribers:.0} subscribers"))
            .detail("taken")
    } else {
        finding.status(Status::Fail).observed("no snapshot").detail(
            "the nightly run did not record this day's subscribers (a backfill long after the day cannot: \
             production no longer shows it); payments of the next day are classified from older snapshots",
        )
    }])
}
