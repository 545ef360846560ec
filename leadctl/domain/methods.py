"""The group methods themselves, one lead at a time: strict round robin, smooth weighted round
robin (seniority: weight 10 gets twice the leads of weight 5) and a uniform random draw among
the eligible. Pure; `engine.Allocator` runs them over many leads (with a faster round robin
that is tested against `pick_sequential` here).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

SEQUENTIAL = "sequential"
RANDOM = "random"
WEIGHTED = "weighted"
BALANCED = "balanced"  # the eligible member with the fewest open leads (over every group) gets it
METHODS = (SEQUENTIAL, RANDOM, WEIGHTED, BALANCED)  # the group methods: theirs are the assignments that count

Eligible = Callable[["Slot"], bool]


@dataclass(frozen=True, slots=True)
class Slot:
    """A group member as the engine sees it. 0 means no limit."""

    user: str
    daily: int = 0
    monthly: int = 0
    weight: int = 1
    active: bool = True
    max_open: int = 0  # balanced groups: at this many open leads the member takes no more (0: no limit)
    user_daily: int = 0  # the user's own caps, over every group together
    user_monthly: int = 0


@dataclass(slots=True)
class Rotation:
    """A group's rotation state, kept in the ledger between runs.

    sequential: `last` is the last user the group's method served and `order`
    the member order at that moment, so that if `last` leaves the group the
    rotation goes on with the member who followed them.
    weighted: `current` holds the smooth weighted round robin running weights.
    balanced: `served` numbers each member's latest lead from the group (ties go to the
    member served longest ago).
    """

    last: str | None = None
    order: tuple[str, ...] = ()
    current: dict[str, int] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"last": self.last, "order": list(self.order), "current": self.current}
        if self.served:
            out["served"] = self.served
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> Rotation:
        return cls(
            last=data.get("last"),
            order=tuple(data.get("order") or ()),
            current={str(k): int(v) for k, v in (data.get("current") or {}).items()},
            served={str(k): int(v) for k, v in (data.get("served") or {}).items()},
        )


def _start_index(users: Sequence[str], rotation: Rotation) -> int:
    """Where strict round robin continues: just after the last recipient."""
    last = rotation.last
    if last is None:
        return 0
    try:
        return (users.index(last) + 1) % len(users)
    except ValueError:
        pass
    # The last recipient left the group: continue with whoever followed them
    # in the order of that moment and is still a member.
    order = rotation.order
    if last in order:
        i = order.index(last)
        present = set(users)
        for step in range(1, len(order)):
            follower = order[(i + step) % len(order)]
            if follower in present:
                return users.index(follower)
    return 0


def pick_sequential(
    members: Sequence[Slot], eligible: Eligible, rotation: Rotation, users: tuple[str, ...] | None = None,
    skipped: list[Slot] | None = None,
) -> str | None:
    """Strict round robin; `skipped` (if given) receives the members whose turn it was
    but who could not take the lead, in rotation order."""
    n = len(members)
    if n == 0:
        return None
    users = tuple(m.user for m in members) if users is None else users
    start = _start_index(users, rotation)
    for step in range(n):
        slot = members[(start + step) % n]
        if eligible(slot):
            rotation.last = slot.user
            rotation.order = users
            return slot.user
        if skipped is not None:
            skipped.append(slot)
    return None


def pick_weighted(members: Sequence[Slot], eligible: Eligible, rotation: Rotation,
                  skipped: list[Slot] | None = None) -> str | None:
    """Smooth weighted round robin (as in nginx): deterministic, interleaved.

    Weights 10 and 5 give A, B, A, A, B, A ...: exactly 2 of every 3 to the
    first in every window of 3. Members who are not eligible keep their
    running weight and do not accumulate while they are skipped.
    """
    current = rotation.current
    present = {m.user for m in members}
    for user in [u for u in current if u not in present]:
        del current[user]
    total = 0
    best: Slot | None = None
    best_value = 0
    for slot in members:
        if slot.weight <= 0 or not eligible(slot):
            if skipped is not None:
                skipped.append(slot)
            continue
        value = current.get(slot.user, 0) + slot.weight
        current[slot.user] = value
        total += slot.weight
        if best is None or value > best_value:
            best, best_value = slot, value
    if best is None:
        return None
    current[best.user] = best_value - total
    return best.user


def pick_random(members: Sequence[Slot], eligible: Eligible, rng: random.Random,
                skipped: list[Slot] | None = None) -> str | None:
    pool = [m.user for m in members if eligible(m)]
    if skipped is not None and len(pool) < len(members):
        skipped.extend(m for m in members if m.user not in pool)
    if not pool:
        return None
    return pool[rng.randrange(len(pool))]


def pick(
    method: str,
    members: Sequence[Slot],
    eligible: Eligible,
    rotation: Rotation,
    rng: random.Random,
    users: tuple[str, ...] | None = None,
    skipped: list[Slot] | None = None,
    load: Mapping[str, int] | None = None,
) -> str | None:
    """The member the group's method gives the next lead to, or None.

    `eligible(slot)` says whether a member may take a lead now (active and
    under both caps); it is asked lazily, so round robin usually asks once.
    `skipped`, if given, receives the members passed over for this lead.
    """
    if method == SEQUENTIAL:
        return pick_sequential(members, eligible, rotation, users, skipped)
    if method == WEIGHTED:
        return pick_weighted(members, eligible, rotation, skipped)
    if method == RANDOM:
        return pick_random(members, eligible, rng, skipped)
    if method == BALANCED:
        return pick_balanced(members, eligible, rotation, load or {}, skipped)
    raise ValueError(f"unknown method {method!r}")


def pick_balanced(members: Sequence[Slot], eligible: Eligible, rotation: Rotation, load: Mapping[str, int],
                  skipped: list[Slot] | None = None) -> str | None:
    """The eligible member with the fewest open leads (`load`, over every group); a member at
    their `max_open` is not eligible; ties go to the one served by this group longest ago
    (never before first), then to member order. The caller adds the lead to `load`."""
    best, best_key = None, None
    served = rotation.served
    for i, slot in enumerate(members):
        n = load.get(slot.user, 0)
        if (slot.max_open and n >= slot.max_open) or not eligible(slot):
            if skipped is not None:
                skipped.append(slot)
            continue
        key = (n, served.get(slot.user, -1), i)
        if best_key is None or key < best_key:
            best, best_key = slot, key
    if best is None:
        return None
    served[best.user] = max(served.values(), default=-1) + 1
    return best.user
