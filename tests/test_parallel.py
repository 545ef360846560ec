"""Parallel routers share one rotation and one set of caps; a killed router loses nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

from tests.conftest import leads_csv

STORES = ("sqlite", "postgresql")  # every test taking `lc` runs on both ledgers


def router(lc, path, *extra, stdout=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db),
                             "route", "--output", "jsonl", "--clock", "received", str(path), *extra],
                            stdout=stdout, stderr=subprocess.PIPE)


def finish(procs) -> list[dict]:
    outcomes = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
        assert b"locked" not in err and b"busy" not in err
        outcomes += [json.loads(line) for line in out.splitlines()]
    return outcomes


def events(lc) -> list[tuple[str, str]]:
    if not isinstance(lc.db, str):  # the SQLite file itself is sound
        db = sqlite3.connect(lc.db)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    return lc.query("SELECT lead_id, assigned_to FROM events ORDER BY id")


def test_two_parallel_routers_assign_every_lead_once_and_share_rotation_and_caps(lc):
    lc.team(users=("a", "b", "c"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "1500")
    lc("group", "member", "edit", "tele-sales", "b", "--daily", "1500")
    n = 6000
    procs = [router(lc, lc.write(f"{p}.csv", leads_csv(n, prefix=p))) for p in ("P", "Q")]
    outcomes = finish(procs)
    assert len(outcomes) == 2 * n and {o["status"] for o in outcomes} == {"assigned"}
    got = events(lc)
    assert len(got) == 2 * n and len({lead for lead, _ in got}) == 2 * n  # every lead exactly once
    assert Counter(user for _, user in got) == {"a": 1500, "b": 1500, "c": 2 * n - 3000}  # caps held
    # One shared rotation: while everyone had room, strict a, b, c across both processes' batches.
    assert [u for _, u in got[:4500]] == ["a", "b", "c"] * 1500


def test_four_parallel_routers_keep_counts_even_and_caps_exact(lc):
    lc.team(users=("a", "b", "c", "d"))
    lc("group", "member", "edit", "tele-sales", "d", "--daily", "700")
    n = 3000
    procs = [router(lc, lc.write(f"{p}.csv", leads_csv(n, prefix=p))) for p in "WXYZ"]
    outcomes = finish(procs)
    assert len(outcomes) == 4 * n and {o["status"] for o in outcomes} == {"assigned"}
    got = events(lc)
    assert len(got) == 4 * n and len({lead for lead, _ in got}) == 4 * n
    counts = Counter(user for _, user in got)
    assert counts["d"] == 700
    uncapped = [counts[u] for u in "abc"]
    assert max(uncapped) - min(uncapped) <= 1 and sum(uncapped) == 4 * n - 700


def test_a_killed_router_rerun_assigns_every_lead_exactly_once(lc):
    lc.team(users=("a", "b", "c"))
    n = 40_000
    path = lc.write("big.csv", leads_csv(n, prefix="K"))
    proc = router(lc, path, stdout=subprocess.DEVNULL)
    deadline = time.time() + 120
    committed = 0
    while time.time() < deadline and committed < 4000:  # let a couple of batches land
        time.sleep(0.05)
        committed = lc.query("SELECT count(*) FROM leads")[0][0]
    assert proc.poll() is None, "the router finished before it could be killed; make the file bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(events(lc))
    assert 0 < partial < n

    rerun = finish([router(lc, path)])
    statuses = Counter(o["status"] for o in rerun)
    assert statuses == {"skipped": partial, "assigned": n - partial}
    got = events(lc)
    assert len(got) == n and len({lead for lead, _ in got}) == n  # every lead exactly once
    counts = Counter(user for _, user in got)
    assert max(counts.values()) - min(counts.values()) <= 1  # the rotation is still even
    assert [u for _, u in got[:3000]] == ["a", "b", "c"] * 1000


def test_a_config_write_killed_part_way_leaves_the_old_file(lc):
    lc("user", "add", "ann")
    before = lc.config.read_bytes()
    # A writer that stalls after writing its temp file, before the rename.
    script = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "import leadctl.config as c\n"
        "real = os.fsync\n"
        "def slow(fd):\n"
        "    real(fd); print('written', flush=True); time.sleep(60)\n"
        "os.fsync = slow\n"
        "cfg = c.load(Path(sys.argv[1]))\n"
        "c.save(c.add_user(cfg, c.User('bob')))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(lc.config)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert lc.config.read_bytes() == before
    assert [u["id"] for u in lc.json("user", "list")] == ["ann"]
    lc("user", "add", "bob")  # a leftover temp file does not get in the way
    assert [u["id"] for u in lc.json("user", "list")] == ["ann", "bob"]
