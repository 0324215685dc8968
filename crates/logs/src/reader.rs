//! Streams one archive file to event batches and quarantined lines in bounded memory.
//!
//! Every line ends up in exactly one place: an event, or a [`RejectedLine`].
//! `lines == events + rejected_lines` holds for every file, corrupt or not.

use std::fs::File;
use std::io::{ErrorKind, Read};

use arrow::record_batch::RecordBatch;

use crate::archive::ArchiveFile;
use crate::batch::EventBatchBuilder;
use crate::error::LogsError;
use crate::gzip::{GzipInput, gzip_input};
use crate::line::{LineParser, LineShape, MAX_REQUEST_BYTES};
use crate::reason::RejectReason;
use crate::schema::ColumnSet;

/// No valid line comes near this; a longer one is quarantined as `line_too_long`
/// (its first bytes kept) without buffering the rest.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// How much of a rejected line the quarantine keeps.
pub const MAX_RAW_LINE_BYTES: usize = MAX_REQUEST_BYTES;
const READ_BUFFER_BYTES: usize = 1 << 20;
/// Flush rejected lines at this count, so a file of garbage stays in bounded memory.
const MAX_PENDING_REJECTS: usize = 4096;

/// A line that is not an event, as the quarantine stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    /// 1-based line number in the decompressed file.
    pub line_number: u64,
    pub reason: RejectReason,
    /// The line's bytes, lossily decoded, at most [`MAX_RAW_LINE_BYTES`] of them.
    pub raw_line: String,
}

impl RejectedLine {
    fn new(line_number: u64, reason: RejectReason, raw: &[u8]) -> Self {
        let raw = &raw[..raw.len().min(MAX_RAW_LINE_BYTES)];
        let mut raw_line = String::from_utf8_lossy(raw).into_owned();
        // Lossy decoding can grow the text (U+FFFD is 3 bytes); keep the stored size bounded.
        if raw_line.len() > MAX_RAW_LINE_BYTES {
            let mut end = MAX_RAW_LINE_BYTES;
            while !raw_line.is_char_boundary(end) {
                end -= 1;
            }
            raw_line.truncate(end);
        }
        Self {
            line_number,
            reason,
            raw_line,
        }
    }
}

/// What reading one file found: `etl_log_files` less the load time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileStats {
    pub source_file: String,
    pub server: String,
    pub file_hour: Option<i64>,
    /// Size on disk.
    pub bytes: u64,
    /// Size after decompression: what the parser read.
    pub decompressed_bytes: u64,
    pub lines: u64,
    pub events: u64,
    pub rejected_lines: u64,
    pub ip_warnings: u64,
    /// The decompression or read error that ended the file early, if any.
    pub corrupt: Option<String>,
    pub min_event_time: Option<i64>,
    pub max_event_time: Option<i64>,
}

/// A slice of a file's output: events and the rejected lines found alongside them.
#[derive(Debug)]
pub struct Chunk {
    pub events: RecordBatch,
    pub rejected: Vec<RejectedLine>,
}

/// Reads one archive file; call [`FileReader::next_chunk`] until it returns `None`.
pub struct FileReader {
    input: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    at_end: bool,
    /// Set after quarantining an over-long line, until its end is found.
    skipping_overlong: bool,
    parser: LineParser,
    builder: EventBatchBuilder,
    rejected: Vec<RejectedLine>,
    batch_rows: usize,
    stats: FileStats,
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReader")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// The buffer goes to the next file this thread reads (`spare_buffer.rs` says why).
impl Drop for FileReader {
    fn drop(&mut self) {
        crate::spare_buffer::recycle(std::mem::take(&mut self.buf));
    }
}

impl FileReader {
    /// Opens an archive file, decompressing it when its name ends in `.gz`.
    pub fn open(file: &ArchiveFile, columns: ColumnSet, batch_rows: usize) -> Result<Self, LogsError> {
        let handle = File::open(&file.path).map_err(|source| LogsError::Open {
            path: file.path.clone(),
            source,
        })?;
        if !file.gzip {
            return Ok(Self::from_reader(file, Box::new(handle), columns, batch_rows));
        }
        Ok(match gzip_input(handle) {
            GzipInput::Whole(plain) => Self::from_bytes(file, plain, columns, batch_rows),
            GzipInput::Stream(input) => Self::from_reader(file, input, columns, batch_rows),
        })
    }

    /// Reads already-decompressed lines from any reader (tests, benchmarks, stdin).
    pub fn from_reader(file: &ArchiveFile, input: Box<dyn Read + Send>, columns: ColumnSet, batch_rows: usize) -> Self {
        let buf = crate::spare_buffer::buffer_of_len(READ_BUFFER_BYTES + MAX_LINE_BYTES);
        Self::with_buffer(file, input, buf, 0, columns, batch_rows)
    }

    /// Reads a whole decompressed file where it lies: its bytes become the
    /// buffer, already filled, so nothing is copied before parsing.
    fn from_bytes(file: &ArchiveFile, plain: Vec<u8>, columns: ColumnSet, batch_rows: usize) -> Self {
        let filled = plain.len();
        let mut reader = Self::with_buffer(file, Box::new(std::io::empty()), plain, filled, columns, batch_rows);
        reader.stats.decompressed_bytes = filled as u64;
        reader
    }

    fn with_buffer(
        file: &ArchiveFile,
        input: Box<dyn Read + Send>,
        buf: Vec<u8>,
        filled: usize,
        columns: ColumnSet,
        batch_rows: usize,
    ) -> Self {
        let batch_rows = batch_rows.max(1);
        Self {
            input,
            buf,
            pos: 0,
            filled,
            at_end: false,
            skipping_overlong: false,
            parser: LineParser::new(),
            builder: EventBatchBuilder::new(columns, &file.server, &file.source_file, batch_rows),
            rejected: Vec::new(),
            batch_rows,
            stats: FileStats {
                source_file: file.source_file.clone(),
                server: file.server.clone(),
                file_hour: file.file_hour,
                bytes: file.bytes,
                ..FileStats::default()
            },
        }
    }

    pub fn stats(&self) -> &FileStats {
        &self.stats
    }

    /// The next batch of events with the lines rejected meanwhile; `None` once the file is done.
    pub fn next_chunk(&mut self) -> Option<Result<Chunk, LogsError>> {
        loop {
            self.parse_complete_lines();
            if self.builder.len() >= self.batch_rows || self.rejected.len() >= MAX_PENDING_REJECTS {
                return Some(self.take_chunk());
            }
            if self.at_end {
                if self.builder.len() > 0 || !self.rejected.is_empty() {
                    return Some(self.take_chunk());
                }
                return None;
            }
            self.refill();
        }
    }

    fn take_chunk(&mut self) -> Result<Chunk, LogsError> {
        let events = self.builder.finish().map_err(|source| LogsError::Batch {
            source_file: self.stats.source_file.clone(),
            source,
        })?;
        Ok(Chunk {
            events,
            rejected: std::mem::take(&mut self.rejected),
        })
    }

    /// Parses every `\n`-terminated line in the buffer, stopping early once a batch is full.
    fn parse_complete_lines(&mut self) {
        let Self {
            buf,
            pos,
            filled,
            parser,
            builder,
            rejected,
            stats,
            skipping_overlong,
            ..
        } = self;
        let buf: &[u8] = buf;
        let mut utf8 = Utf8Window::default();
        // Plain numbers in the loop, folded into the stats' options once at the end.
        let (mut min_time, mut max_time) = (i64::MAX, i64::MIN);
        while builder.len() < self.batch_rows && rejected.len() < MAX_PENDING_REJECTS {
            let Some((newline, shape)) = LineShape::next_line(&buf[*pos..*filled]) else {
                break;
            };
            let (start, end) = (*pos, *pos + newline);
            let line = &buf[start..end];
            *pos = end + 1;
            if std::mem::take(skipping_overlong) {
                continue; // the tail of a line already quarantined as too long
            }
            stats.lines += 1;
            let parsed = if line.len() > MAX_LINE_BYTES {
                Err(RejectReason::LineTooLong)
            } else {
                match utf8.text(buf, start, end, *filled) {
                    Some(text) => parser.parse_text(text, &buf[start..*filled], shape),
                    None => parser.parse_shaped(line, &buf[start..*filled], shape),
                }
            };
            match parsed {
                Ok(event) => {
                    stats.events += 1;
                    stats.ip_warnings += u64::from(event.ip.is_none());
                    min_time = min_time.min(event.event_time);
                    max_time = max_time.max(event.event_time);
                    builder.append(&event);
                }
                Err(reason) => {
                    stats.rejected_lines += 1;
                    rejected.push(RejectedLine::new(stats.lines, reason, line));
                }
            }
        }
        if min_time <= max_time {
            stats.min_event_time = Some(stats.min_event_time.map_or(min_time, |t| t.min(min_time)));
            stats.max_event_time = Some(stats.max_event_time.map_or(max_time, |t| t.max(max_time)));
        }
    }

    /// Moves the unfinished line to the front and reads more; at the end, settles the last line.
    fn refill(&mut self) {
        let pending = self.filled - self.pos;
        if self.skipping_overlong {
            self.pos = self.filled;
        } else if pending > MAX_LINE_BYTES {
            self.reject_pending(RejectReason::LineTooLong);
            self.skipping_overlong = true;
        }
        self.buf.copy_within(self.pos..self.filled, 0);
        self.filled -= self.pos;
        self.pos = 0;
        loop {
            match self.input.read(&mut self.buf[self.filled..]) {
                Ok(0) => break,
                Ok(n) => {
                    self.filled += n;
                    self.stats.decompressed_bytes += n as u64;
                    return;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.stats.corrupt = Some(e.to_string());
                    break;
                }
            }
        }
        self.at_end = true;
        if self.filled > 0 && !self.skipping_overlong {
            self.reject_pending(RejectReason::TruncatedLine);
        }
    }

    fn reject_pending(&mut self, reason: RejectReason) {
        self.stats.lines += 1;
        self.stats.rejected_lines += 1;
        self.rejected.push(RejectedLine::new(
            self.stats.lines,
            reason,
            &self.buf[self.pos..self.filled],
        ));
        self.pos = self.filled;
    }
}

/// A stretch of the read buffer known to be UTF-8, checked
/// [`UTF8_WINDOW_BYTES`] at a time: one check of many lines costs a fraction
/// of a check per line (about 80 instructions for a line of a hundred bytes).
#[derive(Debug, Default)]
struct Utf8Window<'a> {
    start: usize,
    text: &'a str,
}

/// Large enough that a check's set-up is spread over hundreds of lines, small
/// enough to stay in cache for the parse that follows it.
const UTF8_WINDOW_BYTES: usize = 64 * 1024;

impl<'a> Utf8Window<'a> {
    /// The line `buf[start..end]` as text, or `None` when it is not UTF-8 (or
    /// longer than a window). A line past the window starts a new one, up to
    /// `filled`; a window ends before the first byte that is not UTF-8, so a
    /// bad line is checked again on its own and the next line starts afresh.
    /// However many lines are bad, a byte is checked at most twice (once more
    /// when its window ended early, to take its text).
    #[inline]
    fn text(&mut self, buf: &'a [u8], start: usize, end: usize, filled: usize) -> Option<&'a str> {
        if start < self.start || end > self.start + self.text.len() {
            let candidate = &buf[start..filled.min(start + UTF8_WINDOW_BYTES)];
            self.start = start;
            self.text = match simdutf8::compat::from_utf8(candidate) {
                Ok(text) => text,
                // Invalid bytes, or a character cut by the window's end.
                Err(error) => simdutf8::basic::from_utf8(&candidate[..error.valid_up_to()]).unwrap_or_default(),
            };
        }
        self.text.get(start - self.start..end - self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `buf`, as `Utf8Window::text` gives it, in reading order.
    fn texts(buf: &[u8]) -> Vec<Option<&str>> {
        let mut window = Utf8Window::default();
        let mut start = 0;
        let mut texts = Vec::new();
        while let Some(newline) = buf[start..].iter().position(|&b| b == b'\n') {
            texts.push(window.text(buf, start, start + newline, buf.len()));
            start += newline + 1;
        }
        texts
    }

    /// A window that ends inside a two-byte character ends before it, and the
    /// line holding the character starts the next window whole.
    #[test]
    fn a_character_cut_by_the_window_end_is_read_whole() {
        let line = format!("{}é{}", "a".repeat(35), "b".repeat(62));
        let mut buf = Vec::new();
        while buf.len() < 3 * UTF8_WINDOW_BYTES {
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
        }
        // Lines of 100 bytes: the window's last byte is byte 35 of a line, the first of its `é`.
        assert_eq!((UTF8_WINDOW_BYTES - 1) % 100, 35);
        let texts = texts(&buf);
        assert!(
            texts.iter().all(|t| *t == Some(line.as_str())),
            "every line read as text"
        );
    }

    /// A line that is not UTF-8 is left to the line parser; the lines after it
    /// start a new window and are read as text again.
    #[test]
    fn only_the_line_that_is_not_utf8_is_left_to_the_line_parser() {
        let mut buf = Vec::new();
        for i in 0..2000 {
            buf.extend_from_slice(if i % 300 == 7 {
                b"bad \xff line".as_slice()
            } else {
                b"good line"
            });
            buf.push(b'\n');
        }
        for (i, text) in texts(&buf).into_iter().enumerate() {
            assert_eq!(text, (i % 300 != 7).then_some("good line"), "line {i}");
        }
    }
}
