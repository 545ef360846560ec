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
from leadctl.assign.route import Router
from tests.conftest import leads_csv

STORES = ("sqlite", "postgresql")  # every test taking `lc` runs on both ledgers


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
    lc.jsonl("route", str(lc.write("r.csv", data)), "--clock", "received")
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
    (event,) = lead["history"]
    assert event.pop("actor")  # who ran the route: the OS user here
    assert event.pop("via").startswith("cli, os ")  # and the OS account, always
    assert event == {"at": "2026-11-23T09:03:00+00:00", "assigned_to": "c", "group": "tele-sales",
                     "method": "owner", "reason": None, "counted": False, "note": None, "passed_over": [],
                     "backup_for": None}


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
    lc.jsonl("route", str(lc.write("a.csv", leads_csv(1))), "--clock", "received")  # on 2026-11-23, any day
    lc("user", "edit", "b", "--inactive")
    rows = {q["user"]: q for q in lc.json("quota", "--date", "2026-11-23")}
    assert rows["a"]["capped"] is True and rows["a"]["daily_remaining"] == 0
    assert rows["b"]["active"] is False and rows["b"]["capped"] is False


def test_report_by_user_counts_every_method_in_the_window(routed):
    rows = {r["user"]: r for r in routed.json("report", "--by", "user")}
    assert {u: r["count"] for u, r in rows.items()} == {"a": 2, "b": 2, "c": 2}
    assert rows["c"]["by_method"] == {"owner": 1, "sequential": 1}
    window = routed.json("report", "--since", "2026-11-24", "--until", "2026-11-24")
    assert window == [{"user": "b", "count": 1, "share": 1.0, "by_method": {"sequential": 1},
                       "first_contact_median_s": None, "first_contact_p90_s": None, "sla_misses": 0,
                       "skipped_capped": 0, "skipped_away": 0, "skipped_off_hours": 0, "skipped_inactive": 0,
                       "target_share": 0.3333, "actual_share": 1.0}]  # (b got the day's one lead of three members)


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
    router = Router(lambda: cfg, ledger, clock=lambda: datetime(2026, 11, 23, tzinfo=timezone.utc),
                    rng=random.Random(0), batch_size=50)
    outcomes = router.route(endless)
    first = [next(outcomes) for _ in range(120)]
    assert [o.assigned_to for o in first[:4]] == ["a", "b", "a", "b"]
    assert ledger.sql("SELECT count(*) FROM leads")[0][0] == 150  # three batches, no more
    ledger.close()


EXTREMES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-02-30T10:00:00", "2026-11-23T25:00",
            "2026-11-23", "2026-11-23T10:00:00Z", "2026-11-23T10:00:00.123456+05:30", "not a date", ""]


def test_router_handles_hostile_dates_and_colliding_ids(lc):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    lc.team(users=("a", "b"))
    lc("settings", "--timezone", "Pacific/Kiritimati")  # UTC+14: the far end of the calendar
    cfg = load(lc.config)
    ids = st.sampled_from(["X", "Y", "Z", " X ", ""])
    whens = st.one_of(st.sampled_from(EXTREMES), st.datetimes().map(lambda d: d.isoformat()))

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(ids, whens, st.text(max_size=5)), max_size=12))
    def check(rows):
        ledger = Ledger.open(lc.folder / "absent.db", create=False)  # fresh, in memory
        router = Router(lambda: cfg, ledger, clock=lambda: datetime(2026, 11, 23, tzinfo=timezone.utc),
                        rng=random.Random(0), replay=True)
        records = [Record(i, {"id": rid, "received_at": when, "note": note})
                   for i, (rid, when, note) in enumerate(rows, 2)]
        outcomes = list(router.route(records))
        assert [o.line for o in outcomes] == [r.line for r in records]
        kept = [o for o in outcomes if o.status in ("assigned", "unassigned")]
        assert len({o.lead_id for o in kept}) == len(kept)  # no id routed twice
        stored = ledger.sql("SELECT count(*) FROM leads")[0][0]
        assert stored == len(kept)
        assert all(o.reason for o in outcomes if o.status in ("rejected", "skipped"))
        ledger.close()

    check()


def test_report_across_a_month_boundary_and_by_method_with_owner_and_pickup(lc):
    lc.team(users=("a", "b"), daily="1")
    lc("user", "edit", "b", "--pickup")
    lc("group", "edit", "tele-sales", "--pickup-status", "new")
    data = ("id,owner,received_at\n"
            "M1,,2020-02-29T09:00:00\n"    # a
            "M2,,2020-02-29T10:00:00\n"    # b
            "M3,,2020-02-29T11:00:00\n"    # everyone capped: unassigned
            "M4,a,2020-02-29T23:59:59\n"   # owner, the last second of February
            "M5,,2020-03-01T00:00:00\n"    # a, a new day and month
            "M6,,2020-03-01T08:00:00\n")   # b
    lc.jsonl("route", str(lc.write("m.csv", data)), "--clock", "received")
    lc("pickup", "M3", "--user", "b")      # happens now, years after the window
    by_day = lc.json("report", "--by", "day", "--since", "2020-02-29", "--until", "2020-03-01")
    assert [(r["day"], r["count"]) for r in by_day] == [("2020-02-29", 3), ("2020-03-01", 2)]
    by_month = lc.json("report", "--by", "month", "--until", "2020-12-31")
    assert [(r["month"], r["count"]) for r in by_month] == [("2020-02", 3), ("2020-03", 2)]
    by_method = {r["method"]: r["count"] for r in lc.json("report", "--by", "method")}
    assert by_method == {"sequential": 4, "owner": 1, "pickup": 1}
    by_user = {r["user"]: r for r in lc.json("report", "--since", "2020-03-01", "--until", "2020-03-01")}
    assert {u: r["count"] for u, r in by_user.items()} == {"a": 1, "b": 1}
    assert sum(r["count"] for r in lc.json("report")) == 6


def test_report_table_draws_bars_and_a_fairness_line(lc, monkeypatch):
    monkeypatch.setenv("LEADCTL_TABLES", "rich")  # as on a terminal
    lc.team(group="advisors", users=("senior", "junior"), method="weighted")
    lc("group", "member", "edit", "advisors", "senior", "--weight", "10")
    lc("group", "member", "edit", "advisors", "junior", "--weight", "5")
    lc.jsonl("route", str(lc.write("a.csv", leads_csv(30))))
    out = lc("report").stdout
    assert "█" in out
    assert "fairness advisors (weighted, shares by weight): 30 lead(s)" in out
    assert "gap 0.0" in out


def test_report_and_quota_filter_by_group_and_user(lc):
    lc.team(users=("a", "b"))
    lc("group", "add", "ads")
    lc("group", "member", "add", "ads", "b")
    lc("rule", "add", "--group", "ads", "--when", "source=ads")
    lc.jsonl("route", str(lc.write("a.csv", "id,source,received_at\n"
                                             "G1,,2026-11-23T09:00:00\nG2,ads,2026-11-23T09:01:00\n"
                                             "G3,,2026-11-23T09:02:00\nG4,ads,2026-11-23T09:03:00\n")), "--clock", "received")
    assert [(r["group"], r["count"]) for r in lc.json("report", "--by", "group")] == [("ads", 2), ("tele-sales", 2)]
    assert [(r["user"], r["count"]) for r in lc.json("report", "--group", "ads")] == [("b", 2)]
    assert [(r["group"], r["count"]) for r in lc.json("report", "--by", "group", "--user", "a")] == [("tele-sales", 1)]
    quota = lc.json("quota", "--group", "ads", "--date", "2026-11-23")
    assert [(q["group"], q["user"], q["daily_used"]) for q in quota] == [("ads", "b", 2)]
    assert lc("quota", "--group", "nope", ok=False).exit_code == 2


def test_removing_the_default_group_says_what_follows(lc):
    lc.team(users=("a",))
    lc("group", "add", "spare")
    result = lc("group", "remove", "tele-sales", "--yes")
    assert "there is no default group now" in result.stderr
    assert [g["name"] for g in lc.json("group", "list")] == ["spare"]
    out = lc("route", str(lc.write("a.csv", leads_csv(1))), ok=False)
    assert out.exit_code == 2 and "no group to route to" in out.stderr


def test_report_counts_agree_with_the_events_themselves(routed):
    """`report` reads a running tally; it must say what counting the events says."""
    routed("reassign", "R1", "--to", "b")
    routed("release", "R2")
    direct = dict(routed.query("SELECT assigned_to, count(*) FROM events WHERE assigned_to IS NOT NULL GROUP BY 1"))
    assert {r["user"]: r["count"] for r in routed.json("report")} == direct


def test_leads_list_newest_first_and_the_last_twenty(routed):
    assert [x["id"] for x in routed.json("leads", "list", "--newest")] == ["R6", "R5", "R4", "R3", "R2", "R1"]
    assert [x["id"] for x in routed.json("leads", "list", "--newest", "--limit", "2")] == ["R6", "R5"]
    assert [x["id"] for x in routed.json("leads", "list", "--newest", "--owner", "a")] == ["R5", "R1"]


def test_a_removed_users_leads_can_still_be_listed_and_explained(routed):
    routed("user", "remove", "c", "--yes")
    assert [x["id"] for x in routed.json("leads", "list", "--owner", "c")] == ["R3", "R4"]
    assert "c" in routed("leads", "explain", "R4").stdout
    unknown = routed("leads", "list", "--owner", "nobody", ok=None)
    assert unknown.exit_code == 2 and "unknown user 'nobody'" in unknown.stderr


def test_leads_list_fields_are_matched_as_headers_are(lc):
    lc.team(users=("a",))
    lc.jsonl("route", str(lc.write("f.csv", "Lead ID,First Name,Zip Code,E-Mail\nZ1,Ada,01234,ada@example.com\n")))
    out = lc("leads", "list", "--fields", "id,first name,ZIP_CODE,Email Address,zip-code", "-o", "csv").stdout
    assert out.splitlines() == ["id,first name,ZIP_CODE,Email Address,zip-code", "Z1,Ada,01234,ada@example.com,01234"]


def test_leads_list_has_the_same_columns_on_a_terminal_and_off_one(routed, monkeypatch):
    plain = routed("leads", "list").stdout.splitlines()[0].split("\t")
    monkeypatch.setenv("LEADCTL_TABLES", "rich")  # as on a terminal, a wide one
    monkeypatch.setenv("COLUMNS", "160")
    drawn = routed("leads", "list").stdout
    assert plain == ["id", "type", "status", "assigned_to", "group", "method", "received_at", "source"]
    header = next(line for line in drawn.splitlines() if "assigned_to" in line)
    assert [c for c in plain if c in header] == plain


def test_every_listing_shows_times_in_the_configured_zone(routed):
    routed("token", "add", "web")
    routed("settings", "--timezone", "America/New_York")
    lead = routed.json("leads", "show", "R1")
    assert lead["received_at"] == "2026-11-23T04:00:00-05:00"  # received at 09:00 UTC
    assert lead["history"][0]["at"] == "2026-11-23T04:00:00-05:00"
    assert routed.json("leads", "list")[0]["received_at"] == "2026-11-23T04:00:00-05:00"
    for listing in (routed.json("token", "list"), routed.json("config", "history")):
        stamp = listing[-1].get("created_at") or listing[-1]["at"]
        assert stamp[-6:] in ("-05:00", "-04:00"), listing
