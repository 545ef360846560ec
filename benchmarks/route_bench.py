"""Benchmark: how long leadctl takes to route N leads, against what an admin has without it.

Run:  python benchmarks/route_bench.py [--n 100000] [--n 1000000] [--repeat 3] [--keep]

Prints, side by side, for each N (wall time, CPU time in brackets):
  route         whole-process `leadctl route FILE.csv` into a 10-member sequential group with caps
  plain floor   the same CSV parsed with the csv module and inserted with a round-robin owner,
                executemany in one transaction, one table (no routing decisions at all)
  schema floor  the very rows route wrote (leads and events), prebuilt, written again into a
                new ledger of leadctl's own schema in batches of 2,000: the schema's own cost
  sqlite-utils  whole-process `sqlite-utils insert DB leads FILE.csv --csv`
  peak memory   of the route process (max RSS)
then the route of the first N into a ledger that already holds --full-ledger assignment events
(default 1,000,000; 0 skips it) against an empty ledger, and the whole-process time of
`leadctl --version`, `leadctl --help` and `leadctl quota`.
Every figure is the best of --repeat runs (default 1 for routing, 5 for start-up).
leadctl's modules are byte-compiled first, as `pip install` does for a regular install (an
editable install under PYTHONDONTWRITEBYTECODE would otherwise compile them on every run:
~0.2 G instructions, 20 ms, of each start-up).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USERS = [f"rep{i:02d}" for i in range(10)]


def make_csv(path: Path, n: int, prefix: str = "B", day: str = "2026-11-23") -> None:
    rnd = random.Random(n)
    sources = ["facebook", "google-ads", "web-form", "google-sheets", "webhook"]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "first_name", "last_name", "email", "phone", "source", "status", "postcode", "received_at"])
        for i in range(n):
            s = i * 86400 // max(n, 1)  # spread over one day so caps apply
            w.writerow([f"{prefix}{i:07d}", f"First{i}", f"Last{rnd.randrange(1000)}", f"lead{i}@example.com",
                        f"+44 7700 {rnd.randrange(10**6):06d}", sources[i % 5], "new", f"{rnd.randrange(10**5):05d}",
                        f"{day}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"])


def make_config(folder: Path, n: int, availability: bool = False) -> Path:
    cap = max(n // 20, 1)  # nine capped members reach their cap part-way; one is uncapped
    lines = ['[settings]\ntimezone = "UTC"\n']
    for u in USERS:
        lines.append(f'[users.{u}]\nname = "{u}"\n')
        if availability:  # every member has hours and leave (the leave in another year: all at work)
            lines.append('timezone = "Europe/Berlin"\nhours = "mon-sun 00:00-24:00"\n')
    lines.append('[groups.sales]\nmethod = "sequential"\n')
    for i, u in enumerate(USERS):
        daily = 0 if i == 0 else cap
        lines.append(f'[[groups.sales.members]]\nuser = "{u}"\ndaily = {daily}\nmonthly = {daily * 20}\n')
    lines.append('[routing]\ndefault_group = "sales"\n')
    if availability:
        for i, u in enumerate(USERS, 1):
            lines.append(f'[[away]]\nid = {i}\nuser = "{u}"\nfrom = "2030-01-01"\nto = "2030-01-02"\n')
    path = folder / "bench.toml"
    path.write_text("\n".join(lines))
    return path


def run(cmd: list[str], **kw) -> tuple[float, int]:
    """Whole-process wall time (s) and peak RSS (MiB) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err[:500]}")
    return elapsed, usage.ru_maxrss // 1024


def floor(csv_path: Path, db_path: Path) -> float:
    start = time.perf_counter()
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE leads (id TEXT PRIMARY KEY, first_name, last_name, email, phone, source,"
               " status, postcode, received_at, owner)")
    with csv_path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        db.executemany("INSERT INTO leads VALUES (?,?,?,?,?,?,?,?,?,?)",
                       ((*row, USERS[i % 10]) for i, row in enumerate(reader)))
    db.commit()
    db.close()
    return time.perf_counter() - start


def schema_floor(rows_from: Path, db_path: Path, read_only: bool = False) -> tuple[float, float]:
    """The same leads and events leadctl wrote into `rows_from`, written again into a new
    ledger of leadctl's own schema (tables, indexes, triggers), in batches of 2,000 per
    transaction with executemany: every write leadctl makes, none of its decisions. The rows
    are read beforehand, so this is the cost of the schema alone. (wall s, CPU s)"""
    from leadctl.ledger import EVENT_COLUMNS, LEAD_COLUMNS, Ledger

    src = sqlite3.connect(rows_from)
    leads = src.execute(f"SELECT {','.join(LEAD_COLUMNS)} FROM leads ORDER BY rowid").fetchall()
    events = src.execute(f"SELECT {','.join(EVENT_COLUMNS)} FROM events ORDER BY id").fetchall()
    src.close()
    by_lead: dict[str, list] = {}
    for e in events:
        by_lead.setdefault(e[0], []).append(e)
    if read_only:  # for --instructions: what reading the rows costs, to take off
        return 0.0, 0.0
    start, cpu = time.perf_counter(), time.process_time()
    ledger = Ledger.open(db_path)
    for i in range(0, len(leads), 2000):
        chunk = leads[i:i + 2000]
        with ledger.write():
            ledger.insert_leads(chunk)
            ledger.insert_events([e for row in chunk for e in by_lead.get(row[0], ())])
    ledger.close()
    return time.perf_counter() - start, time.process_time() - cpu


def run_cpu(cmd: list[str], **kw) -> tuple[float, int, float]:
    """Whole-process wall time (s), peak RSS (MiB) and CPU time (user + system, s)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[:500]}")
    return elapsed, usage.ru_maxrss // 1024, usage.ru_utime + usage.ru_stime


def best(fn, repeat: int):
    return min((fn() for _ in range(repeat)), key=lambda r: r[0] if isinstance(r, tuple) else r)


def counted(cmd: list[str]) -> int:
    """Instructions one command executes (valgrind's count: the same on every run, however busy
    the machine, where wall time on a shared 2-core machine swings by 10-20%)."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed under valgrind: {done.stderr[-500:]}")
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))


def instructions(n: int, full_ledger: int, availability: bool = False, received: bool = False) -> None:
    """Route, the plain floor and the schema floor on 0 and on n leads under valgrind: start-up,
    instructions per lead, and the ratios they give at n, 100,000 and 1,000,000 leads; then the
    route of the n leads into a ledger already holding `full_ledger` events against an empty one."""
    if not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind")
    folder = Path(tempfile.mkdtemp(prefix="leadctl-bench-"))
    me = [sys.executable, __file__]
    try:
        config = make_config(folder, n, availability)
        clock = ["--clock", "received"] if received or availability else []
        per_lead, start = {}, {}
        for size in (0, n):
            csv_path = folder / f"leads-{size}.csv"
            make_csv(csv_path, size)
            for p in folder.glob("*.db*"):
                p.unlink()
            route_db = folder / "route.db"
            counts = {
                "route": counted([sys.executable, "-m", "leadctl", "--config", str(config), "--db", str(route_db),
                                  "route", str(csv_path), "--output", "jsonl", *clock]),
                "plain floor": counted([*me, "--plain-floor", str(csv_path), str(folder / "floor.db")]),
                "schema floor": counted([*me, "--schema-floor", str(route_db), str(folder / "schema.db")])
                - counted([*me, "--schema-floor", str(route_db), str(folder / "unused.db"), "--read-only"]),
            }
            if size == 0:
                start = counts
            else:
                per_lead = {k: (v - start[k]) / n for k, v in counts.items()}
        print(f"instructions (valgrind: the same count on every run), from a {n:,}-lead run and an empty one:")
        for name in start:
            print(f"  {name:<12} start-up {start[name] / 1e6:6.0f} M, then {per_lead[name] / 1e3:6.1f} k per lead")
        for size in (n, 100_000, 1_000_000):
            total = {k: start[k] + per_lead[k] * size for k in start}
            print(f"  {size:>9,} leads: route {total['route'] / 1e9:6.2f} G = {total['route'] / total['plain floor']:.2f}x"
                  f" the plain floor, {total['route'] / total['schema floor']:.2f}x the schema floor"
                  + ("" if size == n else " (from the per-lead figures)"))
        if full_ledger:
            full = folder / "full.db"
            old = folder / "old.csv"
            make_csv(old, full_ledger, prefix="H", day="2025-06-01")
            run([sys.executable, "-m", "leadctl", "--config", str(config), "--db", str(full), "route", str(old),
                 "--output", "jsonl", "--clock", "received"])
            old.unlink()
            csv_path = folder / f"leads-{n}.csv"
            into = {}
            for label, db in (("empty", folder / "empty.db"), ("full", full)):
                into[label] = counted([sys.executable, "-m", "leadctl", "--config", str(config), "--db", str(db),
                                       "route", str(csv_path), "--output", "jsonl"])
            print(f"  route {n:,} into a ledger holding {full_ledger:,} events: {into['full'] / 1e9:.2f} G against"
                  f" {into['empty'] / 1e9:.2f} G into an empty one ({into['full'] / into['empty']:.3f}x)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def byte_compile() -> None:
    """Write leadctl's .pyc files, as installing it does."""
    import compileall

    import leadctl

    compileall.compile_dir(Path(leadctl.__file__).parent, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, action="append", help="leads per file (repeatable); default 100000")
    parser.add_argument("--repeat", type=int, default=1, help="routing runs per figure (best is kept)")
    parser.add_argument("--full-ledger", type=int, default=1_000_000, metavar="M",
                        help="events already in the ledger for the full-ledger comparison (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--instructions", type=int, metavar="N",
                        help="instead: count instructions (valgrind) of route and the plain floor on N leads")
    parser.add_argument("--received", action="store_true", help="with --instructions: route at each lead's own time")
    parser.add_argument("--availability", action="store_true",
                        help="with --instructions: every member has hours and leave (implies --received)")
    parser.add_argument("--schema-floor", nargs=2, metavar=("ROUTED_DB", "NEW_DB"), help=argparse.SUPPRESS)
    parser.add_argument("--plain-floor", nargs=2, metavar=("CSV", "DB"), help=argparse.SUPPRESS)
    parser.add_argument("--read-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.schema_floor:
        wall, cpu = schema_floor(Path(args.schema_floor[0]), Path(args.schema_floor[1]), args.read_only)
        print(wall, cpu)
        return
    if args.plain_floor:
        floor(Path(args.plain_floor[0]), Path(args.plain_floor[1]))
        return
    byte_compile()
    if args.instructions:
        instructions(args.instructions, args.full_ledger, args.availability, args.received)
        return
    sizes = args.n or [100_000]
    bindir = Path(sys.executable).parent
    leadctl = [sys.executable, "-m", "leadctl"]
    sqlite_utils = shutil.which("sqlite-utils", path=str(bindir)) or shutil.which("sqlite-utils")

    folder = Path(tempfile.mkdtemp(prefix="leadctl-bench-"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
          f" SQLite {sqlite3.sqlite_version}, {platform.platform()}")
    print(f"best of {args.repeat}; wall time (CPU time); ratios are route's wall time over the other's")
    print(f"{'N':>9}  {'route':>15}  {'plain floor':>15}  {'x':>5}  {'schema floor':>15}  {'x':>5}"
          f"  {'sqlite-utils':>15}  {'x':>5}  {'peak MiB':>8}  {'leads/s':>9}")
    try:
        for n in sizes:
            csv_path = folder / f"leads-{n}.csv"
            make_csv(csv_path, n)
            config = make_config(folder, n)

            def route_once():
                db = folder / "route.db"
                for p in folder.glob("route.db*"):
                    p.unlink()
                return run_cpu([*leadctl, "--config", str(config), "--db", str(db), "route", str(csv_path),
                                "--output", "jsonl"])

            route_s, peak, route_cpu = best(route_once, args.repeat)

            def floor_once():
                db = folder / "floor.db"
                if db.exists():
                    db.unlink()
                cpu = time.process_time()
                wall = floor(csv_path, db)
                return wall, time.process_time() - cpu

            floor_s, floor_cpu = best(floor_once, args.repeat)

            def schema_once():
                for p in folder.glob("schema.db*"):
                    p.unlink()
                # In a process of its own: the rows it holds must not swell this one, whose
                # children's peak memory is measured (a fork starts at the parent's size).
                out = subprocess.run([sys.executable, __file__, "--schema-floor", str(folder / "route.db"),
                                      str(folder / "schema.db")], capture_output=True, text=True, check=True)
                wall, cpu = out.stdout.split()
                return float(wall), float(cpu)

            schema_s, schema_cpu = best(schema_once, args.repeat)
            su_s = su_cpu = float("nan")
            if sqlite_utils:
                def su_once():
                    db = folder / "su.db"
                    if db.exists():
                        db.unlink()
                    return run_cpu([sqlite_utils, "insert", str(db), "leads", str(csv_path), "--csv"])

                su_s, _, su_cpu = best(su_once, args.repeat)

            def cell(wall: float, cpu: float) -> str:
                return f"{wall:6.2f}s ({cpu:5.2f})"

            print(f"{n:>9}  {cell(route_s, route_cpu):>15}  {cell(floor_s, floor_cpu):>15}  {route_s / floor_s:>4.1f}x"
                  f"  {cell(schema_s, schema_cpu):>15}  {route_s / schema_s:>4.1f}x  {cell(su_s, su_cpu):>15}"
                  f"  {route_s / su_s:>4.2f}x  {peak:>8}  {n / route_s:>9,.0f}")

        if args.full_ledger:
            n = sizes[0]
            csv_path = folder / f"leads-{n}.csv"
            config = make_config(folder, n)
            full = folder / "full.db"
            old = folder / "old.csv"
            # The earlier leads were assigned on earlier days (replayed at their received_at), so
            # they leave today's caps alone: both runs below make the very same decisions.
            make_csv(old, args.full_ledger, prefix="H", day="2025-06-01")
            run([*leadctl, "--config", str(config), "--db", str(full), "route", str(old), "--output", "jsonl",
                 "--clock", "received"])
            old.unlink()
            size_mb = full.stat().st_size // 2**20
            empty_s = full_s = float("inf")
            for _ in range(args.repeat):
                for p in folder.glob("route.db*"):
                    p.unlink()
                os.sync()
                empty_s = min(empty_s, run([*leadctl, "--config", str(config), "--db", str(folder / "route.db"),
                                            "route", str(csv_path), "--output", "jsonl"])[0])
                copy = folder / "copy.db"
                shutil.copy(full, copy)
                os.sync()  # the copy's 560 MiB of dirty pages must not be written back during the run
                full_s = min(full_s, run([*leadctl, "--config", str(config), "--db", str(copy), "route",
                                          str(csv_path), "--output", "jsonl"])[0])
                copy.unlink()
            print(f"route {n:,} into an empty ledger: {empty_s:.2f}s; into one holding {args.full_ledger:,}"
                  f" events ({size_mb} MiB): {full_s:.2f}s ({full_s / empty_s:.2f}x)")
            # Listings on that ledger: what an admin waits for (whole process, best of 3).
            base = [str(bindir / "leadctl"), "--config", str(config), "--db", str(full)]
            for label, cmd in [("leads list --limit 5", ["leads", "list", "--limit", "5", "-o", "jsonl"]),
                               ("leads list --limit 50", ["leads", "list", "--limit", "50"]),
                               ("quota", ["quota", "-o", "json"]),
                               ("report --by user", ["report", "--by", "user", "-o", "json"])]:
                t = best(lambda: run([*base, *cmd]), 3)[0]
                print(f"  {label:<24} on {args.full_ledger:,} leads: {t * 1000:>6.0f} ms")

        config = make_config(folder, 1000)
        db = folder / "route.db"
        for label, cmd in [("leadctl --version", ["--version"]), ("leadctl --help", ["--help"]),
                           ("leadctl quota", ["--config", str(config), "--db", str(db), "quota", "--format", "json"])]:
            t = best(lambda: run([str(bindir / "leadctl"), *cmd]), 5)[0]
            print(f"{label:<20} {t * 1000:>6.0f} ms")
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
