"""Assignments by hand: pick-up, reassignment and release.

All of them are outside the group rules (no cap is counted, no rotation
moves) except `reassign --to-group`, which hands the lead to the group's next
user exactly as routing would, through the engine. Each command is one
write transaction; a lead is refused with the reason, never half-moved.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import datetime

from ..actor import Actor, channel_of, label_of
from .changes import Changes, apply
from ..config import Config
from ..domain.engine import STATUS
from ..errors import LeadctlError, Refused
from ..ledger import Ledger
from ..domain.rights import PICKUP as MAY_PICK_UP
from ..domain.rights import REASSIGN as MAY_REASSIGN
from ..domain.rights import STATUS as MAY_SET_STATUS
from ..domain.rights import can_see, pickup_refusal, refusal
from .state import Turns
from .decide import Policy

PICKUP, MANUAL, RELEASE = "pickup", "manual", "release"


@dataclass
class Move:
    lead_id: str
    done: bool
    previous: str | None = None
    assigned_to: str | None = None
    group: str | None = None
    method: str | None = None
    reason: str | None = None
    forbidden: bool = False  # refused for want of a right (serve: 403), not because of the lead

    def as_dict(self) -> dict:
        out = asdict(self)
        del out["forbidden"]
        return out


def _at(cfg: Config, now: datetime) -> str:
    return now.astimezone(cfg.tz()).isoformat(timespec="seconds")


def _require(cfg: Config, actor: Actor | None, action: str, for_user: str | None = None) -> None:
    why = refusal(cfg, actor, action, for_user=for_user)
    if why:
        raise Refused(f"{why}; nothing was changed")


def _viewer(actor: Actor | None) -> str | None:
    """Whose view of the leads applies: the acting user's (a lead they may not see is unknown to them)."""
    return actor.user if actor is not None else None


def pickup(cfg: Config, ledger: Ledger, lead_id: str, user_id: str, now: datetime, *,
           actor: Actor | None = None, note: str | None = None) -> Move:
    user = cfg.find_user(user_id)
    _require(cfg, actor, MAY_PICK_UP, user.id)
    with ledger.write():
        lead = ledger.lead(lead_id)
        if lead is None or (lead["assigned_to"] not in (None, user.id) and not can_see(cfg, user.id, lead)):
            # a lead the user may not see (isolation) is as unknown to them as one that is not there
            return Move(lead_id, False, reason=f"unknown lead '{lead_id}'")
        refusal = pickup_refusal(cfg, user, lead)
        if refusal:
            return Move(lead_id, False, lead["assigned_to"], reason=refusal)
        changes = Changes()
        changes.move(lead_id, user.id, lead["group_name"], PICKUP, None, _at(cfg, now), actor=label_of(actor),
                     via=channel_of(actor), note=note)
        changes.tell(lead_id, user.id, PICKUP, note)
        apply(ledger, cfg, changes, now)
    return Move(lead_id, True, None, user.id, lead["group_name"], PICKUP)


def set_status(cfg: Config, ledger: Ledger, lead_ids: list[str], status: str, now: datetime, *,
               actor: Actor | None = None, note: str | None = None) -> list[Move]:
    """A new status for each lead (any text): kept on the lead and in its history; the first
    change after an assignment is that holder's first contact. One's own leads; others' need
    the reassign right or manager and above (rights.py); a lead one may not see is unknown."""
    status = status.strip()
    if not status:
        raise LeadctlError("the status must not be empty")
    at = _at(cfg, now)
    moves = []
    changes = Changes()
    with ledger.write():
        for lead_id in dict.fromkeys(lead_ids):
            lead = ledger.lead(lead_id)
            if lead is None or not can_see(cfg, _viewer(actor), lead):
                moves.append(Move(lead_id, False, reason=f"unknown lead '{lead_id}'"))
                continue
            why = refusal(cfg, actor, MAY_SET_STATUS, for_user=lead["assigned_to"])
            if why:
                moves.append(Move(lead_id, False, lead["assigned_to"], reason=why, forbidden=True))
                continue
            changes.statuses.append((lead_id, status, at))
            changes.events.append((lead_id, at, lead["assigned_to"], lead["group_name"], STATUS,
                                   f"status {lead['status'] or '-'} -> {status}", 0, label_of(actor), note, None,
                                   channel_of(actor), None))
            moves.append(Move(lead_id, True, lead["assigned_to"], lead["assigned_to"], lead["group_name"], STATUS,
                              status))
        apply(ledger, cfg, changes, now)
    return moves


def release(cfg: Config, ledger: Ledger, lead_ids: list[str], now: datetime, *,
            actor: Actor | None = None, note: str | None = None) -> list[Move]:
    _require(cfg, actor, MAY_REASSIGN)
    moves = []
    changes = Changes()
    with ledger.write():
        for lead_id in dict.fromkeys(lead_ids):  # a lead named twice is moved once
            lead = ledger.lead(lead_id)
            if lead is None or not can_see(cfg, _viewer(actor), lead):
                moves.append(Move(lead_id, False, reason=f"unknown lead '{lead_id}'"))
            elif lead["assigned_to"] is None:
                moves.append(Move(lead_id, False, reason=f"lead '{lead_id}' is already unassigned"))
            else:
                changes.move(lead_id, None, lead["group_name"], RELEASE, None, _at(cfg, now), actor=label_of(actor),
                             via=channel_of(actor), note=note)
                moves.append(Move(lead_id, True, lead["assigned_to"], None, lead["group_name"], RELEASE))
        apply(ledger, cfg, changes, now)
    return moves


def reassign(
    cfg: Config,
    ledger: Ledger,
    lead_ids: list[str] | None,
    *,
    now: datetime,
    rng: random.Random,
    from_user: str | None = None,
    to_user: str | None = None,
    to_group: str | None = None,
    actor: Actor | None = None,
    note: str | None = None,
) -> list[Move]:
    """Move leads (by id, or every lead of `from_user`) to a user or to a group's next user;
    `to_user` may name a group (a distribution pool), which then takes them by its method."""
    if (to_user is None) == (to_group is None):
        raise LeadctlError("say where the leads go: --to USER or --to-group GROUP")
    _require(cfg, actor, MAY_REASSIGN)
    pool = cfg.pool(to_user) if to_user else None
    if pool is not None:
        to_user, to_group = None, pool.name
    if (from_user is None) == (not lead_ids):
        raise LeadctlError("name the leads (LEAD...) or the user whose leads move (--from USER): one or the other")
    target = cfg.find_user(to_user) if to_user else None
    group = cfg.group(to_group) if to_group else None
    if target is not None and not target.active:
        raise LeadctlError(f"user '{target.id}' is not active and cannot receive leads")
    at = _at(cfg, now)
    moves = []
    changes = Changes()
    with ledger.write():
        ids = list(dict.fromkeys(lead_ids)) if lead_ids else [  # theirs that the actor may see
            row["id"] for row in ledger.leads(owner=from_user) if can_see(cfg, _viewer(actor), row)]
        turns = Turns(Policy(cfg, routing=False), ledger, group.name, now, rng) if group is not None else None
        changes.alloc = turns.alloc if turns is not None else None
        for lead_id in ids:
            lead = ledger.lead(lead_id)
            if lead is None or not can_see(cfg, _viewer(actor), lead):
                moves.append(Move(lead_id, False, reason=f"unknown lead '{lead_id}'"))
                continue
            previous = lead["assigned_to"]
            if target is not None:
                if previous == target.id:  # nothing to do, and nothing wrong
                    moves.append(Move(lead_id, True, previous, previous, lead["group_name"],
                                      reason=f"already assigned to '{target.id}'"))
                    continue
                changes.move(lead_id, target.id, lead["group_name"], MANUAL, None, at, actor=label_of(actor),
                             via=channel_of(actor), note=note)
                changes.tell(lead_id, target.id, MANUAL, note)
                moves.append(Move(lead_id, True, previous, target.id, lead["group_name"], MANUAL))
                continue
            if lead["type"] != group.record_type:
                moves.append(Move(lead_id, False, previous, reason=(
                    f"a {lead['type']} cannot go to group '{group.name}', which takes {group.record_type}s")))
                continue
            # Someone leaving does not get their own leads back from the rotation; who is away or
            # off hours now is passed over (or stood in for), as routing would now.
            given_by, decision = turns.next(from_user)
            if decision.user is None:
                moves.append(Move(lead_id, False, previous, reason=f"{decision.reason}; the lead keeps its owner"))
                continue
            changes.move(lead_id, decision.user, given_by, decision.method, decision.reason, at,
                         actor=label_of(actor), via=channel_of(actor), note=note, passed_over=decision.passed_over,
                         backup_for=decision.backup_for)
            changes.tell(lead_id, decision.user, decision.method, note)
            moves.append(Move(lead_id, True, previous, decision.user, given_by, decision.method))
        apply(ledger, cfg, changes, now)
    return moves
