"""Personal data and keeping the ledger: `leads forget` (an erasure request), the retention
period (`settings --retain-days`, `ledger prune`, `tick`), `ledger backup` under load and
`ledger check` on a sound and a hand-broken ledger. On both stores where the store matters."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.test_lifecycle import at

STORES = ("sqlite", "postgresql")
ADA = ("Ada Lovelace", "ada.lovelace@example.com", "7946 0321", "called Ada at her home", "Analytical Engine Ltd")


def _ada_and_bob(lc) -> None:
    lc.team(users=("tom", "stephanie"))
    lc("settings", "--duplicates", "email,phone")
    lc("notify", "setup", "--webhook-url", "http://127.0.0.1:9/hook")  # outbox rows nobody sends here
    rows = ("id,name,email,phone,company\n"
            f"L1,{ADA[0]},{ADA[1]},+44 20 {ADA[2]},{ADA[4]}\n"
            "L2,Bob Jones,bob@example.com,,Jones & Co\n"
            f"L3,A. Lovelace,{ADA[1].upper()},,{ADA[4]}\n")  # Ada again: a duplicate, to L1's owner
    lc("route", "-", "-o", "jsonl", input=rows)
    lc("leads", "status", "L1", "contacted", "--note", ADA[3])


def _everything(lc) -> str:
    """Every row of every table, as text: where an erased value would still show."""
    tables = [r[0] for r in (lc.query("SELECT name FROM sqlite_master WHERE type = 'table'")
                             if not isinstance(lc.db, str) else
                             lc.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))]
    return "\n".join(repr(lc.query(f"SELECT * FROM {t}")) for t in tables)


def test_forgetting_an_email_erases_every_personal_value_and_keeps_history_and_counts(lc):
    _ada_and_bob(lc)
    report = lc.json("report")
    assert all(v.lower() in _everything(lc).lower() for v in ADA)
    out = lc("leads", "forget", "--email", " Ada.Lovelace@Example.com ", "--yes", "--format", "json")
    assert json.loads(out.stdout) == {"forgotten": ["L1", "L3"], "already": [], "unknown": []}
    everything = _everything(lc).lower()
    assert [v for v in ADA if v.lower() in everything] == []  # nowhere in any table
    assert "jones & co" in everything  # Bob is kept whole
    l1 = lc.json("leads", "show", "L1")
    assert (l1["email"], l1["phone"], l1["fields"], l1["status"]) == (None, None, {"id": "L1"}, "contacted")
    assert [(h["method"], h["assigned_to"], h["note"]) for h in l1["history"]] == [
        ("sequential", "tom", None), ("status", "tom", None), ("forgotten", "tom", None)]
    assert l1["history"][-1]["actor"] and l1["history"][-1]["reason"] == "personal data erased"
    assert lc.json("report") == report  # who got what is unchanged
    assert {n["lead_id"] for n in lc.json("notify", "list")} == {"L2"}  # Ada's messages dropped
    again = lc("leads", "forget", "L1", "L3", "--yes", "--format", "json")
    assert json.loads(again.stdout) == {"forgotten": [], "already": ["L1", "L3"], "unknown": []}
    assert [h["method"] for h in lc.json("leads", "show", "L1")["history"]].count("forgotten") == 1
    assert lc("leads", "forget", "--email", ADA[1], "--yes").exit_code == 0  # nobody has it now
    assert lc("ledger", "check").exit_code == 0
    # a new lead from the same address is a new person to the ledger: no duplicate of a forgotten one
    (new,) = lc.jsonl("route", "-", input=f"id,email\nL9,{ADA[1]}\n")
    assert new["method"] == "sequential"


@pytest.mark.sqlite_only
def test_no_byte_of_an_erased_value_is_left_in_the_sqlite_file_or_its_wal(lc):
    _ada_and_bob(lc)
    reader = sqlite3.connect(lc.db)  # another process's open connection (serve): the WAL stays
    try:
        reader.execute("SELECT count(*) FROM leads").fetchone()
        wal = Path(f"{lc.db}-wal")
        before = lc.db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        assert ADA[0].encode() in before
        lc("leads", "forget", "--email", ADA[1], "--yes")
        after = lc.db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        for value in ADA:
            assert value.encode() not in after and value.upper().encode() not in after, value
        assert b"Jones & Co" in after
    finally:
        reader.close()


def test_forget_asks_names_what_it_does_not_know_and_is_the_admins(lc):
    _ada_and_bob(lc)
    lc("user", "edit", "tom", "--role", "manager")
    kept = lc.snapshot()
    refused = lc("leads", "forget", "L1", ok=None)  # off a terminal without --yes
    assert refused.exit_code == 2 and "pass --yes" in refused.stderr
    assert lc("--as", "tom", "leads", "forget", "L1", "--yes", ok=None).exit_code == 2
    assert lc("leads", "forget", ok=None).exit_code == 2
    assert lc("leads", "forget", "--email", "not an address", "--yes", ok=None).exit_code == 2
    assert lc.snapshot() == kept
    unknown = lc("leads", "forget", "NOPE", "--yes", ok=None)
    assert unknown.exit_code == 1 and "unknown: NOPE" in unknown.stderr


def test_prune_forgets_exactly_the_closed_leads_past_the_retention_period_and_tick_runs_it_daily(lc):
    lc.team(users=("tom",))
    rows = "id,name,received_at\nOLD-WON,Old Won,2026-09-01T10:00:00Z\nOLD-OPEN,Old Open,2026-09-02T10:00:00Z\n" \
           "OLD-LOST,Old Lost,2026-10-20T09:00:00Z\nNEW-WON,New Won,2026-11-20T10:00:00Z\n"
    with at("2026-11-23T09:00:00"):
        lc("route", "-", "--clock", "received", "-o", "jsonl", input=rows)
        for lead, status in (("OLD-WON", "won"), ("OLD-LOST", "Lost"), ("NEW-WON", "won")):
            lc("leads", "status", lead, status)
        assert lc("ledger", "prune", ok=None).exit_code == 2  # no retention period yet
        lc("settings", "--retain-days", "30")  # before 2026-10-24 09:00 UTC
        kept = lc.snapshot()
        plan = json.loads(lc("ledger", "prune", "--dry-run", "--format", "json").stdout)
        assert (plan["closed"], plan["open_kept"], plan["leads"]) == (2, 1, ["OLD-WON", "OLD-LOST"])
        assert lc.snapshot() == kept  # a dry run changes nothing
        done = lc("ledger", "prune", "--yes")
        assert "forgot 2 closed lead(s)" in done.stderr and "1 open one(s) that old kept" in done.stderr
    forgotten = {r["id"] for r in lc.json("leads", "list", "--all-fields") if r.get("name") is None}
    assert forgotten == {"OLD-WON", "OLD-LOST"}
    with at("2026-11-23T10:00:00"):
        lc("route", "-", "--clock", "received", "-o", "jsonl", input="id,name,received_at\nOLD-2,Two,2026-09-03T10:00:00Z\n")
        lc("leads", "status", "OLD-2", "junk")
        assert "retention: forgot 1 closed lead(s)" in lc("tick").stderr  # the first tick of the day
    with at("2026-11-23T11:00:00"):
        lc("route", "-", "--clock", "received", "-o", "jsonl", input="id,name,received_at\nOLD-3,Three,2026-09-03T11:00:00Z\n")
        lc("leads", "status", "OLD-3", "won")
        assert "retention" not in lc("tick").stderr  # once a day
    with at("2026-11-24T10:00:01"):
        assert "retention: forgot 1 closed lead(s)" in lc("tick").stderr
    assert lc.json("leads", "show", "OLD-OPEN")["fields"]["name"] == "Old Open"  # open: kept, however old


@pytest.mark.sqlite_only
def test_a_backup_under_load_holds_every_lead_acknowledged_before_it_began_and_passes_check(lc, tmp_path):
    from tests.conftest import leads_csv

    lc.team(users=("tom", "stephanie", "lewis"), daily="0")
    base = [sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db)]
    acknowledged: list[str] = []
    stop = threading.Event()

    def router(prefix: str) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            done = subprocess.run([*base, "route", "-", "-o", "jsonl"], input=leads_csv(200, prefix=f"{prefix}{n}-"),
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
            acknowledged.extend(json.loads(line)["lead_id"] for line in done.stdout.splitlines())

    routers = [threading.Thread(target=router, args=(p,)) for p in ("A", "B")]
    for r in routers:
        r.start()
    try:
        while len(acknowledged) < 1000:
            stop.wait(0.05)
        before = set(acknowledged)
        copy = tmp_path / "backup.db"
        out = subprocess.run([*base, "ledger", "backup", "--to", str(copy), "--format", "json"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
    finally:
        stop.set()
        for r in routers:
            r.join()
    ids = {r[0] for r in sqlite3.connect(copy).execute("SELECT id FROM leads")}
    assert before <= ids and json.loads(out.stdout)["leads"] == len(ids)
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    check = subprocess.run([*base, "--db", str(copy), "ledger", "check", "--format", "json"], capture_output=True, text=True)
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout
    again = subprocess.run([*base, "ledger", "backup", "--to", str(copy)], capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_a_postgresql_ledger_is_backed_up_with_pg_dump(lc, store):
    if store != "postgresql":
        pytest.skip("the PostgreSQL answer")
    out = lc("ledger", "backup", "--to", str(lc.folder / "b.db"), ok=None)
    assert out.exit_code == 2 and "pg_dump" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_ledger_check_names_a_hand_broken_holder_usage_and_queue(lc):
    _ada_and_bob(lc)
    assert json.loads(lc("ledger", "check", "--format", "json").stdout)["ok"] is True
    if not isinstance(lc.db, str):  # a mistyped path is said, not checked as an empty ledger
        missing = lc("--db", str(lc.folder / "typo.db"), "ledger", "check", ok=None)
        assert missing.exit_code == 2 and "no ledger at" in missing.stderr
        assert not (lc.folder / "typo.db").exists()
    lc.query("UPDATE leads SET assigned_to = 'tom' WHERE id = 'L2'")
    lc.query("UPDATE usage SET count = count + 5 WHERE user_id = 'tom' AND period LIKE 'D%'")
    lc.query("INSERT INTO queue (lead_id, group_name, received_at) VALUES ('L1', 'tele-sales', '2026-11-23T09:00:00Z')")
    out = lc("ledger", "check", ok=None)
    assert out.exit_code == 1
    assert "lead L2: held by tom, its last event says stephanie" in out.stderr
    assert "usage tele-sales/tom/" in out.stderr and "lead L1 is held by tom" in out.stderr
    result = {c["check"]: c["ok"] for c in json.loads(lc("ledger", "check", "--format", "json", ok=None).stdout)["checks"]}
    assert result == {"store integrity": True, "holder = last event's": False, "usage = counted events": False,
                      "outbox points at leads": True, "queue holds unassigned leads": False}


def test_an_event_still_cannot_be_rewritten_only_a_forgotten_note_emptied(lc):
    _ada_and_bob(lc)
    with pytest.raises(Exception, match="append-only"):
        lc.query("UPDATE events SET assigned_to = 'stephanie' WHERE lead_id = 'L1'")
    with pytest.raises(Exception, match="append-only"):
        lc.query("UPDATE events SET note = 'rewritten' WHERE lead_id = 'L1'")
    with pytest.raises(Exception, match="append-only"):
        lc.query("DELETE FROM events WHERE lead_id = 'L1'")
