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
        let sessions = self
            .by_start_day
            .range(day - 29..=day)
            .map(|(_, (s, _))| s)
            .sum();
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
pub fn day_metrics(
    world: &World,
    day: i64,
    events: &[SimEvent],
    sessions: &UploadSessions,
) -> Vec<MetricValue> {
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
        (
            "daily_engaged",
            Some(distinct_users(&|e| e.action.is_engagement())),
        ),
        ("uploads", Some(count(Action::PhotoUpload))),
        (
            "uploaders",
            Some(distinct_users(&|e| e.action == Action::PhotoUpload)),
        ),
        (
            "photos_created",
            Some(world.photos.iter().filter(|p| on_day(p.created)).count() as f64),
        ),
        ("likes", Some(count(Action::PhotoLike))),
        ("favourites", Some(count(Action::PhotoFavourite))),
        ("comments", Some(count(Action::PhotoComment))),
        ("follows", Some(count(Action::Follow))),
        (
            "marketplace_submissions",
            Some(count(Action::MarketplaceSubmit)),
        ),
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
        sessions.add_day(&[
            upload(1, midnight - 20 * MIN),
            upload(1, midnight - 5 * MIN),
        ]);
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
        assert_eq!(
            sessions.last_30_days(30),
            (2, 2),
            "day 0 has left the window"
        );
    }
}
