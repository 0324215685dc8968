//! Money: subscriptions and their payments, and the stock marketplace.
//!
//! Every change here happens at a time inside its own day, never in a sitting
//! that runs past midnight: the subscriber state at the end of `simulate_day(d)`
//! is exactly what the nightly snapshot of day d sees.

use crate::calendar::{MICROS_PER_DAY, MICROS_PER_SECOND};
use crate::random::Random;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Plus,
    Awesome,
}

impl Plan {
    pub fn name(self) -> &'static str {
        match self {
            Plan::Plus => "plus",
            Plan::Awesome => "awesome",
        }
    }

    pub fn price_cents(self, period_months: u8) -> i64 {
        match (self, period_months) {
            (Plan::Plus, 12) => 4_999,
            (Plan::Plus, _) => 499,
            (Plan::Awesome, 12) => 9_999,
            (Plan::Awesome, _) => 999,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Stripe,
    Paypal,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
            Provider::Paypal => "paypal",
        }
    }

    fn pick(rng: &mut Random) -> Self {
        if rng.chance(0.72) {
            Provider::Stripe
        } else {
            Provider::Paypal
        }
    }

    /// Transaction ids look like the providers' own.
    fn txn_id(self, rng: &mut Random) -> String {
        match self {
            Provider::Stripe => format!("ch_{:016x}{:08x}", rng.u64(), rng.u64() as u32),
            Provider::Paypal => format!("PAY-{:017X}", rng.u64() >> 4),
        }
    }
}

/// `subscriptions`: one row per user who ever subscribed, current state only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub user: u64,
    pub plan: Plan,
    pub period_months: u8,
    pub is_active: bool,
    pub auto_renew: bool,
    pub expires_at: i64,
    pub comped: bool,
    pub updated_at: i64,
}

/// `subscription_payments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: u64,
    pub user: u64,
    pub plan: Plan,
    pub period_months: u8,
    pub amount_cents: i64,
    pub provider: Provider,
    pub txn_id: String,
    pub auto_renewal: bool,
    pub paid_at: i64,
    pub refunded_at: Option<i64>,
}

/// `stock_purchases`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockPurchase {
    pub id: u64,
    pub photo: u64,
    pub seller: u64,
    pub buyer: Option<u64>,
    pub extended_license: bool,
    pub price_cents: i64,
    pub payout_cents: i64,
    pub provider: Provider,
    pub txn_id: String,
    pub purchased_at: i64,
}

/// Adds whole months by the 30-day approximation billing systems often use.
pub fn after_months(time: i64, months: u8) -> i64 {
    time + i64::from(months) * 30 * MICROS_PER_DAY
}

/// A time inside `day`, never past its end.
pub fn time_in_day(rng: &mut Random, day: i64) -> i64 {
    day * MICROS_PER_DAY + rng.range(0, MICROS_PER_DAY - MICROS_PER_SECOND)
}

impl Payment {
    pub fn new(rng: &mut Random, id: u64, subscription: &Subscription, paid_at: i64, auto_renewal: bool) -> Self {
        let provider = Provider::pick(rng);
        Self {
            id,
            user: subscription.user,
            plan: subscription.plan,
            period_months: subscription.period_months,
            amount_cents: subscription.plan.price_cents(subscription.period_months),
            provider,
            txn_id: provider.txn_id(rng),
            auto_renewal,
            paid_at,
            refunded_at: None,
        }
    }
}

impl StockPurchase {
    pub fn new(rng: &mut Random, id: u64, photo: u64, seller: u64, buyer: Option<u64>, purchased_at: i64) -> Self {
        let extended_license = rng.chance(0.12);
        let price_cents = if extended_license {
            7_500 + 500 * rng.range(0, 10)
        } else {
            1_000 + 250 * rng.range(0, 12)
        };
        let provider = Provider::pick(rng);
        Self {
            id,
            photo,
            seller,
            buyer,
            extended_license,
            price_cents,
            // Sellers keep 60 to 70 percent.
            payout_cents: price_cents * rng.range(60, 70) / 100,
            provider,
            txn_id: provider.txn_id(rng),
            purchased_at,
        }
    }
}
