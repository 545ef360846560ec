"""Benchmark: serve's web pages on a big ledger.

Run:  python benchmarks/pages_bench.py [--n 1000000] [--requests 500] [--keep]

Routes N leads (spread over the last 30 days, `--clock received`) through one sequential group
of 20 reps with day caps, starts a real server (a subprocess on a free loopback port), signs in
a rep and a manager with one-time links, then asks each page --requests times over one
keep-alive connection: /inbox (the rep's newest 200 leads), /team (20 members, today's and the
month's use, who is next, the queue, the 7-day chart), /pickup, one lead's page, /reports (7
and 90 days: its figures kept as `tick` keeps them; the first request, which computes them, is
timed on its own) and /queue. Prints the p50, p99 and max latency of each (whole request,
client on the same 2-core machine).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_bench import free_port  # noqa: E402

USERS = [f"rep{i:02d}" for i in range(20)]
LEADCTL = [sys.executable, "-m", "leadctl"]


def make_config(path: Path, n: int) -> None:
    cap = max(n // (30 * 24), 1)
    lines = ['[settings]\ntimezone = "UTC"\nisolate = true\n']
    for u in USERS:
        lines.append(f'[users.{u}]\nname = "{u}"\nroles = ["trusted"]\npickup = true\n')
    lines.append('[users.boss]\nname = "boss"\nroles = ["manager"]\n')
    lines.append('[groups.sales]\nmethod = "sequential"\npickup_statuses = ["new"]\n')
    for i, u in enumerate(USERS):
        lines.append(f'[[groups.sales.members]]\nuser = "{u}"\ndaily = {0 if i == 0 else cap}\n')
    lines.append('[routing]\ndefault_group = "sales"\n')
    path.write_text("\n".join(lines))


def make_csv(path: Path, n: int, now: datetime) -> None:
    start = now - timedelta(days=30)
    span = 30 * 86400
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "email", "source", "received_at"])
        for i in range(n):
            at = start + timedelta(seconds=i * span // n)
            w.writerow([f"P{i:07d}", f"Lead {i}", f"lead{i}@example.com", "web", at.strftime("%Y-%m-%dT%H:%M:%S")])


def sign_in(port: int, link: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", link.split(str(port), 1)[1])
    resp = conn.getresponse()
    resp.read()
    cookie = resp.getheader("set-cookie").split(";")[0]
    conn.close()
    return cookie


def timed(port: int, path: str, cookie: str, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie, "Accept": "text/html"})
        resp = conn.getresponse()
        resp.read()
        out.append((time.perf_counter() - t) * 1000)
        assert resp.status == 200, (path, resp.status)
    conn.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="leadctl-pages-bench-"))
    server = None
    try:
        config, leads, db = folder / "leadctl.toml", folder / "leads.csv", folder / "leadctl.db"
        make_config(config, args.n)
        make_csv(leads, args.n, datetime.now(timezone.utc))
        base = [*LEADCTL, "--config", str(config), "--db", str(db)]
        t = time.perf_counter()
        subprocess.run([*base, "route", str(leads), "--clock", "received", "--no-notify", "-o", "jsonl"],
                       stdout=subprocess.DEVNULL, check=True)
        print(f"routed {args.n:,} leads in {time.perf_counter() - t:.1f} s")
        port = free_port()
        server = subprocess.Popen([*base, "serve", "--port", str(port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        link = lambda user: subprocess.run([*base, "token", "link", user, "--port", str(port)],  # noqa: E731
                                           capture_output=True, text=True, check=True).stdout.strip()
        rep, boss = sign_in(port, link("rep03")), sign_in(port, link("boss"))
        for days in (7, 30, 90):  # what a visitor pays when no `tick` has kept the figures
            cold = timed(port, f"/reports?days={days}", boss, 1)[0]
            print(f"/reports?days={days}: figures computed by the first request in {cold:.0f} ms")
        t = time.perf_counter()
        subprocess.run([*base, "tick"], capture_output=True, check=True)
        print(f"`leadctl tick` with the figures fresh: {time.perf_counter() - t:.2f} s")
        print(f"{'page':<18} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for label, path, cookie in (("/inbox (rep)", "/inbox", rep), ("/team (manager)", "/team", boss),
                                    ("/pickup (rep)", "/pickup", rep), ("/leads/ID (rep)", "/leads/P0000003", rep),
                                    ("/reports (manager)", "/reports", boss),
                                    ("/reports?days=90", "/reports?days=90", boss),
                                    ("/queue (manager)", "/queue", boss)):
            timed(port, path, cookie, 20)  # warm up: connections, caches, templates compiled
            ms = sorted(timed(port, path, cookie, args.requests))
            p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
            print(f"{label:<18} {statistics.median(ms):>8.1f} {p99:>8.1f} {ms[-1]:>8.1f}", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "")
    main()
