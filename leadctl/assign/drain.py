"""The queue drained: leads that waited because nobody could take them are handed out, oldest
first, as capacity allows now (a new day, someone back from leave or in their hours, a cap
raised, a member added). Each goes by its group's method (then its overflow), counted and
rotated as routing would count it now; a lead keeps its `received_at`.

One write transaction over the whole ledger: two drains at once (two `serve`s, `drain` beside
`serve`, on either store) take turns, and each queued lead is handed out once.
"""

from __future__ import annotations

import random
from datetime import datetime

from ..actor import Actor, channel_of, label_of
from .changes import Changes, apply
from .state import allocator
from ..config import Config
from ..config.service import require
from ..domain.rights import INTAKE
from ..outcome import ASSIGNED, Outcome
from . import turns
from .decide import Policy
from ..ledger import Ledger


def _asked(cfg: Config, row: dict) -> tuple[tuple[str, ...], bool] | None:
    """(the tags, strictly) the rule that routed a waiting lead asks of a member (the rule by its
    number, as the rules are now), or None."""
    import json

    from ..domain.rulebook import needed_tags

    number = row.get("rule")
    if number is None or not 1 <= number <= len(cfg.rules) or not cfg.rules[number - 1].require_tags:
        return None
    rule = cfg.rules[number - 1]
    tags = needed_tags(rule, json.loads(row["fields"]) if row.get("fields") else {})
    return (tags, rule.strict_tags) if tags else None


def drain(cfg: Config, ledger: Ledger, now: datetime, rng: random.Random, *, group: str | None = None,
          actor: Actor | None = None, notify: bool = True) -> tuple[list[Outcome], int]:
    """Hand out what waits (in `group`, or every queue); returns the outcomes of the leads handed
    out, and how many still wait."""
    require(cfg, actor, (INTAKE, None))
    if group is not None:
        cfg.group(group)
    policy = Policy(cfg, routing=False)
    local = now.astimezone(cfg.tz())
    day, at = local.date().isoformat(), local.isoformat(timespec="seconds")
    moment = policy.availability.at(now)
    out: list[Outcome] = []
    with ledger.write():
        waiting = ledger.queued(group)
        if not waiting:
            return out, 0
        names = policy.locks_for({w["group_name"] for w in waiting}) & set(policy.plans)
        alloc = allocator(policy, ledger, names, {day}, rng)
        changes = Changes(alloc=alloc)
        left = 0
        for row in waiting:
            lead_id, name = row["lead_id"], row["group_name"]
            if row["missing"] or row["assigned_to"] is not None or name not in policy.plans:
                changes.dequeued.append(lead_id)  # taken by hand meanwhile, or their group gone
                continue
            tags = _asked(cfg, row)
            if tags:  # the rule asked for tags: only those who have them (strict: still only them)
                name, decision = turns.with_tags(policy, name, day, alloc, moment.away, moment.backups, *tags)
            else:
                name, decision = policy.turn(name, day, alloc, moment.away, moment.backups)
            if decision.user is None:
                left += 1
                continue
            reason = f"from the queue; {decision.reason}" if decision.reason else "from the queue"
            changes.move(lead_id, decision.user, name, decision.method, reason, at, actor=label_of(actor),
                         via=channel_of(actor), passed_over=decision.passed_over, backup_for=decision.backup_for)
            changes.tell(lead_id, decision.user, decision.method, reason)
            changes.dequeued.append(lead_id)
            out.append(Outcome(0, lead_id, ASSIGNED, decision.user, name, decision.method, reason))
        apply(ledger, cfg, changes, now, notify=notify)
    return out, left
