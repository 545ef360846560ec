"""What a decision changes, as data, and the one path that writes it.

Every way a lead changes hands — routing, a drain, an SLA re-route, a reassign, a pick-up, a
release, a conversion — and every status change decides first and then hands a `Changes` to
`apply`, which writes it in the caller's transaction: new lead rows (their assignment events
copied by the store), owner moves with their events, the queue in and out, conversions,
statuses and their events, the allocator's usage and rotations, and the outbox (the new
holders' notifications, the managers' alerts). Nothing else writes a holder or a status.
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
    leads: list[tuple] = field(default_factory=list)  # new lead rows (LEAD_COLUMNS order)
    moves: list[Move] = field(default_factory=list)  # leads that change hands
    queued: list[tuple[str, str, str]] = field(default_factory=list)  # (lead id, group, received_at) that wait
    dequeued: list[str] = field(default_factory=list)  # lead ids that leave their queue
    told: list[tuple] = field(default_factory=list)  # (lead id, user, method, why): new holders to notify
    troubles: dict[str, tuple[str, int, str]] = field(default_factory=dict)  # group -> (a lead, how many, why)
    statuses: list[tuple[str, str, str | None]] = field(default_factory=list)  # (lead id, status, first contact at)
    events: list[tuple] = field(default_factory=list)  # events that change nobody's leads (EVENT_COLUMNS order)
    conversions: list[tuple[str, str, str, str]] = field(default_factory=list)  # (lead, type, new record, at)
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


def apply(ledger, cfg: Config, changes: Changes, now: datetime, *, notify: bool = True,
          actor: str | None = None, via: str | None = None) -> int:
    """Write `changes` in the ledger's open transaction; returns how many new lead rows were
    written (a lead id the ledger had already is left alone: the caller compares). `actor` and
    `via` go on the new leads' assignment events."""
    written = ledger.insert_routed(changes.leads, actor, via) if changes.leads else 0
    if changes.queued:
        ledger.enqueue(changes.queued)
    if changes.moves:
        ledger.set_owners(changes.moves)
    if changes.dequeued:
        ledger.dequeue(changes.dequeued)
    for conversion in changes.conversions:
        ledger.add_conversion(*conversion)
    if changes.events:
        ledger.insert_events(changes.events)
    for lead_id, status, first_contact in changes.statuses:
        ledger.set_status(lead_id, status, first_contact)
    if notify:
        from ..notify import alert_rows, outbox_rows

        if changes.told:
            ledger.queue_notifications(outbox_rows(cfg, changes.told, now))
        if changes.troubles:
            ledger.queue_alerts(alert_rows(cfg, changes.troubles, now))
    alloc = changes.alloc
    if alloc is not None:
        ledger.save_usage(alloc.usage, alloc.dirty_usage)
        ledger.save_rotations(alloc.rotations, alloc.dirty_rotations)
    return written
