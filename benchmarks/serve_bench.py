"""Benchmark: `leadctl serve` under load, against `leadctl route` on the same leads.

Run:  python benchmarks/serve_bench.py [--clients 20] [--seconds 10] [--batches 20]
      python benchmarks/serve_bench.py --floor [--rounds 2] [--clients 20] [--seconds 8]
      python benchmarks/serve_bench.py --nodes 1 2 4 [--postgres] [--seconds 8]

Starts a real server (a subprocess on a free loopback port) on a fresh ledger with a
10-member sequential group (nine members capped part-way), then:
  1. --clients threads, each with a keep-alive connection, post single leads for --seconds:
     requests/s, and p50/p99 latency;
  2. --batches requests of 1,000 leads each (a JSON array): per-lead time, against
     `leadctl route` of the same number of leads from a JSON Lines file.
The clients run on the same machine as the server (2 cores here): the figures include them.
With --floor: only the single leads, serve against its floor (serve_floor_app.py: a bare
Starlette app on the same uvicorn committing one SQLite row a request), alternating, so each
figure is a ratio as well.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

USERS = [f"rep{i:02d}" for i in range(10)]
CAP = 2000  # the daily cap of rep01-rep09 (rep00 has none)


def config(folder: Path, cap: int) -> Path:
    lines = ['[settings]\ntimezone = "UTC"\n']
    lines += [f'[users.{u}]\nname = "{u}"\n' for u in USERS]
    lines.append('[groups.sales]\nmethod = "sequential"\n')
    for i, u in enumerate(USERS):
        daily = 0 if i == 0 else cap
        lines.append(f'[[groups.sales.members]]\nuser = "{u}"\ndaily = {daily}\n')
    lines.append('[routing]\ndefault_group = "sales"\n')
    path = folder / "bench.toml"
    path.write_text("\n".join(lines))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lead(prefix: str, i: int) -> dict:
    return {"id": f"{prefix}{i:07d}", "name": f"Lead {i}", "email": f"{prefix.lower()}{i}@example.com",
            "phone": f"+44 7700 {i % 10**6:06d}", "source": "webhook"}


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.05)


def single_leads(port: int | list[int], headers: dict, clients: int, seconds: float, prefix: str,
                 acknowledged: list | None = None) -> tuple[float, float, float, int]:
    """`clients` keep-alive connections posting one lead a request for `seconds` (spread over
    the ports given): (requests/s, p50 ms, p99 ms, answers other than 200); the ids answered
    200 go to `acknowledged`."""
    ports = port if isinstance(port, list) else [port]
    latencies: list[float] = []
    failures = [0]
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", ports[n % len(ports)], timeout=30)
        mine, i = [], 0
        while time.monotonic() < stop_at:
            body = json.dumps(lead(f"{prefix}{n:02d}-", i))
            t = time.perf_counter()
            conn.request("POST", "/leads", body, headers)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t)
            if resp.status != 200:
                failures[0] += 1
            elif acknowledged is not None:
                acknowledged.append(f"{prefix}{n:02d}-{i:07d}")
            i += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return len(latencies) / took, p(0.50), p(0.99), failures[0]


def floor_run(folder: Path, clients: int, seconds: float, rounds: int, serve_base: list[str], token: str) -> None:
    """serve and the bare floor app (serve_floor_app.py), each `rounds` times, alternating,
    with the same clients: every figure as a ratio too."""
    here = Path(__file__).resolve().parent
    rows = []
    for r in range(rounds):
        for name in ("floor", "serve"):
            port = free_port()
            if name == "floor":
                cmd = [sys.executable, str(here / "serve_floor_app.py"), "--port", str(port), "--db",
                       str(folder / f"floor{r}.db")]
            else:
                cmd = [*serve_base, "serve", "--port", str(port)]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(port)
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                rps, p50, p99, bad = single_leads(port, headers, clients, seconds, f"{name[0].upper()}{r}-")
            finally:
                proc.send_signal(15)
                proc.wait(timeout=60)
            rows.append((name, rps, p50, p99, bad))
            print(f"{name:<6} round {r + 1}: {rps:7,.0f} requests/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  non-200: {bad}",
                  flush=True)
    floor = [x for x in rows if x[0] == "floor"]
    serve = [x for x in rows if x[0] == "serve"]
    best = lambda xs, i: sum(x[i] for x in xs) / len(xs)  # noqa: E731  (the mean of the rounds)
    print(f"serve/floor: {best(serve, 1) / best(floor, 1):.2f}x requests/s, p99 {best(serve, 3) / best(floor, 3):.2f}x"
          f" the floor's ({best(serve, 1):,.0f} against {best(floor, 1):,.0f} requests/s)")


def nodes_run(folder: Path, nodes: list[int], clients: int, seconds: float, postgres) -> None:
    """1, 2, 4... `serve` processes on one ledger (SQLite, or one PostgreSQL database each run),
    the clients spread over them; then every acknowledged lead is checked to be in the ledger
    once, the ledger's invariants (`ledger check`) and the caps (each capped member's leads
    against their cap: 500 a day here, so they fill within the run)."""
    cap = 500
    cfg = config(folder, cap=cap)
    print(f"{'nodes':>5} {'store':<10} {'requests/s':>11} {'p50 ms':>7} {'p99 ms':>7}  exactly once, caps")
    for k in nodes:
        db = postgres.new_database() if postgres else str(folder / f"nodes{k}.db")
        base = [sys.executable, "-m", "leadctl", "--config", str(cfg), "--db", db]
        token = subprocess.run([*base, "token", "add", "bench"], capture_output=True, text=True, check=True).stdout.strip()
        ports = [free_port() for _ in range(k)]
        procs = [subprocess.Popen([*base, "serve", "--port", str(p)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for p in ports]
        acked: list[str] = []
        try:
            for p in ports:
                wait_for(p)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            rps, p50, p99, bad = single_leads(ports, headers, clients, seconds, f"N{k}-", acked)
        finally:
            for proc in procs:
                proc.send_signal(15)
                proc.wait(timeout=60)
        rows = json.loads(subprocess.run([*base, "leads", "list", "-o", "json"], capture_output=True,
                                         text=True, check=True).stdout)
        held: dict[str, int] = {}
        for r in rows:
            held[r["assigned_to"]] = held.get(r["assigned_to"], 0) + 1
        once = len(rows) == len(set(r["id"] for r in rows)) and set(acked) <= {r["id"] for r in rows}
        caps = all(n <= cap for u, n in held.items() if u and u != USERS[0]) and held.get(USERS[1]) == cap
        check = subprocess.run([*base, "ledger", "check"], capture_output=True).returncode == 0
        print(f"{k:>5} {'PostgreSQL' if postgres else 'SQLite':<10} {rps:>11,.0f} {p50:>7.1f} {p99:>7.1f}"
              f"  {'yes' if once else 'NO'}, {'held' if caps else 'BROKEN'}, ledger check {'ok' if check else 'FAILED'}"
              f" ({len(acked):,} acknowledged, {bad} non-200)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batches", type=int, default=20, help="1,000-lead requests in the batch run")
    parser.add_argument("--floor", action="store_true", help="serve against a bare Starlette app writing the same"
                        " row, alternating, --rounds times each (then nothing else)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--nodes", type=int, nargs="+", metavar="N",
                        help="only: N serve processes on one ledger, for each N given (e.g. --nodes 1 2 4)")
    parser.add_argument("--postgres", action="store_true", help="with --nodes: on a throwaway local PostgreSQL")
    args = parser.parse_args()
    leadctl = [sys.executable, "-m", "leadctl"]
    folder = Path(tempfile.mkdtemp(prefix="leadctl-serve-bench-"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    try:
        cfg = config(folder, cap=CAP)
        db = folder / "serve.db"
        base = [*leadctl, "--config", str(cfg), "--db", str(db)]
        token = subprocess.run([*base, "token", "add", "bench"], capture_output=True, text=True, check=True).stdout.strip()
        if args.floor:
            floor_run(folder, args.clients, args.seconds, args.rounds, base, token)
            return
        if args.nodes:
            server = None
            if args.postgres:
                sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
                from pg_bench import Server

                server = Server(None)
            try:
                nodes_run(folder, args.nodes, args.clients, args.seconds, server)
            finally:
                if server is not None:
                    server.stop()
            return
        port = free_port()
        server = subprocess.Popen([*base, "serve", "--port", str(port), "--max-body", str(64 << 20)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(port)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

            rps, p50, p99, failures = single_leads(port, headers, args.clients, args.seconds, "C")
            print(f"single leads, {args.clients} clients for {args.seconds:.0f} s: {rps:,.0f} requests/s,"
                  f" p50 {p50:.1f} ms, p99 {p99:.1f} ms, non-200: {failures}")

            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            batch_times = []
            for b in range(args.batches):
                body = json.dumps([lead(f"B{b:03d}-", i) for i in range(1000)])
                t = time.perf_counter()
                conn.request("POST", "/leads", body, headers)
                resp = conn.getresponse()
                resp.read()
                batch_times.append(time.perf_counter() - t)
                assert resp.status == 200, resp.status
            serve_per_lead = sum(batch_times) / (1000 * args.batches) * 1e6
        finally:
            server.send_signal(15)
            server.wait(timeout=60)

        jsonl = folder / "route.jsonl"
        with jsonl.open("w") as fh:
            for b in range(args.batches):
                for i in range(1000):
                    fh.write(json.dumps(lead(f"R{b:03d}-", i)) + "\n")
        t = time.perf_counter()
        subprocess.run([*leadctl, "--config", str(cfg), "--db", str(folder / "route.db"), "route", str(jsonl),
                        "-o", "jsonl"], stdout=subprocess.DEVNULL, check=True)
        route_per_lead = (time.perf_counter() - t) / (1000 * args.batches) * 1e6
        print(f"1,000-lead batches: {serve_per_lead:.1f} µs a lead (serve) against {route_per_lead:.1f} µs"
              f" (route, whole process, same leads): {serve_per_lead / route_per_lead:.2f}x")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
