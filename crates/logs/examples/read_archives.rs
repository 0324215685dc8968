//! Reads every archive below a folder to Arrow and reports throughput as one JSON line.
//!
//!     read_archives DIR [--threads N] [--mode parse|decompress|inflate|memory]
//!
//! `parse` runs `SELECT *` through the `logs` table (all twelve columns built);
//! `decompress` only inflates the files with flate2 (zlib-rs, streaming), the
//! issue's floor; `inflate` only inflates them the way the reader does
//! (`gzip_input`: libdeflate for small one-member files), the reader's own floor;
//! `memory` parses one plain file (DIR is the file) from memory five times on one core.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use darkroom_logs::{LogArchiveTable, list_archives};
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;

/// The `darkroom` binary's allocator, so that these figures are the product's.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(
        args.get(1)
            .expect("usage: read_archives DIR [--threads N] [--mode parse|decompress|inflate|memory]"),
    );
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let threads: usize = option("--threads").map_or(2, |t| t.parse().unwrap());
    let mode = option("--mode").unwrap_or_else(|| "parse".into());
    let started = Instant::now();
    let (rows, bytes) = match mode.as_str() {
        "decompress" => decompress(&dir, threads, false),
        "inflate" => decompress(&dir, threads, true),
        "memory" => memory(&dir),
        _ => parse(&dir, threads),
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"mode\":\"{mode}\",\"threads\":{threads},\"rows\":{rows},\"bytes\":{bytes},\"seconds\":{seconds:.4}}}"
    );
}

fn parse(dir: &std::path::Path, threads: usize) -> (u64, u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .max_blocking_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(threads));
        ctx.register_table("logs", Arc::new(LogArchiveTable::try_new(dir).unwrap()))
            .unwrap();
        let mut stream = ctx
            .sql("SELECT * FROM logs")
            .await
            .unwrap()
            .execute_stream()
            .await
            .unwrap();
        let (mut rows, mut bytes) = (0u64, 0u64);
        while let Some(batch) = stream.next().await {
            let batch = batch.unwrap();
            rows += batch.num_rows() as u64;
            bytes += batch.get_array_memory_size() as u64;
        }
        (rows, bytes)
    })
}

/// One plain file, already in memory, parsed to all columns on one core: the parser alone.
fn memory(file: &std::path::Path) -> (u64, u64) {
    let text = std::fs::read(file).unwrap();
    let archive = darkroom_logs::ArchiveFile::new(std::path::Path::new("/"), "/2015/01/05/10/api-01.log".into(), 0);
    let mut rows = 0;
    for _ in 0..5 {
        let input = Box::new(std::io::Cursor::new(text.clone()));
        let mut reader = darkroom_logs::FileReader::from_reader(&archive, input, darkroom_logs::ColumnSet::all(), 8192);
        while let Some(chunk) = reader.next_chunk() {
            rows += chunk.unwrap().events.num_rows() as u64;
        }
    }
    (rows, 5 * text.len() as u64)
}

fn decompress(dir: &std::path::Path, threads: usize, as_the_reader_does: bool) -> (u64, u64) {
    let files = list_archives(dir).unwrap();
    let next = AtomicUsize::new(0);
    let total = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut buf = vec![0u8; 1 << 20];
                while let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let handle = std::fs::File::open(&file.path).unwrap();
                    let mut reader: Box<dyn Read> = if file.gzip && as_the_reader_does {
                        match darkroom_logs::gzip_input(handle) {
                            // The reader parses such a file where it lies: no copy to time.
                            darkroom_logs::GzipInput::Whole(plain) => {
                                total.fetch_add(plain.len() as u64, Ordering::Relaxed);
                                darkroom_logs::recycle_buffer(plain);
                                continue;
                            }
                            darkroom_logs::GzipInput::Stream(stream) => stream,
                        }
                    } else if file.gzip {
                        let handle = std::io::BufReader::with_capacity(256 * 1024, handle);
                        Box::new(flate2::read::MultiGzDecoder::new(handle))
                    } else {
                        Box::new(handle)
                    };
                    loop {
                        let n = reader.read(&mut buf).unwrap();
                        if n == 0 {
                            break;
                        }
                        total.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    (0, total.load(Ordering::Relaxed))
}
