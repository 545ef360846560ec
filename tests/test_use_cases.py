"""The use cases called directly, as any entrance calls them: a config made in memory, a ledger
on a temp file, a fixed moment and a seeded random generator; no command line, no server.
`decide` (intake's decision) is pure: it is given its state and returns data."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from leadctl import config as c
from leadctl.assign.changes import Changes
from leadctl.assign.decide import Policy, decide
from leadctl.assign.state import allocator
from leadctl.intake import Record
from leadctl.ledger import Ledger

MONDAY = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def team(tmp_path: Path, *, away_backup: str | None = None, queue: bool = False, sla: str = "") -> c.Config:
    """Group g (sequential): a, b, c; user e outside it; a away today (with `away_backup`)."""
    cfg = c.Config(path=tmp_path / "leadctl.toml")
    for u in ("a", "b", "c", "e"):
        cfg = c.add_user(cfg, c.User(id=u))
    cfg = c.add_group(cfg, c.Group(name="g", queue=queue, contact_within=sla))
    for u in ("a", "b", "c"):
        cfg = c.add_member(cfg, "g", c.Member(user=u))
    cfg = c.set_default(cfg, "g")
    if away_backup is not None:
        cfg, _ = c.add_away(cfg, "a", "2026-11-23", "2026-11-24", away_backup)
    c.validate(cfg)
    return cfg


@pytest.fixture
def ledger(tmp_path):
    opened = Ledger.open(tmp_path / "leadctl.db")
    yield opened
    opened.close()


def records(*ids: str) -> list[Record]:
    return [Record(i + 2, {"id": lead_id}) for i, lead_id in enumerate(ids)]


def test_decide_is_pure_its_state_in_and_data_out(tmp_path):
    cfg = team(tmp_path, away_backup="e")
    policy = Policy(cfg)
    items = [policy.prepare(r) for r in records("L1", "L2", "L3")]

    class Empty:  # what a new ledger reads: no usage, no rotation
        def load_usage(self, keys):
            return {}

        def load_rotations(self, groups):
            return {}

        def open_load(self, closed):
            return {}

    alloc = allocator(policy, Empty(), {"g"}, {"2026-11-23"}, random.Random(1))
    done = decide(policy, items, set(), {}, alloc, MONDAY)
    assert [(o.lead_id, o.assigned_to, o.reason) for o in done.outcomes] == [
        ("L1", "e", "backup for a, away until 24 Nov 2026"), ("L2", "b", None), ("L3", "c", None)]
    assert [row[11] for row in done.rows] == ["e", "b", "c"]  # the rows to write, as data
    assert alloc.dirty_rotations == {"g"} and alloc.usage[("g", "e", "D2026-11-23")] == 1


def test_a_drain_hands_out_the_queue_in_one_write(tmp_path, ledger):
    from leadctl.assign.drain import drain
    from leadctl.assign.route import Router

    cfg = team(tmp_path, queue=True)
    closed = cfg
    for u in ("a", "b", "c"):
        closed = c.edit_user(closed, u, active=False)
    router = Router(lambda: closed, ledger, clock=lambda: MONDAY, rng=random.Random(1))
    assert [o.status for o in router.route(records("Q1", "Q2"))] == ["queued", "queued"]
    handed, left = drain(cfg, ledger, MONDAY, random.Random(1))
    assert [(o.lead_id, o.assigned_to) for o in handed] == [("Q1", "a"), ("Q2", "b")] and left == 0
    assert ledger.queued() == []


def test_the_sla_moves_a_missed_lead_to_the_next_who_never_held_it(tmp_path, ledger):
    from leadctl.assign.route import Router
    from leadctl.assign.sla import tick

    cfg = team(tmp_path)
    cfg = c.edit_group(cfg, "g", contact_within="15m", at="2026-11-23T11:00:00+00:00")
    Router(lambda: cfg, ledger, clock=lambda: datetime(2026, 11, 23, 11, 30, tzinfo=timezone.utc),
           rng=random.Random(1)).route(records("S1")).__next__()
    (moved,) = tick(cfg, ledger, MONDAY, random.Random(1))
    assert (moved.lead_id, moved.previous, moved.assigned_to, moved.method) == ("S1", "a", "b", "sla")


def test_a_reassign_to_the_group_and_a_pickup_go_through_changes(tmp_path, ledger):
    from leadctl.assign.manual import pickup, reassign, release
    from leadctl.assign.route import Router

    cfg = team(tmp_path, away_backup="e")
    cfg = c.edit_user(cfg, "c", pickup=True)
    cfg = c.edit_group(cfg, "g", pickup_statuses=("new",))
    Router(lambda: cfg, ledger, clock=lambda: MONDAY, rng=random.Random(1),
           notify=False).route(records("R1")).__next__()  # to e, a's backup
    (move,) = reassign(cfg, ledger, ["R1"], now=MONDAY, rng=random.Random(1), to_group="g")
    assert (move.assigned_to, move.method) == ("b", "sequential")  # e held it: the rotation's next
    release(cfg, ledger, ["R1"], MONDAY)
    assert pickup(cfg, ledger, "R1", "c", MONDAY).assigned_to == "c"
    assert [e["method"] for e in ledger.history("R1")] == ["sequential", "sequential", "release", "pickup"]


def test_changes_are_data_until_applied(tmp_path, ledger):
    from leadctl.assign.changes import apply

    cfg = team(tmp_path)
    changes = Changes()
    changes.move("X1", "a", "g", "manual", None, "2026-11-23T12:00:00+00:00")
    assert ledger.history("X1") == []  # nothing written yet
    with ledger.write():
        apply(ledger, cfg, changes, MONDAY)
    assert [e["assigned_to"] for e in ledger.history("X1")] == ["a"]


def test_a_conversion_to_a_pool_asks_the_same_question(tmp_path, ledger):
    from leadctl.assign.convert import convert
    from leadctl.assign.route import Router

    cfg = team(tmp_path, away_backup="e")
    cfg = c.add_group(cfg, c.Group(name="am", record_type="contact"))
    for u in ("a", "b"):
        cfg = c.add_member(cfg, "am", c.Member(user=u))
    Router(lambda: cfg, ledger, clock=lambda: MONDAY, rng=random.Random(1),
           notify=False).route(records("L1")).__next__()
    done = convert(cfg, ledger, "L1", "contact", now=MONDAY, rng=random.Random(1), owner="am")
    assert (done.record_id, done.assigned_to, done.group) == ("L1:contact", "e", "am")  # a away: e stands in
    assert ledger.lead("L1")["status"] == "converted" and ledger.converted_from("L1:contact") == "L1"
