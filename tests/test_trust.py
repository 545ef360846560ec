"""Every "done" is true: no lost edit, no stale cap, no crash on hostile bytes, no raw escapes.

One section per point of issue 8; each test fails on the behaviour the issue reproduced.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.conftest import leads_csv, run_cli


def cli(lc, *args: str | bytes, input: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_cli("--config", str(lc.config), "--db", str(lc.db), *args, input=input, env=env)


class LiveRoute:
    """`leadctl route` reading from a pipe the test holds open, as `tail -f | leadctl route` would."""

    def __init__(self, lc, *extra: str, env: dict | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db),
             "route", "--format", "jsonl", "-o", "jsonl", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})})
        self.pending = b""

    def send(self, record: dict) -> None:
        self.proc.stdin.write((json.dumps(record) + "\n").encode())
        self.proc.stdin.flush()

    def outcome(self, timeout: float) -> dict | None:
        """The next outcome line, or None if none came within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> tuple[int, str]:
        self.proc.stdin.close()
        self.pending += self.proc.stdout.read()
        err = self.proc.stderr.read()
        return self.proc.wait(timeout=60), err.decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def live():
    started: list[LiveRoute] = []

    def start(lc, *extra: str, env: dict | None = None) -> LiveRoute:
        started.append(LiveRoute(lc, *extra, env=env))
        return started[-1]

    yield start
    for r in started:
        r.kill()


# -- 1. concurrent config edits ----------------------------------------------------------


def test_twenty_parallel_user_adds_all_land(lc):
    before = set(lc.config.read_text().splitlines())
    procs = [subprocess.Popen([sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db),
                               "user", "add", f"u{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(20)]
    codes = [p.wait(timeout=120) for p in procs]
    saved = {u["id"] for u in lc.json("user", "list")}
    for i, code in enumerate(codes):  # every edit is saved, or refused out loud: never "added" and lost
        assert (f"u{i}" in saved) == (code == 0), (i, code, procs[i].stderr.read())
    assert saved == {f"u{i}" for i in range(20)}
    assert before  # the config was there to race over


def test_parallel_member_edits_each_keep_their_cap(lc):
    users = [f"m{i}" for i in range(10)]
    lc.team(users=users)
    procs = [subprocess.Popen([sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db),
                               "group", "member", "edit", "tele-sales", u, "--daily", str(i + 1)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i, u in enumerate(users)]
    assert [p.wait(timeout=120) for p in procs] == [0] * 10
    caps = {m["user"]: m["daily_limit"] for m in lc.json("group", "show", "tele-sales")["members"]}
    assert caps == {u: i + 1 for i, u in enumerate(users)}


def test_a_config_change_waiting_too_long_for_the_lock_is_refused_and_changes_nothing(lc):
    import fcntl

    from leadctl.config import lock_path

    before = lc.config.read_bytes()
    fd = os.open(lock_path(lc.config), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another admin's change in progress
    try:
        import leadctl.config.files as config  # where the lock is taken

        old, config.LOCK_TIMEOUT = config.LOCK_TIMEOUT, 0.2
        try:
            result = lc("user", "add", "late", ok=None)
        finally:
            config.LOCK_TIMEOUT = old
    finally:
        os.close(fd)
    assert result.exit_code == 2 and "being changed by another leadctl command" in result.stderr
    assert lc.config.read_bytes() == before


def test_a_symlinked_config_is_written_through_to_its_target(lc):
    real = lc.folder / "team" / "real.toml"
    real.parent.mkdir()
    shutil.move(lc.config, real)
    lc.config.symlink_to(real)
    lc("user", "add", "tom")
    assert lc.config.is_symlink() and os.readlink(lc.config) == str(real)
    assert "[users.tom]" in real.read_text()


# -- 2 and 3. a running route sees edits; a slow stream is decided record by record ------


def test_a_record_on_an_open_pipe_is_routed_and_printed_within_a_second(lc, live):
    lc.team(users=("a", "b"))
    r = live(lc)
    r.send({"id": "W1"})
    assert r.outcome(timeout=20)["assigned_to"] == "a"  # start-up included
    started = time.monotonic()
    r.send({"id": "W2"})
    second = r.outcome(timeout=5)
    took = time.monotonic() - started
    assert second is not None and second["lead_id"] == "W2" and second["assigned_to"] == "b"
    assert took < 1.0, f"the outcome took {took:.2f} s"
    assert lc.json("leads", "show", "W2")["assigned_to"] == "b"  # committed before stdin closes
    assert r.close()[0] == 0


def test_a_cap_edited_while_a_route_runs_applies_to_its_next_batch(lc, live):
    lc.team(users=("a", "b"))
    r = live(lc)
    for i in range(1, 5):
        r.send({"id": f"C{i}"})
        assert r.outcome(timeout=20)["lead_id"] == f"C{i}"  # a, b, a, b
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "2")  # a already has 2 today
    later = []
    for i in range(5, 9):
        r.send({"id": f"C{i}"})
        later.append(r.outcome(timeout=20)["assigned_to"])
    assert later == ["b"] * 4
    assert r.close()[0] == 0
    quota = {q["user"]: q["daily_used"] for q in lc.json("quota")}
    assert quota == {"a": 2, "b": 6}


def test_a_member_added_while_a_route_runs_gets_leads(lc, live):
    lc.team(users=("a",))
    lc("user", "add", "b")
    r = live(lc)
    r.send({"id": "N1"})
    assert r.outcome(timeout=20)["assigned_to"] == "a"
    lc("group", "member", "add", "tele-sales", "b")
    r.send({"id": "N2"})
    assert r.outcome(timeout=20)["assigned_to"] == "b"
    assert r.close()[0] == 0


def test_a_big_file_still_goes_in_big_batches(lc):
    lc.team(users=("a", "b"))
    calls = []
    import random
    from datetime import datetime, timezone

    from leadctl.config import load
    from leadctl.intake import Record
    from leadctl.ledger import Ledger
    from leadctl.assign.route import Router

    cfg = load(lc.config)
    ledger = Ledger.open(lc.db)
    router = Router(lambda: cfg, ledger, clock=lambda: datetime(2026, 11, 23, tzinfo=timezone.utc),
                    rng=random.Random(0), on_batch=calls.append)
    records = [Record(i, {"id": f"B{i}"}) for i in range(5000)]
    assert len(list(router.route(records, live=True))) == 5000
    ledger.close()
    assert calls == [2000, 2000, 1000]  # records that arrive together share a batch


# -- 4. hostile bytes ---------------------------------------------------------------------


def test_lone_surrogates_and_huge_numbers_are_rejected_per_record_and_the_rest_routed(lc):
    lc.team(users=("a",))
    data = ('{"id": "\\ud800"}\n'
            '{"id": "G1", "note": "\\ud83d\\ude00"}\n'  # a real pair: an emoji, fine
            '{"id": "N1", "n": ' + "9" * 5000 + '}\n'
            '{"id": "K1", "\\udfff": "x"}\n'
            '{"id": "G2"}\n').encode()
    first = cli(lc, "route", "--format", "jsonl", "-o", "jsonl", input=data)
    assert first.returncode == 1 and b"Traceback" not in first.stderr
    out = [json.loads(x) for x in first.stdout.splitlines()]
    assert [(o["line"], o["status"]) for o in out] == [
        (1, "rejected"), (2, "assigned"), (3, "rejected"), (4, "rejected"), (5, "assigned")]
    assert lc.json("leads", "show", "G1")["note"] == "\U0001F600"
    again = cli(lc, "route", "--format", "jsonl", "-o", "jsonl", input=data)  # a re-run is not stuck there
    assert [json.loads(x)["status"] for x in again.stdout.splitlines()] == [
        "rejected", "skipped", "rejected", "rejected", "skipped"]


@pytest.mark.parametrize("args", [
    [b"user", b"add", b"zz", b"--name", b"\xff"],
    [b"user", b"add", b"z\xff"],
    [b"leads", b"show", b"\xff"],
    [b"release", b"\xffA"],
    [b"pickup", b"X", b"--user", b"t\xff"],
    [b"report", b"--user", b"\xff"],
    [b"rule", b"add", b"--group", b"tele-sales", b"--when", b"source=\xff"],
    [b"group", b"add", b"g\xff"],
    [b"reassign", b"\xff", b"--to", b"a"],
    [b"leads", b"list", b"--status", b"\xfe"],
])
def test_invalid_utf8_arguments_are_one_line_exit_2_and_change_nothing(lc, args):
    lc.team(users=("a",))
    before = lc.config.read_bytes()
    result = subprocess.run([sys.executable.encode(), b"-m", b"leadctl", b"--config", str(lc.config).encode(),
                             b"--db", str(lc.db).encode(), *args], capture_output=True, timeout=60)
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert b"not valid UTF-8" in result.stderr
    assert lc.config.read_bytes() == before


# -- 5. data never reaches the terminal raw -------------------------------------------------

ESC_ID = "\x1b[2J\x1b[31mX"


@pytest.mark.parametrize("tables", ["rich", "plain"])
def test_control_characters_in_lead_data_are_shown_escaped_and_json_stays_exact(lc, monkeypatch, tables):
    monkeypatch.setenv("LEADCTL_TABLES", tables)  # drawn tables (a terminal) and tab-separated lines
    lc.team(users=("a",))
    data = json.dumps({"id": ESC_ID, "name": "Bell\x07\x1b]0;title\x07", "status": "[/x]"}) + "\n"
    lc.jsonl("route", "--format", "jsonl", input=data)
    for args in (["leads", "list"], ["leads", "show", ESC_ID]):
        shown = lc(*args).stdout
        assert "\x1b" not in shown and "\x07" not in shown
        assert "\\x1b[2J" in shown
    assert "\\x1b[2J\\x1b[31mX" in lc("leads", "show", ESC_ID).stdout
    assert "[/x]" in lc("leads", "list").stdout  # not read as markup, and no crash
    lead = lc.json("leads", "show", ESC_ID)
    assert lead["id"] == ESC_ID and lead["name"] == "Bell\x07\x1b]0;title\x07"


def test_markup_in_a_lead_id_is_printed_as_text_in_titles(lc, monkeypatch):
    monkeypatch.setenv("LEADCTL_TABLES", "rich")  # titles are drawn on a terminal
    lc.team(users=("a",))
    for rid in ("[blink red]M[/]", "[/x]"):
        lc.jsonl("route", "--format", "jsonl", input=json.dumps({"id": rid}) + "\n")
        shown = lc("leads", "show", rid).stdout
        assert f"Lead {rid}" in shown


@pytest.mark.parametrize("tables", ["rich", "plain"])
def test_rejections_on_stderr_and_user_names_are_escaped(lc, monkeypatch, tables):
    monkeypatch.setenv("LEADCTL_TABLES", tables)
    lc.team(users=("a",))
    lc("user", "edit", "a", "--name", "\x1b[31mRed")
    assert "\x1b" not in lc("user", "list").stdout and "\\x1b[31mRed" in lc("user", "list").stdout
    bad = lc.write("in\x1bx.csv", "id,type\nE1,\x1b[2Jspaceship\n")
    result = lc("route", str(bad), "-o", "jsonl", ok=False)
    assert result.exit_code == 1 and "\x1b" not in result.stderr
    assert "in\\x1bx.csv: line 2: unknown type '\\x1b[2jspaceship'" in result.stderr
    assert json.loads(result.stdout)["reason"].startswith("unknown type '\x1b[2jspaceship'")  # data stays exact


def test_an_unknown_lead_with_escapes_in_its_id_is_one_escaped_line(lc):
    result = lc("leads", "show", "\x1b[2J[/x]", ok=None)
    assert result.exit_code == 1 and result.stderr == "error: unknown lead '\\x1b[2J[/x]'\n"


# -- 6. a broken CSV quote ------------------------------------------------------------------


def test_a_csv_syntax_error_stops_that_file_keeps_what_came_before_and_exits_1(lc):
    lc.team(users=("a",))
    big = "x" * ((1 << 20) + 10)
    path = lc.write("broken.csv", f'id,name\nR1,ok\nR2,"{big}\nINJ2,also-inside\nstill inside"\nR3,real\n')
    result = lc("route", str(path), "-o", "jsonl", ok=None)
    assert result.exit_code == 1
    assert "broken.csv: line 3: unreadable CSV" in result.stderr and "reading stopped" in result.stderr
    assert [x["id"] for x in lc.json("leads", "list")] == ["R1"]


# -- 7. exit codes after committed work -------------------------------------------------------


def test_a_full_stdout_after_committed_batches_is_exit_1_and_says_how_many_were_recorded(lc):
    lc.team(users=("a", "b"))
    path = lc.write("many.csv", leads_csv(5000))
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db),
                                 "route", str(path), "-o", "jsonl"], stdout=full, stderr=subprocess.PIPE, timeout=120)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert "cannot write the output" in err and "2000 lead(s) were recorded" in err and "cannot read" not in err
    assert len(err.splitlines()) == 1
    assert sqlite3.connect(lc.db).execute("SELECT count(*) FROM leads").fetchone()[0] == 2000


def test_a_lock_timeout_after_committed_batches_is_exit_1_and_says_how_many(lc, live):
    lc.team(users=("a",))
    r = live(lc, env={"LEADCTL_BUSY_TIMEOUT": "0.5"})
    r.send({"id": "T1"})
    assert r.outcome(timeout=20)["status"] == "assigned"
    holder = sqlite3.connect(lc.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer that does not let go
    try:
        r.send({"id": "T2"})
        code, err = r.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 1 and "1 lead(s) were recorded" in err and "Traceback" not in err


def test_a_lock_timeout_before_anything_is_recorded_is_exit_2(lc):
    lc.team(users=("a",))
    holder = sqlite3.connect(lc.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = cli(lc, "route", "--format", "jsonl", input=b'{"id": "Z1"}\n', env={"LEADCTL_BUSY_TIMEOUT": "0.3"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 2 and b"busy" in result.stderr and b"recorded" not in result.stderr


# -- 8. caps count the day a lead is assigned -----------------------------------------------


def test_a_backlog_from_last_month_counts_todays_caps(lc):
    lc.team(users=("tom", "denise"))
    lc("group", "member", "edit", "tele-sales", "tom", "--daily", "4")
    backlog = "id,received_at\n" + "".join(f"B{i},2020-10-{1 + i % 28:02d}T10:00:00\n" for i in range(60))
    out = lc.jsonl("route", str(lc.write("backlog.csv", backlog)))
    assert Counter(o["assigned_to"] for o in out) == {"tom": 4, "denise": 56}
    tom = next(q for q in lc.json("quota") if q["user"] == "tom")
    assert (tom["daily_used"], tom["daily_limit"], tom["capped"]) == (4, 4, True)
    lead = lc.json("leads", "show", "B0")
    assert lead["received_at"] == "2020-10-01T10:00:00+00:00"  # the receipt time is kept
    assert lead["history"][0]["at"][:10] != "2020-10-01"  # the assignment is now


def test_clock_received_replays_each_record_on_its_own_day(lc):
    lc.team(users=("tom", "denise"))
    lc("group", "member", "edit", "tele-sales", "tom", "--daily", "1")
    data = "id,received_at\nR1,2020-10-01T10:00:00\nR2,2020-10-01T11:00:00\nR3,2020-10-02T10:00:00\n"
    out = lc.jsonl("route", str(lc.write("r.csv", data)), "--clock", "received")
    assert [o["assigned_to"] for o in out] == ["tom", "denise", "tom"]
    assert lc.json("leads", "show", "R3")["history"][0]["at"] == "2020-10-02T10:00:00+00:00"


# -- 9. the smaller ones ---------------------------------------------------------------------


def test_a_dry_run_does_not_hold_up_another_router(lc, live):
    lc.team(users=("a", "b"))
    rehearsal = live(lc, "--dry-run")
    rehearsal.send({"id": "D1"})
    assert rehearsal.outcome(timeout=20)["status"] == "assigned"  # the dry run is mid-way, stdin open
    started = time.monotonic()
    real = cli(lc, "route", "--format", "jsonl", input=b'{"id": "R1"}\n', env={"LEADCTL_BUSY_TIMEOUT": "10"})
    assert real.returncode == 0 and time.monotonic() - started < 10
    rehearsal.send({"id": "R1"})  # the dry run sees the real router's commit
    assert rehearsal.outcome(timeout=20)["status"] == "skipped"
    assert rehearsal.close()[0] == 0
    assert [x["id"] for x in lc.json("leads", "list")] == ["R1"]


def test_a_dry_run_sees_its_own_earlier_batches(lc):
    lc.team(users=("a", "b"), daily="1")
    lc("user", "add", "c")
    data = "".join(json.dumps({"id": f"Y{i}"}) + "\n" for i in range(2500)) + json.dumps({"id": "Y0"}) + "\n"
    out = lc.jsonl("route", "--format", "jsonl", "--dry-run", input=data)
    assert [o["assigned_to"] for o in out[:3]] == ["a", "b", None]
    assert out[-1]["status"] == "skipped"  # in the first batch, 2,000 records earlier
    assert lc.json("leads", "list") == []


def test_a_time_zone_change_keeps_a_days_usage_on_one_day(lc):
    lc.team(users=("a", "b"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "1")
    lc.jsonl("route", "--format", "jsonl", "--clock", "received",
             input='{"id": "Z1", "received_at": "2026-11-23T23:30:00+00:00"}\n{"id": "Z2", "received_at": "2026-11-23T23:40:00+00:00"}\n')
    lc("settings", "--timezone", "Europe/Berlin")  # Z1 was 00:30 on the 24th in Berlin
    out = lc.jsonl("route", "--format", "jsonl", "--clock", "received",
                   input='{"id": "Z3", "received_at": "2026-11-24T10:00:00+01:00"}\n')
    assert out[0]["assigned_to"] == "b"  # a had their one lead of the 24th already
    quota = {q["user"]: q["daily_used"] for q in lc.json("quota", "--date", "2026-11-24")}
    report = {r["user"]: r["count"] for r in lc.json("report", "--since", "2026-11-24", "--until", "2026-11-24")}
    assert quota == report == {"a": 1, "b": 2}


def test_a_group_removed_and_added_again_starts_afresh(lc):
    lc.team(users=("a", "b", "c"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "1")
    assert lc.jsonl("route", "--format", "jsonl", input='{"id": "F1"}\n')[0]["assigned_to"] == "a"
    lc("group", "remove", "tele-sales", "--yes")
    lc("group", "add", "tele-sales")
    for u in ("a", "b", "c"):
        lc("group", "member", "add", "tele-sales", u)
    lc("rule", "default", "tele-sales")
    assert lc.jsonl("route", "--format", "jsonl", input='{"id": "F2"}\n')[0]["assigned_to"] == "a"
    assert {q["user"]: q["daily_used"] for q in lc.json("quota")} == {"a": 1, "b": 0, "c": 0}


def test_a_lead_named_three_times_in_reassign_counts_once(lc):
    lc.team(users=("a", "b"))
    lc("user", "add", "x")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "R1", "owner": "x"}\n')
    lc("reassign", "R1", "R1", "R1", "--to-group", "tele-sales")
    assert {q["user"]: q["daily_used"] for q in lc.json("quota")} == {"a": 1, "b": 0}
    assert len(lc.json("leads", "show", "R1")["history"]) == 2
    lc("release", "R1", "R1")
    assert len(lc.json("leads", "show", "R1")["history"]) == 3


def test_statuses_compare_in_any_case_for_pickup_and_listing(lc):
    lc.team(users=("a",))
    lc("user", "edit", "a", "--pickup")
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "1")
    lc("group", "edit", "tele-sales", "--pickup-status", "new")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "S1", "status": "New"}\n{"id": "S2", "status": "NEW"}\n')
    assert [x["id"] for x in lc.json("leads", "list", "--status", "new")] == ["S1", "S2"]
    assert [x["id"] for x in lc.json("leads", "list", "--pickable-by", "a")] == ["S2"]
    lc("pickup", "S2", "--user", "a")


def test_report_for_one_user_judges_fairness_over_the_whole_group(lc):
    lc.team(users=("tom", "stephanie"))
    lc.jsonl("route", str(lc.write("a.csv", leads_csv(4))))
    line = next(x for x in lc("report", "--user", "tom").stderr.splitlines() if x.startswith("fairness"))
    assert "4 lead(s)" in line and " 0 (asked" not in line


def test_placeholder_emails_and_phones_are_no_duplicate_keys(lc):
    lc.team(users=("a", "b", "c"))
    lc("settings", "--duplicates", "email,phone")
    rows = "".join(json.dumps({"id": f"P{i}", "email": e, "phone": p}) + "\n" for i, (e, p) in enumerate(
        [("N/A", "0"), ("-", "n/a"), ("none", "0"), ("null", "123"), ("", "+0")]))
    out = lc.jsonl("route", "--format", "jsonl", input=rows)
    assert [o["method"] for o in out] == ["sequential"] * 5
    assert [o["assigned_to"] for o in out] == ["a", "b", "c", "a", "b"]


def test_a_ledger_from_a_newer_leadctl_is_refused_untouched(lc):
    lc.team(users=("a",))
    db = sqlite3.connect(lc.db)
    db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('leadctl', 'm999_future', '')")
    db.commit()
    db.close()
    before = lc.db.read_bytes()
    for args in (["route", "--format", "jsonl"], ["leads", "list"], ["quota"]):
        result = lc(*args, input='{"id": "A"}\n', ok=None)
        assert result.exit_code == 2 and "newer leadctl" in result.stderr
    assert lc.db.read_bytes() == before


def test_an_sqlite_file_that_is_not_a_ledger_is_refused_untouched(lc):
    lc.team(users=("a",))
    other = lc.folder / "crm.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE contacts (name TEXT)")
    db.commit()
    db.close()
    before = other.read_bytes()
    result = lc("--db", str(other), "route", "--format", "jsonl", input='{"id": "A"}\n', ok=None)
    assert result.exit_code == 2 and "not a leadctl ledger" in result.stderr
    assert other.read_bytes() == before


def _as_unprivileged() -> list[str] | None:
    """A prefix that runs a command without the power to ignore file permissions."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv"):
        return ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"]
    return None


def test_read_only_commands_work_on_a_ledger_in_a_read_only_folder(lc):
    prefix = _as_unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: file permissions cannot be enforced here")
    lc.team(users=("a", "b"))
    lc.jsonl("route", str(lc.write("a.csv", leads_csv(3))))
    folder = lc.folder / "ro"
    folder.mkdir()
    shutil.copy(lc.config, folder / "leadctl.toml")
    src = sqlite3.connect(lc.db)
    dst = sqlite3.connect(folder / "leadctl.db")
    src.backup(dst)
    src.close()
    dst.close()
    folder.chmod(0o555)
    try:
        for args in (["leads", "list", "--format", "json"], ["quota", "--format", "json"],
                     ["report", "--format", "json"], ["group", "show", "tele-sales", "--format", "json"]):
            result = subprocess.run([*prefix, sys.executable, "-m", "leadctl", *args], cwd=folder,
                                    capture_output=True, timeout=60)
            assert result.returncode == 0, (args, result.stderr.decode())
            json.loads(result.stdout)
        listed = subprocess.run([*prefix, sys.executable, "-m", "leadctl", "leads", "list", "--format", "json"],
                                cwd=folder, capture_output=True, timeout=60)
        assert [x["id"] for x in json.loads(listed.stdout)] == ["L1", "L2", "L3"]
        assert sorted(p.name for p in folder.iterdir()) == ["leadctl.db", "leadctl.toml"]
    finally:
        folder.chmod(0o755)
