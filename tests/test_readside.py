"""Seeing the result: leads list, leads show, quota, report, and every listing's formats."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timezone
from itertools import count

import pytest

from leadctl.config import load
from leadctl.intake import Record
from leadctl.ledger import Ledger
from leadctl.routing import Router
from tests.conftest import leads_csv


@pytest.fixture
def routed(lc):
    """Six leads over a, b (daily cap 2) and c; statuses new/callback; one owner-assigned."""
    lc.team(users=("a", "b", "c"))
    lc("group", "member", "edit", "tele-sales", "b", "--daily", "2")
    data = ("id,status,owner,received_at\n"
            "R1,new,,2026-11-23T09:00:00\n"
            "R2,callback,,2026-11-23T09:01:00\n"
            "R3,,,2026-11-23T09:02:00\n"
            "R4,callback,c,2026-11-23T09:03:00\n"
            "R5,new,,2026-11-23T09:04:00\n"
            "R6,new,,2026-11-24T09:05:00\n")
    lc.jsonl("route", str(lc.write("r.csv", data)))
    return lc


def test_leads_list_filters(routed):
    ids = lambda *args: [x["id"] for x in routed.json("leads", "list", *args)]  # noqa: E731
    assert ids() == ["R1", "R2", "R3", "R4", "R5", "R6"]
    assert ids("--owner", "c") == ["R3", "R4"]
    assert ids("--status", "callback") == ["R2", "R4"]
    assert ids("--status", "new", "--owner", "a") == ["R1", "R5"]
    assert ids("--unassigned") == []
    assert ids("--group", "tele-sales") == ids()


def test_leads_list_json_has_the_contract_fields(routed):
    first = routed.json("leads", "list")[0]
    assert {"id", "type", "status", "assigned_to", "group"} <= set(first)
    assert (first["id"], first["type"], first["status"], first["assigned_to"], first["group"]) == (
        "R1", "lead", "new", "a", "tele-sales")


def test_a_lead_without_status_is_new(routed):
    assert routed.json("leads", "show", "R3")["status"] == "new"


def test_leads_show_unknown_lead_exits_1(routed):
    result = routed("leads", "show", "NOPE", ok=False)
    assert result.exit_code == 1 and "unknown lead 'NOPE'" in result.stderr


def test_leads_show_has_fields_and_history(routed):
    lead = routed.json("leads", "show", "R4")
    assert lead["owner"] == "c" and lead["assigned_to"] == "c"
    assert lead["history"] == [{"at": "2026-11-23T09:03:00+00:00", "assigned_to": "c", "group": "tele-sales",
                                "method": "owner", "reason": None, "counted": False}]


def test_quota_json_counts_only_the_groups_own_method(routed):
    rows = {q["user"]: q for q in routed.json("quota", "--date", "2026-11-23")}
    assert set(rows["a"]) >= {"group", "user", "daily_used", "daily_limit", "monthly_used", "monthly_limit",
                              "capped", "active"}
    # a: R1, R5 ... sequential over a, b, c: R1 a, R2 b, R3 c, R4 owner c (not counted), R5 a
    assert (rows["a"]["daily_used"], rows["b"]["daily_used"], rows["c"]["daily_used"]) == (2, 1, 1)
    assert rows["b"]["daily_limit"] == 2 and rows["b"]["capped"] is False
    assert rows["c"]["monthly_used"] == 1
    next_day = {q["user"]: q for q in routed.json("quota", "--date", "2026-11-24")}
    assert next_day["b"]["daily_used"] == 1 and next_day["b"]["monthly_used"] == 2


def test_quota_marks_capped_and_inactive(lc):
    lc.team(users=("a", "b"), daily="1")
    lc.jsonl("route", str(lc.write("a.csv", leads_csv(1))))
    lc("user", "edit", "b", "--inactive")
    rows = {q["user"]: q for q in lc.json("quota", "--date", "2026-11-23")}
    assert rows["a"]["capped"] is True and rows["a"]["daily_remaining"] == 0
    assert rows["b"]["active"] is False and rows["b"]["capped"] is False


def test_report_by_user_counts_every_method_in_the_window(routed):
    rows = {r["user"]: r for r in routed.json("report", "--by", "user")}
    assert {u: r["count"] for u, r in rows.items()} == {"a": 2, "b": 2, "c": 2}
    assert rows["c"]["by_method"] == {"owner": 1, "sequential": 1}
    window = routed.json("report", "--since", "2026-11-24", "--until", "2026-11-24")
    assert window == [{"user": "b", "count": 1, "share": 1.0, "by_method": {"sequential": 1}}]


def test_report_by_day_and_method(routed):
    assert routed.json("report", "--by", "day") == [
        {"day": "2026-11-23", "count": 5, "share": 0.8333, "by_method": {"owner": 1, "sequential": 4}},
        {"day": "2026-11-24", "count": 1, "share": 0.1667, "by_method": {"sequential": 1}},
    ]
    assert [(r["method"], r["count"]) for r in routed.json("report", "--by", "method")] == [
        ("sequential", 5), ("owner", 1)]


def test_report_bad_dates_exit_2(routed):
    assert routed("report", "--since", "yesterday", ok=False).exit_code == 2
    assert routed("report", "--since", "2026-12-01", "--until", "2026-11-01", ok=False).exit_code == 2


@pytest.mark.parametrize("command", [
    ["user", "list"], ["group", "list"], ["rule", "list"], ["leads", "list"], ["quota"], ["report"],
])
def test_every_listing_parses_as_json_and_csv_even_when_empty(lc, command):
    assert json.loads(lc(*command, "--format", "json").stdout) == []
    lc.team(users=("a",))
    lc("rule", "add", "--group", "tele-sales", "--when", "source=x")
    lc.jsonl("route", str(lc.write("a.csv", leads_csv(2))))
    rows = json.loads(lc(*command, "--format", "json").stdout)
    assert isinstance(rows, list) and rows
    table = list(csv.reader(io.StringIO(lc(*command, "--format", "csv").stdout)))
    assert len(table) == len(rows) + 1


def test_csv_export_cannot_start_a_formula(lc):
    lc("user", "add", "evil", "--name", "=HYPERLINK(\"http://x\")", "--email", "+1-555@example.com")
    lc.team(users=("evil",))
    lc.jsonl("route", str(lc.write("a.csv", "id,status\n@SUM(A1),-new\n")))
    for command in (["user", "list"], ["leads", "list"]):
        for row in csv.reader(io.StringIO(lc(*command, "--format", "csv").stdout)):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@")), (command, cell)
    leads = list(csv.DictReader(io.StringIO(lc("leads", "list", "--format", "csv").stdout)))
    assert leads[0]["id"] == "'@SUM(A1)" and leads[0]["status"] == "'-new"


def test_router_streams_an_endless_input_batch_by_batch(lc):
    lc.team(users=("a", "b"))
    cfg = load(lc.config)
    ledger = Ledger.open(lc.db)
    endless = (Record(n, {"id": f"E{n}"}) for n in count(1))
    router = Router(cfg, ledger, now=datetime(2026, 11, 23, tzinfo=timezone.utc), rng=random.Random(0),
                    batch_size=50)
    outcomes = router.route(endless)
    first = [next(outcomes) for _ in range(120)]
    assert [o.assigned_to for o in first[:4]] == ["a", "b", "a", "b"]
    assert ledger.conn.execute("SELECT count(*) FROM leads").fetchone()[0] == 150  # three batches, no more
    ledger.close()
