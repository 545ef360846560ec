"""A fingerprint of what routing decides and writes, to hold a restructuring to "byte-identical".

Run:  python benchmarks/route_fingerprint.py [--n 20000] [--repo PATH]

Builds one team that uses every rule routing knows (sequential, weighted, seeded random and
balanced groups; member caps and a user's own caps; leave with a backup and working hours;
an overflow group and a queue; duplicates by email; owners named in the payload), routes N
generated leads with `--seed 7 --clock received --no-notify`, and prints the SHA-256 of the
outcomes (JSON Lines, in order) and of every ledger table routing writes (leads, events,
usage, rotations, passed-over lists, the queue), row by row in a fixed order. Run it at two
commits (`--repo` points at another checkout's folder): equal digests mean the same leads
went to the same people, for the same reasons, written the same way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIG = """
[settings]
timezone = "Europe/Berlin"
duplicates = ["email"]
closed_statuses = ["won", "lost"]

[users.tom]
[users.stephanie]
daily = 40
[users.lewis]
hours = "mon-fri 09:00-17:00"
[users.denise]
[users.sam]
[users.ana]
[users.night]

[groups.inbound]
method = "sequential"
overflow = "night-desk"
[[groups.inbound.members]]
user = "tom"
daily = 30
[[groups.inbound.members]]
user = "stephanie"
daily = 25
[[groups.inbound.members]]
user = "lewis"
[[groups.inbound.members]]
user = "denise"
daily = 20
monthly = 300

[groups.seniority]
method = "weighted"
queue = true
[[groups.seniority.members]]
user = "sam"
weight = 10
daily = 40
[[groups.seniority.members]]
user = "ana"
weight = 5
daily = 20

[groups.lottery]
method = "random"
[[groups.lottery.members]]
user = "tom"
[[groups.lottery.members]]
user = "ana"

[groups.even]
method = "balanced"
[[groups.even.members]]
user = "denise"
max_open = 400
[[groups.even.members]]
user = "sam"

[groups.night-desk]
method = "sequential"
[[groups.night-desk.members]]
user = "night"

[routing]
default_group = "inbound"
[[routing.rules]]
group = "seniority"
when = { source = "partner" }
[[routing.rules]]
group = "lottery"
when = { source = "raffle" }
[[routing.rules]]
group = "even"
when = { source = "web" }

[[away]]
id = 1
user = "tom"
from = "2026-11-24"
to = "2026-11-26"
backup = "sam"
"""

SOURCES = ("ads", "partner", "raffle", "web", "ads", "fair")
TABLES = {"leads": "id", "events": "id", "usage": "group_name, user_id, period", "rotations": "group_name",
          "passed_over_sets": "id", "queue": "n"}


def leads_csv(n: int) -> str:
    lines = ["id,name,email,source,owner,status,received_at"]
    for i in range(n):
        minute = i * 7  # a week of leads, day and night
        day, rest = divmod(minute, 24 * 60)
        email = f"lead{i // 5 if i % 5 == 0 else i}@example.com"  # every fifth repeats an earlier lead's email
        owner = "ana" if i % 97 == 0 else ""
        status = "won" if i % 5 == 0 else "new"
        lines.append(f"L{i},Lead {i},{email},{SOURCES[i % len(SOURCES)]},{owner},{status},"
                     f"2026-11-{23 + day % 7:02d}T{rest // 60:02d}:{rest % 60:02d}:00")
    return "\n".join(lines) + "\n"


def digest_rows(rows) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(list(row), ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the checkout whose leadctl routes (default: this one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "leadctl.toml").write_text(CONFIG)
        (folder / "leads.csv").write_text(leads_csv(args.n))
        env = {**os.environ, "PYTHONPATH": str(args.repo.resolve()), "LEADCTL_USER": ""}
        done = subprocess.run([sys.executable, "-m", "leadctl", "--config", str(folder / "leadctl.toml"), "route",
                               str(folder / "leads.csv"), "--seed", "7", "--clock", "received", "--no-notify",
                               "-o", "jsonl"], capture_output=True, env=env, cwd=tmp)
        if done.returncode not in (0, 1):
            raise SystemExit(done.stderr.decode())
        from collections import Counter

        outcomes = [json.loads(x) for x in done.stdout.splitlines()]
        seen = Counter(f"{o['status']}:{o['method'] or '-'}" for o in outcomes)
        reasons = Counter(r.split(" ")[0] for o in outcomes if (r := o["reason"]))
        print(f"{args.n:,} leads routed by {args.repo}: {dict(sorted(seen.items()))}; reasons {dict(reasons)}")
        print(f"  outcomes          {hashlib.sha256(done.stdout).hexdigest()}")
        conn = sqlite3.connect(folder / "leadctl.db")
        for table, order in TABLES.items():
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] not in ("actor", "via")]
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
            print(f"  {table:<17} {digest_rows(rows)}")


if __name__ == "__main__":
    main()
