"""Benchmark: one `leadctl tick` over many open leads, a few of them due.

Run:  python benchmarks/sla_bench.py [--open 100000] [--due 1000]

Routes --open leads to a 10-member group whose SLA ladder is `15m:remind, 45m:notify-managers,
1h:reroute` (switched on before any of them came): --due of them were received 20 minutes ago
(their reminder is due), the rest 5 minutes ago (nothing due yet). Then times `tick` twice:
the first runs the due reminders (one transaction: the steps, the notifications); the second
finds nothing due. Each as a whole process (what cron pays) and, within it, the SLA's own
part (`assign.sla.tick`).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    folder = Path(tempfile.mkdtemp(prefix="leadctl-sla-bench-"))
    try:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        users = [f"rep{i:02d}" for i in range(10)]
        lines = ['[settings]\ntimezone = "UTC"\n', '[notify]\nwebhook_url = "https://chat.example.com/hook"\n']
        lines += [f'[users.{u}]\nname = "{u}"\n' for u in users]
        lines.append(f'[groups.sales]\nsla_since = "{(now - timedelta(hours=1)).isoformat()}"\n')
        lines += [f'[[groups.sales.members]]\nuser = "{u}"\n' for u in users]
        lines.append("[groups.sales.sla]\n")
        lines += [f'[[groups.sales.sla.steps]]\nafter = "{a}"\naction = "{s}"\n'
                  for a, s in (("15m", "remind"), ("45m", "notify-managers"), ("1h", "reroute"))]
        lines.append('[routing]\ndefault_group = "sales"\n')
        cfg = folder / "bench.toml"
        cfg.write_text("\n".join(lines))
        due = set(random.Random(1).sample(range(args.open), args.due))
        leads = folder / "leads.jsonl"
        leads.write_text("".join(json.dumps({"id": f"S{i:06d}", "received_at": (
            now - timedelta(minutes=20 if i in due else 5)).isoformat()}) + "\n" for i in range(args.open)))
        base = [sys.executable, "-m", "leadctl", "--config", str(cfg), "--db", str(folder / "l.db")]
        t = time.perf_counter()
        subprocess.run([*base, "route", str(leads), "--clock", "received", "--no-notify", "-o", "jsonl"],
                       stdout=subprocess.DEVNULL, check=True)
        print(f"routed {args.open:,} leads in {time.perf_counter() - t:.1f} s; {args.due:,} of them due now")
        for label in ("first tick (runs the due reminders)", "second tick (nothing due)"):
            t = time.perf_counter()
            done = subprocess.run([*base, "tick", "-o", "jsonl"], capture_output=True, check=True)
            whole = time.perf_counter() - t
            steps = len(done.stdout.splitlines())
            print(f"  {label}: {whole:.3f} s as a process, {steps:,} step(s) run")
        from leadctl.assign.sla import tick
        from leadctl.config import load
        from leadctl.ledger import Ledger

        ledger = Ledger.open(folder / "l.db")
        try:
            t = time.perf_counter()
            tick(load(cfg), ledger, datetime.now(timezone.utc), random.Random(1))
            print(f"  the SLA's own part of a tick with nothing due: {(time.perf_counter() - t) * 1000:.0f} ms")
        finally:
            ledger.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
