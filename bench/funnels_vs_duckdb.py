#!/usr/bin/env python3
"""The funnels over a year of the photo site: darkroom's funnel_steps model beside DuckDB.

    python3 bench/funnels_vs_duckdb.py [--days 365] [--users 20000]

Generates the days (logs and a SQLite production database) into
bench-data/funnels-<users>-<days>, builds the warehouse with one nightly run of
the last day (it loads every archive not loaded yet), then times, in the same run:
  darkroom  the funnel_steps model's SQL through `darkroom sql`, as its row count
            and sum of `reached` (the plan the nightly task streams into Delta)
  duckdb    the same SQL over the same Parquet files (the Delta tables' data
            files, each table written by one commit), as views of the same names;
            both answers are printed, so a disagreement shows
Results go to stdout and bench-data/funnels-benchmark.md.
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"
START = "2015-01-05"
TABLES = ["raw_events", "dim_users", "fact_page_views", "fact_signups",
          "fact_subscription_purchases", "fact_stock_purchases"]


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


def site(users, days):
    path = DATA / f"funnels-{users}-{days}"
    if not (path / "warehouse" / "funnel_steps").exists():
        shutil.rmtree(path, ignore_errors=True)
        sh(darkroom(), "init", str(path))
        report = sh(darkroom(), "sim", "advance", str(path), "--days", str(days), "--users", str(users),
                    "--start", START).stdout.strip()
        print(report)
        last = re.search(r"to (\d{4}-\d{2}-\d{2})", report).group(1)
        started = time.perf_counter()
        sh(darkroom(), "run", "--project", str(path), "--date", last)
        print(f"one nightly run loaded and built the year in {time.perf_counter() - started:.1f} s")
    return path


def model_sql(path):
    text = (path / "models" / "funnel_steps.sql").read_text()
    return "\n".join(line for line in text.splitlines() if not line.startswith("--"))


def time_darkroom(path, sql):
    started = time.perf_counter()
    out = sh(darkroom(), "sql", "--project", str(path), "--format", "csv",
             f"SELECT count(*) AS n, sum(reached) AS reached FROM ({sql}) AS f").stdout
    return time.perf_counter() - started, tuple(int(v) for v in out.splitlines()[1].split(","))


def time_duckdb(path, sql):
    import duckdb
    # DuckDB spells the ordered aggregate first_value(x ORDER BY y) as first(x ORDER BY y).
    sql = re.sub(r"first_value\((\w+) ORDER BY", r"first(\1 ORDER BY", sql)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for table in TABLES:
        files = path / "warehouse" / table
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{files}/**/*.parquet', "
                    f"hive_partitioning = true)")
    started = time.perf_counter()
    n, reached = con.execute(f"SELECT count(*), sum(reached) FROM ({sql}) AS f").fetchone()
    return time.perf_counter() - started, (int(n), int(reached))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--users", type=int, default=20000)
    args = parser.parse_args()
    ensure_duckdb()
    path = site(args.users, args.days)
    sql = model_sql(path)
    events = sh(darkroom(), "sql", "--project", str(path), "--format", "csv",
                "SELECT count(*) FROM raw_events").stdout.splitlines()[1]
    ours, rows = time_darkroom(path, sql)
    theirs, their_rows = time_duckdb(path, sql)
    lines = [
        f"funnels over {args.days} days, {args.users} users, {int(events):,} raw events (2 cores)",
        f"  darkroom funnel_steps: {ours:.2f} s, {rows[0]} rows, {rows[1]} reached (process start and warehouse open included)",
        f"  duckdb same SQL:       {theirs:.2f} s, {their_rows[0]} rows, {their_rows[1]} reached",
        f"  ratio (duckdb time / darkroom time): {theirs / ours:.2f}x",
    ]
    print("\n".join(lines))
    DATA.mkdir(exist_ok=True)
    (DATA / "funnels-benchmark.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
