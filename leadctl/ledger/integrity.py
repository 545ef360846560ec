"""`ledger check`: the store's own integrity check, and the ledger's invariants — each lead's
holder is its last event's, the usage tallies are the counted events, the outbox and the owner
writes point at leads, the queue at unassigned leads. Each finding names what is broken."""

from __future__ import annotations

from dataclasses import dataclass, field

SHOWN = 20  # findings named per check; the rest are counted


@dataclass
class Check:
    name: str
    problems: list[str] = field(default_factory=list)
    more: int = 0  # beyond those named

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if len(self.problems) < SHOWN:
            self.problems.append(problem)
        else:
            self.more += 1

    def as_dict(self) -> dict:
        return {"check": self.name, "ok": self.ok, "problems": self.problems, "more": self.more}


def check(ledger, tz) -> list[Check]:
    return [_store(ledger), _holders(ledger), _usage(ledger, tz), _outbox(ledger), _queue(ledger)]


def _store(ledger) -> Check:
    c = Check("store integrity")
    for problem in ledger.integrity_problems():
        c.add(problem)
    return c


def _holders(ledger) -> Check:
    c = Check("holder = last event's")
    for lead_id, holder, last in ledger.conn.execute(
        "SELECT l.id, l.assigned_to, e.assigned_to FROM leads l LEFT JOIN events e ON e.id ="
        " (SELECT max(id) FROM events WHERE lead_id = l.id)"
        " WHERE e.id IS NULL AND l.assigned_to IS NOT NULL"
        "    OR e.id IS NOT NULL AND (l.assigned_to <> e.assigned_to OR (l.assigned_to IS NULL) <> (e.assigned_to IS NULL))"
    ):
        c.add(f"lead {lead_id}: held by {holder or 'nobody'}, its last event says {last or 'nobody'}")
    return c


def _usage(ledger, tz) -> Check:
    c = Check("usage = counted events")
    counted = ledger.counted_usage(tz)
    for group, user, period, n in ledger.conn.execute(
            "SELECT group_name, user_id, period, count FROM usage ORDER BY group_name, user_id, period"):
        want = counted.get((group, user, period), 0)
        if n != want:
            c.add(f"usage {group}/{user}/{period[1:]}: {n}, the events count {want}")
    return c


def _outbox(ledger) -> Check:
    c = Check("outbox points at leads")
    for table, key in (("notifications", "id"), ("crm_writes", "n")):
        for n, lead_id in ledger.conn.execute(
                f"SELECT {key}, lead_id FROM {table} o WHERE lead_id IS NOT NULL AND lead_id <> ''"
                " AND NOT EXISTS (SELECT 1 FROM leads WHERE id = o.lead_id)"):
            c.add(f"{table} {n}: lead {lead_id} is not in the ledger")
    return c


def _queue(ledger) -> Check:
    c = Check("queue holds unassigned leads")
    for n, lead_id, holder, missing in ledger.conn.execute(
            "SELECT q.n, q.lead_id, l.assigned_to, l.id IS NULL FROM queue q LEFT JOIN leads l ON l.id = q.lead_id"
            " WHERE l.id IS NULL OR l.assigned_to IS NOT NULL"):
        c.add(f"queue {n}: lead {lead_id} " + ("is not in the ledger" if missing else f"is held by {holder}"))
    return c
