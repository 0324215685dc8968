//! `plan.csv`: what management projected, `metric,week_start,value`, where
//! week_start is a Monday and value a daily average in the metric's unit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Weekday};

use crate::catalog::Catalog;
use crate::error::MetricsError;

pub const PLAN_HEADER: [&str; 3] = ["metric", "week_start", "value"];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub path: Option<PathBuf>,
    /// `(metric, week_start) -> daily average`.
    pub values: BTreeMap<(String, NaiveDate), f64>,
}

impl Plan {
    /// Reads and checks `path` against the catalog; a bad row is reported with its line number.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Self, MetricsError> {
        let text = std::fs::read_to_string(path).map_err(|source| MetricsError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text, catalog)
    }

    pub fn parse(path: &Path, text: &str, catalog: &Catalog) -> Result<Self, MetricsError> {
        let row_error = |line: u64, message: String| MetricsError::PlanRow {
            path: path.to_owned(),
            line,
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| row_error(1, format!("unreadable header: {e}")))?
            .clone();
        if header.iter().collect::<Vec<_>>() != PLAN_HEADER {
            return Err(row_error(
                1,
                format!(
                    "the header is {:?}, expected {}",
                    header.iter().collect::<Vec<_>>(),
                    PLAN_HEADER.join(",")
                ),
            ));
        }
        let mut values = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, csv::Position::line);
                row_error(line, format!("not a CSV row of three fields: {e}"))
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            let (metric, week, value) = (&record[0], &record[1], &record[2]);
            if catalog.metric(metric).is_none() {
                return Err(row_error(
                    line,
                    format!("unknown metric {metric:?}; metrics.toml does not define it"),
                ));
            }
            let week_start = NaiveDate::parse_from_str(week, "%Y-%m-%d")
                .map_err(|_| row_error(line, format!("week_start {week:?} is not a date (YYYY-MM-DD)")))?;
            if week_start.weekday() != Weekday::Mon {
                return Err(row_error(
                    line,
                    format!("week_start {week} is a {}, not a Monday", week_start.format("%A")),
                ));
            }
            let value: f64 = value
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| row_error(line, format!("value {value:?} is not a number")))?;
            if values.insert((metric.to_owned(), week_start), value).is_some() {
                return Err(row_error(
                    line,
                    format!("a second row for {metric} in the week of {week}"),
                ));
            }
        }
        Ok(Self {
            path: Some(path.to_owned()),
            values,
        })
    }

    pub fn value(&self, metric: &str, week_start: NaiveDate) -> Option<f64> {
        self.values.get(&(metric.to_owned(), week_start)).copied()
    }
}
