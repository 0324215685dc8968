#!/usr/bin/env python3
"""Where the nightly run's memory goes: resident memory sampled through the run, by task.

    python3 bench/nightly_memory.py [--users 1000000 3400000] [--memory-limit-mb 512] [--one-task-at-a-time]

Uses the worlds of bench/nightly_vs_duckdb.py (bench-data/nightly-<users>, generated if missing).
For each size: a fresh warehouse, `darkroom run --date D`, and the process's resident memory
(VmRSS) read every 20 ms. Each task gets the highest reading taken while it ran (etl_task_runs
gives when). With --one-task-at-a-time ([run] max_concurrent_tasks = 1) that is the task's own
peak; otherwise two tasks share each reading. --memory-limit-mb sets [run] memory_limit_mb.
"""
import argparse
import datetime
import pathlib
import re
import subprocess
import threading
import time

from nightly_vs_duckdb import DAY, darkroom, fresh_warehouse, sh, site


def set_run_options(project, memory_limit_mb, tasks):
    toml = project / "darkroom.toml"
    text = re.sub(r"\n\[run\][^\[]*", "\n", toml.read_text())
    run = ["[run]"]
    if memory_limit_mb is not None:
        run.append(f"memory_limit_mb = {memory_limit_mb}")
    if tasks is not None:
        run.append(f"max_concurrent_tasks = {tasks}")
    extra = "\n\n" + "\n".join(run) if len(run) > 1 else ""
    toml.write_text(text.rstrip() + extra + "\n")


def sample_rss(pid, samples, done):
    status = pathlib.Path(f"/proc/{pid}/status")
    while not done.is_set():
        try:
            text = status.read_text()
        except (FileNotFoundError, ProcessLookupError):
            return
        found = re.search(r"VmRSS:\s+(\d+)", text)
        if found is None:  # the process has exited
            return
        kb = int(found.group(1))
        samples.append((datetime.datetime.now(datetime.timezone.utc), kb / 1024))
        time.sleep(0.02)


def run(project):
    fresh_warehouse(project)
    samples, done = [], threading.Event()
    process = subprocess.Popen([darkroom(), "run", "--project", str(project), "--date", DAY],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = threading.Thread(target=sample_rss, args=(process.pid, samples, done))
    sampler.start()
    _, err = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"darkroom run failed:\n{err}")
    tasks = sh(darkroom(), "sql", "--project", str(project), "--format", "csv",
               "SELECT task, started, finished, seconds FROM etl_task_runs WHERE state = 'succeeded'").stdout
    rows = []
    for line in tasks.strip().splitlines()[1:]:
        task, started, finished, seconds = line.split(",")
        start = datetime.datetime.fromisoformat(started.replace("Z", "+00:00"))
        end = datetime.datetime.fromisoformat(finished.replace("Z", "+00:00"))
        peak = max((mb for at, mb in samples if start <= at <= end), default=0.0)
        rows.append((peak, task, float(seconds)))
    return max(mb for _, mb in samples), sorted(rows, reverse=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, nargs="+", default=[1_000_000, 3_400_000])
    parser.add_argument("--memory-limit-mb", type=int)
    parser.add_argument("--one-task-at-a-time", action="store_true")
    args = parser.parse_args()
    for users in args.users:
        project = site(users)
        set_run_options(project, args.memory_limit_mb, 1 if args.one_task_at_a_time else None)
        try:
            peak, rows = run(project)
        finally:
            set_run_options(project, None, None)
        print(f"\n{users} users: peak resident memory {peak:.0f} MB")
        print(f"{'peak MB while running':>22}  {'seconds':>7}  task")
        for mb, task, seconds in rows:
            print(f"{mb:>22.0f}  {seconds:>7.1f}  {task}")


if __name__ == "__main__":
    main()
