//! A folder of archives as a DataFusion table: SQL over raw logs without loading them.
//!
//! Files are listed at scan time (new archives show up without re-registering),
//! spread over partitions by size, and parsed on blocking threads in parallel.
//! Only projected columns are built. Filters on `event_date` skip files whose
//! hour cannot hold such events. Quarantined lines are not rows of this table:
//! they are counted in the scan's log output and kept by the nightly load.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};

use crate::archive::{ArchiveFile, check_root, list_archives};
use crate::reader::FileReader;
use crate::schema::{ColumnSet, event_schema};

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// The `raw_events` columns of every archive file below a root folder.
#[derive(Debug, Clone)]
pub struct LogArchiveTable {
    root: PathBuf,
}

impl LogArchiveTable {
    /// Fails early, with the path, when the folder is missing; files are listed at each scan.
    pub fn try_new(root: impl Into<PathBuf>) -> Result<Self, crate::LogsError> {
        let root = root.into();
        check_root(&root)?;
        Ok(Self { root })
    }
}

#[async_trait]
impl TableProvider for LogArchiveTable {
    fn schema(&self) -> SchemaRef {
        event_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if DateBounds::default().narrowed_by(f).is_some() {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let bounds = filters
            .iter()
            .fold(DateBounds::default(), |b, f| b.narrowed_by(f).unwrap_or(b));
        let root = self.root.clone();
        let files = tokio::task::spawn_blocking(move || list_archives(&root))
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))?
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let files: Vec<ArchiveFile> = files.into_iter().filter(|f| bounds.may_hold(f)).collect();
        let columns = ColumnSet::from_projection(projection);
        let partitions = spread_by_size(files, state.config().target_partitions());
        Ok(Arc::new(LogScanExec::new(
            columns,
            partitions,
            state.config().batch_size(),
        )))
    }
}

/// An inclusive range of `event_date` values (days since the epoch) a query can want.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateBounds {
    low: i32,
    high: i32,
}

impl Default for DateBounds {
    fn default() -> Self {
        Self {
            low: i32::MIN,
            high: i32::MAX,
        }
    }
}

impl DateBounds {
    /// The bounds narrowed by `event_date <op> DATE literal`, or `None` for any other filter.
    fn narrowed_by(self, filter: &Expr) -> Option<Self> {
        let Expr::BinaryExpr(BinaryExpr { left, op, right }) = filter else {
            return None;
        };
        let (op, day) = match (left.as_ref(), right.as_ref()) {
            (Expr::Column(c), Expr::Literal(ScalarValue::Date32(Some(d)), _)) if c.name == "event_date" => (*op, *d),
            (Expr::Literal(ScalarValue::Date32(Some(d)), _), Expr::Column(c)) if c.name == "event_date" => {
                (op.swap()?, *d)
            }
            (l, r) if *op == Operator::And => {
                let once = self.narrowed_by(l).unwrap_or(self);
                return Some(once.narrowed_by(r).unwrap_or(once));
            }
            _ => return None,
        };
        let mut b = self;
        match op {
            Operator::Eq => {
                b.low = b.low.max(day);
                b.high = b.high.min(day);
            }
            Operator::Gt => b.low = b.low.max(day.saturating_add(1)),
            Operator::GtEq => b.low = b.low.max(day),
            Operator::Lt => b.high = b.high.min(day.saturating_sub(1)),
            Operator::LtEq => b.high = b.high.min(day),
            _ => return None,
        }
        Some(b)
    }

    /// A file written in hour h holds events from at most an hour before h to the end of h.
    fn may_hold(&self, file: &ArchiveFile) -> bool {
        let Some(hour) = file.file_hour else {
            return true;
        };
        let first_day = (hour - MICROS_PER_HOUR).div_euclid(MICROS_PER_DAY);
        let last_day = (hour + MICROS_PER_HOUR - 1).div_euclid(MICROS_PER_DAY);
        first_day <= i64::from(self.high) && last_day >= i64::from(self.low)
    }
}

/// Largest files first, each to the partition with the fewest bytes so far.
fn spread_by_size(mut files: Vec<ArchiveFile>, partitions: usize) -> Vec<Vec<ArchiveFile>> {
    let count = partitions.clamp(1, files.len().max(1));
    let mut spread: Vec<(u64, Vec<ArchiveFile>)> = vec![(0, Vec::new()); count];
    files.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.source_file.cmp(&b.source_file)));
    for file in files {
        if let Some(lightest) = spread.iter_mut().min_by_key(|(bytes, _)| *bytes) {
            lightest.0 += file.bytes;
            lightest.1.push(file);
        }
    }
    spread.into_iter().map(|(_, files)| files).collect()
}

/// Parses each partition's files in turn on a blocking thread.
#[derive(Debug)]
struct LogScanExec {
    columns: ColumnSet,
    partitions: Vec<Vec<ArchiveFile>>,
    batch_rows: usize,
    properties: Arc<PlanProperties>,
}

impl LogScanExec {
    fn new(columns: ColumnSet, partitions: Vec<Vec<ArchiveFile>>, batch_rows: usize) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(columns.schema()),
            Partitioning::UnknownPartitioning(partitions.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            columns,
            partitions,
            batch_rows,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for LogScanExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: usize = self.partitions.iter().map(Vec::len).sum();
        write!(
            f,
            "LogScanExec: format=api-v1, files={files}, partitions={}",
            self.partitions.len()
        )
    }
}

impl ExecutionPlan for LogScanExec {
    fn name(&self) -> &str {
        "LogScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal("LogScanExec has no children".into()))
        }
    }

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let files = self.partitions.get(partition).cloned().unwrap_or_default();
        let (columns, batch_rows) = (self.columns, self.batch_rows);
        // Two batches in flight per partition: parsing stays ahead without unbounded buffering.
        let mut builder = RecordBatchReceiverStreamBuilder::new(columns.schema(), 2);
        let tx = builder.tx();
        builder.spawn_blocking(move || {
            for file in &files {
                let mut reader = FileReader::open(file, columns, batch_rows).map_err(|e| DataFusionError::External(Box::new(e)))?;
                while let Some(chunk) = reader.next_chunk() {
                    let chunk = chunk.map_err(|e| DataFusionError::External(Box::new(e)))?;
                    if chunk.events.num_rows() > 0 && tx.blocking_send(Ok(chunk.events)).is_err() {
                        return Ok(()); // the query was cancelled or has what it needs
                    }
                }
                let stats = reader.stats();
                if let Some(error) = &stats.corrupt {
                    tracing::warn!(file = %stats.source_file, lines = stats.lines, %error, "archive is corrupt; read the lines before the damage");
                }
                if stats.rejected_lines > 0 {
                    tracing::debug!(file = %stats.source_file, rejected = stats.rejected_lines, "lines quarantined");
                }
            }
            Ok(())
        });
        Ok(builder.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn file_at(path: &str, bytes: u64) -> ArchiveFile {
        ArchiveFile::new(Path::new("/root"), Path::new("/root").join(path), bytes)
    }

    #[test]
    fn date_bounds_keep_the_next_days_midnight_file_for_late_lines() {
        let d = crate::days_from_civil(2015, 2, 10);
        let bounds = DateBounds { low: d, high: d };
        assert!(!bounds.may_hold(&file_at("2015/02/09/22/a.log.gz", 1)));
        assert!(bounds.may_hold(&file_at("2015/02/10/00/a.log.gz", 1)));
        assert!(bounds.may_hold(&file_at("2015/02/10/23/a.log.gz", 1)));
        assert!(bounds.may_hold(&file_at("2015/02/11/00/a.log.gz", 1)));
        assert!(!bounds.may_hold(&file_at("2015/02/11/01/a.log.gz", 1)));
        assert!(bounds.may_hold(&file_at("elsewhere/a.log", 1)));
    }

    #[test]
    fn spread_balances_bytes_across_partitions() {
        let files = vec![
            file_at("a.log", 10),
            file_at("b.log", 7),
            file_at("c.log", 5),
            file_at("d.log", 2),
        ];
        let spread = spread_by_size(files, 2);
        let sums: Vec<u64> = spread.iter().map(|p| p.iter().map(|f| f.bytes).sum()).collect();
        assert_eq!(sums, vec![12, 12]);
        assert_eq!(spread_by_size(Vec::new(), 4).len(), 1);
    }
}
