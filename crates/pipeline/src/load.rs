//! The built-in `load_logs` task: new log archive files into `raw_events`,
//! with one `etl_log_files` row per file and one `etl_quarantine` row per
//! rejected line.
//!
//! A file is loaded at most once, by name and by content: a byte-identical
//! copy under another name (a shipper's retry) is recorded as a duplicate and
//! adds no events. `raw_events` is appended to, partitioned by each event's own
//! date, so late lines land on their day; the days touched are reported so the
//! models rebuild exactly those partitions.
//!
//! Crash safety across three tables: files are marked `loading` in the state
//! database before the first commit and `loaded` after the last; a load that
//! finds `loading` files first removes whatever of them reached the warehouse.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::Read;
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use darkroom_logs::{ArchiveFile, ColumnSet, FileReader, FileStats, LogsError, RejectedLine, event_schema, utc_micros};
use darkroom_warehouse::WriteMode;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{col, lit};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

use crate::dag::{ETL_LOG_FILES, ETL_QUARANTINE, RAW_EVENTS};
use crate::error::PipelineError;
use crate::runner::{RunContext, TaskOutput};

const MICROS_PER_DAY: i64 = 86_400_000_000;
const BATCH_ROWS: usize = 8192;

/// A file chosen for this load and what is known of it before parsing.
#[derive(Debug, Clone)]
struct Candidate {
    file: ArchiveFile,
    hash: String,
    duplicate_of: Option<String>,
}

pub(crate) async fn load_logs(run: Arc<RunContext>) -> Result<TaskOutput, PipelineError> {
    let root = run
        .project
        .logs_root()
        .ok_or_else(|| PipelineError::SourceNotConfigured {
            source_name: "logs",
            task: crate::dag::LOAD_LOGS.into(),
        })?;
    let mut output = TaskOutput::default();
    recover_unfinished(&run, &mut output).await?;

    // Hours D 00..23 and D+1 00, and any earlier hour that arrived late.
    let last_hour = i64::from(run.day + 1) * MICROS_PER_DAY;
    let archives = tokio::task::spawn_blocking(move || darkroom_logs::list_archives(&root))
        .await
        .map_err(|e| task_error(e.to_string()))??;
    let mut candidates = Vec::new();
    {
        let state = run.state();
        for file in archives {
            if file.file_hour.is_some_and(|h| h <= last_hour) && !state.is_log_file_known(&file.source_file)? {
                candidates.push(file);
            }
        }
    }
    if candidates.is_empty() {
        return Ok(output);
    }
    let hashed = tokio::task::spawn_blocking(move || hash_files(candidates))
        .await
        .map_err(|e| task_error(e.to_string()))??;
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut chosen = Vec::with_capacity(hashed.len());
    {
        let state = run.state();
        for (file, hash, empty) in hashed {
            // Every hour without lines archives the same bytes; they count nothing twice.
            let duplicate_of = if empty {
                None
            } else {
                match state.log_file_with_hash(&hash)? {
                    Some(original) => Some(original),
                    None => seen.get(&hash).cloned(),
                }
            };
            if duplicate_of.is_none() && !empty {
                seen.insert(hash.clone(), file.source_file.clone());
            }
            chosen.push(Candidate {
                file,
                hash,
                duplicate_of,
            });
        }
    }
    let marks: Vec<_> = chosen
        .iter()
        .map(|c| (c.file.source_file.clone(), c.hash.clone(), c.duplicate_of.clone()))
        .collect();
    run.state().mark_log_files(run.run_id, &marks, "loading")?;

    let to_parse: Vec<ArchiveFile> = chosen
        .iter()
        .filter(|c| c.duplicate_of.is_none())
        .map(|c| c.file.clone())
        .collect();
    let parsed = parse_into_raw_events(&run, to_parse, &mut output).await?;

    let loaded_time = chrono::Utc::now().timestamp_micros();
    let files_batch = etl_log_files_batch(&chosen, &parsed.stats, loaded_time, run.run_id)?;
    let written = run
        .write_batches(ETL_LOG_FILES, None, files_batch, WriteMode::Append)
        .await?;
    output.record(ETL_LOG_FILES, written);
    if !parsed.rejected.is_empty() {
        let quarantine = etl_quarantine_batch(&parsed.rejected, loaded_time)?;
        let written = run
            .write_batches(ETL_QUARANTINE, None, quarantine, WriteMode::Append)
            .await?;
        output.record(ETL_QUARANTINE, written);
    }
    run.state().mark_log_files(run.run_id, &marks, "loaded")?;
    tracing::info!(
        files = chosen.len(),
        duplicates = chosen.len() - parsed.stats.len(),
        events = output.rows,
        days = output.touched_days.len(),
        "loaded log files"
    );
    Ok(output)
}

/// Removes from the warehouse what a crashed load of `loading` files committed.
async fn recover_unfinished(run: &RunContext, output: &mut TaskOutput) -> Result<(), PipelineError> {
    let unfinished = run.state().unfinished_log_files()?;
    if unfinished.is_empty() {
        return Ok(());
    }
    tracing::warn!(
        files = unfinished.len(),
        "removing the rows of an unfinished earlier load"
    );
    let list: Vec<_> = unfinished.iter().map(|f| lit(f.clone())).collect();
    for table in [RAW_EVENTS, ETL_LOG_FILES, ETL_QUARANTINE] {
        if let Some(version) = run
            .warehouse
            .delete(table, col("source_file").in_list(list.clone(), false))
            .await?
        {
            output.versions.push((table.to_owned(), version));
        }
    }
    run.state().forget_log_files(&unfinished)?;
    Ok(())
}

/// Each file with its content hash and whether it holds no lines at all.
fn hash_files(files: Vec<ArchiveFile>) -> Result<Vec<(ArchiveFile, String, bool)>, PipelineError> {
    // One read buffer for every file: a fresh megabyte per file is 256 page faults each.
    let mut buffer = vec![0u8; 1 << 20];
    files
        .into_iter()
        .map(|file| {
            let hash = content_hash(&file, &mut buffer)?;
            let empty = is_empty(&file);
            Ok((file, hash, empty))
        })
        .collect()
}

/// Whether the file decompresses to nothing. Only small files can; a damaged one counts as not empty.
fn is_empty(file: &ArchiveFile) -> bool {
    const LARGEST_EMPTY_GZIP: u64 = 1024;
    if !file.gzip {
        return file.bytes == 0;
    }
    if file.bytes > LARGEST_EMPTY_GZIP {
        return false;
    }
    let Ok(compressed) = std::fs::read(&file.path) else {
        return false;
    };
    let mut content = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed.as_slice())
        .read_to_end(&mut content)
        .is_ok_and(|n| n == 0)
}

/// XXH3-128 of the file's bytes as stored: equal bytes, equal hash.
fn content_hash(file: &ArchiveFile, buffer: &mut [u8]) -> Result<String, PipelineError> {
    let io = |source| PipelineError::Io {
        path: file.path.clone(),
        source,
    };
    let mut input = std::fs::File::open(&file.path).map_err(io)?;
    let mut hasher = twox_hash::XxHash3_128::new();
    loop {
        let read = input.read(buffer).map_err(io)?;
        if read == 0 {
            break;
        }
        hasher.write(&buffer[..read]);
    }
    Ok(format!("{:032x}", hasher.finish_128()))
}

struct Parsed {
    stats: Vec<FileStats>,
    rejected: Vec<(String, RejectedLine)>,
}

/// Parses `files` on worker threads (one per core) and streams their events into one append of `raw_events`.
async fn parse_into_raw_events(
    run: &Arc<RunContext>,
    files: Vec<ArchiveFile>,
    output: &mut TaskOutput,
) -> Result<Parsed, PipelineError> {
    let collected = Arc::new(Mutex::new(Parsed {
        stats: Vec::new(),
        rejected: Vec::new(),
    }));
    if files.is_empty() {
        return take(collected);
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .min(files.len());
    let queue = Arc::new(Mutex::new(VecDeque::from(largest_first(files))));
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<RecordBatch, DataFusionError>>(workers * 2);
    for _ in 0..workers {
        let queue = Arc::clone(&queue);
        let sender = sender.clone();
        let collected = Arc::clone(&collected);
        std::thread::spawn(move || parse_worker(&queue, &sender, &collected));
    }
    drop(sender);
    let touched = Arc::new(Mutex::new(BTreeSet::new()));
    let days = Arc::clone(&touched);
    let stream = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    let stream = futures::StreamExt::inspect(stream, move |batch| {
        if let Ok(batch) = batch
            && let Some(dates) = batch
                .column(event_schema().index_of("event_date").unwrap_or(1))
                .as_any()
                .downcast_ref::<Date32Array>()
            && let Ok(mut days) = days.lock()
        {
            days.extend(dates.iter().flatten());
        }
    });
    let input = Box::pin(RecordBatchStreamAdapter::new(event_schema(), stream));
    let written = run
        .warehouse
        .write(&run.ctx, RAW_EVENTS, Some("event_date"), input, WriteMode::Append)
        .await?;
    run.refresh(RAW_EVENTS).await?;
    output.rows += written.rows;
    output.versions.push((RAW_EVENTS.to_owned(), written.version));
    if let Ok(days) = touched.lock() {
        output.touched_days.extend(days.iter().copied());
    }
    take(collected)
}

fn take(collected: Arc<Mutex<Parsed>>) -> Result<Parsed, PipelineError> {
    let mutex = Arc::try_unwrap(collected).map_err(|_| task_error("a parse worker is still running".into()))?;
    mutex
        .into_inner()
        .map_err(|_| task_error("a parse worker panicked".into()))
}

/// Big files first, so the last file to finish is a small one.
fn largest_first(mut files: Vec<ArchiveFile>) -> Vec<ArchiveFile> {
    files.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.source_file.cmp(&b.source_file)));
    files
}

fn parse_worker(
    queue: &Mutex<VecDeque<ArchiveFile>>,
    sender: &tokio::sync::mpsc::Sender<Result<RecordBatch, DataFusionError>>,
    collected: &Mutex<Parsed>,
) {
    loop {
        let Some(file) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
            return;
        };
        let mut reader = match FileReader::open(&file, ColumnSet::all(), BATCH_ROWS) {
            Ok(reader) => reader,
            Err(e) => {
                let _ = sender.blocking_send(Err(external(e)));
                return;
            }
        };
        let mut rejected = Vec::new();
        while let Some(chunk) = reader.next_chunk() {
            match chunk {
                Ok(chunk) => {
                    rejected.extend(chunk.rejected.into_iter().map(|r| (file.source_file.clone(), r)));
                    if chunk.events.num_rows() > 0 && sender.blocking_send(Ok(chunk.events)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = sender.blocking_send(Err(external(e)));
                    return;
                }
            }
        }
        if let Ok(mut collected) = collected.lock() {
            collected.stats.push(reader.stats().clone());
            collected.rejected.append(&mut rejected);
        }
    }
}

fn external(error: LogsError) -> DataFusionError {
    DataFusionError::External(Box::new(error))
}

fn task_error(message: String) -> PipelineError {
    PipelineError::Task {
        task: crate::dag::LOAD_LOGS.into(),
        message,
    }
}

pub fn etl_log_files_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source_file", DataType::Utf8, false),
        Field::new("server", DataType::Utf8, false),
        Field::new("file_hour", utc_micros(), true),
        Field::new("bytes", DataType::Int64, false),
        Field::new("lines", DataType::Int64, false),
        Field::new("events", DataType::Int64, false),
        Field::new("rejected_lines", DataType::Int64, false),
        Field::new("ip_warnings", DataType::Int64, false),
        Field::new("corrupt", DataType::Utf8, true),
        Field::new("min_event_time", utc_micros(), true),
        Field::new("max_event_time", utc_micros(), true),
        Field::new("loaded_time", utc_micros(), false),
        Field::new("content_hash", DataType::Utf8, false),
        Field::new("duplicate_of", DataType::Utf8, true),
        Field::new("run_id", DataType::Int64, false),
    ]))
}

fn etl_log_files_batch(
    chosen: &[Candidate],
    stats: &[FileStats],
    loaded_time: i64,
    run_id: i64,
) -> Result<RecordBatch, PipelineError> {
    let by_file: HashMap<&str, &FileStats> = stats.iter().map(|s| (s.source_file.as_str(), s)).collect();
    let empty = FileStats::default();
    let rows: Vec<(&Candidate, &FileStats)> = chosen
        .iter()
        .map(|c| (c, by_file.get(c.file.source_file.as_str()).copied().unwrap_or(&empty)))
        .collect();
    let i64s = |f: &dyn Fn(&FileStats) -> u64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, s)| f(s) as i64)))
    };
    let times = |values: Vec<Option<i64>>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(c, _)| c.file.source_file.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|(c, _)| c.file.server.as_str()),
        )),
        times(rows.iter().map(|(c, _)| c.file.file_hour).collect()),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(c, _)| c.file.bytes as i64),
        )),
        i64s(&|s| s.lines),
        i64s(&|s| s.events),
        i64s(&|s| s.rejected_lines),
        i64s(&|s| s.ip_warnings),
        Arc::new(StringArray::from(
            rows.iter().map(|(_, s)| s.corrupt.clone()).collect::<Vec<_>>(),
        )),
        times(rows.iter().map(|(_, s)| s.min_event_time).collect()),
        times(rows.iter().map(|(_, s)| s.max_event_time).collect()),
        times(rows.iter().map(|_| Some(loaded_time)).collect()),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|(c, _)| c.hash.as_str()))),
        Arc::new(StringArray::from(
            rows.iter().map(|(c, _)| c.duplicate_of.clone()).collect::<Vec<_>>(),
        )),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|_| run_id))),
    ];
    RecordBatch::try_new(etl_log_files_schema(), columns).map_err(|e| task_error(e.to_string()))
}

pub fn etl_quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source_file", DataType::Utf8, false),
        Field::new("line_number", DataType::Int64, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("raw_line", DataType::Utf8, false),
        Field::new("loaded_time", utc_micros(), false),
    ]))
}

fn etl_quarantine_batch(rejected: &[(String, RejectedLine)], loaded_time: i64) -> Result<RecordBatch, PipelineError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rejected.iter().map(|(f, _)| f.as_str()))),
        Arc::new(Int64Array::from_iter_values(
            rejected.iter().map(|(_, r)| r.line_number as i64),
        )),
        Arc::new(StringArray::from_iter_values(
            rejected.iter().map(|(_, r)| r.reason.code()),
        )),
        Arc::new(StringArray::from_iter_values(
            rejected.iter().map(|(_, r)| r.raw_line.as_str()),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rejected.iter().map(|_| loaded_time)).with_timezone("UTC"),
        ),
    ];
    RecordBatch::try_new(etl_quarantine_schema(), columns).map_err(|e| task_error(e.to_string()))
}
