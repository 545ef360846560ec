"""People are not always at their desks: leave, working hours and a user's own caps, asked at
the routing clock's moment (here `--clock received`: each lead at its own time)."""

from __future__ import annotations

import json

import pytest

from tests.test_serve import server  # noqa: F401  (a fixture: servers are always stopped)

STORES = ("sqlite", "postgresql")


def leads(*times: str, prefix: str = "L") -> str:
    return "".join(json.dumps({"id": f"{prefix}{i}", "received_at": t}) + "\n" for i, t in enumerate(times, 1))


def route(lc, text: str, *extra: str) -> list[dict]:
    return lc.jsonl("route", "--clock", "received", "--format", "jsonl", *extra, input=text)


def test_a_member_on_leave_misses_their_turns_and_comes_back_without_catching_up(lc):
    lc.team()  # tom, stephanie, lewis, denise
    lc("away", "add", "stephanie", "--from", "2026-11-23", "--to", "2026-11-24")
    out = route(lc, leads("2026-11-23T09:00:00", "2026-11-23T09:01:00", "2026-11-24T09:00:00",
                          "2026-11-25T09:00:00", "2026-11-25T09:01:00", "2026-11-25T09:02:00", "2026-11-25T09:03:00"))
    assert [o["assigned_to"] for o in out] == ["tom", "lewis", "denise", "tom", "stephanie", "lewis", "denise"]
    assert lc.json("leads", "show", "L2")["history"][0]["passed_over"] == [{"user": "stephanie", "why": "away"}]
    assert lc.json("leads", "show", "L5")["history"][0]["passed_over"] == []  # back: her next turn, no extra


def test_working_hours_in_the_users_own_zone_across_midnight_and_summer_time(lc):
    lc("user", "add", "ber", "--timezone", "Europe/Berlin", "--hours", "daily 09:00-17:00")
    lc("user", "add", "owl", "--hours", "fri 22:00-02:00")  # in UTC, the config's zone
    for user in ("ber", "owl"):  # a group each: a lead goes to them, or nobody can take it
        lc("group", "add", user)
        lc("group", "member", "add", user, user)

    def who(user: str, *times: str) -> list:
        return [o["assigned_to"] for o in route(lc, leads(*times, prefix=f"{user}-{len(lc.json('leads', 'list'))}-"),
                                                 "--group", user)]

    assert who("ber", "2026-11-23T07:59:00+00:00",  # 08:59 in Berlin (winter, UTC+1): off hours
               "2026-11-23T08:00:00+00:00",  # 09:00: at work
               "2026-11-23T15:59:00+00:00",  # 16:59: at work
               "2026-11-23T16:00:00+00:00") == [None, "ber", "ber", None]  # 17:00: gone
    assert who("ber", "2027-03-28T07:30:00+00:00",  # the day Berlin moves to summer time: 09:30 CEST
               "2027-03-27T07:30:00+00:00") == ["ber", None]  # the day before: 08:30 CET
    assert who("owl", "2027-03-26T21:59:00+00:00", "2027-03-26T22:00:00+00:00",  # Friday night
               "2027-03-27T01:59:00+00:00", "2027-03-27T02:00:00+00:00") == [None, "owl", "owl", None]
    off = lc.json("leads", "list", "--unassigned", "--group", "ber")[0]
    assert "every member" in lc.json("leads", "show", off["id"])["reason"]


def test_a_users_own_daily_cap_counts_every_group_together(lc):
    for u in ("tom", "ann"):
        lc("user", "add", u)
    lc("user", "edit", "tom", "--daily", "2")
    lc("group", "add", "a")
    lc("group", "member", "add", "a", "tom")
    lc("group", "add", "b")
    for u in ("tom", "ann"):
        lc("group", "member", "add", "b", u)
    day = "2026-11-23T09:0{}:00"
    assert [o["assigned_to"] for o in route(lc, leads(day.format(1), prefix="A"), "--group", "a")] == ["tom"]
    got = [o["assigned_to"] for o in route(lc, leads(*(day.format(i) for i in (2, 3, 4)), prefix="B"), "--group", "b")]
    assert got == ["tom", "ann", "ann"]  # tom's second of the day, then his own cap: two, over both groups
    assert lc.json("leads", "show", "B3")["history"][0]["passed_over"] == [{"user": "tom", "why": "daily cap"}]
    capped = route(lc, leads(day.format(5), prefix="C"), "--group", "a")
    assert capped[0]["status"] == "unassigned"
    assert [o["assigned_to"] for o in route(lc, leads("2026-11-24T09:00:00", prefix="D"), "--group", "a")] == ["tom"]


def test_a_dry_run_sees_the_same_availability_as_the_run(lc):
    lc.team(users=("a", "b"))
    lc("away", "add", "a", "--from", "2026-11-23", "--to", "2026-11-23")
    text = leads("2026-11-23T09:00:00", "2026-11-24T09:00:00")
    rehearsed = route(lc, text, "--dry-run")
    assert [o["assigned_to"] for o in rehearsed] == [o["assigned_to"] for o in route(lc, text)] == ["b", "a"]


@pytest.mark.any_store
def test_bad_availability_input_is_one_line_exit_2_and_changes_nothing(lc):
    lc.team(users=("a", "b"))
    lc("group", "add", "night")
    lc("group", "edit", "night", "--overflow", "tele-sales")
    before = (lc.config.read_bytes(), lc.snapshot())
    for command, words in [
        (["user", "edit", "a", "--hours", "mon-fri 9-5"], "is not a time span"),
        (["user", "edit", "a", "--hours", "someday 09:00-17:00"], "is not days"),
        (["user", "edit", "a", "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["away", "add", "a", "--from", "2026-12-24", "--to", "2026-12-20"], "before --from"),
        (["away", "add", "a", "--from", "2026-12-20", "--to", "2026-12-24", "--backup", "nobody"], "unknown user"),
        (["away", "add", "a", "--from", "2026-12-20", "--to", "2026-12-24", "--backup", "a"], "their own backup"),
        (["away", "add", "a", "--from", "Monday", "--to", "2026-12-24"], "is not a date"),
        (["group", "edit", "tele-sales", "--overflow", "night"], "overflow loop"),
        (["away", "remove", "7"], "no away entry 7"),
    ]:
        result = lc(*command, ok=None)
        assert result.exit_code == 2 and words in result.stderr and result.stderr.count("\n") == 1, (command, result.stderr)
        assert (lc.config.read_bytes(), lc.snapshot()) == before, command


@pytest.mark.any_store
def test_leave_is_listed_and_a_rep_may_enter_only_their_own(lc):
    lc.team(users=("a", "b"))
    lc("user", "add", "boss", "--role", "manager")
    lc("group", "member", "add", "tele-sales", "boss")  # a manager of their group
    assert lc("--as", "a", "away", "add", "a", "--from", "2026-12-20", "--to", "2026-12-31", "--backup", "b",
              "--note", "holiday").stdout.strip() == "1"
    refused = lc("--as", "a", "away", "add", "b", "--from", "2026-12-20", "--to", "2026-12-31", ok=None)
    assert refused.exit_code == 2 and "only for themselves" in refused.stderr
    lc("--as", "boss", "away", "add", "b", "--from", "2027-01-04", "--to", "2027-01-04")
    assert lc.json("away", "list") == [
        {"id": 1, "user": "a", "from": "2026-12-20", "to": "2026-12-31", "backup": "b", "note": "holiday"},
        {"id": 2, "user": "b", "from": "2027-01-04", "to": "2027-01-04", "backup": None, "note": None}]
    lc("away", "remove", "1")
    assert [e["id"] for e in lc.json("away", "list", "--user", "b")] == [2]


def test_a_backup_takes_the_absent_members_turn_under_their_own_caps_and_the_member_keeps_their_place(lc):
    lc.team(users=("a", "b", "c"))
    lc("user", "add", "d", "--daily", "1")  # not a member: only their own cap applies
    lc("away", "add", "a", "--from", "2026-12-20", "--to", "2026-12-24", "--backup", "d")
    out = route(lc, leads(*(f"2026-12-21T09:0{i}:00" for i in range(5)), "2026-12-25T09:00:00",
                          "2026-12-25T09:01:00"))
    assert [o["assigned_to"] for o in out] == ["d", "b", "c", "b", "c", "a", "b"]
    assert out[0]["reason"] == "backup for a, away until 24 Dec 2026" and out[0]["method"] == "sequential"
    first = lc.json("leads", "show", "L1")["history"][0]
    assert (first["backup_for"], first["counted"]) == ("a", True)
    assert lc.json("leads", "show", "L4")["history"][0]["passed_over"] == [{"user": "a", "why": "away"}]  # d capped
    assert out[5]["reason"] is None  # back: a takes their own next turn, and only that


def test_a_backup_who_is_away_passes_the_turn_on_and_a_loop_ends_it(lc):
    lc.team(users=("a", "b"))
    for u in ("x", "y"):
        lc("user", "add", u)
    lc("away", "add", "a", "--from", "2026-12-21", "--to", "2026-12-21", "--backup", "x")
    lc("away", "add", "x", "--from", "2026-12-21", "--to", "2026-12-22", "--backup", "y")
    lc("away", "add", "b", "--from", "2026-12-22", "--to", "2026-12-22", "--backup", "a")
    lc("away", "add", "a", "--from", "2026-12-22", "--to", "2026-12-22", "--backup", "b")
    out = route(lc, leads("2026-12-21T09:00:00", "2026-12-22T09:00:00"))
    assert (out[0]["assigned_to"], out[0]["reason"]) == ("y", "backup for a, away until 21 Dec 2026")
    assert out[1]["status"] == "unassigned"  # b's backup a is away, a's backup b is away: a loop
    assert "a: away" in out[1]["reason"] and "b: away" in out[1]["reason"]


def test_nobody_eligible_overflows_one_step_else_queues_in_order_and_drain_hands_them_out(lc):
    lc.team(users=("a", "b"), daily="1")
    lc("user", "add", "night")
    lc("group", "add", "night-desk")
    lc("group", "member", "add", "night-desk", "night", "--daily", "1")
    lc("group", "edit", "tele-sales", "--overflow", "night-desk", "--queue")
    out = lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "Q{i}"}}\n' for i in range(1, 7)))
    assert [(o["assigned_to"], o["group"], o["status"]) for o in out] == [
        ("a", "tele-sales", "assigned"), ("b", "tele-sales", "assigned"), ("night", "night-desk", "assigned"),
        (None, "tele-sales", "queued"), (None, "tele-sales", "queued"), (None, "tele-sales", "queued")]
    assert out[2]["reason"].startswith("overflowed from group 'tele-sales'")
    assert out[3]["reason"].startswith("queued: every member of group 'tele-sales'")
    summary = lc("route", "-o", "table", input='{"id": "Q7"}\n').stdout
    assert "queued: 1" in summary
    nothing = lc("drain", "-o", "jsonl")
    assert nothing.stdout == "" and "drained 0 lead(s); 4 still queued" in nothing.stderr
    lc("group", "member", "edit", "tele-sales", "b", "--daily", "3")  # a cap raised: capacity frees
    drained = [__import__("json").loads(x) for x in lc("drain", "-o", "jsonl").stdout.splitlines()]
    assert [(d["lead_id"], d["assigned_to"], d["method"]) for d in drained] == [
        ("Q4", "b", "sequential"), ("Q5", "b", "sequential")]  # oldest first, as far as capacity goes
    assert lc.json("leads", "show", "Q4")["history"][0]["reason"].startswith("from the queue")
    assert lc("drain", "-o", "jsonl").stderr.strip().endswith("2 still queued")
    used = {(r["group"], r["user"]): r["daily_used"] for r in lc.json("quota")}
    assert used[("tele-sales", "b")] == 3  # drained leads count as routing would


def test_two_drains_at_once_hand_out_each_queued_lead_once(lc):
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import run_cli

    lc.team(users=("a", "b"), daily="1")
    lc("group", "edit", "tele-sales", "--queue")
    lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "W{i}"}}\n' for i in range(1, 41)))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "0")  # no limit: everything can go
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: run_cli("--config", str(lc.config), "--db", str(lc.db), "drain", "-o", "jsonl"),
                             range(2)))
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    ids = [line.split('"lead_id": "')[1].split('"')[0] for r in runs for line in r.stdout.decode().splitlines()]
    assert sorted(ids) == sorted(f"W{i}" for i in range(3, 41)) and len(ids) == len(set(ids))
    events = dict(lc.query("SELECT lead_id, count(*) FROM events GROUP BY lead_id"))
    assert set(events.values()) == {1}


def test_serve_drains_the_queue_by_itself_after_a_config_change(lc, server):
    import time

    lc.team(users=("a",), daily="1")
    lc("group", "edit", "tele-sales", "--queue")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "S1"}\n{"id": "S2"}\n{"id": "S3"}\n')
    s = server()
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "2")  # room for one more today
    deadline = time.monotonic() + 20
    while lc.json("leads", "show", "S2")["assigned_to"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    code, log = s.stop()
    assert lc.json("leads", "show", "S2")["assigned_to"] == "a" and lc.json("leads", "show", "S3")["assigned_to"] is None
    assert code == 0 and "queue: drained 1 lead(s); 1 still queued" in log


@pytest.mark.any_store
def test_config_check_warns_when_every_member_can_be_away_at_once_and_nothing_catches_the_leads(lc):
    lc("user", "add", "tom", "--hours", "mon-fri 09:00-17:00")
    lc("user", "add", "ann", "--hours", "mon-fri 08:00-16:00", "--timezone", "America/New_York")
    lc.team(users=("tom", "ann"))
    assert "can be away at once (off hours at Mon 00:00 UTC)" in lc("config", "check").stderr
    lc("user", "edit", "ann", "--no-hours")
    assert "away at once" not in lc("config", "check").stderr  # ann takes leads at any hour
    lc("away", "add", "ann", "--from", "2026-12-24", "--to", "2026-12-26")
    lc("away", "add", "tom", "--from", "2026-12-26", "--to", "2026-12-27")
    assert "can be away at once (on leave on 2026-12-26)" in lc("config", "check").stderr
    lc("group", "edit", "tele-sales", "--queue")
    assert "away at once" not in lc("config", "check").stderr  # the queue keeps them


@pytest.mark.any_store
def test_quota_and_group_show_say_who_is_away_until_when(lc):
    lc.team(users=("a", "b", "c"))
    lc("away", "add", "a", "--from", "2026-11-20", "--to", "2026-11-24", "--backup", "b")
    quota = {r["user"]: r["away"] for r in lc.json("quota", "--date", "2026-11-23")}
    assert quota == {"a": "away until 2026-11-24 (backup b)", "b": None, "c": None}
    assert {r["user"]: r["away"] for r in lc.json("quota", "--date", "2026-11-25")} == {"a": None, "b": None, "c": None}
    assert "away until 2026-11-24" in lc("quota", "--date", "2026-11-23", "-o", "table").stdout
