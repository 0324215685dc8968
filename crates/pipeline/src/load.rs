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
use std::sync::{Arc, Mutex, PoisonError};

use arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use darkroom_logs::{
    ArchiveFile, Chunk, ColumnSet, FileReader, FileStats, LogsError, RejectedLine, event_schema, utc_micros,
};
use darkroom_warehouse::{WriteMode, Written};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{col, lit};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

use crate::context::{RunContext, TaskOutput};
use crate::dag::{ETL_LOG_FILES, ETL_QUARANTINE, RAW_EVENTS};
use crate::error::PipelineError;

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
    let loaded_time = chrono::Utc::now().timestamp_micros();
    let stats = parse_into_warehouse(&run, to_parse, loaded_time, &mut output).await?;

    let files_batch = etl_log_files_batch(&chosen, &stats, loaded_time, run.run_id)?;
    let written = run
        .write_batches(ETL_LOG_FILES, None, files_batch, WriteMode::Append)
        .await?;
    output.record(ETL_LOG_FILES, written);
    run.state().mark_log_files(run.run_id, &marks, "loaded")?;
    tracing::info!(
        files = chosen.len(),
        duplicates = chosen.len() - stats.len(),
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

/// One file's reader, as the parse workers see it (a trait so that a test can
/// hand them a reader that fails).
trait ChunkSource {
    fn next_chunk(&mut self) -> Option<Result<Chunk, LogsError>>;
    fn stats(&self) -> &FileStats;
}

impl ChunkSource for FileReader {
    fn next_chunk(&mut self) -> Option<Result<Chunk, LogsError>> {
        FileReader::next_chunk(self)
    }

    fn stats(&self) -> &FileStats {
        FileReader::stats(self)
    }
}

type OpenFile = dyn Fn(&ArchiveFile) -> Result<Box<dyn ChunkSource>, LogsError> + Send + Sync;

fn open_archive(file: &ArchiveFile) -> Result<Box<dyn ChunkSource>, LogsError> {
    Ok(Box::new(FileReader::open(file, ColumnSet::all(), BATCH_ROWS)?))
}

type BatchSender = tokio::sync::mpsc::Sender<Result<RecordBatch, DataFusionError>>;
type BatchReceiver = tokio::sync::mpsc::Receiver<Result<RecordBatch, DataFusionError>>;

/// Parse workers at work: their events and rejected lines as they come, and
/// the workers themselves, joined once both have been written.
struct Parsing {
    events: BatchReceiver,
    quarantine: BatchReceiver,
    workers: Vec<std::thread::JoinHandle<Vec<FileStats>>>,
}

/// Parses `files` on worker threads (one per core) and streams their events
/// into one append of `raw_events` and their rejected lines, as the reader
/// bounds them, into one append of `etl_quarantine`, at the same time. Returns
/// every file's stats, or the error of the first file that failed.
async fn parse_into_warehouse(
    run: &Arc<RunContext>,
    files: Vec<ArchiveFile>,
    loaded_time: i64,
    output: &mut TaskOutput,
) -> Result<Vec<FileStats>, PipelineError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let Parsing {
        events,
        quarantine,
        workers,
    } = start_parsing(files, Arc::new(open_archive), loaded_time);
    let touched = Arc::new(Mutex::new(BTreeSet::new()));
    // Both run to their end: a failed file fails both, and a write that fails
    // stops the workers, which then fail the other.
    let (events_written, quarantine_written) = tokio::join!(
        write_events(run, events, Arc::clone(&touched)),
        write_quarantine(run, quarantine)
    );
    // Joined before anything else: no worker outlives the load, and one that
    // panicked outside a file is an error here, never a file with no lines.
    let stats = finish_parsing(workers).await?;
    let (events_written, quarantine_written) = (events_written?, quarantine_written?);
    run.refresh(RAW_EVENTS).await?;
    output.record(RAW_EVENTS, events_written);
    if let Some(written) = quarantine_written {
        run.refresh(ETL_QUARANTINE).await?;
        output.record(ETL_QUARANTINE, written);
    }
    output
        .touched_days
        .extend(touched.lock().unwrap_or_else(PoisonError::into_inner).iter().copied());
    Ok(stats)
}

fn start_parsing(files: Vec<ArchiveFile>, open: Arc<OpenFile>, loaded_time: i64) -> Parsing {
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .min(files.len());
    let queue = Arc::new(Mutex::new(VecDeque::from(largest_first(files))));
    let (events_sender, events) = tokio::sync::mpsc::channel(workers * 2);
    let (quarantine_sender, quarantine) = tokio::sync::mpsc::channel(workers * 2);
    let workers = (0..workers)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let open = Arc::clone(&open);
            let senders = Senders {
                events: events_sender.clone(),
                quarantine: quarantine_sender.clone(),
                loaded_time,
            };
            std::thread::spawn(move || parse_worker(&queue, open.as_ref(), &senders))
        })
        .collect();
    Parsing {
        events,
        quarantine,
        workers,
    }
}

async fn finish_parsing(
    workers: Vec<std::thread::JoinHandle<Vec<FileStats>>>,
) -> Result<Vec<FileStats>, PipelineError> {
    let joined = tokio::task::spawn_blocking(move || {
        workers
            .into_iter()
            .map(|worker| worker.join().map_err(|panic| task_error(panic_text(panic.as_ref()))))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| task_error(e.to_string()))??;
    Ok(joined.into_iter().flatten().collect())
}

async fn write_events(
    run: &RunContext,
    mut events: BatchReceiver,
    touched: Arc<Mutex<BTreeSet<i32>>>,
) -> Result<Written, PipelineError> {
    let date_column = event_schema().index_of("event_date").unwrap_or(1);
    let stream = futures::stream::poll_fn(move |cx| events.poll_recv(cx));
    let stream = futures::StreamExt::inspect(stream, move |batch| {
        if let Ok(batch) = batch
            && let Some(dates) = batch.column(date_column).as_any().downcast_ref::<Date32Array>()
        {
            let mut days = touched.lock().unwrap_or_else(PoisonError::into_inner);
            days.extend(dates.iter().flatten());
        }
    });
    let input = Box::pin(RecordBatchStreamAdapter::new(event_schema(), stream));
    Ok(run
        .warehouse
        .write(&run.ctx, RAW_EVENTS, Some("event_date"), input, WriteMode::Append)
        .await?)
}

/// Appends the rejected lines as they come; no commit when there are none.
async fn write_quarantine(run: &RunContext, mut quarantine: BatchReceiver) -> Result<Option<Written>, PipelineError> {
    let Some(first) = quarantine.recv().await else {
        return Ok(None);
    };
    let first = first.map_err(|e| task_error(e.to_string()))?;
    let rest = futures::stream::poll_fn(move |cx| quarantine.poll_recv(cx));
    let stream = futures::StreamExt::chain(futures::stream::iter([Ok(first)]), rest);
    let input = Box::pin(RecordBatchStreamAdapter::new(etl_quarantine_schema(), stream));
    Ok(Some(
        run.warehouse
            .write(&run.ctx, ETL_QUARANTINE, None, input, WriteMode::Append)
            .await?,
    ))
}

/// Big files first, so the last file to finish is a small one.
fn largest_first(mut files: Vec<ArchiveFile>) -> Vec<ArchiveFile> {
    files.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.source_file.cmp(&b.source_file)));
    files
}

/// Where a worker sends what it parsed.
struct Senders {
    events: BatchSender,
    quarantine: BatchSender,
    loaded_time: i64,
}

impl Senders {
    /// Fails both writes, so that neither commits part of a failed load.
    fn fail(&self, error: &PipelineError) {
        for sender in [&self.events, &self.quarantine] {
            let _ = sender.blocking_send(Err(DataFusionError::Execution(error.to_string())));
        }
    }
}

/// Parses files from `queue` until it is empty or a file fails; returns the
/// stats of the files it finished. A file that fails or panics fails both
/// writes with its name.
fn parse_worker(queue: &Mutex<VecDeque<ArchiveFile>>, open: &OpenFile, senders: &Senders) -> Vec<FileStats> {
    let mut finished = Vec::new();
    loop {
        let Some(file) = queue.lock().unwrap_or_else(PoisonError::into_inner).pop_front() else {
            return finished;
        };
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_file(&file, open, senders)));
        let error = match parsed {
            Ok(Ok(stats)) => {
                finished.push(stats);
                continue;
            }
            Ok(Err(error)) => error,
            Err(panic) => PipelineError::ParsePanicked {
                path: file.path.clone(),
                message: panic_text(panic.as_ref()),
            },
        };
        senders.fail(&error);
        return finished;
    }
}

fn parse_file(file: &ArchiveFile, open: &OpenFile, senders: &Senders) -> Result<FileStats, PipelineError> {
    let stopped = || task_error("the write of the load stopped before this file was read".into());
    let mut reader = open(file)?;
    while let Some(chunk) = reader.next_chunk() {
        let chunk = chunk?;
        if !chunk.rejected.is_empty() {
            let rejected = etl_quarantine_batch(&file.source_file, &chunk.rejected, senders.loaded_time)?;
            senders.quarantine.blocking_send(Ok(rejected)).map_err(|_| stopped())?;
        }
        if chunk.events.num_rows() > 0 {
            senders.events.blocking_send(Ok(chunk.events)).map_err(|_| stopped())?;
        }
    }
    Ok(reader.stats().clone())
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a parse thread panicked".into())
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
    // A duplicate was not parsed and counts nothing; any other file must have been read.
    let not_parsed = FileStats::default();
    let rows: Vec<(&Candidate, &FileStats)> = chosen
        .iter()
        .map(|c| match by_file.get(c.file.source_file.as_str()) {
            Some(stats) => Ok((c, *stats)),
            None if c.duplicate_of.is_some() => Ok((c, &not_parsed)),
            None => Err(PipelineError::FileNotRead {
                path: c.file.path.clone(),
            }),
        })
        .collect::<Result<_, _>>()?;
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

fn etl_quarantine_batch(
    source_file: &str,
    rejected: &[RejectedLine],
    loaded_time: i64,
) -> Result<RecordBatch, PipelineError> {
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rejected.iter().map(|_| source_file))),
        Arc::new(Int64Array::from_iter_values(
            rejected.iter().map(|r| r.line_number as i64),
        )),
        Arc::new(StringArray::from_iter_values(rejected.iter().map(|r| r.reason.code()))),
        Arc::new(StringArray::from_iter_values(
            rejected.iter().map(|r| r.raw_line.as_str()),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rejected.iter().map(|_| loaded_time)).with_timezone("UTC"),
        ),
    ];
    RecordBatch::try_new(etl_quarantine_schema(), columns).map_err(|e| task_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that gives one chunk of one rejected line, then panics.
    struct PanicsAfterOneChunk {
        stats: FileStats,
        gave: bool,
    }

    impl ChunkSource for PanicsAfterOneChunk {
        fn next_chunk(&mut self) -> Option<Result<Chunk, LogsError>> {
            assert!(!self.gave, "the reader's bug, met on purpose");
            self.gave = true;
            let rejected = RejectedLine {
                line_number: 1,
                reason: darkroom_logs::RejectReason::FieldCount,
                raw_line: "not a line".into(),
            };
            Some(Ok(Chunk {
                events: RecordBatch::new_empty(event_schema()),
                rejected: vec![rejected],
            }))
        }

        fn stats(&self) -> &FileStats {
            &self.stats
        }
    }

    fn archive(name: &str) -> ArchiveFile {
        let root = std::path::Path::new("/logs");
        ArchiveFile::new(root, root.join(format!("2015/02/10/10/{name}")), 10)
    }

    /// Regression: a parse thread that panicked was detached and forgotten; its
    /// file was recorded in `etl_log_files` with zero lines and the load succeeded.
    #[tokio::test]
    async fn a_reader_that_panics_fails_both_writes_naming_its_file() {
        let open: Arc<OpenFile> = Arc::new(|file: &ArchiveFile| -> Result<Box<dyn ChunkSource>, LogsError> {
            let stats = FileStats {
                source_file: file.source_file.clone(),
                ..FileStats::default()
            };
            if file.source_file.ends_with("api-02.log") {
                Ok(Box::new(PanicsAfterOneChunk { stats, gave: false }))
            } else {
                Ok(Box::new(EmptyFile { stats }))
            }
        });
        let files = vec![archive("api-01.log"), archive("api-02.log"), archive("api-03.log")];
        let Parsing {
            mut events,
            mut quarantine,
            workers,
        } = start_parsing(files, open, 0);
        let mut event_errors = Vec::new();
        while let Some(item) = events.recv().await {
            event_errors.extend(item.err().map(|e| e.to_string()));
        }
        let mut quarantine_errors = Vec::new();
        while let Some(item) = quarantine.recv().await {
            quarantine_errors.extend(item.err().map(|e| e.to_string()));
        }
        for errors in [&event_errors, &quarantine_errors] {
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].contains("2015/02/10/10/api-02.log"), "{errors:?}");
            assert!(errors[0].contains("the reader's bug, met on purpose"), "{errors:?}");
        }
        let stats = finish_parsing(workers)
            .await
            .expect("the panic was caught and reported");
        assert!(stats.iter().all(|s| !s.source_file.ends_with("api-02.log")));
    }

    struct EmptyFile {
        stats: FileStats,
    }

    impl ChunkSource for EmptyFile {
        fn next_chunk(&mut self) -> Option<Result<Chunk, LogsError>> {
            None
        }

        fn stats(&self) -> &FileStats {
            &self.stats
        }
    }

    /// The second guard: whatever happened to the workers, a chosen file
    /// without stats is an error naming it, never a row with zero lines.
    #[test]
    fn a_file_chosen_but_not_read_is_never_recorded() {
        let chosen = vec![Candidate {
            file: archive("api-01.log"),
            hash: "00".into(),
            duplicate_of: None,
        }];
        let error = etl_log_files_batch(&chosen, &[], 0, 1).expect_err("no stats for the file");
        assert!(error.to_string().contains("2015/02/10/10/api-01.log"), "{error}");
    }
}
