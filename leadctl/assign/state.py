"""What deciding needs, loaded in one place: the allocator's inputs (the groups' rotations, the
members' usage for the days concerned and their months, every user as a possible backup with
their own caps, the open load of balanced groups) and who is away or off hours at a moment.

Every path that picks a member — routing, a drain, an SLA re-route, a reassign or conversion to
a pool, "who is next" — gets its allocator from `allocator()` and asks it with the moment's
availability (`Turns`), so no path can forget one of the facts.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime

from typing import Protocol

from ..domain.engine import Allocator, Rotation, day_key, month_key, user_totals


class Reads(Protocol):
    """What deciding reads of a store: the ledger itself, or a dry run's or simulation's stand-in
    (`rehearsal`), which also takes `apply` (assign/changes.py) but folds instead of writing."""

    def existing_ids(self, ids: Iterable[str]) -> set[str]: ...
    def earlier_owners(self, field: str, keys: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]: ...
    def load_usage(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str, str], int]: ...
    def load_rotations(self, groups: Iterable[str]) -> dict[str, Rotation]: ...
    def open_load(self, closed: Iterable[str]) -> dict[str, int]: ...
    def apply(self, changes) -> int: ...


def allocator(policy, ledger: Reads, groups: Iterable[str], days: Iterable[str], rng: random.Random) -> Allocator:
    """An allocator for the leads of `groups` (whose rotations may move: their overflow groups
    included by the caller) on `days` (local YYYY-MM-DD; their months too). Usage is loaded for
    those groups, or for every group when users have caps over all of them; the open load when
    one of them is balanced. The caller saves what it moves (`changes.apply`)."""
    groups, days = set(groups), set(days)
    names = set(policy.group_names) if policy.user_caps else groups
    usage = ledger.load_usage({(n, key(d)) for n in names for d in days for key in (day_key, month_key)})
    return Allocator(user_totals(usage) if policy.user_caps else usage, ledger.load_rotations(groups), rng,
                     policy.people, ledger.open_load(policy.closed) if policy.balanced & groups else None)


class Turns:
    """One group's next members at a moment, asked as routing asks (`Policy.turn`): for a
    reassign to a group, a conversion to a pool and "who is next". `alloc` is what to save."""

    def __init__(self, policy, ledger: Reads, group: str, now: datetime, rng: random.Random):
        self.policy, self.group = policy, group
        self.day = now.astimezone(policy.tz).date().isoformat()
        self.alloc = allocator(policy, ledger, policy.locks_for({group}), {self.day}, rng)
        self.moment = policy.availability.at(now)

    def next(self, leaving: str | None = None):
        """(the group that gives it, the engine's decision) for one lead, as routing into the group
        would decide it now (its overflow group when nobody there can); `leaving`: a member who
        must not get it."""
        return self.policy.turn(self.group, self.day, self.alloc, self.moment.away, self.moment.backups,
                                leaving=leaving)
