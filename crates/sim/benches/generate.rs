//! Generated log MB/s: one day of a 20,000-user world, simulated, formatted,
//! gzipped and published. `cargo bench -p darkroom-sim --bench generate`.
#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use darkroom_sim::{AdvanceOptions, Outputs, advance};

fn options() -> AdvanceOptions {
    AdvanceOptions {
        days: 1,
        users: 20_000,
        ..AdvanceOptions::default()
    }
}

fn bench(c: &mut Criterion) {
    let probe = tempfile::tempdir().unwrap();
    let report = advance(probe.path(), &Outputs::logs_only(probe.path().join("logs")), &options()).unwrap();
    let mut group = c.benchmark_group("sim");
    group.throughput(Throughput::Bytes(report.bytes_uncompressed));
    group.sample_size(10);
    group.bench_function("one day, 20k users, logs MB/s", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| advance(dir.path(), &Outputs::logs_only(dir.path().join("logs")), &options()).unwrap(),
            criterion::BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
