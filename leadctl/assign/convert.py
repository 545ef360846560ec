"""Lead conversion (seed 003): a lead made into a contact or a deal, linked both ways.

The new record carries the lead's fields; its owner is the one given (a user, outside the
group rules; or a group of that record type, which takes it by its method, counted and
rotated, exactly as routing would), else the lead's own owner. The lead's history says it
was converted (method `convert`, no assignment) and the new record's history where it came
from. One write transaction: all of it, or nothing.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import datetime

from ..actor import Actor, channel_of, label_of
from ..config import Config
from ..domain.engine import CONVERT, OWNER
from ..errors import LeadctlError, Refused
from ..ledger import Ledger
from ..ledger.schema import LEAD_COLUMNS
from .changes import Changes, apply
from .state import Turns
from .decide import Policy
from ..domain.rights import REASSIGN, STATUS, can_see, refusal

TARGETS = ("contact", "deal")
CONVERTED = "converted"  # the lead's status once converted (a closed status)


@dataclass
class Conversion:
    lead_id: str
    record_id: str
    type: str
    assigned_to: str | None
    group: str | None
    method: str | None
    reason: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def convert(cfg: Config, ledger: Ledger, lead_id: str, to: str, *, now: datetime, rng: random.Random,
            owner: str | None = None, new_id: str | None = None, actor: Actor | None = None,
            note: str | None = None) -> Conversion:
    """Convert `lead_id` to a record of type `to`. Refused (exit 1) for a lead the actor may not
    see, one already converted to that type, or a new id already taken; an owner other than the
    actor and the lead's own needs the reassign right (rights.py)."""
    if to not in TARGETS:
        raise LeadctlError(f"a lead converts to a {' or a '.join(TARGETS)}, not '{to}'")
    viewer = actor.user if actor is not None else None
    target_user = pool = None
    if owner:
        pool = cfg.pool(owner)
        if pool is None:
            target_user = cfg.find_user(owner)
            if not target_user.active:
                raise LeadctlError(f"user '{target_user.id}' is not active and cannot receive records")
        elif pool.record_type != to:
            raise LeadctlError(f"group '{pool.name}' takes {pool.record_type}s, not {to}s")
    at = now.astimezone(cfg.tz()).isoformat(timespec="seconds")
    with ledger.write():
        lead = ledger.lead(lead_id)
        if lead is None or not can_see(cfg, viewer, lead):
            raise Refused(f"unknown lead '{lead_id}'")
        why = refusal(cfg, actor, STATUS, for_user=lead["assigned_to"])  # converting closes the lead
        if why:
            raise Refused(f"{why}; nothing was converted")
        if lead["type"] == to:
            raise Refused(f"'{lead_id}' is a {to} already")
        done = ledger.conversions(lead_id)
        if to in done:
            raise Refused(f"lead '{lead_id}' was converted to {to} '{done[to]}' already")
        record_id = (new_id or f"{lead_id}:{to}").strip()
        if not record_id:
            raise LeadctlError("--id must not be empty")
        if ledger.lead(record_id) is not None:
            raise Refused(f"a record '{record_id}' exists already; give the new one another --id")
        if owner and (target_user is None or target_user.id not in (viewer, lead["assigned_to"])):
            why = refusal(cfg, actor, REASSIGN)
            if why:
                raise Refused(f"{why} (choosing the new {to}'s owner); nothing was changed")
        row = dict(lead, id=record_id, type=to, received_at=at, group_name=None, assigned_to=None,
                   method=None, reason=None, assigned_at=None, passed_over=None, backup_for=None)
        changes = Changes(leads=[tuple(row[c] for c in LEAD_COLUMNS)], conversions=[(lead_id, to, record_id, at)])
        origin = f"converted from {lead['type']} {lead_id}"
        user, group, method, reason, passed, backup_for = None, None, None, origin, None, None
        if pool is not None:
            turns = Turns(Policy(cfg, routing=False), ledger, pool.name, now, rng)
            group, decision = turns.next()
            if decision.user is None:
                raise Refused(f"{decision.reason}; nothing was converted")
            changes.alloc = turns.alloc
            user, method, passed = decision.user, decision.method, decision.passed_over
            backup_for = decision.backup_for
            reason = f"{origin}; owner is the group '{pool.name}'"
        elif target_user is not None or lead["assigned_to"]:
            user = target_user.id if target_user is not None else lead["assigned_to"]
            method = OWNER
            reason = f"{origin}; " + ("owner named" if target_user is not None else "kept its owner")
        if user is not None:
            changes.move(record_id, user, group, method, reason, at, actor=label_of(actor), via=channel_of(actor),
                         note=note, passed_over=passed, backup_for=backup_for)
            changes.tell(record_id, user, method, note)
        changes.events.append((lead_id, at, lead["assigned_to"], lead["group_name"], CONVERT,  # the lead keeps
                               f"converted to {to} {record_id}", 0, label_of(actor), note, None,  # its owner
                               channel_of(actor), None))
        changes.statuses.append((lead_id, CONVERTED, None))
        apply(ledger, cfg, changes, now, actor=label_of(actor), via=channel_of(actor))
    return Conversion(lead_id, record_id, to, user, group, method, reason)
