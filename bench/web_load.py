#!/usr/bin/env python3
"""50 people loading the Executive dashboard: latency of `darkroom serve` under load.

    python3 bench/web_load.py [--binary PATH] [--days 56] [--seconds 20] [--connections 50]

A demo project (bench-data/web-demo, made with `darkroom demo --no-serve` if missing) is
served on a free port. Each simulated person logs in and loads the Executive dashboard
as a browser does: the page, then every chart's SVG and data (`/charts/ID.svg`,
`/api/charts/ID/data`). The load generator is wrk (Debian's `wrk`), run on loopback with
a Lua script rotating through those URLs.

Reported: the first load of the page on a fresh server (nothing cached: every chart's
query planned and run), then p50/p95/p99 under load with a warm cache; then both again
while a backfill of the last week's nights (`darkroom run --force`) runs beside the server.
"""
import argparse
import datetime
import json
import os
import pathlib
import re
import subprocess
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent


def binary():
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "release" / "darkroom")


def demo(darkroom, days):
    site = ROOT / "bench-data" / f"web-demo-{days}"
    if not (site / "darkroom.toml").exists():
        subprocess.run([darkroom, "demo", "--days", str(days), "--dir", str(site), "--no-serve"],
                       check=True, stdout=subprocess.DEVNULL)
    return site


def serve(darkroom, site):
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    server = subprocess.Popen([darkroom, "serve", "--project", str(site), "--listen", "127.0.0.1:0",
                               "--pgwire-listen", "127.0.0.1:0"],
                              stdout=log, stderr=subprocess.STDOUT)
    for _ in range(120):
        time.sleep(0.25)
        found = re.search(r"http://127\.0\.0\.1:\d+", pathlib.Path(log.name).read_text())
        if found:
            return server, found.group(0)
    server.kill()
    raise SystemExit(f"the server did not start: {pathlib.Path(log.name).read_text()}")


def login(url):
    request = urllib.request.Request(f"{url}/api/login", method="POST",
                                     data=json.dumps({"user": "demo", "password": "darkroom-demo"}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return answer.headers["set-cookie"].split(";")[0]


def get(url, cookie):
    request = urllib.request.Request(url, headers={"cookie": cookie})
    with urllib.request.urlopen(request) as answer:
        return answer.read()


def dashboard_urls(url, cookie):
    charts = json.loads(get(f"{url}/api/dashboards/executive", cookie))["charts"]
    paths = ["/d/executive"]
    for chart in charts:
        paths += [f"/charts/{chart['id']}.svg", f"/api/charts/{chart['id']}/data"]
    return paths


def first_load(url, cookie, paths):
    started = time.perf_counter()
    for path in paths:
        get(f"{url}{path}", cookie)
    return time.perf_counter() - started


LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Cookie"] = "%s"})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT p50=%%.2f p95=%%.2f p99=%%.2f requests=%%d errors=%%d\\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def load(url, cookie, paths, seconds, connections):
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(LUA % (", ".join(f'"{p}"' for p in paths), cookie))
    script.close()
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name, url],
                         check=True, capture_output=True, text=True).stdout
    found = re.search(r"RESULT (.*)", out)
    return dict(kv.split("=") for kv in found.group(1).split()) if found else {"raw": out}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=binary())
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    site = demo(args.binary, args.days)
    server, url = serve(args.binary, site)
    try:
        cookie = login(url)
        paths = dashboard_urls(url, cookie)
        cold = first_load(url, cookie, paths)
        print(f"first load, nothing cached: {cold * 1000:.0f} ms for the page and {len(paths) - 1} chart requests")
        warm = load(url, cookie, paths, args.seconds, args.connections)
        print(f"{args.connections} users, warm cache: {warm}")
        last = subprocess.run([args.binary, "sql", "--project", str(site), "--format", "csv",
                               "SELECT max(date) FROM daily_metrics"], check=True, capture_output=True,
                              text=True).stdout.split()[-1]
        start = (datetime.date.fromisoformat(last) - datetime.timedelta(days=6)).isoformat()
        night = subprocess.Popen([args.binary, "run", "--project", str(site), "--from", start, "--to", last,
                                  "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        during = load(url, cookie, paths, args.seconds, args.connections)
        print(f"{args.connections} users during a backfill of {start}..{last}: {during}")
        night.wait()
        time.sleep(0.5)
        after = first_load(url, cookie, paths)
        print(f"first load after the backfill committed: {after * 1000:.0f} ms")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
