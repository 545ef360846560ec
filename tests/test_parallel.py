"""Two `leadctl route` processes at once share one rotation and one set of caps."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter

from tests.conftest import leads_csv


def test_two_parallel_routers_assign_every_lead_once_and_share_rotation_and_caps(lc):
    lc.team(users=("a", "b", "c"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "1500")
    lc("group", "member", "edit", "tele-sales", "b", "--daily", "1500")
    n = 6000
    one = lc.write("one.csv", leads_csv(n, prefix="P"))
    two = lc.write("two.csv", leads_csv(n, prefix="Q"))
    base = [sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db), "route", "--output", "jsonl"]
    procs = [subprocess.Popen([*base, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for path in (one, two)]
    results = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err.decode()
        assert b"locked" not in err
    outcomes = [json.loads(line) for out, _ in results for line in out.splitlines()]
    assert len(outcomes) == 2 * n and {o["status"] for o in outcomes} == {"assigned"}

    db = sqlite3.connect(lc.db)
    events = db.execute("SELECT lead_id, assigned_to FROM events ORDER BY id").fetchall()
    assert len(events) == 2 * n
    assert len({lead for lead, _ in events}) == 2 * n  # every lead exactly once
    counts = Counter(user for _, user in events)
    assert counts == {"a": 1500, "b": 1500, "c": 2 * n - 3000}  # caps held across both processes
    # One shared rotation: while everyone had room, strict a, b, c across both processes' batches.
    assert [u for _, u in events[:4500]] == ["a", "b", "c"] * 1500
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
