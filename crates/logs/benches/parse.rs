//! The parser alone, on realistic lines in memory: no disk, no gzip.
//! `cargo bench -p darkroom-logs --bench parse` reports bytes per second for one core.
#![allow(clippy::unwrap_used)]

use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use darkroom_logs::{ArchiveFile, ColumnSet, EventColumn, FileReader, LineParser};

/// The `darkroom` binary's allocator, so that these figures are the product's.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Lines shaped like the photo site's: mixed actions, clients, anonymous and logged-in users.
fn corpus(lines: usize) -> Vec<u8> {
    let actions = [
        "page_view",
        "photo_view",
        "photo_like",
        "photo_view",
        "login",
        "photo_favourite",
        "follow",
        "photo_upload",
    ];
    let clients = ["web", "mobile_web", "iphone", "android", "flipboard"];
    let mut out = Vec::with_capacity(lines * 130);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..lines {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let action = actions[(state % 8) as usize];
        let user = if action == "page_view" && state.is_multiple_of(3) {
            "-".to_owned()
        } else {
            (1000 + state % 900_000).to_string()
        };
        let object = if action == "page_view" || action == "login" {
            "-".to_owned()
        } else {
            (50_000 + (state >> 20) % 3_000_000).to_string()
        };
        let seconds = i as u64 * 3600 / lines as u64;
        out.extend_from_slice(
            format!(
                "2015-02-10 {:02}:{:02}:{:02}.{} {user} {action} {object} {}.{}.{}.{} /v2/photos/{object}?client={}&vid={:016x}\n",
                10 + seconds / 3600,
                seconds / 60 % 60,
                seconds % 60,
                state % 100_000,
                state >> 56,
                (state >> 48) & 255,
                (state >> 40) & 255,
                (state >> 32) & 255,
                clients[(state >> 8) as usize % 5],
                state | (1 << 63)
            )
            .as_bytes(),
        );
    }
    out
}

fn bench(c: &mut Criterion) {
    let text = corpus(200_000);
    let mut group = c.benchmark_group("api-v1");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(20);

    group.bench_function("line parser", |b| {
        b.iter(|| {
            let mut parser = LineParser::new();
            let mut events = 0usize;
            for line in text.split(|&b| b == b'\n') {
                events += usize::from(parser.parse(line).is_ok());
            }
            events
        });
    });

    let file = ArchiveFile::new(
        std::path::Path::new("/"),
        "/2015/02/10/10/api-01.log".into(),
        text.len() as u64,
    );
    for (name, columns) in [
        ("to arrow, all columns", ColumnSet::all()),
        (
            "to arrow, action only",
            ColumnSet::from_projection(Some(&vec![EventColumn::Action.index()])),
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let input = Box::new(Cursor::new(text.clone()));
                let mut reader = FileReader::from_reader(&file, input, columns, 8192);
                let mut rows = 0;
                while let Some(chunk) = reader.next_chunk() {
                    rows += chunk.unwrap().events.num_rows();
                }
                rows
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
