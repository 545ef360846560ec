"""`simulate`: the past replayed through a proposed config, and compared with what happened.

The window's leads are read from the ledger in order of receipt (one streamed query, in one
read snapshot) and routed afresh by the same `Router` that `route --clock received` uses, each
at its own `received_at`, from an empty rotation and usage at the window's start; its writes
go to a `Sandbox`, never to the ledger. Each lead's simulated first owner is compared with
its actual one (its first assignment), and only the counts are kept: a million leads replay
in constant memory.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterator

from ..audit import fairness
from ..config import Config
from ..outcome import ASSIGNED, QUEUED, REJECTED
from ..errors import LeadctlError
from ..intake import Record
from ..ledger import Ledger
from .rehearsal import Sandbox

# A record's cells and layout make its fields' JSON for the ledger row (see `Record`); the
# sandbox keeps no fields, so the replayed leads' JSON is not built again: one cell, printed as nothing.
_NO_CELLS, _NO_JSON = [""], "%.0s"
DEFAULT_DAYS = 30  # the window when no --since is given: the last 30 days, today included
BATCH = 2000
BALANCED_BATCH = 100  # open leads are counted once a batch: smaller batches, closer to the moment


@dataclass
class Comparison:
    """What happened and what would have happened, lead for lead, summed."""

    since: date
    until: date
    total: int = 0
    users: dict[str, list[int]] = field(default_factory=dict)  # user -> [actual, simulated]
    groups: dict[str, list[int]] = field(default_factory=dict)  # group -> [actual, simulated]
    unassigned: list[int] = field(default_factory=lambda: [0, 0])
    queued: int = 0  # of the simulated unassigned: those that would have waited in a queue
    rejected: int = 0  # of the simulated unassigned: those the proposed config cannot route at all
    moved: int = 0
    leads: list[tuple[str, str | None, str | None]] | None = None  # (lead id, actual, simulated)
    fairness: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "total": self.total,
            "users": [{"user": u, "actual": a, "simulated": s} for u, (a, s) in sorted(self.users.items())],
            "groups": [{"group": g, "actual": a, "simulated": s} for g, (a, s) in sorted(self.groups.items())],
            "unassigned": {"actual": self.unassigned[0], "simulated": self.unassigned[1]},
            "queued": self.queued,
            "rejected": self.rejected,
            "moved": self.moved,
            "fairness": self.fairness,
        }
        if self.leads is not None:
            out["leads"] = [{"lead_id": i, "actual": a, "simulated": s} for i, a, s in self.leads]
        return out


def window(cfg: Config, since: date | None, until: date | None, now: datetime) -> tuple[date, date]:
    """The inclusive local days to replay: by default the last DEFAULT_DAYS days up to today."""
    today = now.astimezone(cfg.tz()).date()
    until = until or (today if since is None or since <= today else since)
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        raise LeadctlError(f"--since {since} is after --until {until}")
    return since, until


def _moment(cfg: Config, day: date) -> str:
    """The start of a local day, as ISO 8601 with its offset."""
    return datetime.combine(day, time(), tzinfo=cfg.tz()).isoformat(timespec="seconds")


def check_span(ledger: Ledger, since: date, until: date, cfg: Config) -> None:
    """Refuse a window that cannot hold any of the ledger's leads (exit 2): nothing to simulate."""
    first, last = ledger.receipt_span()
    if first is None:
        raise LeadctlError(f"ledger {ledger.path} holds no leads yet: nothing to simulate")
    tz = cfg.tz()
    first_day = datetime.fromisoformat(first).astimezone(tz).date()
    last_day = datetime.fromisoformat(last).astimezone(tz).date()
    if until < first_day or since > last_day:
        raise LeadctlError(
            f"the window {since} to {until} lies outside the ledger's leads (received {first_day} to {last_day});"
            " pass --since and --until within it")


def simulate(current: Config, proposed: Config, ledger: Ledger, since: date, until: date, *,
             seed: int | None = None, keep_leads: bool = False, actor=None) -> Comparison:
    """Replay the leads received from `since` to `until` (local days of the current config)
    through `proposed`, and compare each lead's first owner with its actual one. With
    isolation, the moved leads listed for `actor` are only those they may see."""
    from ..config.service import require
    from ..domain.rights import SIMULATE, can_see, visible_owner
    from .route import Router

    require(current, actor, (SIMULATE, None))
    check_span(ledger, since, until, current)
    start, end = _moment(current, since), _moment(current, until + timedelta(days=1))
    balanced = any(g.method == "balanced" for g in proposed.groups)
    sandbox = Sandbox(ledger, start, duplicates=proposed.settings.duplicates, balanced=balanced,
                      match_domains=proposed.settings.match_domains)
    out = Comparison(since, until, leads=[] if keep_leads else None)
    end_moment = datetime.fromisoformat(end)
    router = Router(lambda: proposed, sandbox, clock=lambda: end_moment, rng=random.Random(seed), replay=True,
                    notify=False, batch_size=BALANCED_BATCH if balanced else BATCH)
    actual: dict[str, tuple[str | None, str | None]] = {}  # lead id -> (owner, group) of the batch in flight
    actual_counts: Counter = Counter()
    simulated_counts: Counter = Counter()
    with ledger.snapshot():
        rows = ledger.window_leads(start, end, closing=balanced)
        records = _records(rows, actual, actual_counts, sandbox, closed=proposed.settings.closed_statuses)
        for outcomes in router.route_batches(records):
            for o in outcomes:
                owner, group = actual.pop(o.lead_id)
                _count(out, owner, group, 0)
                if o.status == ASSIGNED:
                    _count(out, o.assigned_to, o.group, 1)
                    simulated_counts[(None, o.assigned_to, o.group, o.method)] += 1
                else:
                    _count(out, None, None, 1)
                    out.queued += o.status == QUEUED
                    out.rejected += o.status == REJECTED
                if o.assigned_to != owner:
                    out.moved += 1
                    if out.leads is not None:
                        out.leads.append((o.lead_id, owner, o.assigned_to))
                out.total += 1
        viewer = actor.user if actor is not None else None
        if out.leads and visible_owner(current, viewer) is not None:  # never a lead they may not see
            out.leads = [x for x in out.leads if can_see(current, viewer, ledger.lead(x[0]) or {"assigned_to": ""})]
    out.fairness = _fairness(current, proposed, actual_counts, simulated_counts)
    return out


def _records(rows, actual: dict, counts: Counter, sandbox: Sandbox, *, closed) -> Iterator[Record]:
    """The window's leads as records to route: their own fields, with the id, type and receipt
    time the ledger keeps (a lead routed without them got them at intake). Each lead's actual
    first owner waits in `actual` for its outcome."""
    import json

    shut = {s.lower() for s in closed}
    closing_at = sandbox.closing_at
    balanced = sandbox.balanced
    for n, (lead_id, kind, received, fields, status, owner, group, method, closed_at) in enumerate(rows, 1):
        f = json.loads(fields)
        f["id"], f["type"], f["received_at"] = lead_id, kind, received
        actual[lead_id] = (owner, group)
        if owner is not None:
            counts[(None, owner, group, method)] += 1
        if balanced:
            sandbox.now = datetime.fromisoformat(received).timestamp()
            if (status or "").lower() in shut:
                closing_at[lead_id] = datetime.fromisoformat(closed_at or received).timestamp()
        yield Record(n, f, _NO_CELLS, _NO_JSON)


def _count(out: Comparison, user: str | None, group: str | None, side: int) -> None:
    if user is None:
        out.unassigned[side] += 1
        return
    out.users.setdefault(user, [0, 0])[side] += 1
    out.groups.setdefault(group or "-", [0, 0])[side] += 1


def _fairness(current: Config, proposed: Config, actual: Counter, simulated: Counter) -> list[dict]:
    """Per sequential or weighted group: how far its split was from the shares its weights ask
    for (the gap, in leads), actually and in the simulation."""
    before = {f["group"]: f["gap"] for f in fairness(current, actual)}
    after = {f["group"]: f["gap"] for f in fairness(proposed, simulated)}
    return [{"group": g, "actual_gap": before.get(g), "simulated_gap": after.get(g)}
            for g in sorted(before.keys() | after.keys())]
