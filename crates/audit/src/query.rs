//! Reading a check's query answers as plain values.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use chrono::NaiveDate;
use datafusion::prelude::SessionContext;

use crate::error::AuditError;

/// Every row of `sql`, each column as text (NULL as `None`).
pub async fn rows(ctx: &SessionContext, doing: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, AuditError> {
    let failed = |e: datafusion::error::DataFusionError| AuditError::Query {
        doing: doing.to_owned(),
        message: e.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
    };
    let batches = ctx.sql(sql).await.map_err(failed)?.collect().await.map_err(failed)?;
    let mut out = Vec::new();
    for batch in &batches {
        out.extend(text_rows(batch, doing)?);
    }
    Ok(out)
}

fn text_rows(batch: &RecordBatch, doing: &str) -> Result<Vec<Vec<Option<String>>>, AuditError> {
    let columns = batch
        .columns()
        .iter()
        .map(|c| {
            cast(c, &DataType::Utf8).map_err(|e| AuditError::Query {
                doing: doing.to_owned(),
                message: e.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..batch.num_rows())
        .map(|row| {
            columns
                .iter()
                .map(|c| {
                    let text = c.as_string::<i32>();
                    (!text.is_null(row)).then(|| text.value(row).to_owned())
                })
                .collect()
        })
        .collect())
}

pub fn number(text: &Option<String>) -> Option<f64> {
    text.as_deref().and_then(|t| t.parse().ok())
}

pub fn day_date(day: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(i64::from(day))))
        .unwrap_or_default()
}

/// `DATE 'YYYY-MM-DD'`, for a day in SQL.
pub fn date_literal(day: i32) -> String {
    format!("DATE '{}'", day_date(day))
}

pub fn table_exists(ctx: &SessionContext, table: &str) -> bool {
    ctx.table_exist(table).unwrap_or(false)
}

/// The median of `values` (empty: `None`).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

/// A number as people read it: thousands grouped, at most `decimals` places.
pub fn shown(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let (whole, fraction) = text.split_once('.').map_or((text.as_str(), ""), |(w, f)| (w, f));
    let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_numbers_read_as_people_write_them() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(shown(1_234_567.0, 0), "1,234,567");
        assert_eq!(shown(-1234.5, 2), "-1,234.5");
        assert_eq!(shown(0.125, 3), "0.125");
    }
}
