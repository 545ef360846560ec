"""Deciding a batch of records, as plain functions of data: no IO, no clock, no randomness
inside (the clock's moment and a seeded `random.Random` in the Allocator are passed in).

`Policy` is what deciding needs of a config (compiled rules, group plans, who is who);
`Policy.turn` is the one question every path asks (the group's method over its eligible
members, then its overflow group); `Policy.prepare` checks one record (id, type, receipt time,
group) into a lead to decide, or an outcome that rejects it; `decide` decides a whole batch —
skip, precedence (owner > creator > duplicate > the group's method) — and returns the
outcomes and the ledger rows as data. `route.Router` loads what it needs (`state`), calls
these and hands what they return to `changes.apply`; a dry run does the same against a
rehearsal, which folds instead of writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..config import RECORD_TYPES, Config, Group
from ..config.ladder import offer_seconds
from ..dates import LocalTimes
from ..domain.availability import Availability
from ..domain.engine import DUPLICATE, NOBODY_AWAY, Allocator, Away, Decision, GroupPlan, outside_rules
from ..domain.keys import domain_of, email_key, phone_key
from ..domain.rulebook import RuleBook, lowered, needed_tags
from ..errors import LeadctlError
from ..intake import Record
from ..outcome import ASSIGNED, QUEUED, REJECTED, SKIPPED, UNASSIGNED, Outcome, _json_text, _to_json, derived_id
from . import turns
from .offers import OFFERED, offer
from .account_table import free_mail, load_accounts
from .territory_table import load_table

REPEATED = "lead id repeated earlier in this input"
MAX_ID = 200
_NO_MARKS = (None, None)  # a lead no rule routed: no rule number, no territory
DEFAULT_STATUS = "new"  # a lead that arrives without a status is new


# A record that passed the checks and waits for its batch: a plain tuple, made and read
# once per lead (a dataclass costs four times as much to make), unpacked where it is read:
#   (line, id, type, fields, received, day, group, cells, layout, needs, marks)
# received: its own received_at, ISO 8601 in the zone; None: the batch's now.
# day: with --clock received, the local day of `received`, which caps count by.
# group: the Group it goes to. cells, layout: a CSV row's values and its header's JSON layout
# (see Record), so that its fields become JSON without a dict walk. needs: None, or the tags
# the rule that chose the group asks of a member, and whether strictly (`rulebook.needed_tags`),
# or a territory's group or user. marks: (the number of the rule met, the territory fallen in).
_Lead = tuple
_ID, _FIELDS, _DAY, _GROUP = 1, 3, 5, 6  # positions in a _Lead


@dataclass(slots=True)
class Decided:
    """A batch decided: an outcome per item (in order), a ledger row per new lead (LEAD_COLUMNS
    order), and the skipped outcomes whose reason only the ledger can give (None yet)."""

    outcomes: list[Outcome]
    rows: list[tuple]
    skipped: list[Outcome]
    queued: list[tuple[str, str, str]]  # (lead id, group, received_at) of the leads that wait
    offers: list[tuple] = field(default_factory=list)  # (lead, assigned_at, holder, group, until): offered


def plan_for(cfg: Config, group: Group) -> GroupPlan:
    """A group as the engine decides for it: its method and its members in rotation order,
    with whether each is active. Routing, reassign-to-a-group and "who is next" all use it."""
    return GroupPlan(group.name, group.method, cfg.slots(group))


class Policy:
    """What deciding needs of one config: derived once per config, used for every batch."""

    def __init__(self, cfg: Config, *, group: str | None = None, replay: bool = False, routing: bool = True):
        self.replay = replay
        self.group_name = group
        forced = cfg.group(self.group_name) if self.group_name else None
        if routing and forced is None and cfg.default_group is None and not cfg.rules:
            raise LeadctlError(
                "no group to route to: pass --group GROUP, or set one with `leadctl rule default GROUP`"
            )
        self.tz = cfg.tz()
        self.local_times = LocalTimes(self.tz, cfg.settings.date_format).convert
        self.forced = forced
        self.plans = {g.name: plan_for(cfg, g) for g in cfg.groups}
        self.rules = RuleBook(cfg)  # each condition compiled once
        self.default = cfg.group(cfg.default_group) if cfg.default_group else None
        self.active = cfg.active_users()
        # `owner` / `created_by` name a user by id in any case, or by the user's email.
        self.who = {u.email.strip().lower(): u.id for u in cfg.users if u.email.strip()}
        self.who.update({u.id.lower(): u.id for u in cfg.users})
        # an owner that names a group and no user means the group (Config.pool), by name in any case
        self.pools = {g.name.lower(): g for g in cfg.groups if cfg.pool(g.name) is g}
        self.assign_to_creator = cfg.settings.assign_to_creator
        self.region = cfg.settings.phone_region or None
        self.duplicates = cfg.settings.duplicates
        self.availability = Availability(cfg)  # who is away or off hours at a lead's moment
        self.user_caps = cfg.user_caps  # some user has caps over every group
        self.group_names = tuple(g.name for g in cfg.groups)
        self.people = cfg.people()  # backups may stand in from outside a group
        self.overflow = {g.name: g.overflow for g in cfg.groups if g.overflow}  # one step, no further
        self.queues = frozenset(g.name for g in cfg.groups if g.queue)
        self.offering = {g.name: (offer_seconds(g), f"offered: accept within {g.sla.accept_within}")
                         for g in cfg.groups if g.sla.accept_within}  # group -> (seconds, what the reason says)
        self.balanced = frozenset(g.name for g in cfg.groups if g.method == "balanced")
        self.closed = cfg.settings.closed_statuses
        self.tags = {u.id: frozenset(u.tags) for u in cfg.users}  # what a rule's --require-tag asks of them
        self.lacking: dict[tuple[str, ...], Away] = {}  # tags asked -> who lacks them, and why
        self.territories = load_table(cfg) if any(r.territories for r in cfg.rules) else None
        self.match_domains = cfg.settings.match_domains
        self.accounts = load_accounts(cfg) if self.match_domains else {}
        self.free_mail = free_mail() if self.match_domains else frozenset()
        self.user_plans: dict = {}  # a territory's user -> their one-person plan (turns.to_user)
        self._row_needs: dict = {}  # a territory row -> what its leads need (shared)
        self.made: dict = {}  # (why, the engine's decision as strings) -> the Decision a special turn made of it (turns.py)
        self.targets = {g.name: g for g in cfg.groups}
        territory_users = sorted({r.target for r in self.territories.rows if r.target not in self.targets}
                                 if self.territories else ())
        self.territory_plans = tuple(turns.territory_plan(u) for u in territory_users)  # their own counts
        self.group_names += self.territory_plans

    def prepare(self, rec: Record) -> _Lead | Outcome:
        """A record checked into a lead to decide (id, type, receipt time and day, group), or
        the outcome that rejects it, with the reason."""
        fields = rec.fields
        lead_id = (fields.get("id") or "").strip() or derived_id(fields)
        if len(lead_id) > MAX_ID:
            return Outcome(rec.line, None, REJECTED, reason=f"id is longer than {MAX_ID} characters")
        kind = fields.get("type")
        kind = (kind.strip().lower() or "lead") if kind else "lead"
        if kind not in RECORD_TYPES:
            return Outcome(
                rec.line, lead_id, REJECTED,
                reason=f"unknown type '{kind[:40]}' (use {', '.join(RECORD_TYPES)})",
            )
        raw_when = fields.get("received_at")
        received = day = None
        if raw_when and (raw_when := raw_when.strip()):
            try:
                received, local_day = self.local_times(raw_when)
            except (ValueError, OverflowError) as exc:
                from ..dates import Ambiguous

                return Outcome(
                    rec.line, lead_id, REJECTED, reason=f"received_at {exc}" if isinstance(exc, Ambiguous) else
                    "received_at is not an ISO 8601 date and time (e.g. 2026-11-23T13:10:00)",
                )
            if self.replay:
                day = local_day
        group, rule, needs, territory = self.forced, None, None, None
        owner = fields.get("owner")
        pool = self.pools.get(owner.strip().lower()) if owner and self.pools else None
        if pool is not None and pool.record_type == kind:
            group = pool  # the owner names a distribution pool: it takes the lead, by its method
        elif group is None:
            low = lowered(fields) if self.rules else None
            group, rule = self.rules.group_for(fields, kind, low) if self.rules else (self.default, None)
            if rule is not None and rule.territories:  # the territory table decides: a group, or a user's
                group, needs, territory = self._territory(low, rule, group)
                if group is None:
                    return Outcome(rec.line, lead_id, REJECTED, reason=needs)
        if group is None:
            return Outcome(
                rec.line, lead_id, REJECTED,
                reason="no rule matches and no default group is set (`leadctl rule default GROUP`)",
            )
        if group.record_type != kind:
            return Outcome(
                rec.line, lead_id, REJECTED, group=group.name,
                reason=f"a {kind} cannot go to group '{group.name}', which takes {group.record_type}s",
            )
        if rule is not None and rule.require_tags and needs is None:
            tags = needed_tags(rule, fields)
            needs = ("tags", tags, rule.strict_tags) if tags else None
        marks = (self.rules.numbers[id(rule)], territory) if rule is not None else _NO_MARKS
        return (rec.line, lead_id, kind, fields, received, day, group, rec.cells, rec.layout, needs, marks)

    def _territory(self, low: dict, rule, fallback: Group | None):
        """(the group, what the lead needs, the territory's name) by the territory table: a row
        naming a group sends it there; one naming a user, to them (`turns.to_user`, in the
        fallback group's name); no row, the rule's fallback group, else the default. (None, why,
        ...) when there is nowhere."""
        row = self.territories.match_lead(low)
        fallback = fallback if fallback is not None and fallback.name else self.default
        if row is None:
            if fallback is None:
                return None, ("no territory holds it and no group is set to take the rest"
                              " (`leadctl rule default GROUP`)"), None
            return fallback, None, None
        needs = self._row_needs.get(row)
        if needs is None:  # made once per row: a lead's tuple and reason shared by every lead there
            needs = self._row_needs[row] = (("group", row.describe()) if row.target in self.targets
                                            else ("user", row.target, row.describe()))
        if needs[0] == "group":
            return self.targets[row.target], needs, row.territory
        if fallback is None:
            return None, ("no group is set to take the leads its user cannot (`leadctl rule default GROUP`)"), None
        return fallback, needs, row.territory

    def user(self, name: str) -> str | None:
        """The user id a payload names (an id in any case, or an email); unknown names as given."""
        if not name:
            return None
        return self.who.get(name.lower(), name)

    def account(self, kind: str, ekey: str | None, earlier) -> tuple[str, str] | None:
        """(owner, reason) by the email's domain: the accounts table, else the owner of the latest
        earlier lead of the same type from that domain who is active; free mail never."""
        if not ekey:
            return None
        domain = domain_of(ekey)
        if domain in self.free_mail:
            return None
        owner = self.accounts.get(domain)
        if owner is not None and owner in self.active:
            return owner, f"account {domain} (the accounts table)"
        for lead_id, their_kind, owner in reversed(earlier.get("domain", {}).get(domain, ())):
            if their_kind == kind and owner in self.active:
                return owner, f"account {domain} (as lead {lead_id})"
        return None

    def duplicate(self, kind: str, keys: dict[str, str | None], earlier) -> tuple[str, str] | None:
        """(owner, reason) from the latest earlier lead of the same type with an active owner."""
        for field in self.duplicates:
            key = keys[field]
            for lead_id, their_kind, owner in reversed(earlier[field].get(key, ()) if key else ()):
                if their_kind == kind and owner in self.active:
                    return owner, f"duplicate of lead {lead_id} (same {field})"
        return None

    def locks_for(self, groups: set[str]) -> set[str]:
        """The groups whose rotation and usage a batch for `groups` may move (their overflow
        groups; every group when users have caps over all of them, or stand in as backups)."""
        if self.user_caps or self.availability.backups_anywhere:
            return set(self.group_names)
        return groups | {self.overflow[g] for g in groups if g in self.overflow} | set(self.territory_plans)

    def turn(self, group: str, day: str, alloc: Allocator, away: Away = NOBODY_AWAY, backups=None, *,
             leaving: str | None = None, overflow: bool = True) -> tuple[str, Decision]:
        """Who gets the next lead of `group` on `day`, the one question every path asks (routing,
        a drain, a reassign or conversion to a pool, "who is next", an SLA re-route): the
        group's method over its eligible members (active, not `away` — else their backup under
        the backup's own caps — within hours, under every cap and max_open; `leaving`: a member
        who must not get it), and when nobody can, its overflow group's (one step; not for
        `overflow=False`). Returns the group that gave it and the engine's decision (no user:
        nobody could)."""
        decision = alloc.assign(self.plans[group], day, leaving, away, backups)
        if decision.user is None and overflow and group in self.overflow:
            spilled = self.overflowed(group, day, alloc, away, backups)
            if spilled is not None:
                return spilled
        return group, decision

    def overflowed(self, group: str, day: str, alloc: Allocator, away: Away, backups) -> tuple[str, Decision] | None:
        """When nobody in `group` could take a lead: its overflow group's decision (one step
        further at most), and that group; None when it has none or nobody there can either."""
        spill = self.overflow.get(group)
        if spill is None:
            return None
        decision = alloc.assign(self.plans[spill], day, None, away, backups)
        if decision.user is None:
            return None
        why = f"overflowed from group '{group}'" + (f"; {decision.reason}" if decision.reason else "")
        return spill, Decision(decision.user, decision.method, decision.counted, why, decision.passed_over,
                               decision.backup_for)

    def outside_or_method(self, f: dict[str, str], group: str, day: str, alloc: Allocator,
                          duplicate: tuple[str, str] | None, away: Away = NOBODY_AWAY,
                          backups: dict | None = None) -> Decision:
        """Who gets one lead, by precedence: its owner, its creator (setting on), the owner of
        an earlier duplicate (setting on), else the group's method (which counts and moves
        the rotation). A named owner who cannot take it is said in the reason."""
        if not (duplicate or f.get("owner") or (self.assign_to_creator and f.get("created_by"))):
            return alloc.assign(self.plans[group], day, None, away, backups)
        owner = (f.get("owner") or "").strip()
        pool = self.pools.get(owner.lower()) if owner else None
        if pool is not None and pool.name == group:  # the owner is this pool (`prepare` sent the lead to it)
            decision = alloc.assign(self.plans[group], day, None, away, backups)
            why = f"owner is the group '{pool.name}'"
            reason = f"{why}; {decision.reason}" if decision.reason else why
            return Decision(decision.user, decision.method, decision.counted, reason, decision.passed_over)
        outside, note = outside_rules(
            owner=None if pool is not None else self.user(owner),
            created_by=self.user((f.get("created_by") or "").strip()),
            duplicate_owner=duplicate[0] if duplicate else None,
            active_users=self.active,
            assign_to_creator=self.assign_to_creator,
        )
        if outside is not None:
            if outside.method == DUPLICATE and duplicate:
                reason = f"{outside.reason}; {duplicate[1]}" if outside.reason else duplicate[1]
                return Decision(outside.user, outside.method, False, reason)
            return outside
        decision = alloc.assign(self.plans[group], day, None, away, backups)
        if pool is not None:  # a pool of another record type cannot take this one
            note = f"owner '{owner}' is a group of {pool.record_type}s"
        if note:
            reason = f"{note}; {decision.reason}" if decision.reason else f"{note}; routed by group"
            return Decision(decision.user, decision.method, decision.counted, reason, decision.passed_over)
        return decision


def decide(policy: Policy, items: list[_Lead | Outcome], seen: set[str], earlier: dict, alloc: Allocator,
           now: datetime) -> Decided:
    """Decide a batch: one outcome per item, in order, and a ledger row per new lead.

    `seen`: the ids already recorded (skipped; those decided here are added); `earlier`:
    owned leads sharing an email or phone with the batch, by key (grown with this batch's
    leads); `alloc`: the groups' rotations and usage as of the batch, moved by the group
    methods (its changes are what to save); `now`: the routing clock. A row holds the members
    passed over as their text (the store keeps each list once, by number, when it writes).
    Precedence: owner > creator > duplicate > the group's method (`Policy.outside_or_method`).
    """
    out: list[Outcome] = []
    append = out.append
    lead_rows: list[tuple] = []
    add_lead = lead_rows.append
    creator, region = policy.assign_to_creator, policy.region
    now_at, now_day = now.isoformat(timespec="seconds"), now.date().isoformat()
    available = policy.availability
    everyone_in = available.always
    moment_now = available.at(now)  # who cannot take a lead at the routing clock's moment
    away_now, backups_now = moment_now.away, moment_now.backups
    turn = policy.turn
    in_batch: set[str] = set()  # ids decided in this batch: a repeat is repeated in the input
    offering, offers = policy.offering, []
    skipped: list[Outcome] = []
    queued: list[tuple[str, str, str]] = []
    for x in items:
        if x.__class__ is not _Lead:
            append(x)
            continue
        line, lead_id, kind, f, received, x_day, x_group, cells, layout, needs, marks = x
        if lead_id in seen:
            skipped.append(Outcome(line, lead_id, SKIPPED, reason=REPEATED if lead_id in in_batch else None))
            append(skipped[-1])
            continue
        seen.add(lead_id)
        in_batch.add(lead_id)
        email, phone = f.get("email"), f.get("phone")
        ekey, pkey = email_key(email), phone_key(phone, region)
        if x_day is None:
            day, at, away, backups = now_day, now_at, away_now, backups_now
        elif everyone_in:
            day, at, away, backups = x_day, received, away_now, backups_now
        else:  # replayed at its own received time: availability then
            day, at = x_day, received
            moment = available.at_text(received)
            away, backups = moment.away, moment.backups
        group = x_group.name
        duplicate = policy.duplicate(kind, {"email": ekey, "phone": pkey}, earlier) if earlier else None
        named = f.get("owner") or (creator and f.get("created_by"))
        account = policy.account(kind, ekey, earlier) if policy.match_domains and not duplicate and not named else None
        if duplicate or named:
            decision = policy.outside_or_method(f, group, day, alloc, duplicate, away, backups)
            if decision.user is None and group in policy.overflow:  # nobody in the group: its overflow
                group, decision = policy.overflowed(group, day, alloc, away, backups) or (group, decision)
        elif account is not None:
            group, decision = turns.to_account(policy, group, day, alloc, away, backups, *account)
        elif needs is None:
            group, decision = turn(group, day, alloc, away, backups)
        elif needs[0] == "group":  # a territory's group: its turn, the territory named
            group, decision = turn(group, day, alloc, away, backups)
            decision = turns.because(needs[1], decision, policy.made)
        elif needs[0] == "tags":
            group, decision = turns.with_tags(policy, group, day, alloc, away, backups, needs[1], needs[2])
        else:  # a territory's own user
            group, decision = turns.to_user(policy, group, day, alloc, away, backups, needs[1], needs[2])
        user = decision.user
        status = ASSIGNED
        if user is None:  # nobody could take it now, not even in an overflow group: its queue
            if group in policy.queues:
                status = QUEUED
                decision = Decision(None, None, False, f"queued: {decision.reason}")
                queued.append((lead_id, group, received or now_at))
            else:
                status = UNASSIGNED
        if user and earlier:  # later leads in this batch match this one
            for field, key in (("email", ekey), ("phone", pkey), ("domain", ekey and domain_of(ekey))):
                if field in earlier and key:
                    earlier[field].setdefault(key, []).append((lead_id, kind, user))
        method, reason = decision.method, decision.reason
        if user and group in offering and method in OFFERED:  # its holder accepts it, or it moves on
            seconds, said = offering[group]
            offers.append(offer(lead_id, at, user, group, seconds))
            reason = f"{reason}; {said}" if reason else said
        # The fields as JSON: a CSV row's through its header's layout, exactly `_to_json(f)`.
        add_lead((
            lead_id, kind, (f.get("status") or "").strip() or DEFAULT_STATUS, email, phone, f.get("source"),
            received or now_at, layout % tuple(map(_json_text, cells)) if cells else _to_json(f),
            ekey, pkey,
            group, user, method, reason, at if user else None, decision.passed_over, decision.backup_for, *marks,
        ))
        append(Outcome(line, lead_id, status, user, group, method, reason))
    return Decided(out, lead_rows, skipped, queued, offers)
