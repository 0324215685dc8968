#!/usr/bin/env python3
"""File-to-Arrow throughput of darkroom's api-v1 reader beside DuckDB, in one run.

    python3 bench/logs_vs_duckdb.py [--users 1000000] [--repeat 3]

Generates one simulated day of logs (about 300 MB with the default users),
makes a plain (.log) copy of every archive, then times, best of --repeat:
  darkroom  SELECT * through the `logs` table (all 12 columns built), 1 and 2 threads
  darkroom  gzip decompression alone, 1 and 2 threads: with flate2 (zlib-rs, the
            issue's zlib-ng floor) and as the reader inflates (libdeflate for whole
            small files, the reader's own floor)
  duckdb    read_csv of the same files into Parquet, and into a table, 2 threads
Throughput is uncompressed MB per second of wall time; "per core" divides by threads.
Results go to stdout and bench-data/logs-benchmark.md.
"""
import argparse
import gzip
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, cwd=ROOT, **kw).stdout


def ensure_duckdb():
    try:
        import duckdb  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "duckdb"], check=True)


def target_dir():
    return pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def corpus(users):
    site = DATA / f"site-{users}"
    gz = site / "logs"
    plain = DATA / f"plain-{users}"
    if not gz.exists():
        shutil.rmtree(site, ignore_errors=True)
        darkroom = target_dir() / "release" / "darkroom"
        sh(str(darkroom), "init", str(site))
        print(sh(str(darkroom), "sim", "advance", str(site), "--days", "1", "--users", str(users)).strip())
    if not plain.exists():
        tmp = plain.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for path in gz.rglob("*.log.gz"):
            out = tmp / path.relative_to(gz).with_suffix("")
            out.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "rb") as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        tmp.rename(plain)
    return gz, plain


def best(repeat, fn):
    return min(fn() for _ in range(repeat))


def ours(folder, threads, mode, repeat):
    example = target_dir() / "release" / "examples" / "read_archives"

    def once():
        out = sh(str(example), str(folder), "--threads", str(threads), "--mode", mode)
        return json.loads(out)["seconds"]

    return best(repeat, once)


def duckdb_run(folder, pattern, compression, into, threads, repeat):
    import duckdb

    columns = "{'d': 'DATE', 't': 'TIME', 'user_id': 'BIGINT', 'action': 'VARCHAR', 'object_id': 'BIGINT', 'ip': 'VARCHAR', 'request': 'VARCHAR'}"
    scan = (
        f"read_csv('{folder}/{pattern}', delim=' ', header=false, quote='', escape='', nullstr='-', "
        f"compression='{compression}', auto_detect=false, columns={columns})"
    )
    out = DATA / "duckdb-out.parquet"

    def once():
        con = duckdb.connect()
        con.execute(f"SET threads = {threads}")
        started = time.perf_counter()
        if into == "parquet":
            con.execute(f"COPY (SELECT * FROM {scan}) TO '{out}' (FORMAT parquet)")
        else:
            con.execute(f"CREATE TABLE t AS SELECT * FROM {scan}")
        seconds = time.perf_counter() - started
        con.close()
        return seconds

    return best(repeat, once)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_duckdb()
    import duckdb

    sh("cargo", "build", "--release", "-p", "darkroom", "-p", "darkroom-logs", "--example", "read_archives", "--bins")
    DATA.mkdir(exist_ok=True)
    gz, plain = corpus(args.users)
    mb = sum(p.stat().st_size for p in plain.rglob("*.log")) / 1e6
    gz_mb = sum(p.stat().st_size for p in gz.rglob("*.log.gz")) / 1e6
    rows = []

    def row(name, threads, seconds):
        rows.append((name, threads, seconds, mb / seconds, mb / seconds / threads))
        print(f"{name:58} {threads} threads {seconds:7.3f} s {mb / seconds:8.1f} MB/s {mb / seconds / threads:8.1f} MB/s/core", flush=True)

    for threads in (1, 2):
        row("darkroom parse, plain .log -> Arrow (12 columns)", threads, ours(plain, threads, "parse", args.repeat))
        row("darkroom parse, .log.gz -> Arrow (12 columns)", threads, ours(gz, threads, "parse", args.repeat))
        row("gzip decompression alone (flate2 zlib-rs), the floor", threads, ours(gz, threads, "decompress", args.repeat))
        row("gzip decompression as the reader inflates (libdeflate)", threads, ours(gz, threads, "inflate", args.repeat))
    row("duckdb read_csv plain .log -> Parquet", 2, duckdb_run(plain, "**/*.log", "none", "parquet", 2, args.repeat))
    row("duckdb read_csv .log.gz -> Parquet", 2, duckdb_run(gz, "**/*.log.gz", "gzip", "parquet", 2, args.repeat))
    row("duckdb read_csv plain .log -> table", 2, duckdb_run(plain, "**/*.log", "none", "table", 2, args.repeat))
    row("duckdb read_csv .log.gz -> table", 2, duckdb_run(gz, "**/*.log.gz", "gzip", "table", 2, args.repeat))

    lines = [
        f"Corpus: one simulated day, {args.users} users, {mb:.0f} MB of lines ({gz_mb:.0f} MB gzipped), "
        f"{len(list(gz.rglob('*.log.gz')))} files; duckdb {duckdb.__version__}; {os.cpu_count()} cores; best of {args.repeat}.",
        "",
        "| path | threads | seconds | MB/s | MB/s per core |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {n} | {t} | {s:.3f} | {r:.0f} | {c:.0f} |" for n, t, s, r, c in rows]
    by = {(n, t): r for n, t, _, r, _ in rows}
    plain_ratio = by[("darkroom parse, plain .log -> Arrow (12 columns)", 2)] / by[("duckdb read_csv plain .log -> Parquet", 2)]
    gz_ratio = by[("darkroom parse, .log.gz -> Arrow (12 columns)", 2)] / by[("duckdb read_csv .log.gz -> Parquet", 2)]
    floor = by[("darkroom parse, .log.gz -> Arrow (12 columns)", 2)] / by[("gzip decompression alone (flate2 zlib-rs), the floor", 2)]
    own_floor = by[("darkroom parse, .log.gz -> Arrow (12 columns)", 2)] / by[("gzip decompression as the reader inflates (libdeflate)", 2)]
    lines += [
        "",
        f"darkroom / duckdb (2 threads, to Parquet): plain {plain_ratio:.2f}x, gzip {gz_ratio:.2f}x; "
        f"darkroom gzip parse reaches {floor:.0%} of zlib-rs decompression alone "
        f"and {own_floor:.0%} of its own (libdeflate) inflation alone.",
    ]
    text = "\n".join(lines) + "\n"
    (DATA / "logs-benchmark.md").write_text(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
