"""The SLA ladder (`group sla`): steps in order of how long after the assignment, each once per
holder; a first contact stops it; a new holder starts it again; the business clock counts
only the holder's working hours, in their zone. On a frozen clock."""

from __future__ import annotations

import json

import pytest

from tests.test_lifecycle import at


def _ticks(lc) -> list[dict]:
    return [json.loads(x) for x in lc("tick", "-o", "jsonl").stdout.splitlines()]


def _told(lc, lead: str) -> list[tuple]:
    """(user, method) of each notification queued about a lead, in order."""
    return [tuple(r) for r in lc.query(  # (each at its own moment: the clock is frozen at each step's)
        "SELECT user_id, method FROM notifications WHERE lead_id = ? AND channel = 'webhook' ORDER BY created_at",
        (lead,))]


@pytest.fixture
def ladder_team(lc):
    lc.team(users=("a", "b", "c"))
    lc("user", "add", "olga", "--role", "admin")  # no manager in the group: its admins are told
    lc("user", "add", "boss")
    lc("notify", "setup", "--webhook-url", "https://chat.example.com/hook")
    return lc


def test_steps_run_in_order_each_once_per_holder_and_a_new_holder_starts_again(ladder_team):
    lc = ladder_team
    with at("2026-11-23T09:00:00"):
        lc("group", "sla", "tele-sales", "--step", "1h:reroute", "--step", "15m:remind",
           "--step", "45m:notify-managers")
        lc.jsonl("route", "--format", "jsonl", input='{"id": "S1"}\n')  # to a
    with at("2026-11-23T09:14:59"):
        assert _ticks(lc) == []
    with at("2026-11-23T09:15:00"):
        assert [(t["method"], t["previous"], t["assigned_to"], t["step"]) for t in _ticks(lc)] == [
            ("remind", "a", "a", "15m:remind")]
        assert _ticks(lc) == []  # at once again: done
    with at("2026-11-23T09:50:00"):
        (told,) = _ticks(lc)
        assert (told["method"], told["step"]) == ("notify-managers", "45m:notify-managers")
        assert "olga" in told["reason"]
    with at("2026-11-23T10:00:00"):
        (moved,) = _ticks(lc)
        assert (moved["method"], moved["previous"], moved["assigned_to"]) == ("sla", "a", "b")
        assert moved["reason"].startswith("not contacted within 1h by a")
    with at("2026-11-23T10:14:00"):
        assert _ticks(lc) == []  # b's ladder started at 10:00
    with at("2026-11-23T10:15:00"):
        assert [(t["method"], t["assigned_to"]) for t in _ticks(lc)] == [("remind", "b")]
    assert _told(lc, "S1") == [("a", "sequential"), ("a", "remind"), ("olga", "notify-managers"), ("b", "sla"),
                               ("b", "remind")]
    steps = lc.query("SELECT step, action, note FROM sla_steps WHERE lead_id = 'S1' ORDER BY at, step")
    assert steps == [(1, "15m:remind", "a"), (2, "45m:notify-managers", "a"), (3, "1h:reroute", "b"),
                     (1, "15m:remind", "b")]


def test_a_late_tick_runs_every_step_due_in_order_and_stops_once_the_lead_moved(ladder_team):
    lc = ladder_team
    with at("2026-11-23T09:00:00"):
        lc("group", "sla", "tele-sales", "--step", "15m:remind", "--step", "30m:escalate:boss",
           "--step", "45m:notify-managers")
        lc.jsonl("route", "--format", "jsonl", input='{"id": "L1"}\n')
    with at("2026-11-23T12:00:00"):  # the cron was down: all three are due
        assert [(t["method"], t["assigned_to"]) for t in _ticks(lc)] == [("remind", "a"), ("escalated", "boss")]
        assert _ticks(lc) == []  # boss got it outside the rules: the SLA does not cover it
    history = lc.json("leads", "show", "L1")["history"]
    assert [(h["assigned_to"], h["method"], h["counted"]) for h in history] == [
        ("a", "sequential", True), ("boss", "escalated", False)]


def test_a_first_contact_stops_the_ladder(ladder_team):
    lc = ladder_team
    with at("2026-11-23T09:00:00"):
        lc("group", "sla", "tele-sales", "--step", "15m:remind", "--step", "1h:reroute")
        lc.jsonl("route", "--format", "jsonl", input='{"id": "C1"}\n{"id": "C2"}\n')  # a, b
    with at("2026-11-23T09:15:00"):
        assert [(t["lead_id"], t["method"]) for t in _ticks(lc)] == [("C1", "remind"), ("C2", "remind")]
    with at("2026-11-23T09:20:00"):
        lc("leads", "status", "C1", "contacted")
    with at("2026-11-23T11:00:00"):
        assert [(t["lead_id"], t["method"], t["assigned_to"]) for t in _ticks(lc)] == [("C2", "sla", "c")]


def test_the_business_clock_waits_over_the_weekend_in_the_holders_zone(ladder_team):
    lc = ladder_team
    lc("user", "edit", "a", "--timezone", "Europe/Berlin", "--hours", "mon-fri 09:00-17:30")
    with at("2026-12-04T16:20:00"):  # Friday 17:20 in Berlin
        lc("group", "sla", "tele-sales", "--step", "1h:reroute", "--clock", "business")
        out = lc.jsonl("route", "--format", "jsonl", input='{"id": "W1"}\n')
        assert out[0]["assigned_to"] == "a"
    with at("2026-12-07T08:49:59"):  # Monday 09:49:59 in Berlin: 10 min on Friday, 49:59 today
        assert _ticks(lc) == []
    with at("2026-12-07T08:50:00"):  # Monday 09:50
        assert [(t["previous"], t["assigned_to"]) for t in _ticks(lc)] == [("a", "b")]


def test_the_business_clock_counts_real_time_across_a_summer_time_change(ladder_team):
    lc = ladder_team
    lc("user", "edit", "a", "--timezone", "Europe/Berlin", "--hours", "daily 00:00-24:00")
    with at("2027-03-27T11:00:00"):  # Saturday 12:00 CET; Sunday has 23 hours in Berlin
        lc("group", "sla", "tele-sales", "--step", "1d:reroute", "--clock", "business")
        lc.jsonl("route", "--format", "jsonl", input='{"id": "D1"}\n')
    with at("2027-03-28T10:59:59"):  # Sunday 12:59:59 CEST: a day of real time is not over yet
        assert _ticks(lc) == []
    with at("2027-03-28T11:00:00"):  # Sunday 13:00 CEST: 24 hours later
        assert [t["assigned_to"] for t in _ticks(lc)] == ["b"]


def test_a_holder_with_no_hours_counts_the_wall_clock_and_the_ladder_shows_itself(ladder_team):
    lc = ladder_team
    with at("2026-12-04T16:20:00"):  # Friday; a has no hours
        lc("group", "sla", "tele-sales", "--step", "1h:reroute", "--clock", "business")
        lc.jsonl("route", "--format", "jsonl", input='{"id": "N1"}\n')
        shown = lc("group", "sla", "tele-sales").stdout
        assert "1h:reroute (business clock; covers leads assigned from 2026-12-04T16:20:00+00:00)" in shown
    with at("2026-12-04T17:20:00"):
        assert [t["assigned_to"] for t in _ticks(lc)] == ["b"]


def test_contact_within_stays_the_one_step_shorthand_and_the_ladder_replaces_it(ladder_team):
    lc = ladder_team
    lc("group", "edit", "tele-sales", "--contact-within", "15m")
    assert "15m:reroute (wall clock" in lc("group", "sla", "tele-sales").stdout
    lc("group", "sla", "tele-sales", "--step", "10m:remind")
    text = lc.config.read_text()
    assert "contact_within" not in text and 'action = "remind"' in text
    lc("group", "edit", "tele-sales", "--contact-within", "30m")
    assert "30m:reroute" in lc("group", "sla", "tele-sales").stdout and 'action = "remind"' not in lc.config.read_text()
    lc("group", "sla", "tele-sales", "--off")
    assert "no SLA" in lc("group", "sla", "tele-sales").stdout


@pytest.mark.any_store
def test_bad_ladders_are_one_line_exit_2_and_change_nothing(ladder_team):
    lc = ladder_team
    before = lc.config.read_bytes()
    for args, words in [(["--step", "15:remind"], "not a duration"), (["--step", "15m:shout"], "not an action"),
                        (["--step", "15m"], "not an action"), (["--step", "1m:escalate:nobody"], "not a user"),
                        (["--clock", "business"], "no SLA steps"), (["--off", "--step", "1m:remind"], "either"),
                        (["--clock", "moon"], "moon")]:
        result = lc("group", "sla", "tele-sales", *args, ok=None)
        assert result.exit_code == 2 and words in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 or "moon" in words
        assert lc.config.read_bytes() == before
    lc.config.write_text(lc.config.read_text() + '\n[groups.tele-sales.sla]\nclock = "sun"\n')
    result = lc("user", "list", ok=None)
    assert result.exit_code == 2 and "clock 'sun'" in result.stderr


STORES = ("sqlite", "postgresql")


def test_four_ticks_at_once_and_one_killed_run_each_step_once(ladder_team):
    """Four crons at once over 60 due leads, one of them killed (-9) while it works: every step
    ran once — one reminder and one escalation a lead (outside the rules: the ladder ends
    there), one notification each."""
    import os
    import signal
    import subprocess
    import sys
    import time

    lc = ladder_team
    lc("group", "sla", "tele-sales", "--step", "1s:remind", "--step", "2s:escalate:boss")
    lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "K{i}"}}\n' for i in range(60)))
    time.sleep(2.1)
    command = [sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db), "tick", "-o", "jsonl"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    time.sleep(0.4)
    os.kill(runs[0].pid, signal.SIGKILL)
    codes = [run.wait(timeout=120) for run in runs]
    assert codes[1:] == [0, 0, 0], [run.stderr.read() for run in runs[1:]]
    lc("tick")  # whatever the killed one held back is done now, once
    steps = lc.query("SELECT lead_id, action, count(*) FROM sla_steps GROUP BY lead_id, action")
    assert sorted((a, n) for _, a, n in steps) == [("1s:remind", 1)] * 60 + [("2s:escalate:boss", 1)] * 60
    moved = dict(lc.query("SELECT lead_id, count(*) FROM events WHERE method = 'escalated' GROUP BY lead_id"))
    assert len(moved) == 60 and set(moved.values()) == {1}
    reminders = dict(lc.query("SELECT lead_id, count(*) FROM notifications WHERE method = 'remind'"
                              " AND channel = 'webhook' GROUP BY lead_id"))
    assert len(reminders) == 60 and set(reminders.values()) == {1}


def test_a_reminder_and_a_managers_notice_say_what_they_are():
    from leadctl.notify import message

    lead = {"lead_id": "S1", "fields": '{"name": "Ada Lovelace", "phone": "+44 20 7946 0000"}', "group": "inbound"}
    subject, text = message({**lead, "method": "remind", "reason": "a reminder: not contacted within 15m by a"})
    assert subject == "Reminder: Ada Lovelace" and "still yours, and not contacted yet" in text
    subject, text = message({**lead, "method": "notify-managers", "reason": "not contacted within 45m by a"})
    assert subject == "Not contacted in time: Ada Lovelace"
    assert text.startswith("Lead S1 is waiting: the SLA of group 'inbound': not contacted within 45m by a.")
    assert "is yours" not in text
    subject, _ = message({**lead, "method": "sla", "reason": "not contacted within 1h by a"})
    assert subject == "New lead: Ada Lovelace"


def test_an_offer_accepted_in_time_is_the_holders_and_the_ladder_counts_from_the_acceptance(ladder_team):
    lc = ladder_team
    with at("2026-11-23T09:00:00"):
        lc("group", "sla", "tele-sales", "--accept-within", "5m", "--step", "15m:reroute")
        lc.jsonl("route", "--format", "jsonl", input='{"id": "O1"}\n')  # offered to a
        shown = lc.json("leads", "show", "O1")
        assert (shown["offered"], shown["offer_until"]) == (True, "2026-11-23T09:05:00+00:00")
    with at("2026-11-23T09:04:00"):
        result = lc("leads", "accept", "O1", "--as", "b", ok=None)
        assert result.exit_code == 2 and "not offered to b" in result.stderr
        assert "accepted lead O1" in lc("leads", "accept", "O1", "--as", "a").stdout
        assert lc.json("leads", "show", "O1")["offered"] is False
        assert lc("leads", "accept", "O1", "--as", "a", ok=None).exit_code == 2  # once
    with at("2026-11-23T09:18:00"):  # 18 minutes after routing, 14 after the acceptance
        assert _ticks(lc) == []
    with at("2026-11-23T09:19:00"):
        assert [(t["previous"], t["assigned_to"], t["method"]) for t in _ticks(lc)] == [("a", "b", "sla")]
    assert lc.json("leads", "show", "O1")["offered"] is True  # b's turn to accept it


def test_an_offer_that_lapses_goes_to_the_next_and_never_back_to_who_let_it_lapse(ladder_team):
    lc = ladder_team
    with at("2026-11-23T09:00:00"):
        lc("group", "sla", "tele-sales", "--accept-within", "5m")
        lc.jsonl("route", "--format", "jsonl", input='{"id": "P1"}\n{"id": "P2"}\n')  # a, b
    with at("2026-11-23T09:05:00"):
        lc("leads", "accept", "P2", "--as", "b", ok=None)  # (b's at its deadline: lapsed, refused)
        moved = _ticks(lc)
        assert [(t["lead_id"], t["previous"], t["assigned_to"], t["method"]) for t in moved] == [
            ("P1", "a", "c", "declined"), ("P2", "b", "a", "declined")]
        assert moved[0]["reason"].startswith("a did not accept it within 5m")
        assert _ticks(lc) == []  # the new offers run till 09:10
    with at("2026-11-23T09:10:00"):  # lapsed twice: P1 to b (not a, not c); P2 to c
        moved = _ticks(lc)
        assert [(t["lead_id"], t["previous"], t["assigned_to"]) for t in moved] == [("P1", "c", "b"), ("P2", "a", "c")]
    with at("2026-11-23T09:12:00"):
        lc("leads", "accept", "P1", "--as", "b")
    history = lc.json("leads", "show", "P1")["history"]
    assert [(h["assigned_to"], h["method"], h["counted"]) for h in history] == [
        ("a", "sequential", True), ("c", "declined", True), ("b", "declined", True)]
    used = {r["user"]: r["daily_used"] for r in lc.json("quota", "--date", "2026-11-23")}
    assert used == {"a": 2, "b": 2, "c": 2}  # each re-offer counts, as routing does: 2 routed + 4 re-offered
    with at("2026-11-23T09:15:00"):  # P2: everyone let it lapse now: it stays with c, the admins told
        assert _ticks(lc) == []
        assert lc.json("leads", "show", "P2")["assigned_to"] == "c"
        assert lc.query("SELECT user_id FROM notifications WHERE method = 'alert' AND channel = 'webhook'") == [
            ("olga",)]


def test_an_offer_is_accepted_over_http_by_its_holder_only(ladder_team):
    from tests.test_serve import Server, token

    lc = ladder_team
    lc("group", "sla", "tele-sales", "--accept-within", "1h")
    (routed,) = lc.jsonl("route", "--format", "jsonl", input='{"id": "H1"}\n')
    assert routed["assigned_to"] == "a" and routed["reason"] == "offered: accept within 1h"
    a, b = token(lc, "a-phone", "--user", "a"), token(lc, "b-phone", "--user", "b")
    srv = Server(lc)
    try:
        assert srv.post("", token=b, path="/leads/H1/accept")[0] == 404  # not b's: as if not there
        status, answer, _ = srv.post("", token=a, path="/leads/H1/accept")
        assert status == 200 and answer["accepted"] is True and answer["assigned_to"] == "a"
        status, answer, _ = srv.post("", token=a, path="/leads/H1/accept")
        assert status == 409 and "accepted already" in answer["error"]
    finally:
        srv.stop()
    shown = lc.json("leads", "show", "H1")
    assert shown["offered"] is False and shown["accepted_at"]


def test_the_lead_page_offers_an_accept_button_to_its_holder(ladder_team):
    from tests.test_pages import csrf, signed_in
    from tests.test_serve import Server

    lc = ladder_team
    lc("group", "sla", "tele-sales", "--accept-within", "1h")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "B1"}\n')  # offered to a
    srv = Server(lc)
    try:
        a = signed_in(lc, srv, "a")
        status, _, page = a.get("/leads/B1")
        assert status == 200 and ">Accept</button>" in page and "Offered to you until" in page
        status, headers, _ = a.post("/leads/B1/accept", {"csrf": csrf(page)})
        assert status == 303 and headers["location"].startswith("/leads/B1?done=accepted")
        assert ">Accept</button>" not in a.get("/leads/B1")[2]
        assert a.post("/leads/B1/accept", {"csrf": "wrong"})[0] == 403
    finally:
        srv.stop()
    assert lc.json("leads", "show", "B1")["offered"] is False
