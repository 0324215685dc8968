//! Daily metrics: every metric of the catalog computed for a set of days, and
//! the restatements a recomputation makes of values already published.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use darkroom_warehouse::EngineFailure;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};

use crate::catalog::{Catalog, METRIC_DAYS, Metric};
use crate::error::MetricsError;

pub const DAILY_METRICS: &str = "daily_metrics";
pub const DAILY_METRICS_BY_CLIENT: &str = "daily_metrics_by_client";
pub const METRIC_RESTATEMENTS: &str = "metric_restatements";

/// Metrics whose queries run at the same time.
const METRICS_AT_ONCE: usize = 4;

/// A value of one metric on one day (days since 1970-01-01).
pub type DayValues = BTreeMap<(i32, String), Option<f64>>;

/// What one computation produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DailyMetrics {
    pub totals: DayValues,
    /// `(day, metric, client) -> value`.
    pub by_client: BTreeMap<(i32, String, String), Option<f64>>,
}

/// Every metric of `catalog` on `days`. SQL metrics read `metric_days`, which this registers in `ctx`.
pub async fn compute(ctx: &SessionContext, catalog: &Catalog, days: &[i32]) -> Result<DailyMetrics, MetricsError> {
    register_metric_days(ctx, days)?;
    let texts: Vec<String> = days.iter().map(|d| day_text(*d)).collect();
    // Each metric is a few small queries whose time is mostly planning and
    // opening Delta files: several at once keep both cores busy. `buffered`
    // keeps catalog order, so the first failing metric is the one reported.
    let pending: Vec<_> = catalog
        .metrics
        .iter()
        .map(|metric| answer(ctx, metric, &texts))
        .collect();
    let answers: Vec<Answer<'_>> = futures::stream::iter(pending)
        .buffered(METRICS_AT_ONCE)
        .try_collect()
        .await?;
    let mut result = DailyMetrics::default();
    for Answer {
        metric,
        totals,
        by_client,
    } in answers
    {
        let mut found: BTreeMap<i32, Option<f64>> = BTreeMap::new();
        for batch in totals {
            let (dates, values) = (date_column(metric, &batch, 0)?, value_column(metric, &batch, 1)?);
            for row in 0..batch.num_rows() {
                found.insert(dates.value(row), (!values.is_null(row)).then(|| values.value(row)));
            }
        }
        for day in days {
            let value = found.get(day).copied().unwrap_or_else(|| metric.unit.empty_day());
            result.totals.insert((*day, metric.name.clone()), value);
        }
        if let Some(batches) = by_client {
            for batch in batches {
                let dates = date_column(metric, &batch, 0)?;
                let clients =
                    arrow::compute::cast(batch.column(1), &DataType::Utf8).map_err(|e| sql_failed(metric, e))?;
                let clients = clients
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(|| shape_error(metric, "its client column is not text"))?;
                let values = value_column(metric, &batch, 2)?;
                for row in 0..batch.num_rows() {
                    if days.contains(&dates.value(row)) {
                        let value = (!values.is_null(row)).then(|| values.value(row));
                        result.by_client.insert(
                            (dates.value(row), metric.name.clone(), clients.value(row).to_owned()),
                            value,
                        );
                    }
                }
            }
        }
    }
    Ok(result)
}

/// One metric's query results: the totals, and the by-client rows where it has a breakdown.
struct Answer<'a> {
    metric: &'a Metric,
    totals: Vec<RecordBatch>,
    by_client: Option<Vec<RecordBatch>>,
}

async fn answer<'a>(ctx: &SessionContext, metric: &'a Metric, days: &[String]) -> Result<Answer<'a>, MetricsError> {
    let totals = run(ctx, metric, &metric.total_sql(days)).await?;
    let by_client = match metric.by_client_sql(days) {
        Some(sql) => Some(run(ctx, metric, &sql).await?),
        None => None,
    };
    Ok(Answer {
        metric,
        totals,
        by_client,
    })
}

async fn run(ctx: &SessionContext, metric: &Metric, sql: &str) -> Result<Vec<RecordBatch>, MetricsError> {
    let frame = ctx.sql(sql).await.map_err(|e| engine_failed(metric, &e))?;
    if frame.schema().fields().len() < 2 {
        return Err(shape_error(metric, "it must return the columns date and value"));
    }
    frame.collect().await.map_err(|e| engine_failed(metric, &e))
}

/// The metric's SQL failed in the engine; whether running it alone can mend
/// that is decided here, while the error still has its type.
fn engine_failed(metric: &Metric, error: &datafusion::error::DataFusionError) -> MetricsError {
    metric_sql(metric, error, EngineFailure::find(error))
}

fn date_column(metric: &Metric, batch: &RecordBatch, index: usize) -> Result<Date32Array, MetricsError> {
    let dates = arrow::compute::cast(batch.column(index), &DataType::Date32).map_err(|e| sql_failed(metric, e))?;
    dates
        .as_any()
        .downcast_ref::<Date32Array>()
        .cloned()
        .ok_or_else(|| shape_error(metric, "its first column must be the date"))
}

fn value_column(metric: &Metric, batch: &RecordBatch, index: usize) -> Result<Float64Array, MetricsError> {
    let column = batch
        .columns()
        .get(index)
        .ok_or_else(|| shape_error(metric, "it has no value column"))?;
    let values = arrow::compute::cast(column, &DataType::Float64).map_err(|e| sql_failed(metric, e))?;
    values
        .as_any()
        .downcast_ref::<Float64Array>()
        .cloned()
        .ok_or_else(|| shape_error(metric, "its value column is not a number"))
}

fn sql_failed(metric: &Metric, error: impl std::fmt::Display) -> MetricsError {
    metric_sql(metric, error, None)
}

fn shape_error(metric: &Metric, message: &str) -> MetricsError {
    metric_sql(metric, message, None)
}

/// The metric's SQL failed with `error`, on one line.
fn metric_sql(metric: &Metric, error: impl std::fmt::Display, failure: Option<EngineFailure>) -> MetricsError {
    MetricsError::MetricSql {
        metric: metric.name.clone(),
        message: error.to_string().split_whitespace().collect::<Vec<_>>().join(" "),
        failure,
    }
}

fn register_metric_days(ctx: &SessionContext, days: &[i32]) -> Result<(), MetricsError> {
    let schema = Arc::new(Schema::new(vec![Field::new("day", DataType::Date32, false)]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(Date32Array::from_iter_values(days.iter().copied()))],
    )
    .map_err(|e| query_error("listing the days to compute", e))?;
    let table = MemTable::try_new(schema, vec![vec![batch]]).map_err(|e| query_error("listing the days", e))?;
    let _ = ctx.deregister_table(METRIC_DAYS);
    ctx.register_table(METRIC_DAYS, Arc::new(table))
        .map_err(|e| query_error("listing the days", e))?;
    Ok(())
}

fn query_error(doing: &str, error: impl std::fmt::Display) -> MetricsError {
    MetricsError::Query {
        doing: doing.to_owned(),
        message: error.to_string(),
    }
}

/// `YYYY-MM-DD` of a day number.
pub fn day_text(day: i32) -> String {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(i64::from(day))))
        .map_or_else(|| day.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

pub fn daily_metrics_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("date", DataType::Date32, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
    ]))
}

pub fn by_client_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("date", DataType::Date32, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("client", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
    ]))
}

pub fn restatements_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("date", DataType::Date32, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("old_value", DataType::Float64, true),
        Field::new("new_value", DataType::Float64, true),
        Field::new("run_id", DataType::Int64, false),
        Field::new(
            "restated_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

impl DailyMetrics {
    pub fn totals_batch(&self) -> Result<RecordBatch, MetricsError> {
        let dates = Date32Array::from_iter_values(self.totals.keys().map(|(d, _)| *d));
        let metrics = StringArray::from_iter_values(self.totals.keys().map(|(_, m)| m.as_str()));
        let values: Float64Array = self.totals.values().copied().collect();
        RecordBatch::try_new(
            daily_metrics_schema(),
            vec![Arc::new(dates), Arc::new(metrics), Arc::new(values)],
        )
        .map_err(|e| query_error("building daily_metrics", e))
    }

    pub fn by_client_batch(&self) -> Result<RecordBatch, MetricsError> {
        let keys = self.by_client.keys();
        let dates = Date32Array::from_iter_values(keys.clone().map(|(d, _, _)| *d));
        let metrics = StringArray::from_iter_values(keys.clone().map(|(_, m, _)| m.as_str()));
        let clients = StringArray::from_iter_values(keys.map(|(_, _, c)| c.as_str()));
        let values: Float64Array = self.by_client.values().copied().collect();
        RecordBatch::try_new(
            by_client_schema(),
            vec![Arc::new(dates), Arc::new(metrics), Arc::new(clients), Arc::new(values)],
        )
        .map_err(|e| query_error("building daily_metrics_by_client", e))
    }
}

/// A published value that a recomputation changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Restatement {
    pub day: i32,
    pub metric: String,
    pub old_value: Option<f64>,
    pub new_value: Option<f64>,
}

/// The values of `new` that differ from what `published` holds for the same day and metric.
/// A value never published before is not a restatement.
pub fn restatements(published: &DayValues, new: &DayValues) -> Vec<Restatement> {
    new.iter()
        .filter_map(|(key, new_value)| {
            let old_value = published.get(key)?;
            (!same_value(*old_value, *new_value)).then(|| Restatement {
                day: key.0,
                metric: key.1.clone(),
                old_value: *old_value,
                new_value: *new_value,
            })
        })
        .collect()
}

/// The last recorded restatement of each (day, metric): (old, new).
pub type RestatedValues = BTreeMap<(i32, String), (Option<f64>, Option<f64>)>;

/// `restated` less those whose (day, metric) last recorded exactly this change:
/// a run that recorded them died before the new values were published.
pub fn not_yet_recorded(restated: Vec<Restatement>, recorded: &RestatedValues) -> Vec<Restatement> {
    restated
        .into_iter()
        .filter(|r| {
            recorded
                .get(&(r.day, r.metric.clone()))
                .is_none_or(|(old, new)| !same_value(*old, r.old_value) || !same_value(*new, r.new_value))
        })
        .collect()
}

/// Bitwise equality: a restatement is any change of the stored bits.
fn same_value(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.to_bits() == b.to_bits(),
        (None, None) => true,
        _ => false,
    }
}

/// Reads `date, metric, old_value, new_value` rows.
pub fn restated_values_of(batches: &[RecordBatch]) -> Result<RestatedValues, MetricsError> {
    let mut values = RestatedValues::new();
    for batch in batches {
        let bad = || query_error("reading the recorded restatements", "unexpected column types");
        let dates = batch.column(0).as_any().downcast_ref::<Date32Array>().ok_or_else(bad)?;
        let metrics = arrow::compute::cast(batch.column(1), &DataType::Utf8)
            .map_err(|e| query_error("reading the recorded restatements", e))?;
        let metrics = metrics.as_any().downcast_ref::<StringArray>().ok_or_else(bad)?;
        let old = batch
            .column(2)
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(bad)?;
        let new = batch
            .column(3)
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(bad)?;
        for row in 0..batch.num_rows() {
            let value = |a: &Float64Array| (!a.is_null(row)).then(|| a.value(row));
            values.insert(
                (dates.value(row), metrics.value(row).to_owned()),
                (value(old), value(new)),
            );
        }
    }
    Ok(values)
}

pub fn restatements_batch(
    restated: &[Restatement],
    run_id: i64,
    restated_micros: i64,
) -> Result<RecordBatch, MetricsError> {
    let dates = Date32Array::from_iter_values(restated.iter().map(|r| r.day));
    let metrics = StringArray::from_iter_values(restated.iter().map(|r| r.metric.as_str()));
    let old: Float64Array = restated.iter().map(|r| r.old_value).collect();
    let new: Float64Array = restated.iter().map(|r| r.new_value).collect();
    let runs = Int64Array::from_iter_values(restated.iter().map(|_| run_id));
    let times =
        TimestampMicrosecondArray::from_iter_values(restated.iter().map(|_| restated_micros)).with_timezone("UTC");
    RecordBatch::try_new(
        restatements_schema(),
        vec![
            Arc::new(dates),
            Arc::new(metrics),
            Arc::new(old),
            Arc::new(new),
            Arc::new(runs),
            Arc::new(times),
        ],
    )
    .map_err(|e| query_error("building metric_restatements", e))
}

/// Reads `date, metric, value` rows (of `daily_metrics`) into values.
pub fn values_of(batches: &[RecordBatch]) -> Result<DayValues, MetricsError> {
    let mut values = DayValues::new();
    for batch in batches {
        let bad = || query_error("reading daily_metrics", "unexpected column types");
        let dates = arrow::compute::cast(batch.column(0), &DataType::Date32)
            .map_err(|e| query_error("reading daily_metrics", e))?;
        let dates = dates.as_any().downcast_ref::<Date32Array>().ok_or_else(bad)?;
        let metrics = arrow::compute::cast(batch.column(1), &DataType::Utf8)
            .map_err(|e| query_error("reading daily_metrics", e))?;
        let metrics = metrics.as_any().downcast_ref::<StringArray>().ok_or_else(bad)?;
        let numbers = arrow::compute::cast(batch.column(2), &DataType::Float64)
            .map_err(|e| query_error("reading daily_metrics", e))?;
        let numbers = numbers.as_any().downcast_ref::<Float64Array>().ok_or_else(bad)?;
        for row in 0..batch.num_rows() {
            values.insert(
                (dates.value(row), metrics.value(row).to_owned()),
                (!numbers.is_null(row)).then(|| numbers.value(row)),
            );
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_values_already_published_are_restatements() {
        let published = DayValues::from([
            ((1, "a".to_owned()), Some(1.0)),
            ((1, "b".to_owned()), None),
            ((1, "c".to_owned()), Some(3.0)),
        ]);
        let new = DayValues::from([
            ((1, "a".to_owned()), Some(2.0)),
            ((1, "b".to_owned()), Some(0.5)),
            ((1, "c".to_owned()), Some(3.0)),
            ((2, "a".to_owned()), Some(9.0)),
        ]);
        let restated = restatements(&published, &new);
        assert_eq!(
            restated,
            [
                Restatement {
                    day: 1,
                    metric: "a".into(),
                    old_value: Some(1.0),
                    new_value: Some(2.0)
                },
                Restatement {
                    day: 1,
                    metric: "b".into(),
                    old_value: None,
                    new_value: Some(0.5)
                },
            ]
        );
    }
}
