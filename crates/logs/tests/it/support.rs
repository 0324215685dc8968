use std::io::Write;
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{Date32Type, Int64Type, TimestampMicrosecondType};
use darkroom_logs::{ArchiveFile, ColumnSet, FileReader, FileStats, RejectedLine, event_schema};
use flate2::Compression;
use flate2::write::GzEncoder;

pub const GOOD: &str = "2015-02-10 10:24:31.32444 23432423 photo_like 423223 123.132.62.123 /v2/photos/423223/vote?client=iphone&vid=9f1c2a7be04d4c11";

/// Everything reading one file produced.
#[derive(Debug)]
pub struct ReadResult {
    pub events: RecordBatch,
    pub rejected: Vec<RejectedLine>,
    pub stats: FileStats,
}

impl ReadResult {
    pub fn reasons(&self) -> Vec<&'static str> {
        self.rejected.iter().map(|r| r.reason.code()).collect()
    }

    pub fn strings(&self, column: &str) -> Vec<Option<String>> {
        let array = self
            .events
            .column_by_name(column)
            .expect("column exists")
            .as_string::<i32>();
        (0..array.len())
            .map(|i| array.is_valid(i).then(|| array.value(i).to_owned()))
            .collect()
    }

    pub fn ints(&self, column: &str) -> Vec<Option<i64>> {
        let array = self
            .events
            .column_by_name(column)
            .expect("column exists")
            .as_primitive::<Int64Type>();
        (0..array.len())
            .map(|i| array.is_valid(i).then(|| array.value(i)))
            .collect()
    }

    pub fn times(&self) -> Vec<i64> {
        let array = self.events.column_by_name("event_time").expect("column exists");
        array.as_primitive::<TimestampMicrosecondType>().values().to_vec()
    }

    pub fn dates(&self) -> Vec<i32> {
        let array = self.events.column_by_name("event_date").expect("column exists");
        array.as_primitive::<Date32Type>().values().to_vec()
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("write to memory");
    encoder.finish().expect("finish gzip")
}

/// Writes `bytes` as `<dir>/2015/02/10/10/<name>` and reads it with the public reader.
pub fn read_file_bytes(name: &str, bytes: &[u8], batch_rows: usize) -> ReadResult {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_archive(dir.path(), &format!("2015/02/10/10/{name}"), bytes);
    let file = ArchiveFile::new(dir.path(), path, bytes.len() as u64);
    let mut reader = FileReader::open(&file, ColumnSet::all(), batch_rows).expect("open archive");
    let mut batches = Vec::new();
    let mut rejected = Vec::new();
    while let Some(chunk) = reader.next_chunk() {
        let chunk = chunk.expect("chunk");
        batches.push(chunk.events);
        rejected.extend(chunk.rejected);
    }
    let events = concat_batches(&event_schema(), &batches).expect("concat");
    ReadResult {
        events,
        rejected,
        stats: reader.stats().clone(),
    }
}

pub fn read_plain(text: &[u8]) -> ReadResult {
    read_file_bytes("api-01.log", text, 8192)
}

pub fn write_archive(root: &Path, relative: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
    std::fs::write(&path, bytes).expect("write archive");
    path
}

/// Lines in = events + quarantined, the invariant every test re-checks.
pub fn assert_accounted(result: &ReadResult) {
    let s = &result.stats;
    assert_eq!(s.lines, s.events + s.rejected_lines, "{s:?}");
    assert_eq!(s.events as usize, result.events.num_rows());
    assert_eq!(s.rejected_lines as usize, result.rejected.len());
}
