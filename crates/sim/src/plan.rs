//! `plan.csv`: the targets management set, `metric,week_start,value`, a daily
//! average in the metric's unit. The plan starts from the first week's actuals
//! and asks for steady growth, so some weeks beat it and some miss.

use std::collections::BTreeMap;

use crate::calendar::{date, weekday};
use crate::truth::MetricValue;

pub const PLAN_HEADER: &str = "metric,week_start,value";

/// The metrics the company plans for.
const PLANNED: [&str; 9] = [
    "visitors",
    "signups",
    "dau",
    "uploads",
    "paid_subscribers",
    "new_subscriptions",
    "subscription_revenue_cents",
    "photos_sold",
    "marketplace_gross_cents",
];
const WEEKLY_GROWTH: f64 = 1.02;
const BASE_DAYS: u32 = 7;

#[derive(Debug, Default)]
pub struct Plan {
    first_day: Option<i64>,
    base: BTreeMap<&'static str, (f64, u32)>,
}

impl Plan {
    /// Learns from the first week's actuals; later days are ignored.
    pub fn observe(&mut self, day: i64, metrics: &[MetricValue]) {
        let first = *self.first_day.get_or_insert(day);
        if day - first >= i64::from(BASE_DAYS) {
            return;
        }
        for (metric, value) in metrics {
            if let (Some(name), Some(v)) = (PLANNED.iter().find(|p| *p == metric), value) {
                let entry = self.base.entry(name).or_default();
                entry.0 += v;
                entry.1 += 1;
            }
        }
    }

    /// Every week from the one holding `start` to four weeks past `last`.
    pub fn csv(&self, start: i64, last: i64) -> String {
        let mut text = format!("{PLAN_HEADER}\n");
        let first_monday = start - i64::from(weekday(start));
        for (metric, (sum, n)) in &self.base {
            let base = sum / f64::from(*n);
            let mut monday = first_monday;
            let mut week = 0;
            while monday <= last + 28 {
                let value = (base * WEEKLY_GROWTH.powi(week) * 10.0).round() / 10.0;
                text.push_str(&format!("{metric},{},{value}\n", date(monday)));
                monday += 7;
                week += 1;
            }
        }
        text
    }

    pub fn needs(&self, day: i64) -> bool {
        self.first_day.is_none_or(|first| day - first < i64::from(BASE_DAYS))
    }
}
