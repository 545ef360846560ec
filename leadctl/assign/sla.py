"""The SLA ladder: a lead its holder has not contacted goes up the group's steps, each once per
holder, in order of how long after the assignment — `remind` (the holder is told again),
`notify-managers` (the group's managers are told), `reroute` (the group's method gives it to
the next eligible member who never held it: counted, told; after `max_hops` re-routes it goes
to `escalate_to`, or stays and the managers are told) and `escalate:USER` (it goes to USER,
outside the rules). A first contact stops the ladder; a new holder starts it again. The time
is the wall clock, or with `clock = "business"` only the holder's working hours, in their zone
(`domain/hours.py`). `contact_within` is the one-step shorthand (`15m:reroute`).

The SLA covers leads a group's method, a drain or an SLA re-route gave their holder, assigned
after it was switched on or changed (`sla_since`). `leadctl tick` (cron) and `serve` (by
itself) run it, in one write transaction over the whole ledger: two ticks at once take turns,
and each step is written under its key (lead, assignment, step) — once, whoever ticks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..actor import Actor, channel_of, label_of
from ..config import Config, Group
from ..config.ladder import Step, offer_seconds, steps_of
from ..config.service import require
from ..domain.engine import SLA
from ..domain.kinds import DECLINED
from ..domain.hours import parse as parse_hours
from ..domain.rights import INTAKE, alert_recipients
from ..ledger import Ledger
from .changes import Changes, apply
from .decide import Policy
from .offers import OFFERED, offer
from .state import allocator

ESCALATED = "escalated"  # the method of an escalation: outside the rules
REMIND, MANAGERS = "remind", "notify-managers"  # a notification's method for the two steps that only tell


@dataclass
class Reroute:
    """A step run on a lead: a move (method `sla`, `escalated`, or `declined` for a lapsed offer)
    or a notification (method `remind` or `notify-managers`, the holder unchanged). A lead that
    stayed (nobody to take it) is not one: its group's managers are told instead."""

    lead_id: str
    previous: str
    assigned_to: str | None
    group: str
    method: str | None
    reason: str
    step: str = ""  # the ladder's step, as `group sla --step` writes it ("15m:remind")

    def as_dict(self) -> dict:
        return dict(vars(self))

    @property
    def moved(self) -> bool:
        return self.method in (SLA, ESCALATED, DECLINED)


def summary(steps: list[Reroute]) -> str:
    """`re-routed 2 lead(s)` and what else the ladder did: what tick and serve say."""
    moved = sum(1 for s in steps if s.moved)
    told = len(steps) - moved
    return f"re-routed {moved} lead(s)" + (f", {told} reminder(s) and notice(s) to managers" if told else "")


def covered(cfg: Config, group: Group, lead: dict) -> bool:
    """Whether the group's SLA covers `lead` (a candidate of the ledger's): it is open and was
    assigned after the SLA was switched on or last changed (both kept to the second: a lead
    assigned within that very second is covered)."""
    if not cfg.settings.is_open(lead["status"]) or not lead["assigned_at"]:
        return False
    since = group.sla_since
    return not since or datetime.fromisoformat(lead["assigned_at"]) >= datetime.fromisoformat(since)


def not_covered(cfg: Config, ledger: Ledger, group: Group) -> int:
    """How many open, uncontacted leads of `group` its SLA leaves alone (assigned before it was
    switched on): what `group edit --contact-within` and `group sla` tell."""
    if not steps_of(group) or not group.sla_since:
        return 0
    return sum(1 for lead in ledger.uncontacted([group.name], group.sla_since)
               if cfg.settings.is_open(lead["status"]) and not covered(cfg, group, lead))


class LadderClock:
    """When a step falls due for a holder: `after` seconds past the assignment on the wall
    clock, or of the holder's working hours (their zone) on the business clock; a holder with
    no hours counts the wall clock."""

    def __init__(self, cfg: Config):
        default = cfg.settings.timezone
        self.hours = {u.id: (parse_hours(u.hours), ZoneInfo(u.timezone or default)) for u in cfg.users if u.hours}

    def due(self, clock: str, holder: str, assigned: datetime, seconds: int) -> datetime | None:
        if clock == "business" and holder in self.hours:
            hours, zone = self.hours[holder]
            return hours.after(assigned, seconds, zone)
        return assigned + timedelta(seconds=seconds)


def tick(cfg: Config, ledger: Ledger, now: datetime, rng: random.Random, *, actor: Actor | None = None,
         notify: bool = True) -> list[Reroute]:
    """Run the ladder steps due now; returns each step run (see `Reroute`)."""
    require(cfg, actor, (INTAKE, None))
    ladders = {g.name: (g, steps_of(g)) for g in cfg.groups if steps_of(g)}
    offering = {g.name: g for g in cfg.groups if g.sla.accept_within}
    if not ladders and not offering:
        return []
    local = now.astimezone(cfg.tz())
    clock = LadderClock(cfg)
    with ledger.write():
        lapsed = [o for o in ledger.lapsed_offers(local.isoformat(timespec="seconds"))
                  if o["group_name"] in offering and cfg.settings.is_open(o["status"])] if offering else []
        due = _due(cfg, ledger, ladders, clock, local, now) if ladders else []
        if not due and not lapsed:
            return []
        policy = Policy(cfg, routing=False)
        run = _Run(cfg, ledger, policy, allocator(policy, ledger, set(ladders) | set(offering),
                                                  {local.date().isoformat()}, rng), local, actor)
        for lead in lapsed:
            run.lapse(lead, offering[lead["group_name"]])
        for lead, group, steps in sorted(due, key=lambda d: d[0]["assigned_at"]):
            for number, step in steps:
                if run.step(lead, group, number, step):
                    break  # it moved: the rest of this holder's ladder is moot
        apply(ledger, cfg, run.changes, now, notify=notify)
    return run.out


def _due(cfg: Config, ledger: Ledger, ladders: dict, clock: LadderClock, local: datetime, now: datetime) -> list:
    """(lead, group, [(step number, step)]) for each covered lead with steps due now, in order."""
    due = []
    for name, (group, steps) in ladders.items():
        first = steps[0].seconds  # no clock counts faster than the wall's: nothing later is due
        before = (local - timedelta(seconds=first)).isoformat(timespec="seconds")
        leads = [lead for lead in ledger.ladder_candidates(name, before, len(steps)) if covered(cfg, group, lead)]
        ran = ledger.steps_run((lead["id"], lead["assigned_at"]) for lead in leads) if leads else {}
        for lead in leads:
            done = ran.get((lead["id"], lead["assigned_at"]), ())
            assigned = datetime.fromisoformat(lead["started_at"])  # (an offer's: when it was accepted)
            todo = []
            for number, step in enumerate(steps, 1):
                if number in done:
                    continue
                at = clock.due(group.sla.clock, lead["assigned_to"], assigned, step.seconds)
                if at is None or at > now:
                    break  # the steps are in order: the later ones are not due either
                todo.append((number, step))
            if todo:
                due.append((lead, group, todo))
    return due


class _Run:
    """The steps of one tick, as changes to write at once."""

    def __init__(self, cfg: Config, ledger: Ledger, policy: Policy, alloc, local: datetime, actor: Actor | None):
        self.cfg, self.ledger, self.policy, self.alloc, self.actor = cfg, ledger, policy, alloc, actor
        self.day, self.at = local.date().isoformat(), local.isoformat(timespec="seconds")
        self.moment = policy.availability.at(local)
        self.changes = Changes(alloc=alloc)
        self.out: list[Reroute] = []

    def step(self, lead: dict, group: Group, number: int, step: Step) -> bool:
        """Run one step on `lead`; True when it moved the lead."""
        holder = lead["assigned_to"]
        missed = f"not contacted within {step.after} by {holder}"
        ran = True
        if step.action == REMIND:
            done = self._tell(lead, group, step, [holder], REMIND, f"a reminder: {missed}")
        elif step.action == MANAGERS:
            managers = [u.id for u in alert_recipients(self.cfg, group.name)]
            done = self._tell(lead, group, step, managers, MANAGERS, f"{missed}: the managers are told")
        elif step.escalate_to:
            done = self._move(lead, group, step, step.escalate_to, ESCALATED, f"{missed}; escalated by the SLA")
        else:
            done, ran = self._reroute(lead, group, step, missed)
        if ran:
            self.changes.sla_steps.append((lead["id"], lead["assigned_at"], number, str(step), self.at,
                                           done.assigned_to))
        if done.assigned_to is not None or not done.moved:  # (one that stayed: its managers are told instead)
            self.out.append(done)
        return done.moved and done.assigned_to is not None

    def lapse(self, lead: dict, group: Group) -> None:
        """An offer not accepted in time: the group's method gives the lead to the next member
        who never let it lapse (method `declined`, counted; offered to them in turn). With
        nobody free now it stays, the managers told, and the next tick tries again."""
        holder = lead["assigned_to"]
        why = f"{holder} did not accept it within {group.sla.accept_within}"
        passed = frozenset((u, "let it lapse") for u in self.ledger.lapsed_holders(lead["id"]) | {holder})
        _, decision = self.policy.turn(group.name, self.day, self.alloc, self.moment.away | passed, self.moment.backups,
                                       overflow=False)
        if decision.user is None:  # it stays (not said on tick's output: the managers are told)
            self.changes.trouble(group.name, lead["id"], f"{why}; {decision.reason}")
            return
        reason = why + (f"; {decision.reason}" if decision.reason else "")
        self.out.append(self._move(lead, group, None, decision.user, DECLINED, reason,
                                   passed_over=decision.passed_over, backup_for=decision.backup_for))

    def _tell(self, lead: dict, group: Group, step: Step, users: list[str], method: str, why: str) -> Reroute:
        for user in users:
            self.changes.tell(lead["id"], user, method, why)
        holder = lead["assigned_to"]
        return Reroute(lead["id"], holder, holder, group.name, method, why + (f" ({', '.join(users)})" if
                                                                               method == MANAGERS and users else ""),
                       str(step))

    def _move(self, lead: dict, group: Group, step: Step | None, user: str, method: str, why: str, *,
              passed_over: str | None = None, backup_for: str | None = None) -> Reroute:
        name = str(step) if step else "offer"
        offered = method in OFFERED and bool(group.sla.accept_within)  # the next holder accepts it in turn
        if offered:
            why = f"{why}; offered: accept within {group.sla.accept_within}"
        if user == lead["assigned_to"]:  # (an escalation to the very holder: nothing to move)
            return Reroute(lead["id"], user, None, group.name, method, f"{why}: {user} holds it already", name)
        self.changes.move(lead["id"], user, group.name, method, why, self.at, actor=label_of(self.actor),
                          via=channel_of(self.actor), passed_over=passed_over, backup_for=backup_for)
        self.changes.tell(lead["id"], user, method, why)
        if offered:
            self.changes.offers.append(offer(lead["id"], self.at, user, group.name, offer_seconds(group)))
        return Reroute(lead["id"], lead["assigned_to"], user, group.name, method, why, name)

    def _reroute(self, lead: dict, group: Group, step: Step, missed: str) -> tuple[Reroute, bool]:
        """The group's next eligible member who never held it (no overflow: the group that
        missed it makes up for it); after `max_hops`, `escalate_to`, else it stays (the managers
        told). With nobody free now the step has not run (False): the next tick tries again."""
        history = self.ledger.history(lead["id"])
        holders = {e["assigned_to"] for e in history if e["assigned_to"]}
        hops = sum(1 for e in history if e["method"] == SLA)
        if hops >= group.max_hops:
            if group.escalate_to and group.escalate_to != lead["assigned_to"]:
                return self._move(lead, group, step, group.escalate_to, ESCALATED,
                                  f"{missed}; escalated after {hops} re-route(s)"), True
            self.changes.trouble(group.name, lead["id"], f"{missed}, after {hops} re-route(s)")
            return Reroute(lead["id"], lead["assigned_to"], None, group.name, SLA,
                           f"{missed}, after {hops} re-route(s)", str(step)), True
        held = frozenset((u, "held it") for u in holders)  # never back to anyone in this chain
        _, decision = self.policy.turn(group.name, self.day, self.alloc, self.moment.away | held, self.moment.backups,
                                       overflow=False)
        if decision.user is None:
            self.changes.trouble(group.name, lead["id"], f"{missed}; {decision.reason}")
            return Reroute(lead["id"], lead["assigned_to"], None, group.name, SLA, f"{missed}; {decision.reason}",
                           str(step)), False
        why = missed + (f"; {decision.reason}" if decision.reason else "")
        return self._move(lead, group, step, decision.user, SLA, why, passed_over=decision.passed_over,
                          backup_for=decision.backup_for), True
