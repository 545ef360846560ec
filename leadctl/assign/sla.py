"""The SLA: a lead its holder has not contacted within the group's `contact_within` after
getting it is re-routed by the group's method to the next eligible member who never held it
(counted towards their caps, told); after `max_hops` re-routes it goes to `escalate_to`, or
stays and the group's managers are told. `leadctl tick` (cron) and `serve` (by itself) run it.

One write transaction over the whole ledger: two ticks at once take turns, and a lead is
re-routed once. The clock is the wall clock (working hours do not stop it: said in the docs).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..actor import Actor, channel_of, label_of
from .changes import Changes, apply
from .state import allocator
from ..config import Config, Group, duration_seconds
from ..config.service import require
from ..domain.rights import INTAKE
from .decide import Policy
from ..domain.engine import SLA
from ..ledger import Ledger

ESCALATED = "escalated"  # the method of an escalation after the last re-route: outside the rules


@dataclass
class Reroute:
    lead_id: str
    previous: str
    assigned_to: str | None
    group: str
    method: str | None
    reason: str

    def as_dict(self) -> dict:
        return dict(vars(self))


def covered(cfg: Config, group: Group, lead: dict) -> bool:
    """Whether the group's SLA covers `lead` (a candidate of `ledger.uncontacted`): it is open and
    was assigned after the SLA was switched on or last changed (both kept to the second: a lead
    assigned within that very second is covered)."""
    if not cfg.settings.is_open(lead["status"]) or not lead["assigned_at"]:
        return False
    since = group.sla_since
    return not since or datetime.fromisoformat(lead["assigned_at"]) >= datetime.fromisoformat(since)


def not_covered(cfg: Config, ledger: Ledger, group: Group) -> int:
    """How many open, uncontacted leads of `group` its SLA leaves alone (assigned before it was
    switched on): what `group edit --contact-within` tells."""
    if not group.contact_within or not group.sla_since:
        return 0
    return sum(1 for lead in ledger.uncontacted([group.name], group.sla_since)
               if cfg.settings.is_open(lead["status"]) and not covered(cfg, group, lead))


def tick(cfg: Config, ledger: Ledger, now: datetime, rng: random.Random, *, actor: Actor | None = None,
         notify: bool = True) -> list[Reroute]:
    """Re-route what is due now; returns what moved (and what stayed, with `assigned_to` None)."""
    require(cfg, actor, (INTAKE, None))
    groups = {g.name: g for g in cfg.groups if g.contact_within}
    if not groups:
        return []
    policy = Policy(cfg, routing=False)
    local = now.astimezone(cfg.tz())
    day, at = local.date().isoformat(), local.isoformat(timespec="seconds")
    moment = policy.availability.at(now)
    out: list[Reroute] = []
    shortest = min(duration_seconds(g.contact_within) for g in groups.values())
    before = (local - timedelta(seconds=shortest)).isoformat(timespec="seconds")  # nothing later can be due
    with ledger.write():
        due = []
        for lead in ledger.uncontacted(groups, before):
            g = groups[lead["group_name"]]
            if not covered(cfg, g, lead):
                continue
            if datetime.fromisoformat(lead["assigned_at"]) + timedelta(seconds=duration_seconds(g.contact_within)) <= now:
                due.append(lead)
        if not due:
            return out
        alloc = allocator(policy, ledger, set(groups), {day}, rng)
        changes = Changes(alloc=alloc)
        for lead in sorted(due, key=lambda r: r["assigned_at"]):
            g = groups[lead["group_name"]]
            history = ledger.history(lead["id"])
            holders = {e["assigned_to"] for e in history if e["assigned_to"]}
            hops = sum(1 for e in history if e["method"] == SLA)
            missed = f"not contacted within {g.contact_within} by {lead['assigned_to']}"
            if hops >= g.max_hops:
                if g.escalate_to and g.escalate_to != lead["assigned_to"]:
                    why = f"{missed}; escalated after {hops} re-route(s)"
                    changes.move(lead["id"], g.escalate_to, g.name, ESCALATED, why, at, actor=label_of(actor),
                                 via=channel_of(actor))
                    changes.tell(lead["id"], g.escalate_to, ESCALATED, why)
                    out.append(Reroute(lead["id"], lead["assigned_to"], g.escalate_to, g.name, ESCALATED, why))
                else:
                    changes.trouble(g.name, lead["id"], f"{missed}, after {hops} re-route(s)")
                continue
            held = frozenset((u, "held it") for u in holders)  # never back to anyone in this chain
            # within the group (no overflow: the SLA asks the group that missed it to make up for it)
            _, decision = policy.turn(g.name, day, alloc, moment.away | held, moment.backups, overflow=False)
            if decision.user is None:
                changes.trouble(g.name, lead["id"], f"{missed}; {decision.reason}")
                continue
            why = missed + (f"; {decision.reason}" if decision.reason else "")
            changes.move(lead["id"], decision.user, g.name, SLA, why, at, actor=label_of(actor), via=channel_of(actor),
                         passed_over=decision.passed_over, backup_for=decision.backup_for)
            changes.tell(lead["id"], decision.user, SLA, why)
            out.append(Reroute(lead["id"], lead["assigned_to"], decision.user, g.name, SLA, why))
        apply(ledger, cfg, changes, now, notify=notify)
    return out
