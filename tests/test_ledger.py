"""The ledger: schema, append-only events, WAL, transactions (on a temp file, and the
store-neutral ones on PostgreSQL too)."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from leadctl.domain.engine import Rotation
from leadctl.errors import LeadctlError
from leadctl.ledger import MIGRATIONS, Ledger, LedgerError

STORES = ("sqlite", "postgresql")  # tests taking `store` (through `ledger`) run on both


@pytest.fixture
def ledger(store, ledger_url, tmp_path):
    led = Ledger.open(tmp_path / "l.db" if store == "sqlite" else ledger_url)
    yield led
    led.close()


@pytest.mark.sqlite_only
def test_new_ledger_is_versioned_in_wal_mode_and_owner_only(tmp_path, ledger):
    assert ledger.schema_version() == len(MIGRATIONS)
    assert ledger.sql("PRAGMA journal_mode")[0][0] == "wal"
    assert stat.S_IMODE((tmp_path / "l.db").stat().st_mode) == 0o600
    again = Ledger.open(tmp_path / "l.db")  # opening twice migrates nothing twice
    assert again.schema_version() == len(MIGRATIONS)
    again.close()


@pytest.mark.sqlite_only
def test_a_new_ledger_has_8k_pages_and_an_older_one_keeps_its_own(tmp_path, ledger):
    assert ledger.sql("PRAGMA page_size")[0][0] == 8192
    first = Ledger.open(tmp_path / "old.db")
    first.close()
    conn = sqlite3.connect(tmp_path / "old.db")  # rebuilt with 4 KiB pages, as leadctl before made them
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA page_size=4096")
    conn.execute("VACUUM")
    conn.close()
    again = Ledger.open(tmp_path / "old.db")
    assert again.sql("PRAGMA page_size")[0][0] == 4096  # never rewritten behind one's back
    with again.write():
        again.insert_events([("L1", "2026-11-23T10:00:00+00:00", "tom", "g", "sequential", None, 1, None, None, None, None, None)])
    assert again.history("L1")[0]["assigned_to"] == "tom"
    again.close()


@pytest.mark.sqlite_only
def test_the_fast_schema_check_knows_every_migration(ledger):
    from leadctl.ledger import MIGRATIONS, _migrations

    from sqlite_utils import Database

    registered = [m.name for m in _migrations().pending(Database(memory=True))]
    assert registered == list(MIGRATIONS)  # a new migration must be listed for the fast check
    assert [m.name for m in _migrations().pending(Database(str(ledger.path), execute_plugins=False))] == []
    assert ledger.schema_version() == len(MIGRATIONS)


def test_events_are_append_only(ledger):
    with ledger.write():
        ledger.insert_events([("L1", "2026-11-23T10:00:00+00:00", "tom", "g", "sequential", None, 1, "admin", None, None, "cli", None)])
    with pytest.raises((sqlite3.IntegrityError, LedgerError), match="append-only"):
        with ledger.write():
            ledger.sql("UPDATE events SET assigned_to = 'eve'")
    with pytest.raises((sqlite3.IntegrityError, LedgerError), match="append-only"):
        with ledger.write():
            ledger.sql("DELETE FROM events")
    assert ledger.history("L1")[0]["assigned_to"] == "tom"


def test_a_failed_write_rolls_back_everything(ledger):
    with pytest.raises(RuntimeError):
        with ledger.write():
            ledger.save_usage({("g", "tom", "D2026-11-23"): 3}, [("g", "tom", "D2026-11-23")])
            raise RuntimeError("crash in the middle")
    assert ledger.load_usage([("g", "D2026-11-23")]) == {}


def test_a_nested_write_that_fails_rolls_back_alone(ledger):
    with ledger.write():
        ledger.save_rotations({"g": Rotation(last="tom")}, ["g"])
        with pytest.raises(RuntimeError):
            with ledger.write():  # a savepoint: what a routing batch writes optimistically
                ledger.save_rotations({"h": Rotation(last="ann")}, ["h"])
                raise RuntimeError("an id collided")
    assert ledger.load_rotations(["g", "h"]) == {"g": Rotation(last="tom")}


def test_usage_and_rotations_round_trip(ledger):
    with ledger.write():
        ledger.save_usage({("g", "a", "D2026-11-23"): 2, ("g", "b", "D2026-11-23"): 1},
                          [("g", "a", "D2026-11-23"), ("g", "b", "D2026-11-23")])
        ledger.save_rotations({"g": Rotation(last="a", order=("a", "b"), current={"a": -1})}, ["g"])
    with ledger.write():
        ledger.save_usage({("g", "a", "D2026-11-23"): 5}, [("g", "a", "D2026-11-23")])
    assert ledger.load_usage([("g", "D2026-11-23")]) == {("g", "a", "D2026-11-23"): 5, ("g", "b", "D2026-11-23"): 1}
    assert ledger.load_rotations(["g"])["g"] == Rotation(last="a", order=("a", "b"), current={"a": -1})


def test_existing_ids_in_large_sets(ledger):
    from leadctl.ledger import LEAD_COLUMNS

    rows = [tuple(f"id{i}" if c == "id" else ("lead" if c == "type" else ("{}" if c == "fields" else
             ("2026-11-23T00:00:00+00:00" if c == "received_at" else None))) for c in LEAD_COLUMNS)
            for i in range(1200)]
    with ledger.write():
        ledger.insert_leads(rows)
    asked = [f"id{i}" for i in range(0, 2400, 2)]
    assert ledger.existing_ids(asked) == {f"id{i}" for i in range(0, 1200, 2)}


def test_routed_leads_are_counted_for_report_once_each_even_when_some_ids_were_there(ledger):
    """insert_routed counts a batch's assignments per minute, owner, group and method (what
    `report` reads): from the rows in hand when all were written, from what was written when
    an id was in the ledger already, so a lead is never counted twice or without its row."""
    from leadctl.ledger import LEAD_COLUMNS

    def row(lead_id, owner, at, method="sequential"):
        values = {"id": lead_id, "type": "lead", "fields": "{}", "received_at": at, "group_name": "g",
                  "assigned_to": owner, "method": method if owner else None, "assigned_at": at if owner else None}
        return tuple(values.get(c) for c in LEAD_COLUMNS)

    with ledger.write():
        assert ledger.insert_routed([row("L1", "tom", "2026-11-23T10:00:05+01:00"),
                                     row("L2", "tom", "2026-11-23T10:00:40+01:00"),
                                     row("L3", "ann", "2026-11-23T10:01:00+01:00"),
                                     row("L4", None, "2026-11-23T10:01:00+01:00"),
                                     row("L5", "ann", "2026-11-23T10:01:00+00:00", "owner")], "admin") == 5
    with ledger.write():  # L2 is there already: its row, event and count stay as they were
        assert ledger.insert_routed([row("L2", "ann", "2026-11-23T10:00:50+01:00"),
                                     row("L6", "tom", "2026-11-23T10:00:59+01:00")], "admin") == 1
    assert sorted(ledger.event_buckets()) == [
        ("2026-11-23T10:00", "+01:00", "tom", "g", "sequential", 3),
        ("2026-11-23T10:01", "+00:00", "ann", "g", "owner", 1),
        ("2026-11-23T10:01", "+01:00", "ann", "g", "sequential", 1),
    ]
    assert [e["assigned_to"] for e in ledger.history("L2")] == ["tom"]


def test_missing_ledger_reads_as_empty_without_creating_a_file(tmp_path):
    led = Ledger.open(tmp_path / "none.db", create=False)
    assert list(led.leads()) == []
    led.close()
    assert not (tmp_path / "none.db").exists()


def test_a_file_that_is_not_a_ledger_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("these are my notes, not a database" * 100)
    with pytest.raises(LeadctlError, match="cannot open ledger"):
        Ledger.open(bad)


def test_a_ledger_from_the_previous_leadctl_is_upgraded_with_its_events_kept(tmp_path):
    path = tmp_path / "old.db"
    Ledger.open(path).close()
    db = sqlite3.connect(path)  # make it what the previous leadctl left: schema 1 only
    db.execute("DELETE FROM _sqlite_migrations WHERE name != 'm001_initial'")
    db.execute("ALTER TABLE leads DROP COLUMN passed_over")
    db.execute("ALTER TABLE leads DROP COLUMN backup_for")
    db.execute("ALTER TABLE leads DROP COLUMN first_contact_at")
    db.execute("ALTER TABLE leads DROP COLUMN rule")
    db.execute("ALTER TABLE leads DROP COLUMN territory")
    for table in ("config_history", "event_counts", "passed_over_sets", "tokens", "notifications", "conversions",
                  "queue", "sign_ins", "keys", "watches", "sessions", "crm_writes", "sla_steps", "offers",
                  "snapshots"):
        db.execute(f"DROP TABLE {table}")
    db.execute("DROP TRIGGER events_no_update")  # the first schema's trigger, which names no column
    db.execute("CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
               " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END")
    for column in ("actor", "note", "passed_over", "via", "backup_for"):
        db.execute(f"ALTER TABLE events DROP COLUMN {column}")
    db.execute("INSERT INTO events (lead_id, at, assigned_to, group_name, method, counted)"
               " VALUES ('OLD1', '2026-11-01T09:00:00+00:00', 'tom', 'g', 'sequential', 1)")
    db.commit()
    db.close()
    ledger = Ledger.open(path)
    try:
        assert ledger.schema_version() == len(MIGRATIONS)
        (event,) = ledger.history("OLD1")
        assert (event["assigned_to"], event["actor"], event["note"]) == ("tom", None, None)
        assert ledger.config_history() == []
        assert list(ledger.event_buckets()) == [("2026-11-01T09:00", "+00:00", "tom", "g", "sequential", 1)]
    finally:
        ledger.close()


@pytest.mark.sqlite_only
def test_a_new_ledger_is_made_without_sqlite_utils_and_has_its_exact_schema(tmp_path):
    """A new ledger's schema is written directly (importing sqlite-utils was a tenth of a first
    route); it must be exactly what sqlite-utils' migration set makes, record included."""
    import subprocess
    import sys

    from sqlite_utils import Database

    from leadctl.ledger import _migrations

    probe = ("import sys; from pathlib import Path; from leadctl.ledger import Ledger;"
             f" Ledger.open(Path({str(tmp_path / 'new.db')!r})).close(); print('sqlite_utils' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"
    made = sqlite3.connect(tmp_path / "new.db")
    reference = Database(tmp_path / "reference.db")
    _migrations().apply(reference)
    schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
    assert made.execute(schema).fetchall() == reference.execute(schema).fetchall()
    record = "SELECT id, migration_set, name FROM _sqlite_migrations ORDER BY id"
    assert made.execute(record).fetchall() == reference.execute(record).fetchall()
    assert [m.name for m in _migrations().pending(Database(made))] == []  # sqlite-utils sees it done
