//! UTC days as the run counts them (days since 1970-01-01) and as people write them.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::error::PipelineError;

pub fn parse_day(text: &str) -> Result<i32, PipelineError> {
    let bad = || PipelineError::BadDate { value: text.to_owned() };
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(bad)?;
    i32::try_from((date - epoch).num_days()).map_err(|_| bad())
}

pub fn day_text(day: i32) -> String {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(i64::from(day))))
        .map_or_else(|| day.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

pub(crate) fn days_text(days: &BTreeSet<i32>) -> String {
    days.iter().map(|d| day_text(*d)).collect::<Vec<_>>().join(",")
}

pub(crate) fn parse_days_text(text: &str) -> BTreeSet<i32> {
    text.split(',').filter_map(|d| parse_day(d.trim()).ok()).collect()
}
