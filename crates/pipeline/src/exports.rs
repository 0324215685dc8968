//! The built-in `load_exports` task: the outside exports of `[sources.external]`
//! (Google Analytics, the payment providers, the plan) into `ext_ga_daily`,
//! `ext_payments` and `ext_plan`.
//!
//! Each night reads every configured file whole, so the task is idempotent: an
//! export that grew adds its new rows, and a table whose file did not change
//! is not written at all. A row the provider changed or dropped since the last
//! load is recorded in `ext_restatements` before the table is replaced. Bad
//! rows go to `etl_quarantine` with file, line and reason, replacing what an
//! earlier night quarantined of the same file. A configured file that is
//! missing fails the task with its path: never a silent zero.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use darkroom_logs::utc_micros;
use darkroom_sources::{ExportRows, RejectedRow, payments_schema, read_ga, read_payments, read_plan};
use darkroom_warehouse::WriteMode;

use crate::context::{RunContext, TaskOutput, task_failed};
use crate::dag::{ETL_QUARANTINE, EXT_GA_DAILY, EXT_PAYMENTS, EXT_PLAN, EXT_RESTATEMENTS, LOAD_EXPORTS};
use crate::error::PipelineError;
use crate::load::etl_quarantine_schema;

/// One export table: its rows, the columns that key a row, and the files it came from.
struct Loaded {
    table: &'static str,
    key_columns: usize,
    batch: RecordBatch,
    files: Vec<ExportRows>,
}

impl Loaded {
    /// A table that one export file fills.
    fn of_file(table: &'static str, key_columns: usize, rows: ExportRows) -> Self {
        Self {
            table,
            key_columns,
            batch: rows.batch.clone(),
            files: vec![rows],
        }
    }
}

pub(crate) async fn load_exports(run: Arc<RunContext>) -> Result<TaskOutput, PipelineError> {
    let external = run.project.external();
    let mut loaded = Vec::new();
    if let Some(path) = &external.google_analytics {
        loaded.push(Loaded::of_file(EXT_GA_DAILY, 1, read_ga(path)?));
    }
    let providers = [("stripe", &external.stripe), ("paypal", &external.paypal)];
    let payments: Vec<ExportRows> = providers
        .iter()
        .filter_map(|(name, path)| path.as_ref().map(|p| read_payments(p, name)))
        .collect::<Result<_, _>>()?;
    if !payments.is_empty() {
        let batches: Vec<RecordBatch> = payments.iter().map(|p| p.batch.clone()).collect();
        let batch = concat_batches(&payments_schema(), &batches).map_err(|e| failed(e.to_string()))?;
        loaded.push(Loaded {
            table: EXT_PAYMENTS,
            // provider, provider_txn_id, type
            key_columns: 3,
            batch,
            files: payments,
        });
    }
    if let Some(path) = &external.plan {
        loaded.push(Loaded::of_file(EXT_PLAN, 2, read_plan(path)?));
    }

    let mut output = TaskOutput::default();
    let now = chrono::Utc::now().timestamp_micros();
    let mut changes = Vec::new();
    let mut changed_tables = Vec::new();
    for table in &loaded {
        let before = keyed_rows(&run, table.table, None, table.key_columns).await?;
        let after = keyed_rows(&run, table.table, Some(&table.batch), table.key_columns).await?;
        if run.warehouse.exists(table.table) && before == after {
            continue;
        }
        // Rows only added are news, not restatements; a first load restates nothing.
        if run.warehouse.exists(table.table) {
            for key in before.keys().chain(after.keys()).collect::<BTreeSet<_>>() {
                let (old, new) = (before.get(key), after.get(key));
                if old.is_some() && old != new {
                    changes.push((table.table, key.clone(), old.cloned(), new.cloned()));
                }
            }
        }
        changed_tables.push(table);
    }
    // The change is recorded before the table that shows it, as for metrics.
    if !changes.is_empty() || !run.warehouse.exists(EXT_RESTATEMENTS) {
        let batch = restatements_batch(&changes, run.run_id, now)?;
        let written = run
            .write_batches(EXT_RESTATEMENTS, None, batch, WriteMode::Append)
            .await?;
        output.record(EXT_RESTATEMENTS, written);
    }
    for table in changed_tables {
        let written = run
            .write_batches(table.table, None, table.batch.clone(), WriteMode::Overwrite)
            .await?;
        output.record(table.table, written);
    }
    quarantine(&run, &loaded, now, &mut output).await?;
    if !changes.is_empty() {
        output.note = Some(format!(
            "{} exported row(s) changed since they were loaded: see ext_restatements",
            changes.len()
        ));
    }
    Ok(output)
}

/// The export's path as the quarantine names it: relative to the project.
fn source_file(run: &RunContext, path: &Path) -> String {
    path.strip_prefix(&run.project.dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Replaces what the quarantine holds of these files with what they hold now.
async fn quarantine(
    run: &RunContext,
    loaded: &[Loaded],
    now: i64,
    output: &mut TaskOutput,
) -> Result<(), PipelineError> {
    let files: Vec<(String, &[RejectedRow])> = loaded
        .iter()
        .flat_map(|t| t.files.iter())
        .map(|f| (source_file(run, &f.path), f.rejected.as_slice()))
        .collect();
    let names: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
    let rejected: usize = files.iter().map(|(_, rows)| rows.len()).sum();
    let exists = run.warehouse.exists(ETL_QUARANTINE);
    if rejected == 0 && (!exists || quarantined_rows(run, &names).await? == 0) {
        return Ok(());
    }
    let rows: Vec<(&str, &RejectedRow)> = files
        .iter()
        .flat_map(|(name, rows)| rows.iter().map(move |r| (name.as_str(), r)))
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|(f, _)| *f))),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(_, r)| r.line_number as i64),
        )),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|(_, r)| r.reason))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(_, r)| r.raw_line.as_str()),
        )),
        Arc::new(TimestampMicrosecondArray::from_iter_values(rows.iter().map(|_| now)).with_timezone("UTC")),
    ];
    let batch = RecordBatch::try_new(etl_quarantine_schema(), columns).map_err(|e| failed(e.to_string()))?;
    let mode = if exists {
        WriteMode::ReplaceValues {
            column: "source_file",
            values: &names,
        }
    } else {
        WriteMode::Append
    };
    let written = run.write_batches(ETL_QUARANTINE, None, batch, mode).await?;
    output.record(ETL_QUARANTINE, written);
    Ok(())
}

async fn quarantined_rows(run: &RunContext, files: &[String]) -> Result<u64, PipelineError> {
    let list: Vec<String> = files.iter().map(|f| format!("'{}'", f.replace('\'', "''"))).collect();
    let sql = format!(
        "SELECT count(*) FROM {ETL_QUARANTINE} WHERE source_file IN ({})",
        list.join(", ")
    );
    let count = run.query_scalar_text(LOAD_EXPORTS, &sql).await?;
    Ok(count.and_then(|c| c.parse().ok()).unwrap_or(0))
}

/// `key -> the row as text`, of the table as stored (`batch` = None) or of `batch`.
async fn keyed_rows(
    run: &RunContext,
    table: &str,
    batch: Option<&RecordBatch>,
    key_columns: usize,
) -> Result<BTreeMap<String, String>, PipelineError> {
    let batches = match batch {
        Some(batch) => vec![batch.clone()],
        None if run.warehouse.exists(table) => run
            .ctx
            .sql(&format!("SELECT * FROM {table}"))
            .await
            .map_err(|e| failed(e.to_string()))?
            .collect()
            .await
            .map_err(|e| failed(e.to_string()))?,
        None => Vec::new(),
    };
    let mut rows = BTreeMap::new();
    for batch in &batches {
        let texts = batch
            .columns()
            .iter()
            .map(|c| cast(c, &DataType::Utf8).map_err(|e| failed(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let fields: Vec<String> = texts
                .iter()
                .map(|c| {
                    let c = c.as_string::<i32>();
                    if c.is_null(row) {
                        String::new()
                    } else {
                        c.value(row).to_owned()
                    }
                })
                .collect();
            rows.insert(fields[..key_columns].join(","), fields.join(","));
        }
    }
    Ok(rows)
}

pub fn ext_restatements_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source_table", DataType::Utf8, false),
        Field::new("row_key", DataType::Utf8, false),
        Field::new("old_row", DataType::Utf8, false),
        Field::new("new_row", DataType::Utf8, false),
        Field::new("run_id", DataType::Int64, false),
        Field::new("restated_time", utc_micros(), false),
    ]))
}

type Change = (&'static str, String, Option<String>, Option<String>);

fn restatements_batch(changes: &[Change], run_id: i64, now: i64) -> Result<RecordBatch, PipelineError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(changes.iter().map(|c| c.0))),
        Arc::new(StringArray::from_iter_values(changes.iter().map(|c| c.1.as_str()))),
        Arc::new(StringArray::from_iter_values(
            changes.iter().map(|c| c.2.as_deref().unwrap_or_default()),
        )),
        Arc::new(StringArray::from_iter_values(
            changes.iter().map(|c| c.3.as_deref().unwrap_or_default()),
        )),
        Arc::new(Int64Array::from_iter_values(changes.iter().map(|_| run_id))),
        Arc::new(TimestampMicrosecondArray::from_iter_values(changes.iter().map(|_| now)).with_timezone("UTC")),
    ];
    RecordBatch::try_new(ext_restatements_schema(), columns).map_err(|e| failed(e.to_string()))
}

fn failed(message: String) -> PipelineError {
    task_failed(LOAD_EXPORTS, message)
}
