"""A group's SLA ladder as the config keeps it: steps run in order of how long after the
assignment (`15m:remind`, `45m:notify-managers`, `1h:reroute`, `2h:escalate:boss`), on the
wall clock or only in the holder's working hours (`clock = "business"`).

In the file: `[groups.NAME.sla]` with `clock`, and `[[groups.NAME.sla.steps]]` tables of
`after` and `action`. A group's `contact_within = "15m"` is the one-step shorthand for
`15m:reroute` (`steps_of`). What the steps do is `assign/sla.py`; this module only reads,
writes and checks them (and durations, which every option with one shares).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError

ACTIONS = ("remind", "notify-managers", "reroute", "escalate:USER")
CLOCKS = ("wall", "business")
MAX_STEPS = 20
MAX_DURATION = 365 * 86400  # seconds: no SLA, poll or link is meant to wait more than a year
_DURATION = re.compile(r"^(\d{1,9})([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str, option: str = "--contact-within") -> int:
    """A duration like 90s, 15m, 4h or 2d, from 1s to 365d, in seconds; anything else is a ConfigError."""
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise ConfigError(f"{option} '{text}' is not a duration like 15m (a whole number and s, m, h or d)")
    seconds = int(m.group(1)) * _UNIT[m.group(2)]
    if seconds < 1:
        raise ConfigError(f"{option} '{text}' is too short: the least is 1s")
    if seconds > MAX_DURATION:
        raise ConfigError(f"{option} '{text}' is too long: the most is 365d")
    return seconds


@dataclass(frozen=True)
class Step:
    after: str  # a duration from the assignment ("15m")
    action: str  # remind | notify-managers | reroute | escalate:USER

    @property
    def seconds(self) -> int:
        return duration_seconds(self.after)

    @property
    def escalate_to(self) -> str | None:
        return self.action.split(":", 1)[1] if self.action.startswith("escalate:") else None

    def __str__(self) -> str:
        return f"{self.after}:{self.action}"


@dataclass(frozen=True)
class Ladder:
    """`[groups.NAME.sla]`: the steps, in order of `after`; the clock they are measured on."""

    steps: tuple[Step, ...] = ()
    clock: str = "wall"
    accept_within: str = ""  # a lead is offered: its holder accepts it within this, else it moves on

    def __bool__(self) -> bool:
        return bool(self.steps or self.accept_within)

    def to_data(self) -> dict:
        return {**({"clock": self.clock} if self.clock != "wall" else {}),
                **({"accept_within": self.accept_within} if self.accept_within else {}),
                "steps": [{"after": s.after, "action": s.action} for s in self.steps]}


def steps_of(group) -> tuple[Step, ...]:
    """The group's SLA steps: its ladder, else `contact_within` as one re-route, else none."""
    if group.sla.steps:
        return group.sla.steps
    return (Step(group.contact_within, "reroute"),) if group.contact_within else ()


def offer_seconds(group) -> int:
    """How long the group's holder has to accept a lead (0: leads are not offered, just given)."""
    return duration_seconds(group.sla.accept_within) if group.sla.accept_within else 0


def parse_step(text: str) -> Step:
    """`AFTER:ACTION` as `group sla --step` takes it (`15m:remind`, `2h:escalate:boss`)."""
    after, _, action = text.strip().partition(":")
    step = Step(after.strip().lower(), action.strip())
    check_step(step, f"--step '{text}'")
    return step


def check_step(step: Step, what: str) -> None:
    duration_seconds(step.after, f"{what}: after")
    if step.action not in ACTIONS[:-1] and not (step.escalate_to and step.escalate_to.strip()):
        raise ConfigError(f"{what}: '{step.action}' is not an action ({', '.join(ACTIONS)})")


def ordered(steps) -> tuple[Step, ...]:
    """The steps in the order they run (by `after`; equal ones as written)."""
    steps = tuple(steps)
    if len(steps) > MAX_STEPS:
        raise ConfigError(f"an SLA has at most {MAX_STEPS} steps, not {len(steps)}")
    return tuple(sorted(steps, key=lambda s: s.seconds))


def from_data(data, what: str) -> Ladder:
    """`[groups.NAME.sla]` read: keys and types checked, steps put in order."""
    if not isinstance(data, dict):
        raise ConfigError(f"{what}: sla must be a table")
    unknown = set(data) - {"clock", "steps", "accept_within"}
    if unknown:
        raise ConfigError(f"{what}: sla: unknown key '{sorted(unknown)[0]}' (use clock, accept_within, steps)")
    accept = data.get("accept_within", "")
    if not isinstance(accept, str):
        raise ConfigError(f"{what}: sla: accept_within must be a duration like 5m")
    if accept:
        duration_seconds(accept, f"{what}: sla: accept_within")
    clock = data.get("clock", "wall")
    if clock not in CLOCKS:
        raise ConfigError(f"{what}: sla: clock '{clock}' is not one of {', '.join(CLOCKS)}")
    raw = data.get("steps", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{what}: sla: steps must be a list of tables")
    steps = []
    for i, s in enumerate(raw, 1):
        if not isinstance(s, dict) or set(s) != {"after", "action"} or not all(isinstance(v, str) for v in s.values()):
            raise ConfigError(f"{what}: sla step {i}: needs after (a duration) and action (text), nothing else")
        step = Step(s["after"].strip().lower(), s["action"].strip())
        check_step(step, f"{what}: sla step {i}")
        steps.append(step)
    return Ladder(ordered(steps), clock, accept.strip().lower())


def check_users(ladder: Ladder, group: str, users: set[str]) -> None:
    for step in ladder.steps:
        if step.escalate_to and step.escalate_to not in users:
            raise ConfigError(f"group '{group}': SLA step {step} escalates to '{step.escalate_to}', who is not a user")
