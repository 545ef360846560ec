"""Which rule a lead meets: the config's rules in order, each condition compiled once; the
first rule the lead's fields meet whose group takes its record type decides, else the default
group. `trace` says the same for a person (`rule test`): the rule met, and for each earlier
one the first condition that failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..config import Config, Group, Rule
from .condition_tests import first_of
from .conditions import beyond_key, compile_condition, first_failure, key_of


def lowered(fields: dict[str, str]) -> dict[str, str]:
    """A lead's fields as conditions read them: names and values in lower case, values trimmed."""
    return {k.lower(): v.strip().lower() for k, v in fields.items()}


_PLACE = re.compile(r"\{([^{}]+)\}")


def needed_tags(rule: Rule, fields: dict[str, str]) -> tuple[str, ...]:
    """The tags a lead routed by `rule` asks of a member: each `{field}` filled with the lead's
    value (in lower case). A tag whose field the lead leaves empty asks nothing (the lead does
    not say what it needs)."""
    out = []
    for tag in rule.require_tags:
        if "{" in tag:
            low = {k.lower(): v.strip().lower() for k, v in fields.items()}
            values = [low.get(m.group(1).strip().lower(), "") for m in _PLACE.finditer(tag)]
            if not all(values):
                continue
            tag = _PLACE.sub(lambda m: low.get(m.group(1).strip().lower(), ""), tag)
        out.append(tag)
    return tuple(out)


@dataclass
class Trace:
    """What the rules made of one record: the rule met (its number; None: the default group),
    the group it goes to (None: nowhere), and why each earlier rule did not take it."""

    number: int | None
    group: str | None
    misses: list[dict] = field(default_factory=list)  # {"rule": n, "failed": "condition (its value)"}


class RuleBook:
    """The rules, indexed: a rule that can only hold for some values of one field (`country=US`,
    `source=a|b`, either of them beside other conditions) is found by a look-up of the lead's
    value; the rules no such key narrows are tried, between those, by one generated function
    (`conditions.first_of`). Hundreds of rules cost a lead a few look-ups, not hundreds of tests."""

    def __init__(self, cfg: Config):
        self.default = cfg.group(cfg.default_group) if cfg.default_group else None
        nowhere = Group(name="")  # a territories rule with no fallback group, and no default group
        self.rules = [(n, r, None, cfg.group(r.group) if r.group else self.default or nowhere)
                      for n, r in enumerate(cfg.rules, 1)]  # (number, rule, -, its group): each test is
        # compiled where it is asked — the free ones in `first_free`, an indexed one's rest in `rest`
        self.free: list[int] = []  # positions of the rules any lead may meet
        self.keyed: dict[str, dict[str, list[int]]] = {}  # field -> value -> positions of the rules it opens
        self.rest: dict[int, object] = {}  # an indexed rule's position -> the test of what its key leaves
        for i, (_, rule, _, _) in enumerate(self.rules):
            key = key_of(rule.when)
            if key is None:
                self.free.append(i)
            else:
                self.rest[i] = compile_condition(beyond_key(rule.when))
                table = self.keyed.setdefault(key[0], {})
                for value in key[1]:
                    table.setdefault(value, []).append(i)
        self.one_key = next(iter(self.keyed.items())) if len(self.keyed) == 1 else None
        self.numbers = {id(rule): n for n, rule, _, _ in self.rules}  # a rule -> its number (`number`)
        self.first_free = first_of([(i, self.rules[i][1].when) for i in self.free])

    def number(self, rule: Rule | None) -> int | None:
        """The number a rule `group_for` returned has (1 = tried first); None for none."""
        return self.numbers.get(id(rule)) if rule is not None else None

    def __bool__(self) -> bool:
        return bool(self.rules)

    def _keyed(self, low: dict[str, str]) -> list[int] | tuple:
        """Positions of the indexed rules this lead may meet, in order."""
        if self.one_key is not None:  # the common case: every indexed rule on one field
            name, table = self.one_key
            return table.get(low.get(name), ())
        found = [hits for name, table in self.keyed.items() if (hits := table.get(low.get(name)))]
        if len(found) < 2:
            return found[0] if found else ()
        return sorted(set().union(*found))

    def group_for(self, fields: dict[str, str], kind: str, low: dict | None = None) -> tuple[Group | None, Rule | None]:
        """The first rule the fields meet whose group takes this record type, and its group;
        else the default group (and no rule). A rule met whose group takes another type is
        passed over; when no group fits, the first one met is returned, for the rejection to
        name it. (`low`: the fields `lowered` already.)

        The free rules are asked once (the first of them the lead meets, `f`); only the indexed
        rules before `f` are tested, in order, before it."""
        low = low if low is not None else lowered(fields)
        rules, end, first = self.rules, len(self.rules), None
        keyed = self._keyed(low)
        at, start = 0, 0
        while True:
            f = self.first_free(low, start, end) if self.free else end
            while at < len(keyed) and keyed[at] < f:
                _, rule, _, group = rules[keyed[at]]
                at += 1
                if self.rest[keyed[at - 1]](low):
                    if group.record_type == kind:
                        return group, rule
                    first = first or (group, rule)
            if f == end:
                break
            group = rules[f][3]
            if group.record_type == kind:
                return group, rules[f][1]
            first, start = first or (group, rules[f][1]), f + 1
        if first is None or (self.default is not None and self.default.record_type == kind):
            return self.default, None
        return first

    def trace(self, fields: dict[str, str], kind: str) -> Trace:
        low = lowered(fields)
        misses = []
        for number, rule, _, group in self.rules:
            if not compile_condition(rule.when)(low):
                misses.append({"rule": number, "failed": first_failure(rule.when, low)})
            elif group.record_type != kind:
                misses.append({"rule": number, "failed": f"group '{group.name}' takes {group.record_type}s, not {kind}s"})
            else:
                return Trace(number, group.name, misses)
        return Trace(None, self.default.name if self.default else None, misses)
