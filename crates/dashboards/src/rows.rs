//! A query's answer, once, in the forms its readers need: the Arrow batches
//! (exports), typed cells (charts) and JSON rows (the API).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::NaiveDate;
use darkroom_charts::{Cell, Table};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ColumnInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
}

/// The rows of one chart (or one query) for one set of filter values.
#[derive(Debug, Clone)]
pub struct ChartRows {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub elapsed_ms: u64,
}

impl ChartRows {
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>, elapsed_ms: u64) -> Arc<Self> {
        Arc::new(Self {
            schema,
            batches,
            elapsed_ms,
        })
    }

    pub fn row_count(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Memory the rows hold, for the cache's bound.
    pub fn size_bytes(&self) -> usize {
        self.batches.iter().map(RecordBatch::get_array_memory_size).sum()
    }

    pub fn columns(&self) -> Vec<ColumnInfo> {
        self.schema
            .fields()
            .iter()
            .map(|f| ColumnInfo {
                name: f.name().clone(),
                data_type: f.data_type().to_string(),
            })
            .collect()
    }

    /// The first `limit` rows as JSON arrays: numbers as numbers, the rest as
    /// the text `darkroom sql` prints.
    pub fn json_rows(&self, limit: usize) -> Vec<Vec<serde_json::Value>> {
        let mut rows = Vec::new();
        for batch in &self.batches {
            let columns: Vec<Vec<serde_json::Value>> = batch.columns().iter().map(json_column).collect();
            for r in 0..batch.num_rows() {
                if rows.len() == limit {
                    return rows;
                }
                rows.push(columns.iter().map(|c| c[r].clone()).collect());
            }
        }
        rows
    }

    /// The rows as typed cells, for a chart.
    pub fn table(&self) -> Table {
        let mut table = Table {
            columns: self.schema.fields().iter().map(|f| f.name().clone()).collect(),
            rows: Vec::with_capacity(self.row_count()),
        };
        for batch in &self.batches {
            let columns: Vec<Vec<Cell>> = batch.columns().iter().map(cells).collect();
            for r in 0..batch.num_rows() {
                table.rows.push(columns.iter().map(|c| c[r].clone()).collect());
            }
        }
        table
    }
}

fn is_number(data_type: &DataType) -> bool {
    data_type.is_numeric()
}

fn formatted(array: &ArrayRef) -> Vec<Option<String>> {
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(formatter) => (0..array.len())
            .map(|i| array.is_valid(i).then(|| formatter.value(i).to_string()))
            .collect(),
        Err(_) => vec![None; array.len()],
    }
}

fn floats(array: &ArrayRef) -> Option<Vec<Option<f64>>> {
    let cast = arrow::compute::cast(array, &DataType::Float64).ok()?;
    Some(cast.as_primitive::<Float64Type>().iter().collect())
}

fn json_column(array: &ArrayRef) -> Vec<serde_json::Value> {
    let data_type = array.data_type();
    if matches!(
        data_type,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    ) && let Ok(cast) = arrow::compute::cast(array, &DataType::Int64)
    {
        return cast
            .as_primitive::<arrow::datatypes::Int64Type>()
            .iter()
            .map(|v| v.map_or(serde_json::Value::Null, serde_json::Value::from))
            .collect();
    }
    if is_number(data_type)
        && let Some(values) = floats(array)
    {
        return values
            .into_iter()
            .map(|v| v.map_or(serde_json::Value::Null, serde_json::Value::from))
            .collect();
    }
    if let DataType::Boolean = data_type {
        return array
            .as_boolean()
            .iter()
            .map(|v| v.map_or(serde_json::Value::Null, serde_json::Value::from))
            .collect();
    }
    formatted(array)
        .into_iter()
        .map(|v| v.map_or(serde_json::Value::Null, serde_json::Value::from))
        .collect()
}

fn cells(array: &ArrayRef) -> Vec<Cell> {
    let data_type = array.data_type();
    if is_number(data_type)
        && let Some(values) = floats(array)
    {
        return values.into_iter().map(|v| v.map_or(Cell::Null, Cell::Number)).collect();
    }
    if matches!(data_type, DataType::Date32 | DataType::Date64) {
        return formatted(array)
            .into_iter()
            .map(|v| {
                v.and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok())
                    .map_or(Cell::Null, Cell::Date)
            })
            .collect();
    }
    formatted(array)
        .into_iter()
        .map(|v| v.map_or(Cell::Null, Cell::Text))
        .collect()
}
