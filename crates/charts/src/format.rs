//! Numbers and dates as people write them: `12,345`, `$1,204`, `Mar 3, 2026`.

use chrono::NaiveDate;

/// How a chart's numbers read, from the metric's unit where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumberFormat {
    #[default]
    Count,
    /// Money stored in cents, shown in dollars.
    Cents,
    /// A ratio shown with two decimals.
    Ratio,
    /// A share (0.42) shown as a percentage (42.0%).
    Percent,
}

impl NumberFormat {
    /// From a metric's unit in `metrics.toml` (`count`, `users`, `cents`, `ratio`).
    pub fn of_unit(unit: &str) -> Self {
        match unit {
            "cents" => Self::Cents,
            "ratio" => Self::Ratio,
            "percent" => Self::Percent,
            _ => Self::Count,
        }
    }
}

pub fn format_number(value: f64, format: NumberFormat) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    match format {
        NumberFormat::Count if value.fract() == 0.0 || value.abs() >= 100.0 => thousands(value, 0),
        NumberFormat::Count => thousands(value, 2),
        NumberFormat::Cents => {
            let dollars = value / 100.0;
            let sign = if dollars < 0.0 { "-" } else { "" };
            let decimals = if dollars.abs() >= 1000.0 { 0 } else { 2 };
            format!("{sign}${}", thousands(dollars.abs(), decimals))
        }
        NumberFormat::Ratio => thousands(value, 2),
        NumberFormat::Percent => format!("{}%", thousands(value * 100.0, 1)),
    }
}

/// An axis tick: short (`12k`, `1.5M`, `$3k`), as ticks leave little room.
pub fn format_tick(value: f64, format: NumberFormat) -> String {
    let (scaled, prefix) = match format {
        NumberFormat::Cents => (value / 100.0, "$"),
        NumberFormat::Percent => return format!("{}%", trim(value * 100.0)),
        _ => (value, ""),
    };
    let magnitude = scaled.abs();
    let text = if magnitude >= 1e9 {
        format!("{}B", trim(scaled / 1e9))
    } else if magnitude >= 1e6 {
        format!("{}M", trim(scaled / 1e6))
    } else if magnitude >= 1e4 {
        format!("{}k", trim(scaled / 1e3))
    } else {
        trim(scaled)
    };
    format!("{prefix}{text}")
}

fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_owned() } else { text.to_owned() }
}

fn thousands(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3 + 4);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if let Some(fraction) = fraction {
        grouped.push('.');
        grouped.push_str(fraction);
    }
    if value < 0.0 && grouped.chars().any(|c| c.is_ascii_digit() && c != '0') {
        grouped.insert(0, '-');
    }
    grouped
}

/// `Mar 3, 2026`.
pub fn format_date(date: NaiveDate) -> String {
    date.format("%b %-d, %Y").to_string()
}

/// `Mar 3`: an axis tick, where the year is in the title's range.
pub fn format_short_date(date: NaiveDate) -> String {
    date.format("%b %-d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(format_number(1_234_567.0, NumberFormat::Count), "1,234,567");
        assert_eq!(format_number(-1_234.0, NumberFormat::Count), "-1,234");
        assert_eq!(format_number(999.0, NumberFormat::Count), "999");
        assert_eq!(format_number(2.5, NumberFormat::Count), "2.50");
        assert_eq!(format_number(123_456_789.0, NumberFormat::Cents), "$1,234,568");
        assert_eq!(format_number(1999.0, NumberFormat::Cents), "$19.99");
        assert_eq!(format_number(-50.0, NumberFormat::Cents), "-$0.50");
        assert_eq!(format_number(0.4213, NumberFormat::Percent), "42.1%");
        assert_eq!(format_number(1.0 / 3.0, NumberFormat::Ratio), "0.33");
        assert_eq!(format_number(f64::NAN, NumberFormat::Count), "–");
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(format_tick(12_000.0, NumberFormat::Count), "12k");
        assert_eq!(format_tick(1_500_000.0, NumberFormat::Count), "1.5M");
        assert_eq!(format_tick(300_000.0, NumberFormat::Cents), "$3000");
        assert_eq!(format_tick(0.25, NumberFormat::Percent), "25%");
        assert_eq!(format_tick(0.0, NumberFormat::Count), "0");
    }

    #[test]
    fn dates_read_as_people_write_them() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 3).expect("a date");
        assert_eq!(format_date(day), "Mar 3, 2026");
        assert_eq!(format_short_date(day), "Mar 3");
    }
}
