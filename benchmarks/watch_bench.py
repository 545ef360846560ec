"""Benchmark: a `leadctl watch` poll of a big sheet with a few new rows.

Run:  python benchmarks/watch_bench.py [--rows 50000] [--new 10]

Serves a CSV of --rows rows (no id column: ids derived from content, as a Google Form's sheet)
from a local HTTP server, routes it all with a first `watch --once`, appends --new rows and
times, whole process, the next `watch --once` (it routes only the new rows), and a poll of the
unchanged sheet (a 304). Also the same poll of a local file.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_bench import free_port  # noqa: E402

LEADCTL = [sys.executable, "-m", "leadctl"]


def rows(start: int, n: int) -> str:
    return "".join(f"2026-11-20 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d},Lead {i},lead{i}@example.com,"
                   f"+44 7700 {i:06d},form\n" for i in range(start, start + n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--new", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="leadctl-watch-bench-"))
    body = {"text": "Timestamp,Full name,Email Address,Phone,Source\n" + rows(0, args.rows), "v": 1}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            etag = f'"v{body["v"]}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            data = body["text"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = folder / "leadctl.toml"
        config.write_text('[settings]\ntimezone = "UTC"\n' + "".join(f'[users.rep{i}]\nname = "r{i}"\n' for i in range(10))
                          + '[groups.sales]\nmethod = "sequential"\n'
                          + "".join(f'[[groups.sales.members]]\nuser = "rep{i}"\n' for i in range(10))
                          + '[routing]\ndefault_group = "sales"\n')
        base = [*LEADCTL, "--config", str(config), "--db", str(folder / "leadctl.db")]

        def once(source: str) -> float:
            t = time.perf_counter()
            subprocess.run([*base, "watch", source, "--once", "--no-notify", "-o", "jsonl"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - t

        url = f"http://127.0.0.1:{port}/sheet.csv"
        first = once(url)
        body["text"] += rows(args.rows, args.new)
        body["v"] += 1
        new = once(url)
        unchanged = once(url)
        version = subprocess.run([*base, "--version"], capture_output=True, check=True)
        t = time.perf_counter()
        subprocess.run([*base, "--version"], capture_output=True, check=True)
        start_up = time.perf_counter() - t
        sheet = folder / "sheet.csv"
        sheet.write_text(body["text"])
        file_first = once(str(sheet))
        with sheet.open("a") as fh:
            fh.write(rows(args.rows + args.new, args.new))
        file_new = once(str(sheet))
        # a running watcher (`watch` without --once): the next poll, in the same process
        import random
        from datetime import datetime

        from leadctl.config import load
        from leadctl.intake import Options
        from leadctl.ledger import Ledger
        from leadctl.assign.route import Router
        from leadctl.intake.watch import Watch

        cfg = load(config)
        ledger = Ledger.open(folder / "leadctl.db")
        router = Router(lambda: cfg, ledger, clock=lambda: datetime.now().astimezone(), rng=random.Random(0),
                        notify=False)
        w = Watch(url, router, ledger, lambda: Options(), None)
        body["text"] += rows(args.rows + 2 * args.new, args.new)
        body["v"] += 1
        t = time.perf_counter()
        w.poll(datetime.now().astimezone())  # the first poll of this process: every id made once
        warm = time.perf_counter() - t
        body["text"] += rows(args.rows + 3 * args.new, args.new)
        body["v"] += 1
        t = time.perf_counter()
        p = w.poll(datetime.now().astimezone())
        running = time.perf_counter() - t
        assert len(p.outcomes) == args.new, len(p.outcomes)
        ledger.close()
        print(f"a running watcher, {args.rows:,} rows with {args.new} new: a poll takes {running:.2f} s"
              f" (its first poll, every content id made: {warm:.2f} s)")
        print(f"{args.rows:,} rows over HTTP: first poll (all routed) {first:.2f} s;"
              f" {args.new} new rows {new:.2f} s; unchanged (304) {unchanged:.2f} s")
        print(f"the same as a local file: first {file_first:.2f} s; {args.new} new rows {file_new:.2f} s")
        print(f"(whole processes; `leadctl --version` alone takes {start_up:.2f} s) {version.stdout.decode().strip()}")
    finally:
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
