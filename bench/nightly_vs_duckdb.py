#!/usr/bin/env python3
"""The nightly run for one simulated day beside DuckDB turning the same gzip files into zstd Parquet.

    python3 bench/nightly_vs_duckdb.py [--users 1000000 3400000]

For each --users size: generates one day of the photo site (logs, SQLite production)
into bench-data/nightly-<users>, then times, in the same run:
  darkroom  `darkroom run --date D` (every task of the DAG), wall time and peak RSS
            (/usr/bin/time), rows written, and the time of each task (etl_task_runs)
  duckdb    COPY (SELECT * FROM read_csv('**/*.log.gz')) TO '...parquet' (COMPRESSION zstd)
Rates are uncompressed MB of log lines per second of wall time.
Results go to stdout and bench-data/nightly-benchmark.md.
"""
import argparse
import gzip
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"
DAY = "2015-01-05"


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, cwd=ROOT, **kw)


def darkroom():
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "release" / "darkroom")


def ensure_duckdb():
    try:
        import duckdb  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "duckdb"], check=True)


def site(users):
    path = DATA / f"nightly-{users}"
    if not (path / "sim" / "world.toml").exists():
        shutil.rmtree(path, ignore_errors=True)
        sh(darkroom(), "init", str(path))
        print(sh(darkroom(), "sim", "advance", str(path), "--days", "1", "--users", str(users)).stdout.strip())
    return path


def uncompressed_mb(logs):
    total = 0
    for path in logs.rglob("*.log.gz"):
        with gzip.open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                total += len(chunk)
    return total / 1e6


def fresh_warehouse(path):
    """Removes what an earlier run of `path` left, so the next run builds every table."""
    for leftover in ["warehouse", "state.db", "state.db-wal", "state.db-shm", "run.lock"]:
        target = path / leftover
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def run_darkroom(path):
    fresh_warehouse(path)
    started = time.perf_counter()
    result = sh("/usr/bin/time", "-v", darkroom(), "run", "--project", str(path), "--date", DAY, "--verbose")
    seconds = time.perf_counter() - started
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    tasks = sh(
        darkroom(), "sql", "--project", str(path), "--format", "csv",
        "SELECT task, seconds, rows_written FROM etl_task_runs WHERE state = 'succeeded' ORDER BY seconds DESC",
    ).stdout
    rows = sum(int(line.split(",")[2]) for line in tasks.strip().splitlines()[1:])
    return seconds, rss_kb / 1024, rows, tasks


def run_duckdb(logs):
    import duckdb

    columns = "{'d': 'DATE', 't': 'TIME', 'user_id': 'BIGINT', 'action': 'VARCHAR', 'object_id': 'BIGINT', 'ip': 'VARCHAR', 'request': 'VARCHAR'}"
    scan = (
        f"read_csv('{logs}/**/*.log.gz', delim=' ', header=false, quote='', escape='', nullstr='-', "
        f"compression='gzip', auto_detect=false, columns={columns})"
    )
    out = DATA / "duckdb-nightly.parquet"
    con = duckdb.connect()
    con.execute("SET threads = 2")
    started = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM {scan}) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
    seconds = time.perf_counter() - started
    out.unlink()
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, nargs="+", default=[1_000_000, 3_400_000])
    args = parser.parse_args()
    ensure_duckdb()
    import duckdb

    DATA.mkdir(exist_ok=True)
    report = [
        f"One simulated day per size; duckdb {duckdb.__version__}; {os.cpu_count()} cores; "
        "rates are uncompressed MB of log lines per second.",
        "",
        "| users | logs MB | darkroom run s | MB/s | peak RSS MB | rows written | rows/s | duckdb gz->zstd parquet s | MB/s | ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    splits = []
    for users in args.users:
        path = site(users)
        mb = uncompressed_mb(path / "logs")
        seconds, rss, rows, tasks = run_darkroom(path)
        duck = run_duckdb(path / "logs")
        report.append(
            f"| {users} | {mb:.0f} | {seconds:.1f} | {mb / seconds:.0f} | {rss:.0f} | {rows} | {rows / seconds:.0f} "
            f"| {duck:.1f} | {mb / duck:.0f} | {duck / seconds:.2f}x |"
        )
        splits.append(f"\nTasks of the {users}-user run (seconds, rows written), slowest first:\n\n```\n{tasks.strip()}\n```")
    text = "\n".join(report + splits) + "\n"
    print(text)
    (DATA / "nightly-benchmark.md").write_text(text)


if __name__ == "__main__":
    main()
