//! `plan.csv`: the targets management set, `metric,week_start,value`, a daily
//! average in the metric's unit. Each week's target is the trend of the (up
//! to) four weeks before it, carried one week forward (a least-squares line
//! through their daily averages, so a ramp-up is followed and one odd week
//! does not swing the next target): a plan set from what the company last
//! saw, so it tracks the world, and some weeks beat it and some miss. A week
//! is planned once the week before it is complete, and its target never changes
//! after; before there is a complete week, the first days' average stands in.

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
/// Growth asked for when there is no earlier week to learn it from.
const WEEKLY_GROWTH: f64 = 1.02;
/// Complete weeks a target's trend is drawn through.
const TREND_WEEKS: i64 = 4;
/// Days of the first-days average that stands in before a complete week exists.
const BASE_DAYS: usize = 7;

#[derive(Debug, Default)]
pub struct Plan {
    /// Each planned metric's actual value by day.
    actuals: BTreeMap<&'static str, BTreeMap<i64, f64>>,
}

impl Plan {
    /// Takes in a day's actuals (again, idempotently, when a day is replayed).
    pub fn observe(&mut self, day: i64, metrics: &[MetricValue]) {
        for (metric, value) in metrics {
            if let (Some(name), Some(v)) = (PLANNED.iter().find(|p| *p == metric), value) {
                self.actuals.entry(name).or_default().insert(day, *v);
            }
        }
    }

    /// Every week from the one holding `start` to the one holding `last`.
    pub fn csv(&self, start: i64, last: i64) -> String {
        let mut text = format!("{PLAN_HEADER}\n");
        let first_monday = start - i64::from(weekday(start));
        let last_monday = last - i64::from(weekday(last));
        for (metric, days) in &self.actuals {
            let first_days: Vec<f64> = days.values().take(BASE_DAYS).copied().collect();
            if first_days.is_empty() {
                continue;
            }
            let stand_in = first_days.iter().sum::<f64>() / first_days.len() as f64;
            let week_average = |monday: i64| -> Option<f64> {
                let values: Vec<f64> = (monday..monday + 7).filter_map(|d| days.get(&d).copied()).collect();
                (values.len() == 7).then(|| values.iter().sum::<f64>() / 7.0)
            };
            let mut monday = first_monday;
            let mut week = 0;
            while monday <= last_monday {
                let history: Vec<f64> = (1..=TREND_WEEKS)
                    .rev()
                    .filter_map(|back| week_average(monday - 7 * back))
                    .collect();
                let value = match history.as_slice() {
                    [] => stand_in * WEEKLY_GROWTH.powi(week),
                    [only] => only * WEEKLY_GROWTH,
                    several => next_on_trend(several),
                };
                let value = (value * 10.0).round() / 10.0;
                text.push_str(&format!("{metric},{},{value}\n", date(monday)));
                monday += 7;
                week += 1;
            }
        }
        text
    }
}

/// The next value on the least-squares line through `values` (two or more,
/// one per week), at least three quarters of their mean and at most one and
/// a half times the larger of the last and the mean: a plan neither asks
/// for a collapse nor runs away on one odd week.
fn next_on_trend(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = values.iter().sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (x, y) in values.iter().enumerate() {
        let dx = x as f64 - mean_x;
        covariance += dx * (y - mean_y);
        variance += dx * dx;
    }
    let slope = if variance > 0.0 { covariance / variance } else { 0.0 };
    let last = values[values.len() - 1];
    (mean_y + slope * (n - mean_x)).clamp(mean_y * 0.75, last.max(mean_y) * 1.5)
}
