#!/usr/bin/env python3
"""What opening and scanning the warehouse costs as the nights add up: day 30, 90 and 365.

    python3 bench/table_upkeep.py [--users 300] [--at 30 90 365] [--repeat 5]

Uses the release binary the README's first command builds (target/release/darkroom; this
script builds nothing). Grows one photo site (bench-data/upkeep-USERS) a stretch at a time
with `darkroom sim advance`, runs every night of the stretch with `darkroom run --from --to`
(whose last three tasks compact, vacuum and checkpoint every table; `keep_versions_days = 0`,
as the year passes in an hour of wall-clock time), and after each stretch
times, best of --repeat, each query as a new `darkroom sql` process (which opens every table
of the warehouse, as any new reader does):
  open      SELECT 1                                   every table opened, nothing scanned
  scan      SELECT count(*), sum(likes) FROM fact_likes ...  one fact table read whole
  raw       SELECT action, count(*) FROM raw_events GROUP BY 1   the largest table read whole
and counts, over every table, the JSON commits a reader replays after the last checkpoint and
the Parquet files on disk.
Flat figures from day 30 to day 365 are the goal. Results go to stdout.
"""
import argparse
import datetime
import json
import os
import pathlib
import shutil
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "bench-data"
START = datetime.date(2015, 1, 5)

QUERIES = {
    "open": "SELECT 1",
    "scan": "SELECT count(*), count(DISTINCT photo_id) FROM fact_likes",
    "raw": "SELECT action, count(*) FROM raw_events GROUP BY 1",
}


def darkroom():
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "release" / "darkroom")


def sh(*args):
    return subprocess.run(args, check=True, text=True, capture_output=True).stdout


def best_seconds(site, sql, repeat):
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        sh(darkroom(), "sql", "--project", str(site), "--format", "csv", sql)
        times.append(time.perf_counter() - began)
    return min(times)


def log_shape(site):
    """(most JSON commits after a checkpoint in any table, Parquet files on disk in all tables)."""
    replay, on_disk = 0, 0
    warehouse = site / "warehouse"
    for table in sorted(p for p in warehouse.iterdir() if (p / "_delta_log").is_dir()):
        log = table / "_delta_log"
        commits = [int(p.name.split(".")[0]) for p in log.glob("*.json")]
        last = log / "_last_checkpoint"
        checkpoint = json.loads(last.read_text())["version"] if last.exists() else -1
        replay = max(replay, sum(1 for c in commits if c > checkpoint))
        on_disk += sum(1 for p in table.rglob("*.parquet") if "_delta_log" not in p.parts)
    return replay, on_disk


def raw_event_rows(site):
    rows = sh(darkroom(), "sql", "--project", str(site), "--format", "json",
              "SELECT count(*) AS n FROM raw_events")
    return json.loads(rows)[0]["n"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--at", type=int, nargs="+", default=[30, 90, 365])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not pathlib.Path(darkroom()).exists():
        raise SystemExit(f"{darkroom()} is missing: run the README's `cargo run --release -- demo` first")
    site = DATA / f"upkeep-{args.users}"
    shutil.rmtree(site, ignore_errors=True)
    DATA.mkdir(exist_ok=True)
    sh(darkroom(), "init", str(site))
    # Vacuum's retention is wall-clock time, and this year of nights passes in about an
    # hour: with the default 7 days nothing would ever be old enough to delete, unlike a
    # real year. No reader runs beside these nights, so nothing needs the old files.
    config = site / "darkroom.toml"
    config.write_text(config.read_text().replace("keep_versions_days = 7", "keep_versions_days = 0"))
    done = 0
    print(f"photo site of {args.users} users; each figure best of {args.repeat} new `darkroom sql` processes")
    print(f"{'day':>5} {'nights s':>9} {'open ms':>8} {'scan ms':>8} {'raw ms':>8} {'replayed commits':>17} "
          f"{'files on disk':>14} {'raw_events rows':>16}")
    for day in args.at:
        sh(darkroom(), "sim", "advance", str(site), "--days", str(day - done), "--users", str(args.users),
           "--start", START.isoformat())
        first = START + datetime.timedelta(days=done)
        last = START + datetime.timedelta(days=day - 1)
        began = time.perf_counter()
        sh(darkroom(), "run", "--project", str(site), "--from", first.isoformat(), "--to", last.isoformat())
        nights = time.perf_counter() - began
        done = day
        timings = {name: best_seconds(site, sql, args.repeat) * 1000 for name, sql in QUERIES.items()}
        replay, on_disk = log_shape(site)
        print(f"{day:>5} {nights:>9.1f} {timings['open']:>8.0f} {timings['scan']:>8.0f} {timings['raw']:>8.0f} "
              f"{replay:>17} {on_disk:>14} {raw_event_rows(site):>16}", flush=True)


if __name__ == "__main__":
    main()
