"""Benchmark: owner write-back to a CRM.

Run:  python benchmarks/crm_bench.py [--n 20000] [--writes 2000]

Prints
  routing cost   `leadctl route` of N leads into a 4-member group with no CRM and with two CRMs
                 configured (HubSpot and Pipedrive: one owner write queued per lead and CRM, in the
                 same transaction): instructions a lead (valgrind, when there is one), else CPU
                 seconds; the ratio is the cost of queueing the writes
  owner writes   `leadctl crm push --once` of --writes leads' owners to a local HubSpot that speaks
                 its documented calls (tests/crm_fakes.py): writes a second, in batches (a batch
                 read and a batch write for up to 100 records, as push does when many are due)
                 and one at a time (a read and a write each: push with the batch size set to 1)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TEAM = """
[settings]
timezone = "UTC"
[users.tom]
{tom}
[users.ann]
{ann}
[users.lewis]
{lewis}
[users.denise]
{denise}
[groups.g]
method = "sequential"
members = [{{ user = "tom" }}, {{ user = "ann" }}, {{ user = "lewis" }}, {{ user = "denise" }}]
[routing]
default_group = "g"
{crms}
"""
CRMS = """
[crm.hub]
kind = "hubspot"
base_url = "{hub}"
token_env = "HUB_TOKEN"
[crm.pipe]
kind = "pipedrive"
base_url = "{pipe}"
token_env = "PIPE_TOKEN"
"""


IDS = {"tom": ("51234", "17"), "ann": ("51235", "18"), "lewis": ("51236", "19"), "denise": ("51237", "20")}


def team(crms: str, *, pipedrive: bool = True) -> str:
    """The team's config, with each user's owner ids when there are CRMs."""
    ids = {u: (f'crm = {{ hub = "{h}"' + (f', pipe = "{p}"' if pipedrive else "") + " }") if crms else ""
           for u, (h, p) in IDS.items()}
    return TEAM.format(crms=crms, **ids)


def leadctl(folder: Path, *args: str, stdin: bytes | None = None, valgrind: bool = False, env: dict | None = None,
            batch: int | None = None):
    command = [sys.executable, "-m", "leadctl", "--config", str(folder / "leadctl.toml"), *args]
    if batch is not None:  # the same command, with HubSpot's batch size set
        command[1:3] = ["-c", f"import sys; import leadctl.crm.hubspot as h; h.BATCH = {batch};"
                              " sys.argv[0] = 'leadctl'; from leadctl.__main__ import main; main()"]
    if valgrind:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/cg.out", *command]
    return subprocess.run(command, input=stdin, capture_output=True, cwd=folder,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def route_cost(n: int, with_crms: bool, valgrind: bool) -> float:
    """Instructions (or CPU seconds) of routing n leads, a lead."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        crms = CRMS.format(hub="http://127.0.0.1:9", pipe="http://127.0.0.1:9") if with_crms else ""
        data = ("id\n" + "".join(f"L{i}\n" for i in range(n))).encode()
        leadctl(folder, "init", "--yes")  # the ledger made; then the team's config
        (folder / "leadctl.toml").write_text(team(crms))
        start = time.process_time()
        done = leadctl(folder, "route", "--format", "csv", "--no-notify", "-o", "jsonl", stdin=data, valgrind=valgrind)
        if done.returncode:
            raise SystemExit(done.stderr.decode())
        if valgrind:
            total = int(re.search(rb"Collected : (\d+)", done.stderr).group(1))
            return total / n
        return (time.process_time() - start) / n


def push_rate(writes: int, batch: int | None = None) -> float:
    from tests.crm_fakes import HubSpot

    token = "pat-bench-token"
    fake = HubSpot(token)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            crms = f'[crm.hub]\nkind = "hubspot"\nbase_url = "{fake.url}"\ntoken_env = "HUB_TOKEN"\n'
            leadctl(folder, "init", "--yes")
            (folder / "leadctl.toml").write_text(team(crms, pipedrive=False))
            fake.records.update({str(i): None for i in range(writes)})
            data = ("id\n" + "".join(f"{i}\n" for i in range(writes))).encode()
            leadctl(folder, "route", "--format", "csv", "--no-notify", "-o", "jsonl", stdin=data)
            start = time.perf_counter()
            done = leadctl(folder, "crm", "push", "--once", env={"HUB_TOKEN": token}, batch=batch)
            took = time.perf_counter() - start
            if done.returncode:
                raise SystemExit(done.stderr.decode())
            assert all(owner for owner in fake.records.values())
            return writes / took
    finally:
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--writes", type=int, default=2_000)
    args = parser.parse_args()
    valgrind = shutil.which("valgrind") is not None
    unit = "instructions" if valgrind else "CPU s"
    without = route_cost(args.n, False, valgrind)
    with_two = route_cost(args.n, True, valgrind)
    print(f"routing cost, {args.n:,} leads ({unit} a lead, start-up included):")
    print(f"  no CRM        {without:,.0f}" if valgrind else f"  no CRM        {without * 1e6:,.1f} µs")
    print(f"  two CRMs      {with_two:,.0f}" if valgrind else f"  two CRMs      {with_two * 1e6:,.1f} µs")
    print(f"  ratio         {with_two / without:.3f}x")
    print(f"owner writes to a local HubSpot, {args.writes:,} due (read, compare, write):")
    print(f"  in batches of 100   {push_rate(args.writes):,.0f} a second")
    print(f"  one at a time       {push_rate(args.writes, batch=1):,.0f} a second")


if __name__ == "__main__":
    main()
