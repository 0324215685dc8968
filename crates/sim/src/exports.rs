//! What outside systems export about the site: Google Analytics' daily numbers
//! and the payment providers' transaction lists (metrics.md, "External sources").

use std::collections::HashSet;

use darkroom_logs::{Action, Client};

use crate::calendar::{date, day_of_time};
use crate::commerce::Provider;
use crate::production::datetime;
use crate::world::{SimEvent, World};

pub const GA_HEADER: &str = "date,users,sessions,pageviews";
pub const PROVIDER_HEADER: &str = "provider_txn_id,type,amount_cents,currency,created_at";

/// Front-end tracking misses visitors whose browsers block it: a fixed share, by visitor.
fn tracked(vid: u64) -> bool {
    vid % 100 >= 6
}

/// GA's row for `day`: web and mobile_web only, tracked visitors only. A session is
/// a visitor's hour with any request, the way GA's 30-minute timeout roughly counts.
pub fn ga_row(world: &World, day: i64, events: &[SimEvent]) -> String {
    let web = events
        .iter()
        .filter(|e| matches!(e.client, Client::Web | Client::MobileWeb))
        .filter(|e| {
            let vid = world.visitors[e.visitor as usize].vid;
            tracked(vid)
        });
    let (mut users, mut sessions, mut pageviews) = (HashSet::new(), HashSet::new(), 0u64);
    for event in web {
        users.insert(event.visitor);
        sessions.insert((event.visitor, event.time / 3_600_000_000));
        pageviews += u64::from(event.action == Action::PageView);
    }
    format!("{},{},{},{pageviews}", date(day), users.len(), sessions.len())
}

/// The provider's rows for `day`: charges for payments and sales, refunds for refunded payments.
pub fn provider_rows(world: &World, day: i64, provider: Provider) -> Vec<String> {
    let on_day = |time: i64| day_of_time(time) == day;
    let mut rows: Vec<(i64, String)> = Vec::new();
    for p in world.payments.iter().filter(|p| p.provider == provider) {
        if on_day(p.paid_at) {
            rows.push((
                p.paid_at,
                format!("{},charge,{},USD,{}", p.txn_id, p.amount_cents, datetime(p.paid_at)),
            ));
        }
        if let Some(at) = p.refunded_at.filter(|t| on_day(*t)) {
            rows.push((
                at,
                format!("{},refund,{},USD,{}", p.txn_id, p.amount_cents, datetime(at)),
            ));
        }
    }
    for s in world
        .purchases
        .iter()
        .filter(|s| s.provider == provider && on_day(s.purchased_at))
    {
        rows.push((
            s.purchased_at,
            format!("{},charge,{},USD,{}", s.txn_id, s.price_cents, datetime(s.purchased_at)),
        ));
    }
    rows.sort();
    rows.into_iter().map(|(_, row)| row).collect()
}

/// The one Stripe charge of `day` that the `missing_payment` fault keeps out of production.
pub fn missing_charge(world: &World, day: i64) -> Option<String> {
    let on_day = |time: i64| day_of_time(time) == day;
    world
        .payments
        .iter()
        .filter(|p| p.provider == Provider::Stripe && on_day(p.paid_at))
        .map(|p| p.txn_id.clone())
        .chain(
            world
                .purchases
                .iter()
                .filter(|s| s.provider == Provider::Stripe && on_day(s.purchased_at))
                .map(|s| s.txn_id.clone()),
        )
        .next()
}
