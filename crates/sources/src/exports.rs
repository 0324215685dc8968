//! The outside exports of metrics.md ("External sources of truth"): Google
//! Analytics' daily rows, the payment providers' transactions and the plan,
//! read from CSV into Arrow. A file that is missing or has the wrong header is
//! an error; a bad row is set aside with its line number and reason, and the
//! good rows are kept.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{Datelike, NaiveDate, NaiveDateTime, Weekday};

use crate::error::SourcesError;

pub const GA_HEADER: [&str; 4] = ["date", "users", "sessions", "pageviews"];
pub const PAYMENTS_HEADER: [&str; 5] = ["provider_txn_id", "type", "amount_cents", "currency", "created_at"];
pub const PLAN_HEADER: [&str; 3] = ["metric", "week_start", "value"];

/// A row of an export that is not loaded, as the quarantine stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// 1-based line of the file (the header is line 1).
    pub line_number: u64,
    /// A short code: `bad_date`, `bad_number`, `bad_currency`, `unknown_type`,
    /// `duplicate_key`, `bad_time`, `field_count`, `not_a_monday`.
    pub reason: &'static str,
    pub raw_line: String,
}

/// An export's good rows and its bad ones.
#[derive(Debug, Clone)]
pub struct ExportRows {
    pub path: PathBuf,
    pub batch: RecordBatch,
    pub rejected: Vec<RejectedRow>,
}

pub fn ga_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("date", DataType::Date32, false),
        Field::new("users", DataType::Int64, false),
        Field::new("sessions", DataType::Int64, false),
        Field::new("pageviews", DataType::Int64, false),
    ]))
}

pub fn payments_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("provider", DataType::Utf8, false),
        Field::new("provider_txn_id", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("amount_cents", DataType::Int64, false),
        Field::new("currency", DataType::Utf8, false),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

pub fn plan_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("metric", DataType::Utf8, false),
        Field::new("week_start", DataType::Date32, false),
        Field::new("value", DataType::Float64, false),
    ]))
}

/// The records of `path` after a header that must be `header`, each with its line number.
fn records(path: &Path, header: &[&str]) -> Result<Vec<(u64, csv::StringRecord)>, SourcesError> {
    let text = std::fs::read_to_string(path).map_err(|source| SourcesError::Export {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let found: Vec<String> = reader
        .headers()
        .map(|h| h.iter().map(str::to_owned).collect())
        .unwrap_or_default();
    if found != header {
        return Err(SourcesError::ExportHeader {
            path: path.to_owned(),
            found: found.join(","),
            expected: header.join(","),
        });
    }
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index as u64 + 2;
        // A row the CSV reader cannot read at all (bad quoting, not UTF-8) is
        // kept as an empty record: it fails the field count and is quarantined.
        let record = record.unwrap_or_default();
        let line = record.position().map_or(line, csv::Position::line);
        rows.push((line, record));
    }
    Ok(rows)
}

fn raw(record: &csv::StringRecord) -> String {
    record.iter().collect::<Vec<_>>().join(",")
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn days_since_epoch(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - 719_163
}

/// Google Analytics' daily export: one row per date, counts of web and mobile_web visitors.
pub fn read_ga(path: &Path) -> Result<ExportRows, SourcesError> {
    let mut rejected = Vec::new();
    let mut seen = HashSet::new();
    let (mut dates, mut users, mut sessions, mut views) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (line, record) in records(path, &GA_HEADER)? {
        let reject = |reason| RejectedRow {
            line_number: line,
            reason,
            raw_line: raw(&record),
        };
        if record.len() != GA_HEADER.len() {
            rejected.push(reject("field_count"));
            continue;
        }
        let Some(date) = parse_date(&record[0]) else {
            rejected.push(reject("bad_date"));
            continue;
        };
        let counts: Option<Vec<i64>> = (1..4)
            .map(|i| record[i].parse::<i64>().ok().filter(|n| *n >= 0))
            .collect();
        let Some(counts) = counts else {
            rejected.push(reject("bad_number"));
            continue;
        };
        if !seen.insert(date) {
            rejected.push(reject("duplicate_key"));
            continue;
        }
        dates.push(days_since_epoch(date));
        users.push(counts[0]);
        sessions.push(counts[1]);
        views.push(counts[2]);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from(dates)),
        Arc::new(Int64Array::from(users)),
        Arc::new(Int64Array::from(sessions)),
        Arc::new(Int64Array::from(views)),
    ];
    finish(path, ga_schema(), columns, rejected)
}

/// A payment provider's export: charges and refunds, each (txn id, type) once.
pub fn read_payments(path: &Path, provider: &str) -> Result<ExportRows, SourcesError> {
    let mut rejected = Vec::new();
    let mut seen = HashSet::new();
    let (mut ids, mut types, mut amounts, mut currencies, mut times) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (line, record) in records(path, &PAYMENTS_HEADER)? {
        let reject = |reason| RejectedRow {
            line_number: line,
            reason,
            raw_line: raw(&record),
        };
        if record.len() != PAYMENTS_HEADER.len() || record[0].is_empty() {
            rejected.push(reject("field_count"));
            continue;
        }
        let kind = &record[1];
        if kind != "charge" && kind != "refund" {
            rejected.push(reject("unknown_type"));
            continue;
        }
        let Some(amount) = record[2].parse::<i64>().ok().filter(|a| *a >= 0) else {
            rejected.push(reject("bad_number"));
            continue;
        };
        let currency = &record[3];
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            rejected.push(reject("bad_currency"));
            continue;
        }
        let Ok(time) = NaiveDateTime::parse_from_str(&record[4], "%Y-%m-%d %H:%M:%S") else {
            rejected.push(reject("bad_time"));
            continue;
        };
        if !seen.insert((record[0].to_owned(), kind.to_owned())) {
            rejected.push(reject("duplicate_key"));
            continue;
        }
        ids.push(record[0].to_owned());
        types.push(kind.to_owned());
        amounts.push(amount);
        currencies.push(currency.to_owned());
        times.push(time.and_utc().timestamp_micros());
    }
    let rows = ids.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![provider; rows])),
        Arc::new(StringArray::from(ids)),
        Arc::new(StringArray::from(types)),
        Arc::new(Int64Array::from(amounts)),
        Arc::new(StringArray::from(currencies)),
        Arc::new(TimestampMicrosecondArray::from(times).with_timezone("UTC")),
    ];
    finish(path, payments_schema(), columns, rejected)
}

/// The plan: a metric's projected daily average for the week starting on a Monday.
pub fn read_plan(path: &Path) -> Result<ExportRows, SourcesError> {
    let mut rejected = Vec::new();
    let mut seen = HashSet::new();
    let (mut metrics, mut weeks, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (line, record) in records(path, &PLAN_HEADER)? {
        let reject = |reason| RejectedRow {
            line_number: line,
            reason,
            raw_line: raw(&record),
        };
        if record.len() != PLAN_HEADER.len() || record[0].is_empty() {
            rejected.push(reject("field_count"));
            continue;
        }
        let Some(week) = parse_date(&record[1]) else {
            rejected.push(reject("bad_date"));
            continue;
        };
        if week.weekday() != Weekday::Mon {
            rejected.push(reject("not_a_monday"));
            continue;
        }
        let Some(value) = record[2].parse::<f64>().ok().filter(|v| v.is_finite()) else {
            rejected.push(reject("bad_number"));
            continue;
        };
        if !seen.insert((record[0].to_owned(), week)) {
            rejected.push(reject("duplicate_key"));
            continue;
        }
        metrics.push(record[0].to_owned());
        weeks.push(days_since_epoch(week));
        values.push(value);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(metrics)),
        Arc::new(Date32Array::from(weeks)),
        Arc::new(Float64Array::from(values)),
    ];
    finish(path, plan_schema(), columns, rejected)
}

fn finish(
    path: &Path,
    schema: SchemaRef,
    columns: Vec<ArrayRef>,
    rejected: Vec<RejectedRow>,
) -> Result<ExportRows, SourcesError> {
    let batch = RecordBatch::try_new(schema, columns).map_err(|e| SourcesError::ExportBatch {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    Ok(ExportRows {
        path: path.to_owned(),
        batch,
        rejected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("export.csv");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    #[test]
    fn bad_payment_rows_are_set_aside_with_line_and_reason_and_good_ones_kept() {
        let (_dir, path) = file(
            "provider_txn_id,type,amount_cents,currency,created_at\n\
             ch_1,charge,999,USD,2015-01-05 10:00:00\n\
             ch_1,refund,999,USD,2015-01-06 10:00:00\n\
             ch_2,chargeback,999,USD,2015-01-05 10:00:00\n\
             ch_3,charge,9.99,USD,2015-01-05 10:00:00\n\
             ch_4,charge,999,usd,2015-01-05 10:00:00\n\
             ch_5,charge,999,USD,2015-02-30 10:00:00\n\
             ch_1,charge,999,USD,2015-01-05 10:00:00\n\
             ch_6,charge\n",
        );
        let rows = read_payments(&path, "stripe").expect("read");
        assert_eq!(rows.batch.num_rows(), 2);
        let reasons: Vec<(u64, &str)> = rows.rejected.iter().map(|r| (r.line_number, r.reason)).collect();
        assert_eq!(
            reasons,
            vec![
                (4, "unknown_type"),
                (5, "bad_number"),
                (6, "bad_currency"),
                (7, "bad_time"),
                (8, "duplicate_key"),
                (9, "field_count")
            ]
        );
        assert_eq!(rows.rejected[0].raw_line, "ch_2,chargeback,999,USD,2015-01-05 10:00:00");
    }

    #[test]
    fn a_missing_export_or_a_wrong_header_is_an_error_naming_the_file() {
        let missing = read_ga(Path::new("/no/such/ga_daily.csv")).expect_err("missing");
        assert!(missing.to_string().contains("/no/such/ga_daily.csv"), "{missing}");
        let (_dir, path) = file("day,users\n2015-01-05,3\n");
        let header = read_ga(&path).expect_err("wrong header");
        assert!(header.to_string().contains("date,users,sessions,pageviews"), "{header}");
    }

    #[test]
    fn plan_weeks_start_on_a_monday_and_ga_dates_come_once() {
        let (_dir, plan) = file("metric,week_start,value\ndau,2015-01-05,10\ndau,2015-01-06,10\nx,2015-01-05,abc\n");
        let rows = read_plan(&plan).expect("plan");
        assert_eq!(rows.batch.num_rows(), 1);
        assert_eq!(
            rows.rejected.iter().map(|r| r.reason).collect::<Vec<_>>(),
            ["not_a_monday", "bad_number"]
        );
        let (_dir, ga) = file("date,users,sessions,pageviews\n2015-01-05,3,4,5\n2015-01-05,3,4,5\n2015-01-06,-1,4,5\n");
        let rows = read_ga(&ga).expect("ga");
        assert_eq!(rows.batch.num_rows(), 1);
        assert_eq!(
            rows.rejected.iter().map(|r| r.reason).collect::<Vec<_>>(),
            ["duplicate_key", "bad_number"]
        );
    }
}
