//! The funnels of metrics.md, followed person by person in time order.
//!
//! A visitor enters at its first page_view in the warehouse (visitors seen
//! before the first day are not entered) and becomes a person with a user id
//! through the signup event carrying both. A step counts when it happens after
//! the step before it and within 30 days of entering; the earliest qualifying
//! event is taken, which never loses a later step.

use std::collections::{BTreeMap, HashMap};

use darkroom_logs::Action;

use crate::calendar::{MICROS_PER_DAY, date, day_of_time, weekday};
use crate::world::{SimEvent, World};

pub const FUNNELS_HEADER: &str = "funnel,entry_week,step,reached";
const WINDOW_MICROS: i64 = 30 * MICROS_PER_DAY;

/// The funnels and their steps, in order.
pub const FUNNELS: [(&str, &[&str]); 3] = [
    (
        "engagement",
        &[
            "first_page_view",
            "signup",
            "active_later_day",
            "engagement_event",
            "subscription_payment",
        ],
    ),
    (
        "contributor",
        &[
            "first_page_view",
            "signup",
            "photo_upload",
            "marketplace_submit",
            "photo_sold",
        ],
    ),
    ("buyer", &["first_page_view", "signup", "stock_purchase"]),
];

#[derive(Debug, Clone, Copy)]
struct Progress {
    /// Steps reached, counting the entry.
    reached: usize,
    last: i64,
}

#[derive(Debug, Clone)]
struct Person {
    entry: i64,
    signup_day: Option<i64>,
    progress: [Progress; 3],
}

impl Person {
    /// Advances funnel `f` from step `from` (0-based count reached) if the event qualifies.
    fn step(&mut self, f: usize, from: usize, time: i64) {
        let p = &mut self.progress[f];
        if p.reached == from && time > p.last && time - self.entry <= WINDOW_MICROS {
            p.reached += 1;
            p.last = time;
        }
    }
}

/// Something a person did, in the order it happened.
#[derive(Debug, Clone, Copy)]
enum Deed {
    Event(SimEvent),
    Paid { user: u64, time: i64 },
    Bought { buyer: Option<u64>, seller: u64, time: i64 },
}

impl Deed {
    fn time(&self) -> i64 {
        match self {
            Deed::Event(e) => e.time,
            Deed::Paid { time, .. } | Deed::Bought { time, .. } => *time,
        }
    }
}

#[derive(Debug, Default)]
pub struct Funnels {
    people: HashMap<u32, Person>,
    by_user: HashMap<u64, u32>,
    first_day: Option<i64>,
}

impl Funnels {
    /// Feeds everything dated `day`; days must come in order, each complete.
    pub fn add_day(&mut self, world: &World, day: i64, events: &[SimEvent]) {
        let first_day = *self.first_day.get_or_insert(day);
        let on_day = |t: i64| day_of_time(t) == day;
        let mut deeds: Vec<Deed> = events.iter().copied().map(Deed::Event).collect();
        deeds.extend(world.payments.iter().filter(|p| on_day(p.paid_at)).map(|p| Deed::Paid {
            user: p.user,
            time: p.paid_at,
        }));
        deeds.extend(
            world
                .purchases
                .iter()
                .filter(|s| on_day(s.purchased_at))
                .map(|s| Deed::Bought {
                    buyer: s.buyer,
                    seller: s.seller,
                    time: s.purchased_at,
                }),
        );
        deeds.sort_by_key(Deed::time);
        for deed in deeds {
            match deed {
                Deed::Event(e) => self.event(world, first_day, &e),
                Deed::Paid { user, time } => {
                    if let Some(person) = self.person_of(user) {
                        person.step(0, 4, time);
                    }
                }
                Deed::Bought { buyer, seller, time } => {
                    if let Some(person) = buyer.and_then(|b| self.person_of(b)) {
                        person.step(2, 2, time);
                    }
                    if let Some(person) = self.person_of(seller) {
                        person.step(1, 4, time);
                    }
                }
            }
        }
    }

    fn person_of(&mut self, user: u64) -> Option<&mut Person> {
        let visitor = self.by_user.get(&user)?;
        self.people.get_mut(visitor)
    }

    fn event(&mut self, world: &World, first_day: i64, e: &SimEvent) {
        if e.action == Action::PageView
            && world.visitors[e.visitor as usize].first_day >= first_day
            && !self.people.contains_key(&e.visitor)
        {
            let entered = Progress {
                reached: 1,
                last: e.time,
            };
            self.people.insert(
                e.visitor,
                Person {
                    entry: e.time,
                    signup_day: None,
                    progress: [entered; 3],
                },
            );
        }
        if e.action == Action::Signup
            && let (Some(user), Some(person)) = (e.user, self.people.get_mut(&e.visitor))
        {
            for f in 0..3 {
                person.step(f, 1, e.time);
            }
            if person.progress[0].reached >= 2 {
                person.signup_day = Some(day_of_time(e.time));
                self.by_user.insert(user, e.visitor);
            }
            return;
        }
        let Some(person) = e.user.and_then(|u| self.person_of(u)) else {
            return;
        };
        if person.signup_day.is_some_and(|d| day_of_time(e.time) > d) {
            person.step(0, 2, e.time);
        }
        if e.action.is_engagement() {
            person.step(0, 3, e.time);
        }
        match e.action {
            Action::PhotoUpload => person.step(1, 2, e.time),
            Action::MarketplaceSubmit => person.step(1, 3, e.time),
            _ => {}
        }
    }

    /// `funnel,entry_week,step,reached` for every funnel, entry week and step.
    pub fn csv(&self) -> String {
        let mut counts: BTreeMap<(usize, i64, usize), u64> = BTreeMap::new();
        for person in self.people.values() {
            let entry_day = day_of_time(person.entry);
            let week = entry_day - i64::from(weekday(entry_day));
            for (f, (_, steps)) in FUNNELS.iter().enumerate() {
                for step in 0..steps.len() {
                    *counts.entry((f, week, step)).or_default() += u64::from(person.progress[f].reached > step);
                }
            }
        }
        let mut text = format!("{FUNNELS_HEADER}\n");
        for ((f, week, step), reached) in counts {
            let (name, steps) = FUNNELS[f];
            text.push_str(&format!("{name},{},{},{reached}\n", date(week), steps[step]));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldSpec;
    use darkroom_logs::Client;

    /// Any day: entry weeks are computed from it, never assumed.
    const START: i64 = 20_000;
    const HOUR: i64 = 3_600_000_000;

    fn world_with_visitor() -> World {
        // One pre-existing user gives the world a visitor seen before the first day.
        World::create(WorldSpec {
            seed: 3,
            users: 1,
            start: START,
        })
    }

    fn ev(time: i64, visitor: u32, user: Option<u64>, action: Action) -> SimEvent {
        SimEvent {
            time,
            written: time,
            user,
            action,
            object: None,
            visitor,
            client: Client::Web,
            channel: None,
            server: 0,
        }
    }

    fn reached(funnels: &Funnels, funnel: &str) -> Vec<String> {
        funnels
            .csv()
            .lines()
            .filter(|l| l.starts_with(&format!("{funnel},")))
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                format!("{}={}", f[2], f[3])
            })
            .collect()
    }

    #[test]
    fn steps_count_in_order_and_within_thirty_days_of_entering() {
        let mut world = world_with_visitor();
        let visitor = world.visitors.len() as u32;
        let mut new = world.visitors[0].clone();
        new.first_day = START;
        world.visitors.push(new);
        let t0 = START * MICROS_PER_DAY + 10 * HOUR;
        let mut funnels = Funnels::default();
        funnels.add_day(
            &world,
            START,
            &[
                ev(t0, visitor, None, Action::PageView),
                // An engagement event on the signup day does not make the user active on a later day.
                ev(t0 + HOUR, visitor, Some(77), Action::Signup),
                ev(t0 + 2 * HOUR, visitor, Some(77), Action::PhotoLike),
            ],
        );
        funnels.add_day(
            &world,
            START + 1,
            &[
                ev(t0 + MICROS_PER_DAY, visitor, Some(77), Action::Login),
                ev(t0 + MICROS_PER_DAY + HOUR, visitor, Some(77), Action::PhotoLike),
            ],
        );
        // The upload comes 31 days after entering: outside the window.
        funnels.add_day(
            &world,
            START + 31,
            &[ev(t0 + 31 * MICROS_PER_DAY, visitor, Some(77), Action::PhotoUpload)],
        );
        assert_eq!(
            reached(&funnels, "engagement"),
            [
                "first_page_view=1",
                "signup=1",
                "active_later_day=1",
                "engagement_event=1",
                "subscription_payment=0"
            ]
        );
        assert_eq!(
            reached(&funnels, "contributor"),
            [
                "first_page_view=1",
                "signup=1",
                "photo_upload=0",
                "marketplace_submit=0",
                "photo_sold=0"
            ]
        );
    }

    #[test]
    fn visitors_seen_before_the_first_day_are_not_entered() {
        let world = world_with_visitor();
        let mut funnels = Funnels::default();
        funnels.add_day(
            &world,
            START,
            &[ev(START * MICROS_PER_DAY + HOUR, 0, None, Action::PageView)],
        );
        assert_eq!(funnels.csv(), format!("{FUNNELS_HEADER}\n"));
    }
}
