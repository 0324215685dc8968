//! `anomaly`: a metric's value on a day against the same weekday of the weeks
//! before. Robust z = (x - median) / (1.4826 * MAD); beyond the threshold it
//! warns. Each day is read as a share of the level of its week before (the
//! median of those seven days), so that a site that grows is not an anomaly
//! every week. The spread has a floor: counts vary by about the square root of
//! their size (Poisson) however alike their history happens to be, and any
//! metric by a few percent, so a quiet history does not turn every change into
//! an alarm; counts under `min_level` are too few to judge.

use std::collections::{BTreeMap, HashMap};

use datafusion::prelude::SessionContext;

use crate::error::AuditError;
use crate::finding::{Finding, Status};
use crate::query::{date_literal, day_date, median, number, rows, shown};
use crate::settings::Anomaly;

pub const CHECK: &str = "anomaly";

/// How a metric's noise is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricScale {
    /// A count of things or people: its noise is at least its square root.
    Count,
    /// Money or a ratio: its noise is at least a share of its size.
    Continuous,
}

pub async fn run(
    ctx: &SessionContext,
    day: i32,
    settings: &Anomaly,
    scales: &HashMap<String, MetricScale>,
) -> Result<Vec<Finding>, AuditError> {
    let weeks = i32::try_from(settings.weeks).unwrap_or(8);
    // Each judged day needs the week before it for its level.
    let first = day - 7 * weeks - 7;
    let sql = format!(
        "SELECT metric, CAST(date AS INT), value FROM daily_metrics
         WHERE date BETWEEN {} AND {} AND value IS NOT NULL",
        date_literal(first),
        date_literal(day)
    );
    let mut by_metric: BTreeMap<String, BTreeMap<i32, f64>> = BTreeMap::new();
    for row in rows(ctx, "reading daily_metrics", &sql).await? {
        let (Some(metric), Some(d), Some(value)) = (row[0].clone(), number(&row[1]), number(&row[2])) else {
            continue;
        };
        by_metric.entry(metric).or_default().insert(d as i32, value);
    }
    Ok(by_metric
        .into_iter()
        .filter(|(_, series)| series.contains_key(&day))
        .map(|(metric, series)| {
            let scale = scales.get(&metric).copied().unwrap_or(MetricScale::Continuous);
            judge(day, &metric, &series, scale, settings)
        })
        .collect())
}

/// The median of the seven days before `day`: the level the day is read against.
fn level(series: &BTreeMap<i32, f64>, day: i32) -> Option<f64> {
    let week: Vec<f64> = (day - 7..day).filter_map(|d| series.get(&d).copied()).collect();
    (week.len() == 7).then(|| median(&week)).flatten().filter(|l| *l > 0.0)
}

/// The day's value relative to its level: a growing site keeps its weekday
/// shape while its numbers climb, so same weekdays are compared as shares of
/// their week, not as raw values. Money is compared on a log scale: a day of a
/// few large sales is as ordinary as a day of none.
fn relative(value: f64, level: f64, scale: MetricScale) -> f64 {
    match scale {
        MetricScale::Count => value / level,
        MetricScale::Continuous => (value.max(0.0) / level + 0.01).ln(),
    }
}

pub fn judge(day: i32, metric: &str, series: &BTreeMap<i32, f64>, scale: MetricScale, settings: &Anomaly) -> Finding {
    let weekday = day_date(day).format("%A").to_string();
    let value = series.get(&day).copied().unwrap_or(0.0);
    let finding = Finding::new(day, CHECK, metric, Status::Pass).observed(shown(value, 3));
    let not_judged = |why: String| {
        finding
            .clone()
            .expected("a history to judge by")
            .detail(format!("not judged: {why}"))
    };
    let Some(today_level) = level(series, day) else {
        return not_judged("no full week before the day, or a week of zeros".into());
    };
    if scale == MetricScale::Count && today_level < settings.min_level {
        return not_judged(format!(
            "its level ({}) is under min_level = {}: too few events to tell a change from chance",
            shown(today_level, 1),
            settings.min_level
        ));
    }
    let weeks = i32::try_from(settings.weeks).unwrap_or(8);
    if scale == MetricScale::Continuous {
        let first = day - 7 * weeks - 7;
        let zero_days = series.range(first..=day).filter(|(_, v)| **v == 0.0).count();
        if zero_days > 0 {
            return not_judged(format!(
                "{zero_days} day(s) at zero in its history: too sparse to tell a change from chance"
            ));
        }
    }
    let history: Vec<(i32, f64)> = (1..=weeks)
        .map(|w| day - 7 * w)
        .filter_map(|d| Some((d, relative(*series.get(&d)?, level(series, d)?, scale))))
        .collect();
    if history.len() < settings.min_weeks as usize {
        return not_judged(format!(
            "{} earlier {weekday}(s) with a full week before them, fewer than min_weeks = {}",
            history.len(),
            settings.min_weeks
        ));
    }
    let x = relative(value, today_level, scale);
    let values: Vec<f64> = history.iter().map(|(_, v)| *v).collect();
    let center = median(&values).unwrap_or(x);
    let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    let mad = median(&deviations).unwrap_or(0.0);
    let floor = match scale {
        // A count's noise is at least its square root (Poisson), as a share of its level.
        MetricScale::Count => (settings.min_spread_percent / 100.0 * center).max(center / today_level.sqrt()),
        MetricScale::Continuous => settings.min_spread_percent_money_and_ratios / 100.0,
    };
    let spread = (1.4826 * mad).max(floor);
    let z = (x - center) / spread;
    let status = if z.abs() > settings.max_robust_z {
        Status::Warn
    } else {
        Status::Pass
    };
    let usual = match scale {
        MetricScale::Count => center * today_level,
        MetricScale::Continuous => (center.exp() - 0.01) * today_level,
    };
    let dates: Vec<String> = history
        .iter()
        .map(|(d, _)| day_date(*d).format("%m-%d").to_string())
        .collect();
    finding
        .status(status)
        .expected(format!(
            "about {} (robust z within {})",
            shown(usual.max(0.0), 1),
            settings.max_robust_z
        ))
        .detail(format!(
            "robust z {z:+.1}: the day against its week's level ({}), beside {} earlier {weekday}s ({}) against theirs{}",
            shown(today_level, 1),
            history.len(),
            dates.join(", "),
            if status == Status::Warn {
                if z < 0.0 {
                    "; a drop like this is lost events (a release that stopped logging an action?) or a real change"
                } else {
                    "; a jump like this is double counting or a real change (a campaign, a bot)"
                }
            } else {
                ""
            }
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A growing site whose weekdays keep their shape: Mondays at 1,000 and
    /// the rest at 1,100 in the first week, every day 5% more each week.
    fn growing(weeks: i32) -> BTreeMap<i32, f64> {
        (0..weeks * 7)
            .map(|d| {
                let base = if d % 7 == 0 { 1000.0 } else { 1100.0 };
                (d, (base * 1.05f64.powi(d / 7)).round() + f64::from(d % 3))
            })
            .collect()
    }

    #[test]
    fn growth_is_no_anomaly_and_a_drop_of_two_fifths_is() {
        let settings = Anomaly::default();
        let series = growing(10);
        let day = 9 * 7;
        let ordinary = judge(day, "likes", &series, MetricScale::Count, &settings);
        assert_eq!(ordinary.status, Status::Pass, "{ordinary:?}");
        let mut dropped = series.clone();
        dropped.insert(day, series[&day] * 0.6);
        let finding = judge(day, "likes", &dropped, MetricScale::Count, &settings);
        assert_eq!(finding.status, Status::Warn, "{finding:?}");
        assert!(finding.detail.contains("robust z -"), "{finding:?}");
    }

    #[test]
    fn a_quiet_count_is_not_judged_and_a_short_history_says_so() {
        let settings = Anomaly::default();
        let quiet: BTreeMap<i32, f64> = (0..70).map(|d| (d, f64::from(4 + d % 3))).collect();
        let finding = judge(63, "photos_sold", &quiet, MetricScale::Count, &settings);
        assert!(finding.detail.contains("min_level"), "{finding:?}");
        let short = judge(20, "likes", &growing(3), MetricScale::Count, &settings);
        assert!(short.detail.starts_with("not judged"), "{short:?}");
    }
}
