"""Benchmark: `leadctl simulate` against `route --dry-run` of the same leads.

Run:  python benchmarks/simulate_bench.py [--n 20000] [--n 1000000] [--repeat 1] [--keep]

For each N: N leads spread over November 2026 are routed for real (`--clock received`) into a
ledger through a 10-member sequential group with day caps; then, whole-process, with wall
time and peak memory (max RSS):
  dry run    `leadctl route FILE --dry-run --clock received` of the same CSV on an empty ledger,
             through the proposed config (the same routing work as the simulation)
  simulate   `leadctl simulate --proposed P --since 2026-11-01 --until 2026-11-30 -o json`,
             P: the same team switched to weighted with one member's cap lowered
  ratio      simulate / dry run (the issue asks for at most 1.2)
Every figure is the best of --repeat runs.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from route_bench import run  # noqa: E402  (whole-process wall time and peak RSS)

USERS = [f"rep{i:02d}" for i in range(10)]
LEADCTL = [sys.executable, "-m", "leadctl"]


def make_csv(path: Path, n: int) -> None:
    rnd = random.Random(n)
    sources = ["facebook", "google-ads", "web-form", "google-sheets", "webhook"]
    month = 30 * 86400
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "first_name", "email", "phone", "source", "status", "received_at"])
        for i in range(n):
            s = i * month // n
            day, rest = divmod(s, 86400)
            w.writerow([f"S{i:07d}", f"First{i}", f"lead{i}@example.com", f"+44 7700 {rnd.randrange(10**6):06d}",
                        sources[i % 5], "new",
                        f"2026-11-{day + 1:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"])


def make_config(path: Path, n: int, *, weighted: bool = False) -> None:
    cap = max(n // (30 * 12), 1)  # a day's leads over 12: nine capped members fill up late in the day
    lines = ['[settings]\ntimezone = "UTC"\n']
    for u in USERS:
        lines.append(f'[users.{u}]\nname = "{u}"\n')
    lines.append(f'[groups.sales]\nmethod = "{"weighted" if weighted else "sequential"}"\n')
    for i, u in enumerate(USERS):
        daily = 0 if i == 0 else cap // 2 if weighted and i == 1 else cap
        lines.append(f'[[groups.sales.members]]\nuser = "{u}"\ndaily = {daily}\nweight = {10 if i < 3 else 5}\n')
    lines.append('[routing]\ndefault_group = "sales"\n')
    path.write_text("\n".join(lines))


def best(fn, repeat: int) -> tuple[float, int]:
    return min((fn() for _ in range(repeat)), key=lambda r: r[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append", help="leads (repeatable); default 20000")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="leadctl-sim-bench-"))
    print(f"{'leads':>9}  {'route (real)':>12}  {'dry run':>14}  {'simulate':>14}  {'ratio':>5}")
    try:
        for n in args.n or [20000]:
            here = folder / str(n)
            here.mkdir()
            leads, config, plan = here / "leads.csv", here / "leadctl.toml", here / "proposed.toml"
            make_csv(leads, n)
            make_config(config, n)
            make_config(plan, n, weighted=True)
            db = here / "leadctl.db"
            routed, _ = run([*LEADCTL, "--config", str(config), "--db", str(db), "route", str(leads),
                             "--clock", "received", "--no-notify", "-o", "jsonl"])

            def dry() -> tuple[float, int]:
                empty = here / "empty.db"
                for side in ("", "-wal", "-shm"):
                    Path(f"{empty}{side}").unlink(missing_ok=True)
                return run([*LEADCTL, "--config", str(plan), "--db", str(empty), "route", str(leads),
                            "--dry-run", "--clock", "received", "-o", "jsonl"])

            def simulate() -> tuple[float, int]:
                return run([*LEADCTL, "--config", str(config), "--db", str(db), "simulate", "--proposed", str(plan),
                            "--since", "2026-11-01", "--until", "2026-11-30", "-o", "json"])

            d, d_mem = best(dry, args.repeat)
            s, s_mem = best(simulate, args.repeat)
            print(f"{n:>9,}  {routed:>11.2f}s  {d:>7.2f}s {d_mem:>4}M  {s:>7.2f}s {s_mem:>4}M  {s / d:>5.2f}", flush=True)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
