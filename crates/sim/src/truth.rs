//! The ground truth: every modelled metric of spec/metrics.md, computed from what
//! the simulator decided (its events and its world), never from its output files.

use std::collections::{BTreeMap, HashMap, HashSet};

use darkroom_logs::{Action, Client};

use crate::calendar::{MICROS_PER_DAY, day_of_time};
use crate::world::{SimEvent, World};

/// A metric's value on a day; `None` where the definition leaves it undefined.
pub type MetricValue = (&'static str, Option<f64>);

const SESSION_GAP_MICROS: i64 = 30 * 60 * 1_000_000;

/// Upload sessions: a user's uploads, each within 30 minutes of the one before.
/// Fed one complete day of uploads at a time, in order.
#[derive(Debug, Default)]
pub struct UploadSessions {
    /// Per user: the last upload's time and the day its session started.
    open: HashMap<u64, (i64, i64)>,
    /// Per start day: sessions, and uploads in them.
    by_start_day: BTreeMap<i64, (u64, u64)>,
    /// Per start day: who started a session.
    starters: BTreeMap<i64, HashSet<u64>>,
}

impl UploadSessions {
    pub fn add_day(&mut self, events: &[SimEvent]) {
        let mut uploads: Vec<(i64, u64)> = events
            .iter()
            .filter(|e| e.action == Action::PhotoUpload)
            .filter_map(|e| Some((e.time, e.user?)))
            .collect();
        uploads.sort_unstable();
        for (time, user) in uploads {
            let start_day = match self.open.get(&user) {
                Some(&(last, start_day)) if time - last <= SESSION_GAP_MICROS => start_day,
                _ => {
                    let day = day_of_time(time);
                    self.by_start_day.entry(day).or_default().0 += 1;
                    self.starters.entry(day).or_default().insert(user);
                    day
                }
            };
            self.by_start_day.entry(start_day).or_default().1 += 1;
            self.open.insert(user, (time, start_day));
        }
    }

    fn on(&self, day: i64) -> (u64, u64) {
        self.by_start_day.get(&day).copied().unwrap_or_default()
    }

    /// Sessions starting in the 30 days ending on `day`, and the distinct users who started them.
    fn last_30_days(&self, day: i64) -> (u64, usize) {
        let sessions = self.by_start_day.range(day - 29..=day).map(|(_, (s, _))| s).sum();
        let users: HashSet<u64> = self
            .starters
            .range(day - 29..=day)
            .flat_map(|(_, u)| u.iter().copied())
            .collect();
        (sessions, users.len())
    }

    /// Forgets what no later day can need.
    pub fn forget_before(&mut self, day: i64) {
        self.by_start_day = self.by_start_day.split_off(&(day - 30));
        self.starters = self.starters.split_off(&(day - 30));
    }
}

/// The metrics of `day`, from its complete events (every event whose own time is on `day`).
/// `sessions` must already hold the uploads of `day` and of the day after.
pub fn day_metrics(world: &World, day: i64, events: &[SimEvent], sessions: &UploadSessions) -> Vec<MetricValue> {
    let count = |action: Action| events.iter().filter(|e| e.action == action).count() as f64;
    let distinct_users = |keep: &dyn Fn(&SimEvent) -> bool| {
        events
            .iter()
            .filter(|e| keep(e))
            .filter_map(|e| e.user)
            .collect::<HashSet<_>>()
            .len() as f64
    };
    let distinct_visitors = |keep: &dyn Fn(&SimEvent) -> bool| {
        events
            .iter()
            .filter(|e| keep(e))
            .map(|e| world.visitors[e.visitor as usize].vid)
            .collect::<HashSet<_>>()
            .len() as f64
    };
    let on_day = |time: i64| time.div_euclid(MICROS_PER_DAY) == day;
    let (upload_sessions, uploads_in_sessions) = sessions.on(day);
    let (sessions_30d, uploaders_30d) = sessions.last_30_days(day);
    vec![
        ("visitors", Some(distinct_visitors(&|_| true))),
        (
            "web_visitors",
            Some(distinct_visitors(&|e| {
                matches!(e.client, Client::Web | Client::MobileWeb)
            })),
        ),
        (
            "signups",
            Some(world.users.iter().filter(|u| on_day(u.created)).count() as f64),
        ),
        ("signup_events", Some(count(Action::Signup))),
        ("dau", Some(distinct_users(&|_| true))),
        ("daily_engaged", Some(distinct_users(&|e| e.action.is_engagement()))),
        ("uploads", Some(count(Action::PhotoUpload))),
        ("uploaders", Some(distinct_users(&|e| e.action == Action::PhotoUpload))),
        (
            "photos_created",
            Some(world.photos.iter().filter(|p| on_day(p.created)).count() as f64),
        ),
        ("likes", Some(count(Action::PhotoLike))),
        ("favourites", Some(count(Action::PhotoFavourite))),
        ("comments", Some(count(Action::PhotoComment))),
        ("follows", Some(count(Action::Follow))),
        ("marketplace_submissions", Some(count(Action::MarketplaceSubmit))),
        ("upload_sessions", Some(upload_sessions as f64)),
        (
            "photos_per_upload_session",
            (upload_sessions > 0).then(|| uploads_in_sessions as f64 / upload_sessions as f64),
        ),
        (
            "upload_sessions_per_uploader_30d",
            (uploaders_30d > 0).then(|| sessions_30d as f64 / uploaders_30d as f64),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::MICROS_PER_SECOND;

    fn upload(user: u64, time: i64) -> SimEvent {
        SimEvent {
            time,
            written: time,
            user: Some(user),
            action: Action::PhotoUpload,
            object: Some(1),
            visitor: 0,
            client: Client::Web,
            channel: None,
            server: 0,
        }
    }

    const MIN: i64 = 60 * MICROS_PER_SECOND;

    #[test]
    fn a_session_that_crosses_midnight_belongs_to_the_day_it_starts() {
        let day = 100;
        let midnight = (day + 1) * MICROS_PER_DAY;
        let mut sessions = UploadSessions::default();
        sessions.add_day(&[upload(1, midnight - 20 * MIN), upload(1, midnight - 5 * MIN)]);
        sessions.add_day(&[
            upload(1, midnight + 10 * MIN),
            upload(1, midnight + 41 * MIN),
            upload(2, midnight + MIN),
        ]);
        assert_eq!(
            sessions.on(day),
            (1, 3),
            "one session of three uploads starts on the first day"
        );
        assert_eq!(
            sessions.on(day + 1),
            (2, 2),
            "a 31-minute gap starts a new session; user 2 starts one"
        );
    }

    #[test]
    fn exactly_thirty_minutes_apart_is_the_same_session() {
        let mut sessions = UploadSessions::default();
        sessions.add_day(&[upload(1, 0), upload(1, 30 * MIN), upload(1, 60 * MIN + 1)]);
        assert_eq!(sessions.on(0), (2, 3));
    }

    #[test]
    fn frequency_counts_sessions_and_users_of_the_trailing_thirty_days() {
        let mut sessions = UploadSessions::default();
        sessions.add_day(&[upload(1, 0), upload(1, 2 * 60 * MIN)]);
        sessions.add_day(&[upload(2, 10 * MICROS_PER_DAY)]);
        sessions.add_day(&[upload(1, 30 * MICROS_PER_DAY)]);
        assert_eq!(sessions.last_30_days(29), (3, 2));
        assert_eq!(sessions.last_30_days(30), (2, 2), "day 0 has left the window");
    }
}

/// The true subscriber snapshot of every day so far: who was active at its end, and comped or not.
#[derive(Debug, Default)]
pub struct Snapshots {
    by_day: BTreeMap<i64, BTreeMap<u64, bool>>,
    first_day: HashMap<u64, i64>,
}

impl Snapshots {
    /// Records the end of `day`; call right after simulating it.
    pub fn record(&mut self, world: &World, day: i64) {
        let active: BTreeMap<u64, bool> = world
            .subscriptions
            .values()
            .filter(|s| s.is_active)
            .map(|s| (s.user, s.comped))
            .collect();
        for user in active.keys() {
            self.first_day.entry(*user).or_insert(day);
        }
        self.by_day.insert(day, active);
    }

    fn of(&self, day: i64) -> Option<&BTreeMap<u64, bool>> {
        self.by_day.get(&day)
    }

    /// warehouse.md: renewal when in the snapshot of d-1, else reactivation when in
    /// any earlier snapshot, else new.
    pub fn purchase_type(&self, user: u64, paid_day: i64) -> &'static str {
        if self.of(paid_day - 1).is_some_and(|s| s.contains_key(&user)) {
            "renewal"
        } else if self.first_day.get(&user).is_some_and(|first| *first < paid_day - 1) {
            "reactivation"
        } else {
            "new"
        }
    }

    /// Forgets snapshots no later day's metrics read (first appearances stay).
    pub fn forget_before(&mut self, day: i64) {
        self.by_day = self.by_day.split_off(&(day - 1));
    }
}

/// The money metrics of `day`.
pub fn commerce_metrics(world: &World, day: i64, snapshots: &Snapshots) -> Vec<MetricValue> {
    let on_day = |time: i64| day_of_time(time) == day;
    let empty = BTreeMap::new();
    let today = snapshots.of(day).unwrap_or(&empty);
    let yesterday = snapshots.of(day - 1).unwrap_or(&empty);
    let paid: Vec<_> = world.payments.iter().filter(|p| on_day(p.paid_at)).collect();
    let of_type = |kind: &str| {
        paid.iter()
            .filter(|p| snapshots.purchase_type(p.user, day) == kind)
            .count() as f64
    };
    let sold: Vec<_> = world.purchases.iter().filter(|p| on_day(p.purchased_at)).collect();
    vec![
        (
            "paid_subscribers",
            Some(today.values().filter(|comped| !**comped).count() as f64),
        ),
        ("new_subscriptions", Some(of_type("new"))),
        ("renewals", Some(of_type("renewal"))),
        ("reactivations", Some(of_type("reactivation"))),
        (
            "churned_subscribers",
            Some(yesterday.keys().filter(|u| !today.contains_key(u)).count() as f64),
        ),
        (
            "subscription_revenue_cents",
            Some(paid.iter().map(|p| p.amount_cents).sum::<i64>() as f64),
        ),
        (
            "subscription_refunds_cents",
            Some(
                world
                    .payments
                    .iter()
                    .filter(|p| p.refunded_at.is_some_and(on_day))
                    .map(|p| p.amount_cents)
                    .sum::<i64>() as f64,
            ),
        ),
        ("photos_sold", Some(sold.len() as f64)),
        (
            "marketplace_gross_cents",
            Some(sold.iter().map(|p| p.price_cents).sum::<i64>() as f64),
        ),
        (
            "marketplace_take_cents",
            Some(sold.iter().map(|p| p.price_cents - p.payout_cents).sum::<i64>() as f64),
        ),
    ]
}

#[cfg(test)]
mod commerce_tests {
    use super::*;
    use crate::commerce::{Payment, Plan, Provider, Subscription};
    use crate::world::WorldSpec;

    const DAY: i64 = 20_000;

    fn world() -> World {
        World::create(WorldSpec {
            seed: 1,
            users: 0,
            start: DAY,
        })
    }

    fn subscribe(world: &mut World, user: u64, active: bool, comped: bool) {
        world.subscriptions.insert(
            user,
            Subscription {
                user,
                plan: Plan::Plus,
                period_months: 1,
                is_active: active,
                auto_renew: true,
                expires_at: 0,
                comped,
                updated_at: 0,
            },
        );
    }

    fn pay(world: &mut World, user: u64, day: i64, auto_renewal: bool, refunded: Option<i64>) {
        world.payments.push(Payment {
            id: world.payments.len() as u64,
            user,
            plan: Plan::Plus,
            period_months: 1,
            amount_cents: 499,
            provider: Provider::Stripe,
            txn_id: format!("ch_{user}_{day}"),
            auto_renewal,
            paid_at: day * MICROS_PER_DAY + 3_600_000_000,
            refunded_at: refunded.map(|d| d * MICROS_PER_DAY + 7_200_000_000),
        });
    }

    fn metric(metrics: &[MetricValue], name: &str) -> Option<f64> {
        metrics.iter().find(|(m, _)| *m == name).and_then(|(_, v)| *v)
    }

    #[test]
    fn a_manual_extension_by_a_subscriber_is_a_renewal_not_a_new_subscription() {
        let mut world = world();
        let mut snapshots = Snapshots::default();
        subscribe(&mut world, 7, true, false);
        pay(&mut world, 7, DAY, false, None);
        snapshots.record(&world, DAY);
        pay(&mut world, 7, DAY + 1, false, None); // extends by hand: not auto_renewal
        snapshots.record(&world, DAY + 1);
        let day1 = commerce_metrics(&world, DAY, &snapshots);
        let day2 = commerce_metrics(&world, DAY + 1, &snapshots);
        assert_eq!(metric(&day1, "new_subscriptions"), Some(1.0));
        assert_eq!(metric(&day2, "new_subscriptions"), Some(0.0));
        assert_eq!(metric(&day2, "renewals"), Some(1.0));
    }

    #[test]
    fn a_lapsed_subscriber_who_returns_is_a_reactivation_and_churn_counts_the_lapse() {
        let mut world = world();
        let mut snapshots = Snapshots::default();
        subscribe(&mut world, 7, true, false);
        pay(&mut world, 7, DAY, false, None);
        snapshots.record(&world, DAY);
        subscribe(&mut world, 7, false, false);
        snapshots.record(&world, DAY + 1);
        assert_eq!(
            metric(&commerce_metrics(&world, DAY + 1, &snapshots), "churned_subscribers"),
            Some(1.0)
        );
        subscribe(&mut world, 7, true, false);
        pay(&mut world, 7, DAY + 2, false, None);
        snapshots.record(&world, DAY + 2);
        let day3 = commerce_metrics(&world, DAY + 2, &snapshots);
        assert_eq!(metric(&day3, "reactivations"), Some(1.0));
        assert_eq!(metric(&day3, "new_subscriptions"), Some(0.0));
        assert_eq!(metric(&day3, "churned_subscribers"), Some(0.0));
    }

    #[test]
    fn a_subscriber_who_lapses_and_returns_the_same_day_is_a_renewal_by_the_snapshot() {
        let mut world = world();
        let mut snapshots = Snapshots::default();
        subscribe(&mut world, 7, true, false);
        snapshots.record(&world, DAY);
        pay(&mut world, 7, DAY + 1, false, None);
        snapshots.record(&world, DAY + 1);
        assert_eq!(snapshots.purchase_type(7, DAY + 1), "renewal");
    }

    #[test]
    fn comped_subscribers_are_not_paid_subscribers_and_refunds_count_on_their_day() {
        let mut world = world();
        let mut snapshots = Snapshots::default();
        subscribe(&mut world, 1, true, false);
        subscribe(&mut world, 2, true, true);
        pay(&mut world, 1, DAY, false, Some(DAY + 3));
        snapshots.record(&world, DAY);
        let day1 = commerce_metrics(&world, DAY, &snapshots);
        assert_eq!(metric(&day1, "paid_subscribers"), Some(1.0));
        assert_eq!(metric(&day1, "subscription_revenue_cents"), Some(499.0));
        assert_eq!(metric(&day1, "subscription_refunds_cents"), Some(0.0));
        snapshots.record(&world, DAY + 3);
        let refund_day = commerce_metrics(&world, DAY + 3, &snapshots);
        assert_eq!(metric(&refund_day, "subscription_refunds_cents"), Some(499.0));
        assert_eq!(metric(&refund_day, "subscription_revenue_cents"), Some(0.0));
    }
}
