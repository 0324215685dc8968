#!/usr/bin/env python3
"""20 notebooks and BI tools reading through the Postgres endpoint while a night commits.

    python3 bench/pgwire_load.py [--binary PATH] [--days 56] [--clients 20] [--seconds 15]

Uses the release binary the README's first command builds (`cargo run --release -- demo`
builds target/release/darkroom; this script builds nothing). A demo project
(bench-data/pgwire-demo-DAYS, made with `darkroom demo --no-serve` if missing) is served
by `darkroom pgwire` on a free port. Each client is a psycopg 3 connection (PyPI) logged in
as the demo user, running the Executive dashboard's chart queries in turn, as a BI tool
refreshing that dashboard would: psycopg prepares a statement on the server after its
fifth run, so both protocols are measured.

Reported: p50/p95/p99 latency and errors of every query, first with the project quiet,
then while `darkroom run --force` rebuilds the last night (every table committed again).
Every answer during the run must come from a whole night: the last day of daily_metrics
and of raw_events agree in each sample. The peer: the same clients and queries against the
machine's PostgreSQL (127.0.0.1:5432, trust), the tables they read copied into it.
"""
import argparse
import datetime
import os
import pathlib
import re
import statistics
import subprocess
import threading
import time
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
USER, PASSWORD = "demo", "darkroom-demo"


def binary():
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "release" / "darkroom")


def demo(darkroom, days):
    site = ROOT / "bench-data" / f"pgwire-demo-{days}"
    if not (site / "darkroom.toml").exists():
        subprocess.run([darkroom, "demo", "--days", str(days), "--dir", str(site), "--no-serve"],
                       check=True, stdout=subprocess.DEVNULL)
    return site


def start(darkroom, site):
    server = subprocess.Popen([darkroom, "pgwire", "--project", str(site), "--listen", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in server.stdout:
        found = re.search(r"port=(\d+)", line)
        if found:
            threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()
            return server, int(found.group(1))
    raise SystemExit("darkroom pgwire did not start")


def dashboard_queries(site, last_day):
    """The Executive dashboard's chart SQL with its date filter bound to the last 90 days."""
    spec = tomllib.loads((site / "dashboards" / "executive.toml").read_text())
    start = last_day - datetime.timedelta(days=89)
    queries = []
    for chart in spec["charts"]:
        sql = chart["sql"].replace("$days_end", f"DATE '{last_day}'").replace("$days_start", f"DATE '{start}'")
        if "$" in sql:
            raise SystemExit(f"chart {chart['id']} has a parameter this script does not bind")
        queries.append((chart["id"], sql))
    return queries


def connect(port):
    import psycopg

    return psycopg.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD, dbname="darkroom",
                           autocommit=True)


PEER_DATABASE = "darkroom_bench"
# DataFusion's types of the tables the dashboard reads, as PostgreSQL names them.
PG_TYPES = {"Date32": "date", "Utf8": "text", "Utf8View": "text", "LargeUtf8": "text", "Float64": "double precision",
            "Int64": "bigint", "Int32": "integer", "Boolean": "boolean"}


def connect_peer():
    import psycopg

    return psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=PEER_DATABASE, autocommit=True)


def copy_to_postgres(port, queries):
    """The tables the queries read, copied through the endpoint into PostgreSQL (the machine's
    server, 127.0.0.1:5432) with an index on (metric, date) as a DBA would add: the peer."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PEER_DATABASE}")
        admin.execute(f"CREATE DATABASE {PEER_DATABASE}")
    tables = sorted({t for _, sql in queries for t in ("daily_metrics", "ext_plan") if t in sql})
    with connect(port) as source, connect_peer() as peer:
        for table in tables:
            columns = source.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_name = '{table}' ORDER BY ordinal_position").fetchall()
            unknown = [t for _, t in columns if t not in PG_TYPES]
            if unknown:
                raise SystemExit(f"{table}: no PostgreSQL type for {unknown}")
            peer.execute(f"CREATE TABLE {table} ({', '.join(f'{c} {PG_TYPES[t]}' for c, t in columns)})")
            rows = source.execute(f"SELECT * FROM {table}").fetchall()
            with peer.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        peer.execute("CREATE INDEX ON daily_metrics (metric, date)")
        peer.execute("ANALYZE")
    return tables


def load(connect_client, queries, clients, stop, check_whole_night=True):
    latencies, errors, torn = [], [], []
    lock = threading.Lock()

    def client(index):
        conn = connect_client()
        mine, n = [], index
        while not stop.is_set():
            chart, sql = queries[n % len(queries)]
            n += 1
            began = time.perf_counter()
            try:
                conn.execute(sql).fetchall()
                mine.append(time.perf_counter() - began)
            except Exception as error:  # every failure is counted, none ends the client
                with lock:
                    errors.append(f"{chart}: {error}")
            if check_whole_night and n % 10 == 0:
                days = conn.execute("SELECT (SELECT max(date) FROM daily_metrics), "
                                    "(SELECT max(event_date) FROM raw_events)").fetchone()
                if days[0] != days[1]:
                    with lock:
                        torn.append(days)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    return threads, latencies, errors, torn


def report(label, seconds, latencies, errors, torn):
    latencies = sorted(latencies)
    if not latencies:
        raise SystemExit(f"{label}: no query finished; errors: {errors[:3]}")
    cut = statistics.quantiles(latencies, n=100)
    print(f"{label}: {len(latencies)} queries in {seconds:.1f} s ({len(latencies) / seconds:.0f}/s), "
          f"p50 {cut[49] * 1000:.1f} ms, p95 {cut[94] * 1000:.1f} ms, p99 {cut[98] * 1000:.1f} ms, "
          f"errors {len(errors)}, half-night answers {len(torn)}")
    for error in errors[:5]:
        print(f"  error: {error}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=binary())
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    if not pathlib.Path(args.binary).exists():
        raise SystemExit(f"{args.binary} is missing: run the README's `cargo run --release -- demo` first")
    site = demo(args.binary, args.days)
    server, port = start(args.binary, site)
    try:
        with connect(port) as conn:
            last_day = conn.execute("SELECT max(date) FROM daily_metrics").fetchone()[0]
        queries = dashboard_queries(site, last_day)
        print(f"{args.clients} psycopg clients, the Executive dashboard's {len(queries)} queries, "
              f"{args.days} days of the demo site, last day {last_day}")

        stop = threading.Event()
        began = time.perf_counter()
        threads, latencies, errors, torn = load(lambda: connect(port), queries, args.clients, stop)
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        report("quiet", time.perf_counter() - began, latencies, errors, torn)

        stop = threading.Event()
        began = time.perf_counter()
        threads, latencies, errors, torn = load(lambda: connect(port), queries, args.clients, stop)
        night = subprocess.run([args.binary, "run", "--project", str(site), "--date", str(last_day), "--force"],
                               capture_output=True, text=True)
        if night.returncode != 0:
            raise SystemExit(f"the nightly run failed: {night.stderr}")
        ran = time.perf_counter() - began
        time.sleep(1)  # answers from the new night
        stop.set()
        for thread in threads:
            thread.join()
        report(f"during a nightly run ({ran:.1f} s)", time.perf_counter() - began, latencies, errors, torn)

        tables = copy_to_postgres(port, queries)
        stop = threading.Event()
        began = time.perf_counter()
        threads, latencies, errors, torn = load(connect_peer, queries, args.clients, stop, check_whole_night=False)
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        report(f"peer: PostgreSQL 127.0.0.1:5432, {', '.join(tables)} copied, quiet", time.perf_counter() - began,
               latencies, errors, torn)
    finally:
        server.kill()


if __name__ == "__main__":
    main()
