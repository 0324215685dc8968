//! Days as integers (days since 1970-01-01, UTC) and their calendar names.

use chrono::{Datelike, NaiveDate};

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_HOUR: i64 = 3600 * MICROS_PER_SECOND;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

pub fn date(day: i64) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day as i32 + 719_163).unwrap_or_default()
}

pub fn day_of(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - 719_163
}

pub fn day_of_time(micros: i64) -> i64 {
    micros.div_euclid(MICROS_PER_DAY)
}

/// 0 = Monday .. 6 = Sunday.
pub fn weekday(day: i64) -> u32 {
    date(day).weekday().num_days_from_monday()
}

pub fn parse_date(text: &str) -> Option<i64> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == text)
        .map(day_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_round_trips() {
        assert_eq!(date(0).to_string(), "1970-01-01");
        assert_eq!(parse_date("2015-02-10"), Some(16_476));
        assert_eq!(weekday(16_476), 1, "2015-02-10 was a Tuesday");
        assert_eq!(parse_date("2015-02-30"), None);
        assert_eq!(parse_date("2015-2-1"), None);
    }
}
