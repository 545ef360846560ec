"""The distribution engine: who gets the next lead of a group, and why.

Pure: no IO, no clock, no randomness of its own. The caller passes in the
members, how much each has used of their caps for the lead's day and month,
the group's rotation state and a `random.Random`. The only state that changes
is the `Rotation` and the usage counters handed in, and only when the group's
own method assigns a lead: assignments outside the group rules (owner,
creator, duplicate, manual, pick-up) never move a rotation or count.
"""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

from .methods import (  # noqa: F401  (the members, rotations and methods, by name here too)
    BALANCED, METHODS, RANDOM, SEQUENTIAL, WEIGHTED, Eligible, Rotation, Slot, _start_index, pick,
)
from .methods import pick_random, pick_sequential, pick_weighted  # noqa: F401  (the methods, by name here too)
from .kinds import (  # noqa: F401  (the kinds of assignment and their decisions, by name here too)
    CONVERT, CREATOR, DUPLICATE, NOT_ASSIGNMENTS, OWNER, SLA, STATUS, Decision, counts, outside_rules,
    passed_over_list, passed_over_text,
)


Away = frozenset  # of (user, why) pairs: who cannot take a lead at the lead's moment, and why
NOBODY_AWAY: Away = frozenset()


ALL_GROUPS = "*"  # the usage key of a user's total over every group: (ALL_GROUPS, user, period)


def user_totals(usage: MutableMapping[tuple[str, str, str], int]) -> MutableMapping[tuple[str, str, str], int]:
    """`usage` with each user's total over every group added (for the users' own caps); the
    totals are worked out, never kept (`Allocator.dirty_usage` leaves them out)."""
    totals: dict[tuple[str, str, str], int] = {}
    for (group, user, period), n in usage.items():
        if group != ALL_GROUPS:
            key = (ALL_GROUPS, user, period)
            totals[key] = totals.get(key, 0) + n
    usage.update(totals)
    return usage


def why_not(slot: Slot, used_day: int, used_month: int, away: Away = NOBODY_AWAY,
            user_day: int = 0, user_month: int = 0) -> str | None:
    """Why a member cannot take the group's next lead at its moment, or None when they can:
    the one eligibility rule. `away` is what the caller knows of that moment (leave, hours);
    then the membership's caps and the user's own (over every group), counted for the lead's
    day and month."""
    if not slot.active:
        return "inactive"
    if away:
        for user, why in away:
            if user == slot.user:
                return why
    if slot.daily and used_day >= slot.daily:
        return "daily cap"
    if slot.monthly and used_month >= slot.monthly:
        return "monthly cap"
    if slot.user_daily and user_day >= slot.user_daily:
        return "daily cap"
    if slot.user_monthly and user_month >= slot.user_monthly:
        return "monthly cap"
    return None


def day_key(day: str) -> str:
    return "D" + day


def month_key(day: str) -> str:
    return "M" + day[:7]


@dataclass(frozen=True)
class GroupPlan:
    """What the allocator needs to know of a group: its method and members in order."""

    name: str
    method: str
    members: tuple[Slot, ...]
    users: tuple[str, ...] = field(init=False, repr=False, compare=False)
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "users", tuple(m.user for m in self.members))
        object.__setattr__(self, "index", {u: i for i, u in enumerate(self.users)})

    def start(self, rotation: Rotation) -> int:
        """Where strict round robin continues (`_start_index`, by a dict look-up when the
        last recipient is still a member)."""
        last = rotation.last
        if last is None:
            return 0
        i = self.index.get(last)
        if i is not None:
            return (i + 1) % len(self.users)
        return _start_index(self.users, rotation)


class Allocator:
    """Runs the group methods over many leads, keeping caps and rotations.

    `usage` maps (group, user, period) to the number of leads the group's
    method gave that member in that period ("D2026-11-23" or "M2026-11"); the
    caller loads the periods it needs beforehand and saves `dirty_usage`
    afterwards. `rotations` maps a group name to its Rotation.
    """

    def __init__(
        self,
        usage: MutableMapping[tuple[str, str, str], int],
        rotations: MutableMapping[str, Rotation],
        rng: random.Random,
        people: Mapping[str, Slot] | None = None,
        load: MutableMapping[str, int] | None = None,
    ):
        self.usage = usage
        self.rotations = rotations
        self.rng = rng
        self.people = people or {}  # every user as a Slot of no group (activity, own caps): backups
        self.load = load  # open leads per user, over every group (balanced groups); kept up to date here
        self._loaded = dict(usage)  # to tell, at the end, which counters moved
        self.dirty_rotations: set[str] = set()
        self._cursor: dict[str, int] = {}  # group -> where its round robin goes on
        self._passed: dict[tuple, str | None] = {}
        self._open: dict[tuple[str, str, str | None], _Lane] = {}  # (group, day, exclude) -> lane
        self._decisions: dict[tuple[str, str | None], Decision] = {}  # shared: a Decision is immutable

    @property
    def dirty_usage(self) -> set[tuple[str, str, str]]:
        """The usage counters this allocator moved (found once, at the end: no bookkeeping per lead)."""
        loaded = self._loaded
        return {k for k, n in self.usage.items() if loaded.get(k) != n and k[0] != ALL_GROUPS}

    def assign(self, group: GroupPlan, day: str, exclude: str | None = None, away: Away = NOBODY_AWAY,
               backups: Mapping[str, tuple[str, str]] | None = None) -> Decision:
        """Give one lead received on `day` (YYYY-MM-DD, local) to the group.

        `exclude` names a member who must not get it (someone whose leads are
        being handed over); they miss their turn like a capped member. `away`:
        who cannot take a lead at the lead's moment, and why (see `why_not`);
        `backups`: for those on leave with a backup, (backup, last day away).
        """
        if backups and group.method == SEQUENTIAL and any(u in group.index for u in backups):
            return self._with_backups(group, day, exclude, away, backups)
        if group.method != SEQUENTIAL or not group.members:
            return self.general(group, day, exclude, away)
        # Strict round robin, the common case, here rather than in a function of its own (a
        # call per lead): `pick_sequential`, with the members who can still take a lead kept
        # as a sorted list of their positions, so the next one is a bisect, not a walk past
        # every capped member. Caps only fill up within a batch, so a member leaves the list
        # when capped and never comes back; a monthly cap reached on one day closes every
        # day's list.
        name = group.name
        key = (name, day, exclude, away)  # a lane per moment's availability: the same set, the same lane
        lane = self._open.get(key)
        if lane is None:
            lane = self._open[key] = _Lane(self, group, day, exclude, away)
        open_ = lane.open
        if not open_:
            return Decision(None, None, False, _nobody(name, group, away))
        rotation = self.rotations.get(name)
        if rotation is None:
            rotation = self.rotations[name] = Rotation()
        start = self._cursor.get(name)
        if start is None:
            start = group.start(rotation)
            self.dirty_rotations.add(name)
        at = bisect_left(open_, start)
        if at == len(open_):
            at = 0
        i = open_[at]
        m = group.members[i]
        rotation.last = m.user
        rotation.order = group.users
        passed = None
        if i != start:  # everyone from `start` up to `i` (going round) was passed over
            passed = lane.passed.get((start, i))
            if passed is None:
                passed = lane.passed[(start, i)] = lane.passed_over(start, i)
        usage = self.usage
        dk, mk = lane.day_keys[i], lane.month_keys[i]
        used_day = usage[dk] = usage.get(dk, 0) + 1
        used_month = usage[mk] = usage.get(mk, 0) + 1
        self._cursor[name] = i + 1 if i + 1 < len(group.members) else 0
        if m.user_daily or m.user_monthly:
            self._count_user(m, day)
        if self.load is not None:
            self.load[m.user] = self.load.get(m.user, 0) + 1
        if m.monthly and used_month >= m.monthly:
            for k in [k for k in self._open if k[0] == name and k[1] != day and k[1][:7] == day[:7]]:
                del self._open[k]  # the same month on other days: count again when next asked
        if (m.daily and used_day >= m.daily) or (m.monthly and used_month >= m.monthly):
            del open_[at]
            for k, other in self._open.items():  # the same day at other moments: capped there too
                if other is not lane and k[0] == name and k[1] == day and i in other.open:
                    other.open.remove(i)
        decision = self._decisions.get((m.user, passed))
        if decision is None:
            decision = self._decisions[(m.user, passed)] = Decision(m.user, SEQUENTIAL, True, None, passed)
        return decision

    def general(self, group: GroupPlan, day: str, exclude: str | None = None, away: Away = NOBODY_AWAY) -> Decision:
        """Any method, through `pick` (the reference the sequential fast path is tested against)."""
        members = group.members
        if not members:
            return Decision(None, None, False, f"group '{group.name}' has no members")
        dkey, mkey = day_key(day), month_key(day)
        get = self.usage.get
        name = group.name

        def eligible(m: Slot) -> bool:
            return self._why_not(m, name, dkey, mkey, exclude, away) is None

        rotation = self.rotations.get(name)
        if rotation is None:
            rotation = self.rotations[name] = Rotation()
        skipped: list[Slot] = []
        user = pick(group.method, members, eligible, rotation, self.rng, group.users, skipped, self.load)
        if user is None:
            return Decision(None, None, False, _nobody(name, group, away))
        passed = None
        if skipped:
            # A member passed over is not assigned, so their usage (and the reason) cannot
            # change while the same members are passed over: one text per such set.
            key = (name, dkey, exclude, away, tuple(map(id, skipped)))  # the plan's own Slot objects
            passed = self._passed.get(key)
        if skipped and passed is None:
            passed = self._passed[key] = passed_over_text(
                [(m.user, self._why_not(m, name, dkey, mkey, exclude, away)
                  or ("max open" if group.method == BALANCED else "weight 0")) for m in skipped])
        dk, mk = (name, user, dkey), (name, user, mkey)
        self.usage[dk] = get(dk, 0) + 1
        self.usage[mk] = get(mk, 0) + 1
        slot = members[group.index[user]]
        if slot.user_daily or slot.user_monthly:
            self._count_user(slot, day)
        if self.load is not None:
            self.load[user] = self.load.get(user, 0) + 1
        self.dirty_rotations.add(name)
        self._cursor.pop(name, None)
        self._open.clear()  # usage moved outside the sequential fast path: recount it there
        return Decision(user, group.method, True, None, passed)

    def _with_backups(self, group: GroupPlan, day: str, exclude: str | None, away: Away,
                      backups: Mapping[str, tuple[str, str]]) -> Decision:
        """Strict round robin where the rotation may reach a member on leave with a backup: that
        turn goes to the backup when they can take it (under their own caps: their membership's
        if they are a member, and their user caps); a backup who is away passes it to their own
        backup, at most MAX_BACKUP_STEPS steps, a loop ending it. The absent member keeps their
        place: the rotation moves past them as if they had taken the turn, no catch-up later."""
        name, members = group.name, group.members
        dkey, mkey = day_key(day), month_key(day)
        rotation = self.rotations.get(name)
        if rotation is None:
            rotation = self.rotations[name] = Rotation()
        start = self._cursor.get(name)
        if start is None:
            start = group.start(rotation)
        n = len(members)
        skipped: list[tuple[str, str]] = []
        for step in range(n):
            i = (start + step) % n
            m = members[i]
            why = self._why_not(m, name, dkey, mkey, exclude, away)
            taker, backup_for, reason = m, None, None
            if why == "away" and m.user in backups:
                found = self._backup(group, m.user, dkey, mkey, exclude, away, backups)
                if found is not None:
                    taker, backup_for = found, m.user
                    reason = f"backup for {m.user}, away until {_day_text(backups[m.user][1])}"
                    why = None
            if why is None:
                break
            skipped.append((m.user, why))
        else:
            return Decision(None, None, False, _nobody(name, group, away))
        rotation.last = m.user  # the absent member's turn is taken: they keep their place
        rotation.order = group.users
        self.dirty_rotations.add(name)
        self._cursor[name] = (i + 1) % n
        usage = self.usage
        for key in ((name, taker.user, dkey), (name, taker.user, mkey)):
            usage[key] = usage.get(key, 0) + 1
        if taker.user_daily or taker.user_monthly:
            self._count_user(taker, day)
        self._open.clear()  # usage moved outside the fast path: its lanes are worked out again
        return Decision(taker.user, SEQUENTIAL, True, reason, passed_over_text(skipped), backup_for)

    def _backup(self, group: GroupPlan, absent: str, dkey: str, mkey: str, exclude: str | None, away: Away,
                backups: Mapping[str, tuple[str, str]]) -> Slot | None:
        """The backup who takes `absent`'s turn (following backups who are away themselves), or None."""
        seen = {absent}
        current = absent
        for _ in range(MAX_BACKUP_STEPS):
            candidate = backups[current][0]
            if candidate in seen:
                return None  # a loop: nobody in it can take the turn
            seen.add(candidate)
            at = group.index.get(candidate)
            slot = group.members[at] if at is not None else self.people.get(candidate)
            if slot is None:
                return None
            why = self._why_not(slot, group.name, dkey, mkey, exclude, away)
            if why is None:
                return slot
            if why != "away" or candidate not in backups:
                return None
            current = candidate
        return None

    def _count_user(self, m: Slot, day: str) -> None:
        """A lead for a user with caps of their own: their total over every group moves, and when
        it reaches a cap every group's lanes are worked out again (they may not take more)."""
        usage = self.usage
        dk, mk = (ALL_GROUPS, m.user, day_key(day)), (ALL_GROUPS, m.user, month_key(day))
        used_day = usage[dk] = usage.get(dk, 0) + 1
        used_month = usage[mk] = usage.get(mk, 0) + 1
        if (m.user_daily and used_day >= m.user_daily) or (m.user_monthly and used_month >= m.user_monthly):
            self._open.clear()

    def why_not(self, group: GroupPlan, slot: Slot, day: str, away: Away = NOBODY_AWAY) -> str | None:
        """Why `slot` cannot take `group`'s next lead of `day` now (None: they can)."""
        return self._why_not(slot, group.name, day_key(day), month_key(day), None, away)

    # -- eligibility, for both paths ---------------------------------------------------------
    def _why_not(self, m: Slot, name: str, dkey: str, mkey: str, exclude: str | None, away: Away) -> str | None:
        if m.user == exclude and m.active:
            return "handing over"
        get = self.usage.get
        if m.user_daily or m.user_monthly:
            return why_not(m, get((name, m.user, dkey), 0), get((name, m.user, mkey), 0), away,
                           get((ALL_GROUPS, m.user, dkey), 0), get((ALL_GROUPS, m.user, mkey), 0))
        return why_not(m, get((name, m.user, dkey), 0), get((name, m.user, mkey), 0), away)


MAX_BACKUP_STEPS = 3  # a backup who is away passes the turn to their own backup, at most this far


def _day_text(day: str) -> str:
    """2026-12-24 as people write it: 24 Dec 2026."""
    from datetime import date

    d = date.fromisoformat(day)
    return f"{d.day} {('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')[d.month - 1]} {d.year}"


def _nobody(name: str, group: GroupPlan, away: Away) -> str:
    """Why nobody in the group could take a lead: who was away or off hours, by name."""
    gone = sorted((u, why) for u, why in away if u in group.index) if away else []
    if not gone:
        return f"every member of group '{name}' is capped or inactive"
    named = ", ".join(f"{u}: {why}" for u, why in gone[:5]) + (", ..." if len(gone) > 5 else "")
    return f"every member of group '{name}' is capped, inactive, away or off hours ({named})"


class _Lane:
    """One group on one day (for one hand-over, at one moment's availability) inside an
    Allocator: the positions of the members who can take a lead, their usage keys made once,
    and the passed-over texts seen so far."""

    __slots__ = ("open", "day_keys", "month_keys", "passed", "passed_over")

    def __init__(self, alloc: Allocator, group: GroupPlan, day: str, exclude: str | None, away: Away):
        name, dkey, mkey = group.name, day_key(day), month_key(day)
        members = group.members
        self.open = [i for i, m in enumerate(members) if alloc._why_not(m, name, dkey, mkey, exclude, away) is None]
        self.day_keys = [(name, m.user, dkey) for m in members]
        self.month_keys = [(name, m.user, mkey) for m in members]
        self.passed: dict[tuple[int, int], str | None] = {}

        def passed_over(start: int, i: int) -> str | None:
            n = len(members)
            skipped = [members[j % n] for j in range(start, i if i > start else i + n)]
            return passed_over_text([(s.user, alloc._why_not(s, name, dkey, mkey, exclude, away) or "")
                                     for s in skipped])

        self.passed_over = passed_over
