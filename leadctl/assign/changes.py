"""What a decision changes, as data, and the one path that writes it.

Every way a lead changes hands — routing, a drain, an SLA re-route, a reassign, a pick-up, a
release, a conversion — and every status change decides first and then hands a `Changes` to
`apply`, which adds the outbox rows of whom it tells and gives it to the store's one write
path (`Ledger.apply`, ledger/store.py): new lead rows (their assignment events copied by the
store), owner moves with their events, the queue in and out, conversions, statuses and their
events, the outbox, and the allocator's usage and rotations, in the caller's transaction.
Nothing else writes a holder or a status (tests/test_architecture.py holds it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..config import Config

# A move: (lead id, new holder or None, group, method, reason, at, actor, via, passed-over text
# or None, backup_for, note); an event: EVENT_COLUMNS (ledger/schema.py)
Move = tuple


@dataclass
class Changes:
    """Everything one decision (a batch, a drain, a tick, an action) changes, before it is written."""

    leads: list[tuple] = field(default_factory=list)  # new lead rows (LEAD_COLUMNS order)
    moves: list[Move] = field(default_factory=list)  # leads that change hands
    queued: list[tuple[str, str, str]] = field(default_factory=list)  # (lead id, group, received_at) that wait
    dequeued: list[str] = field(default_factory=list)  # lead ids that leave their queue
    told: list[tuple] = field(default_factory=list)  # (lead id, user, method, why): new holders to notify
    troubles: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # group -> (a lead, how many, why)
    statuses: list[tuple[str, str, str | None]] = field(default_factory=list)  # (lead id, status, first contact at)
    events: list[tuple] = field(default_factory=list)  # events that change nobody's leads (EVENT_COLUMNS order)
    erased: list[tuple[str, str]] = field(default_factory=list)  # (lead id, fields kept as JSON): forgotten
    conversions: list[tuple[str, str, str, str]] = field(default_factory=list)  # (lead, type, new record, at)
    sla_steps: list[tuple] = field(default_factory=list)  # (lead, assigned_at, step, action, at, note): ladder steps run
    offers: list[tuple] = field(default_factory=list)  # (lead, assigned_at, holder, group, until): leads offered
    actor: str | None = None  # who made the new leads' assignments, and through what (their events)
    via: str | None = None
    notifications: list[tuple] = field(default_factory=list)  # the outbox rows of `told` (see `apply`)
    alerts: list[tuple] = field(default_factory=list)  # the outbox rows of `troubles`
    crm_writes: list[tuple] = field(default_factory=list)  # (lead id, owner or None, at): one per move
    owed_at: str | None = None  # set: each new lead with a holder is owed to the CRMs (written by the store)
    alloc: object | None = None  # the engine's Allocator: its moved usage and rotations are saved

    def move(self, lead_id: str, user: str | None, group: str | None, method: str, reason: str | None, at: str,
             *, actor: str | None = None, via: str | None = None, passed_over: str | None = None,
             backup_for: str | None = None, note: str | None = None) -> None:
        """A lead to `user` (None: unassigned), with its event."""
        self.moves.append((lead_id, user, group, method, reason, at, actor, via, passed_over, backup_for, note))

    def tell(self, lead_id: str, user: str, method: str | None, why: str | None) -> None:
        """The lead's new holder hears of it (through the outbox, in the same transaction)."""
        self.told.append((lead_id, user, method, why))

    def trouble(self, group: str, lead_id: str, why: str) -> None:
        """A lead of `group` nobody could take: its managers hear of it (once an hour), with the
        first such lead and why, and how many."""
        first, n, said = self.troubles.get(group, (lead_id, 0, why))
        self.troubles[group] = (first, n + 1, said)


def owe_to_crms(changes: Changes, now: datetime) -> None:
    """An owner write owed to the CRMs for each new lead with a holder (the store copies them
    from the rows it writes, as it does their events) and each move (a release too: its owner
    is None), in the order they happen; `crm push` makes each one write per CRM."""
    from datetime import timezone

    changes.owed_at = now.astimezone(timezone.utc).isoformat(timespec="seconds")
    changes.crm_writes = [(move[0], move[1], changes.owed_at) for move in changes.moves]


def apply(ledger, cfg: Config, changes: Changes, now: datetime, *, notify: bool = True,
          actor: str | None = None, via: str | None = None) -> int:
    """Write `changes` through the store's one write path (`ledger.apply`, in its open
    transaction), with the outbox rows of whom it tells (unless `notify` is off); returns how
    many new lead rows were written (a lead id the ledger had already is left alone: the
    caller compares). `actor` and `via` go on the new leads' assignment events. A dry run's or
    a simulation's store folds them into memory instead (`rehearsal`)."""
    changes.actor, changes.via = actor, via
    if cfg.crms:  # every change of holder is owed to every CRM, in the same transaction
        owe_to_crms(changes, now)
    if notify and (changes.told or changes.troubles):
        from ..notify import alert_rows, outbox_rows

        changes.notifications = outbox_rows(cfg, changes.told, now) if changes.told else []
        changes.alerts = alert_rows(cfg, changes.troubles, now) if changes.troubles else []
    return ledger.apply(changes)
