//! The photo site's people and what they do each day.
//!
//! The world is a pure function of its spec and the day: [`World::create`]
//! seeds the users who exist before the first day, and [`World::simulate_day`]
//! appends one day of behaviour. Replaying days from the start reproduces the
//! same bytes, so nothing but the spec needs to be stored between calls.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use darkroom_logs::{Action, Channel, Client};

use crate::calendar::{MICROS_PER_DAY, MICROS_PER_SECOND, weekday};
use crate::commerce::{Payment, Plan, StockPurchase, Subscription, after_months, time_in_day};
use crate::random::{Random, Stream};

const FIRST_PHOTO_ID: u64 = 50_000;

/// The number of API servers behind the load balancer.
pub const SERVERS: u8 = 4;

/// What defines a world: the first `sim advance` fixes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldSpec {
    pub seed: u64,
    /// Registered users on the day before the first day.
    pub users: u64,
    /// The first simulated day (days since the epoch).
    pub start: i64,
}

/// One thing a person did, as the API server saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimEvent {
    /// When it happened, microseconds since the epoch.
    pub time: i64,
    /// When the server wrote the line: a little after `time`, sometimes minutes after.
    pub written: i64,
    pub user: Option<u64>,
    pub action: Action,
    pub object: Option<u64>,
    /// Index into [`World::visitors`].
    pub visitor: u32,
    pub client: Client,
    /// Set on a visitor's landing request only.
    pub channel: Option<Channel>,
    pub server: u8,
}

#[derive(Debug, Clone)]
pub struct Visitor {
    pub vid: u64,
    pub ip: u32,
    pub client: Client,
    pub channel: Channel,
    pub user: Option<u64>,
    /// The day of its first request; before `start` for people who came earlier.
    pub first_day: i64,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    /// The device (visitor) the user signed up with; `devices[0]`.
    pub devices: Vec<u32>,
    pub client: Client,
    pub channel: Channel,
    /// The chance of coming back on a given weekday.
    pub activity: f64,
    /// The chance that a visit includes uploading.
    pub uploader: f64,
    pub created: i64,
    pub photos: Vec<u64>,
    pub first_name: Option<&'static str>,
    pub last_name: Option<&'static str>,
    pub country: Option<&'static str>,
    pub deleted_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Photo {
    pub id: u64,
    pub user: u64,
    pub created: i64,
    pub titled: bool,
    /// The production code, 0..=27.
    pub category: u8,
    /// 0 public, 1 unlisted, 2 private.
    pub privacy: u8,
    pub for_sale: bool,
    /// `None` never submitted, 0 submitted, 1 accepted, 2 rejected.
    pub marketplace_status: Option<u8>,
    pub submitted_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

/// What one day changed in production, by position in the world's vectors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub users: BTreeSet<usize>,
    pub photos: BTreeSet<usize>,
    pub subscriptions: BTreeSet<u64>,
    pub payments: BTreeSet<usize>,
    pub purchases: BTreeSet<usize>,
}

const FIRST_NAMES: [&str; 12] = [
    "Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena",
];
const LAST_NAMES: [&str; 10] = [
    "Silva", "Nguyen", "Müller", "Okafor", "Smith", "Kowalski", "Tanaka", "Garcia", "Haddad", "Berg",
];
const COUNTRIES: [&str; 10] = ["US", "US", "US", "GB", "DE", "FR", "BR", "IN", "JP", "CA"];

const CLIENTS: [(Client, f64); 5] = [
    (Client::Web, 0.42),
    (Client::MobileWeb, 0.20),
    (Client::Iphone, 0.19),
    (Client::Android, 0.16),
    (Client::Flipboard, 0.03),
];

const CHANNELS: [(Channel, f64); 6] = [
    (Channel::Organic, 0.34),
    (Channel::PaidSearch, 0.16),
    (Channel::Social, 0.20),
    (Channel::Email, 0.06),
    (Channel::Referral, 0.10),
    (Channel::Direct, 0.14),
];

/// Share of the day's traffic by UTC hour: Europe's afternoon, then the Americas' evening.
const HOURS: [f64; 24] = [
    3.0, 2.5, 2.0, 1.5, 1.2, 1.0, 1.2, 1.8, 2.5, 3.2, 3.8, 4.2, 4.5, 4.8, 5.2, 5.6, 5.8, 5.8, 5.6, 5.4, 5.2, 4.8, 4.2,
    3.6,
];

#[derive(Debug, Clone)]
pub struct World {
    pub spec: WorldSpec,
    pub visitors: Vec<Visitor>,
    pub users: Vec<User>,
    pub photos: Vec<Photo>,
    /// Subscriptions by user id: one row per user who ever subscribed.
    pub subscriptions: BTreeMap<u64, Subscription>,
    pub payments: Vec<Payment>,
    pub purchases: Vec<StockPurchase>,
    /// Visitors who came, did not sign up, and may come back.
    anonymous: Vec<u32>,
    user_index: HashMap<u64, usize>,
    /// Users who had a sitting today, in order.
    sat_today: Vec<usize>,
    changes: Changes,
    next_user_id: u64,
    next_photo_id: u64,
}

impl World {
    /// The users (and their photos) who exist before the first day.
    pub fn create(spec: WorldSpec) -> Self {
        let mut rng = Random::new(spec.seed, spec.start, Stream::World);
        let mut world = Self {
            spec,
            visitors: Vec::new(),
            users: Vec::new(),
            photos: Vec::new(),
            subscriptions: BTreeMap::new(),
            payments: Vec::new(),
            purchases: Vec::new(),
            anonymous: Vec::new(),
            user_index: HashMap::new(),
            sat_today: Vec::new(),
            changes: Changes::default(),
            next_user_id: 1000,
            next_photo_id: FIRST_PHOTO_ID,
        };
        let first = spec.start * MICROS_PER_DAY;
        for _ in 0..spec.users {
            let created = first - rng.range(1, 730) * MICROS_PER_DAY + rng.range(0, MICROS_PER_DAY - 1);
            let client = rng.weighted(&CLIENTS);
            let channel = rng.weighted(&CHANNELS);
            let visitor = world.new_visitor(&mut rng, client, channel, spec.start - 1);
            let user = world.new_user(&mut rng, visitor, created);
            let photos = rng.count(if world.users[user].uploader > 0.1 { 12.0 } else { 0.5 });
            for _ in 0..photos {
                let at = created + rng.range(0, first - created - 1);
                let index = world.new_photo(&mut rng, user, at);
                // Some older photos are already in the marketplace.
                if rng.chance(0.15) {
                    let photo = &mut world.photos[index];
                    photo.marketplace_status = Some(if rng.chance(0.7) { 1 } else { 2 });
                    photo.submitted_at = Some(at + rng.range(0, first - at - 1));
                }
            }
        }
        world
    }

    /// What production looks like after the days simulated since the last call.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::take(&mut self.changes)
    }

    pub fn user(&self, id: u64) -> Option<&User> {
        self.user_index.get(&id).map(|&i| &self.users[i])
    }

    /// One day of behaviour. Events are in the order they were generated; a
    /// session late in the evening may run past midnight into the next day.
    pub fn simulate_day(&mut self, day: i64) -> Vec<SimEvent> {
        let mut rng = Random::new(self.spec.seed, day, Stream::Behaviour);
        let since_start = (day - self.spec.start).max(0) as f64;
        let season = [1.0, 1.02, 1.0, 0.98, 0.93, 0.80, 0.84][weekday(day) as usize] * 1.004f64.powf(since_start);
        let mut events = Vec::new();

        let arrivals = rng.jitter(self.spec.users as f64 * 0.06 * season, 0.1).round() as u64;
        for _ in 0..arrivals {
            let client = rng.weighted(&CLIENTS);
            let channel = rng.weighted(&CHANNELS);
            let visitor = self.new_visitor(&mut rng, client, channel, day);
            let start = day * MICROS_PER_DAY + time_of_day(&mut rng);
            self.anonymous_visit(&mut rng, &mut events, visitor, start, Some(channel));
        }

        let returning = (self.anonymous.len() as f64 * 0.03 * season) as usize;
        for _ in 0..returning {
            let at = rng.below(self.anonymous.len() as u64) as usize;
            let visitor = self.anonymous[at];
            if self.visitors[visitor as usize].user.is_some() {
                continue;
            }
            let start = day * MICROS_PER_DAY + time_of_day(&mut rng);
            self.anonymous_visit(&mut rng, &mut events, visitor, start, None);
        }

        let day_start = day * MICROS_PER_DAY;
        self.sat_today.clear();
        for user in 0..self.users.len() {
            if self.users[user].created >= day_start || self.users[user].deleted_at.is_some() {
                continue; // signed up today (their first visit is in), or gone
            }
            if rng.chance(self.users[user].activity * season) {
                let start = day_start + time_of_day(&mut rng);
                self.sat_today.push(user);
                self.user_visit(&mut rng, &mut events, user, start);
            }
        }
        self.bill(&mut rng, day);
        self.run_marketplace(&mut rng, day);
        self.delete_some(&mut rng, day);
        events
    }

    /// The renewal job, lapses, new and returning subscribers, manual extensions, refunds, comps.
    fn bill(&mut self, rng: &mut Random, day: i64) {
        let (start, end) = (day * MICROS_PER_DAY, (day + 1) * MICROS_PER_DAY);
        let due: Vec<u64> = self
            .subscriptions
            .values()
            .filter(|s| s.is_active && (start..end).contains(&s.expires_at))
            .map(|s| s.user)
            .collect();
        for user in due {
            let Some(sub) = self.subscriptions.get_mut(&user) else {
                continue;
            };
            let at = sub.expires_at;
            if sub.auto_renew && !sub.comped && !rng.chance(0.08) {
                sub.expires_at = after_months(at, sub.period_months);
                sub.updated_at = at;
                let sub = sub.clone();
                self.pay(rng, &sub, at, true);
            } else {
                sub.is_active = false;
                sub.updated_at = at;
            }
            self.changes.subscriptions.insert(user);
        }
        let candidates = self.sat_today.clone();
        for user in candidates {
            let id = self.users[user].id;
            let at = time_in_day(rng, day);
            match self.subscriptions.get(&id).map(|s| (s.is_active, s.comped)) {
                None if rng.chance(0.006) => self.subscribe(rng, id, at),
                Some((false, _)) if rng.chance(0.01) => self.subscribe(rng, id, at),
                Some((true, false)) if rng.chance(0.012) => {
                    // Extends by hand while still subscribed: a renewal, not a new subscriber.
                    if let Some(sub) = self.subscriptions.get_mut(&id) {
                        sub.expires_at = after_months(sub.expires_at.max(at), sub.period_months);
                        sub.updated_at = at;
                        let sub = sub.clone();
                        self.pay(rng, &sub, at, false);
                        self.changes.subscriptions.insert(id);
                    }
                }
                _ => {}
            }
        }
        let recent = self.payments.len().saturating_sub(200);
        for index in recent..self.payments.len() {
            let payment = &self.payments[index];
            if payment.refunded_at.is_none()
                && payment.paid_at < start
                && payment.paid_at >= start - 7 * MICROS_PER_DAY
                && rng.chance(0.02)
            {
                let at = time_in_day(rng, day);
                self.payments[index].refunded_at = Some(at);
                self.changes.payments.insert(index);
                let user = self.payments[index].user;
                if let Some(sub) = self.subscriptions.get_mut(&user) {
                    sub.is_active = false;
                    sub.auto_renew = false;
                    sub.updated_at = at;
                    self.changes.subscriptions.insert(user);
                }
            }
        }
        if !self.users.is_empty() && rng.chance(0.3) {
            let user = &self.users[rng.below(self.users.len() as u64) as usize];
            let id = user.id;
            if user.deleted_at.is_none() && !self.subscriptions.get(&id).is_some_and(|s| s.is_active) {
                let at = time_in_day(rng, day);
                self.subscriptions.insert(
                    id,
                    Subscription {
                        user: id,
                        plan: Plan::Awesome,
                        period_months: 12,
                        is_active: true,
                        auto_renew: false,
                        expires_at: after_months(at, 12),
                        comped: true,
                        updated_at: at,
                    },
                );
                self.changes.subscriptions.insert(id);
            }
        }
    }

    fn subscribe(&mut self, rng: &mut Random, user: u64, at: i64) {
        let plan = if rng.chance(0.75) { Plan::Plus } else { Plan::Awesome };
        let period_months = if rng.chance(0.8) { 1 } else { 12 };
        let sub = Subscription {
            user,
            plan,
            period_months,
            is_active: true,
            auto_renew: rng.chance(0.85),
            expires_at: after_months(at, period_months),
            comped: false,
            updated_at: at,
        };
        self.subscriptions.insert(user, sub.clone());
        self.changes.subscriptions.insert(user);
        self.pay(rng, &sub, at, false);
    }

    fn pay(&mut self, rng: &mut Random, sub: &Subscription, at: i64, auto_renewal: bool) {
        let id = 700_000 + self.payments.len() as u64;
        self.payments.push(Payment::new(rng, id, sub, at, auto_renewal));
        self.changes.payments.insert(self.payments.len() - 1);
    }

    /// Reviews submissions older than a day, and sells accepted photos.
    fn run_marketplace(&mut self, rng: &mut Random, day: i64) {
        let start = day * MICROS_PER_DAY;
        let mut accepted = Vec::new();
        for (index, photo) in self.photos.iter_mut().enumerate() {
            if photo.deleted_at.is_some() {
                continue;
            }
            match (photo.marketplace_status, photo.submitted_at) {
                (Some(0), Some(at)) if at < start - MICROS_PER_DAY && rng.chance(0.5) => {
                    photo.marketplace_status = Some(if rng.chance(0.65) { 1 } else { 2 });
                    self.changes.photos.insert(index);
                }
                (Some(1), _) => accepted.push(index),
                _ => {}
            }
        }
        if accepted.is_empty() {
            return;
        }
        let sales = rng.count(accepted.len() as f64 * 0.01);
        for _ in 0..sales {
            let photo = &self.photos[accepted[rng.below(accepted.len() as u64) as usize]];
            let (photo_id, seller) = (photo.id, photo.user);
            let buyer = if rng.chance(0.55) {
                Some(self.random_buyer(rng, seller, day))
            } else {
                None
            };
            let id = 900_000 + self.purchases.len() as u64;
            let at = time_in_day(rng, day);
            self.purchases
                .push(StockPurchase::new(rng, id, photo_id, seller, buyer, at));
            self.changes.purchases.insert(self.purchases.len() - 1);
        }
    }

    /// A few accounts and photos are deleted (softly: production keeps the rows).
    fn delete_some(&mut self, rng: &mut Random, day: i64) {
        for _ in 0..rng.count(self.users.len() as f64 * 0.0002) {
            let index = rng.below(self.users.len() as u64) as usize;
            if self.users[index].deleted_at.is_none() {
                self.users[index].deleted_at = Some(time_in_day(rng, day));
                self.changes.users.insert(index);
            }
        }
        for _ in 0..rng.count(self.photos.len() as f64 * 0.0003) {
            let index = rng.below(self.photos.len() as u64) as usize;
            if self.photos[index].deleted_at.is_none() {
                self.photos[index].deleted_at = Some(time_in_day(rng, day));
                self.changes.photos.insert(index);
            }
        }
    }

    fn anonymous_visit(
        &mut self,
        rng: &mut Random,
        events: &mut Vec<SimEvent>,
        visitor: u32,
        start: i64,
        landing: Option<Channel>,
    ) {
        let mut clock = Clock::new(start);
        let client = self.visitors[visitor as usize].client;
        events.push(event(
            rng,
            clock.now(),
            None,
            Action::PageView,
            None,
            visitor,
            client,
            landing,
        ));
        for _ in 0..rng.count(1.5) {
            let (action, object) = if rng.chance(0.5) || self.photos.is_empty() {
                (Action::PageView, None)
            } else {
                (Action::PhotoView, Some(self.random_photo(rng)))
            };
            let at = clock.advance(rng, 5, 120);
            events.push(event(rng, at, None, action, object, visitor, client, None));
        }
        let channel = self.visitors[visitor as usize].channel;
        let signup_rate = match channel {
            Channel::Email | Channel::Referral => 0.14,
            Channel::Direct | Channel::Organic => 0.09,
            Channel::Social => 0.07,
            Channel::PaidSearch => 0.05,
        };
        if rng.chance(if landing.is_some() { signup_rate } else { 0.04 }) {
            let at = clock.advance(rng, 20, 300);
            let user = self.new_user(rng, visitor, at);
            let id = self.users[user].id;
            events.push(event(rng, at, Some(id), Action::Signup, None, visitor, client, None));
            if rng.chance(0.5) {
                self.user_actions(rng, events, user, visitor, &mut clock);
            }
        } else if landing.is_some() {
            self.anonymous.push(visitor);
        }
    }

    fn user_visit(&mut self, rng: &mut Random, events: &mut Vec<SimEvent>, user: usize, start: i64) {
        let visitor = if rng.chance(0.85) {
            self.users[user].devices[0]
        } else if self.users[user].devices.len() > 1 || !rng.chance(0.3) {
            let devices = &self.users[user].devices;
            devices[rng.below(devices.len() as u64) as usize]
        } else {
            // Installs an app on another device.
            let client = [Client::Iphone, Client::Android, Client::Web][rng.below(3) as usize];
            let channel = self.users[user].channel;
            let visitor = self.new_visitor(rng, client, channel, start / MICROS_PER_DAY);
            self.visitors[visitor as usize].user = Some(self.users[user].id);
            self.users[user].devices.push(visitor);
            visitor
        };
        let mut clock = Clock::new(start);
        let (id, client) = (self.users[user].id, self.visitors[visitor as usize].client);
        if rng.chance(0.25) {
            events.push(event(
                rng,
                clock.now(),
                Some(id),
                Action::Login,
                None,
                visitor,
                client,
                None,
            ));
        }
        self.user_actions(rng, events, user, visitor, &mut clock);
    }

    /// Browsing, engagement and perhaps an upload burst, in one sitting.
    fn user_actions(
        &mut self,
        rng: &mut Random,
        events: &mut Vec<SimEvent>,
        user: usize,
        visitor: u32,
        clock: &mut Clock,
    ) {
        let (id, activity) = (self.users[user].id, self.users[user].activity);
        let client = self.visitors[visitor as usize].client;
        let mut actions: Vec<Action> = Vec::new();
        actions.extend(std::iter::repeat_n(Action::PageView, 1 + rng.count(1.5) as usize));
        if !self.photos.is_empty() {
            actions.extend(std::iter::repeat_n(Action::PhotoView, rng.count(4.0) as usize));
            actions.extend(std::iter::repeat_n(
                Action::PhotoLike,
                rng.count(1.0 + 3.0 * activity) as usize,
            ));
            actions.extend(std::iter::repeat_n(Action::PhotoFavourite, rng.count(0.4) as usize));
            actions.extend(std::iter::repeat_n(Action::PhotoComment, rng.count(0.3) as usize));
        }
        if self.users.len() > 1 {
            actions.extend(std::iter::repeat_n(Action::Follow, rng.count(0.2) as usize));
        }
        for i in (1..actions.len()).rev() {
            actions.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for action in actions {
            let at = clock.advance(rng, 3, 90);
            let object = match action {
                Action::Follow => Some(self.random_user_other_than(rng, id)),
                Action::PageView => None,
                _ => Some(self.random_photo(rng)),
            };
            events.push(event(rng, at, Some(id), action, object, visitor, client, None));
        }
        if rng.chance(self.users[user].uploader) {
            let uploads = 1 + rng.count(2.0);
            for i in 0..uploads {
                // Now and then the uploader takes a break long enough to start a new session.
                let at = if i > 0 && rng.chance(0.12) {
                    clock.advance(rng, 31 * 60, 3 * 3600)
                } else {
                    clock.advance(rng, 30, 15 * 60)
                };
                let index = self.new_photo(rng, user, at);
                let photo = self.photos[index].id;
                events.push(event(
                    rng,
                    at,
                    Some(id),
                    Action::PhotoUpload,
                    Some(photo),
                    visitor,
                    client,
                    None,
                ));
            }
        }
        if !self.users[user].photos.is_empty() && rng.chance(0.03) {
            let photos = &self.users[user].photos;
            let photo = photos[rng.below(photos.len() as u64) as usize];
            let at = clock.advance(rng, 10, 120);
            events.push(event(
                rng,
                at,
                Some(id),
                Action::MarketplaceSubmit,
                Some(photo),
                visitor,
                client,
                None,
            ));
        }
    }

    fn new_visitor(&mut self, rng: &mut Random, client: Client, channel: Channel, first_day: i64) -> u32 {
        self.visitors.push(Visitor {
            // 16 hex digits, never fewer: the top nibble is set.
            vid: rng.u64() | (1 << 63),
            ip: (rng.u64() as u32) | 0x0100_0000,
            client,
            channel,
            user: None,
            first_day,
        });
        (self.visitors.len() - 1) as u32
    }

    fn new_user(&mut self, rng: &mut Random, visitor: u32, created: i64) -> usize {
        let id = self.next_user_id;
        self.next_user_id += 1 + rng.below(3);
        let v = &mut self.visitors[visitor as usize];
        v.user = Some(id);
        let (client, channel) = (v.client, v.channel);
        let engaged = rng.unit();
        let pick = |rng: &mut Random, names: &[&'static str]| names[rng.below(names.len() as u64) as usize];
        let first_name = rng.chance(0.8).then(|| pick(rng, &FIRST_NAMES));
        let last_name = rng.chance(0.7).then(|| pick(rng, &LAST_NAMES));
        let country = rng.chance(0.9).then(|| pick(rng, &COUNTRIES));
        self.users.push(User {
            id,
            devices: vec![visitor],
            client,
            channel,
            activity: 0.04 + 0.6 * engaged * engaged,
            uploader: if rng.chance(0.12) { 0.35 } else { 0.015 },
            created,
            photos: Vec::new(),
            first_name,
            last_name,
            country,
            deleted_at: None,
        });
        let index = self.users.len() - 1;
        self.user_index.insert(id, index);
        self.changes.users.insert(index);
        index
    }

    fn new_photo(&mut self, rng: &mut Random, user: usize, created: i64) -> usize {
        let id = self.next_photo_id;
        self.next_photo_id += 1;
        self.photos.push(Photo {
            id,
            user: self.users[user].id,
            created,
            titled: rng.chance(0.7),
            category: rng.below(28) as u8,
            privacy: rng.weighted(&[(0, 0.85), (1, 0.1), (2, 0.05)]),
            for_sale: rng.chance(0.2),
            marketplace_status: None,
            submitted_at: None,
            deleted_at: None,
        });
        self.users[user].photos.push(id);
        let index = self.photos.len() - 1;
        self.changes.photos.insert(index);
        index
    }

    fn random_photo(&self, rng: &mut Random) -> u64 {
        // Recent photos draw more views: half the time pick from the newest tenth.
        let n = self.photos.len() as u64;
        let at = if rng.chance(0.5) {
            n - 1 - rng.below(n.div_ceil(10))
        } else {
            rng.below(n)
        };
        self.photos[at as usize].id
    }

    /// New users buy more: a third of buyers signed up in the last 30 days, when there are such users.
    fn random_buyer(&self, rng: &mut Random, seller: u64, day: i64) -> u64 {
        let since = (day - 30) * MICROS_PER_DAY;
        let signed_up_here = &self.users[self.spec.users as usize..];
        let recent = signed_up_here.len() - signed_up_here.partition_point(|u| u.created < since);
        if recent > 0 && rng.chance(0.35) {
            let user = &signed_up_here[signed_up_here.len() - 1 - rng.below(recent as u64) as usize];
            if user.id != seller {
                return user.id;
            }
        }
        self.random_user_other_than(rng, seller)
    }

    fn random_user_other_than(&self, rng: &mut Random, id: u64) -> u64 {
        loop {
            let other = self.users[rng.below(self.users.len() as u64) as usize].id;
            if other != id {
                return other;
            }
        }
    }
}

/// Moves forward through a sitting.
#[derive(Debug)]
struct Clock(i64);

impl Clock {
    fn new(start: i64) -> Self {
        Self(start)
    }

    fn now(&self) -> i64 {
        self.0
    }

    fn advance(&mut self, rng: &mut Random, min_seconds: i64, max_seconds: i64) -> i64 {
        self.0 += rng.range(min_seconds * MICROS_PER_SECOND, max_seconds * MICROS_PER_SECOND);
        self.0
    }
}

fn time_of_day(rng: &mut Random) -> i64 {
    let total: f64 = HOURS.iter().sum();
    let mut at = rng.unit() * total;
    let mut hour = 23;
    for (h, weight) in HOURS.iter().enumerate() {
        if at < *weight {
            hour = h as i64;
            break;
        }
        at -= weight;
    }
    hour * 3600 * MICROS_PER_SECOND + rng.range(0, 3600 * MICROS_PER_SECOND - 1)
}

#[allow(clippy::too_many_arguments)]
fn event(
    rng: &mut Random,
    time: i64,
    user: Option<u64>,
    action: Action,
    object: Option<u64>,
    visitor: u32,
    client: Client,
    channel: Option<Channel>,
) -> SimEvent {
    // Most lines are written at once; buffered writers hold a fifth for up to three minutes.
    let delay = if rng.chance(0.2) {
        rng.range(MICROS_PER_SECOND, 180 * MICROS_PER_SECOND)
    } else {
        rng.range(0, 300_000)
    };
    SimEvent {
        time,
        written: time + delay,
        user,
        action,
        object,
        visitor,
        client,
        channel,
        server: rng.below(u64::from(SERVERS)) as u8,
    }
}
