"""Many rules' conditions run against a lead in one call: `first_of` makes one function of
many conditions (generated source, values passed by name, a prefilter per field and kind of
text test) for the rules no index narrows (`rulebook.py`). What a condition means, and its
plain test (`compile_condition`), are `conditions.py`; a property test holds them together.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .conditions import _COMPARE, MAX_SEARCHED, NUMERIC, All, Any, Condition, Not, _number_in, regex_test


def first_of(conditions: list[tuple[int, Condition]]) -> Callable[[dict, int, int], int]:
    """One function for many conditions, each with its number (ascending): `first(low, start,
    stop)` is the number of the first in [start, stop) that the fields meet, else `stop`
    (`rulebook` tries the rules no index narrows with it). Each field is read once, and the
    text tests on one field are first asked all at once — `endswith` a tuple of every suffix,
    one regex of every text contained, one of every pattern — so a lead whose value can meet
    none of them pays one C call for them all; the conditions behind one prefilter are tested
    only when it holds (the first of them met is the best that prefilter can give: the rest of
    its block is skipped)."""
    code = _Code()
    blocks: dict[str | None, list[tuple[int, str]]] = {}  # a prefilter (None: none) -> (n, test), in order
    for n, cond in conditions:
        test = code.expression(cond) if cond is not None else "True"
        guard = code.guard(cond) if cond is not None else None
        blocks.setdefault(guard, []).append((n, test))
    body = ""
    for guard, tests in blocks.items():
        pad = "        " if guard else "    "
        body += f"    if {guard}:\n" if guard else ""
        body += "".join(f"{pad}{'elif' if i else 'if'} start <= {n} < best and {test}:\n{pad}    best = {n}\n"
                        for i, (n, test) in enumerate(tests))
    exec(f"def first(low, start, stop):\n{code.prelude()}    best = stop\n{body}    return best\n",  # noqa: S102
         code.names)
    return code.names["first"]


class _Code:
    """The source of `first_of`'s function: every value a name in `names` (never text of a
    rule), a variable per field read once, a prefilter per field and kind of text test."""

    def __init__(self):
        self.names: dict[str, object] = {"_number_in": _number_in}
        self.fields: dict[str, str] = {}  # field -> its variable
        self.filters: dict[tuple[str, str], tuple[str, list[str]]] = {}  # (field, op) -> (variable, values)

    def name_of(self, value) -> str:
        key = f"_{len(self.names)}"
        self.names[key] = value
        return key

    def expression(self, cond: Condition) -> str:
        if isinstance(cond, (All, Any)):
            joiner = " and " if isinstance(cond, All) else " or "
            return "(" + joiner.join(self.expression(p) for p in cond.parts) + ")"
        if isinstance(cond, Not):
            return f"(not {self.expression(cond.part)})"
        op, value = cond.op, cond.value
        v = self.fields.setdefault(cond.field, f"f{len(self.fields)}")
        if op == "exists":
            return f"bool({v})"
        if op in NUMERIC:
            return f"_number_in({v}, {self.name_of(_COMPARE[op])}, {self.name_of(value)})"
        if op == "in":
            return f"({v} in {self.name_of(frozenset(x.lower() for x in value))})"
        if op in ("eq", "ne"):
            return f"({v} {'==' if op == 'eq' else '!='} {self.name_of(value.lower())})"
        var, values = self.filters.setdefault((cond.field, op), (f"p{len(self.filters)}", []))
        values.append(value if op == "regex" else value.lower())
        if op == "regex":
            return f"({var} and {self.name_of(regex_test(value))}({v}, 0, {MAX_SEARCHED}) is not None)"
        if op == "contains":
            return f"({var} and {self.name_of(value.lower())} in {v})"
        method = "startswith" if op == "starts_with" else "endswith"
        return f"({var} and {v}.{method}({self.name_of(value.lower())}))"

    def guard(self, cond: Condition) -> str | None:
        """A prefilter that must hold for `cond` to (after `expression` made them), or None."""
        if isinstance(cond, All):
            return next((g for p in cond.parts if (g := self.guard(p))), None)
        if isinstance(cond, Any):
            guards = [self.guard(p) for p in cond.parts]
            return f"({' or '.join(guards)})" if all(guards) else None
        if isinstance(cond, Not):
            return None
        found = self.filters.get((cond.field, cond.op))
        return found[0] if found else None

    def prelude(self) -> str:
        """The fields read, then each prefilter: could any test of its kind on its field hold?"""
        out = "".join(f"    {v} = low.get({self.name_of(field)})\n" for field, v in self.fields.items())
        for (field, op), (var, values) in self.filters.items():
            v = self.fields[field]
            if op in ("starts_with", "ends_with"):
                method = "startswith" if op == "starts_with" else "endswith"
                test = f"{v}.{method}({self.name_of(tuple(values))})"
            elif op == "regex":
                run = _combined(values)  # None: each pattern on its own
                test = f"{self.name_of(run)}({v}, 0, {MAX_SEARCHED}) is not None" if run else "True"
            else:  # texts contained, anywhere in the value (as `in` looks)
                test = self._contained(v, values)
            out += f"    {var} = {v} is not None and {test}\n"
        return out

    def _contained(self, v: str, values: list[str]) -> str:
        """Whether any of `values` is in `v`: a chain of `in` for up to three (an `in` costs a
        quarter of a regex call; measured), else one regex of them all — both sides in lower
        case already, so without IGNORECASE (which stops sre looking for their common prefix)."""
        if len(values) <= 3:
            return "(" + " or ".join(f"{self.name_of(x)} in {v}" for x in values) + ")"
        return f"{self.name_of(re.compile('|'.join(map(re.escape, values))).search)}({v}) is not None"


def _combined(patterns: list[str]):
    """One test of every pattern at once — `match` when all are anchored at the start, else
    `search` — or None when they do not mean the same side by side in one alternation: one
    refers back to a group by number or name, or sets flags for the whole pattern, or together
    they do not compile."""
    if any(re.search(r"\\[1-9]|\(\?P=|\(\?[aiLmsux]+\)", p) for p in patterns):
        return None
    try:
        if all(regex_test(x).__name__ == "match" for x in patterns):
            return re.compile("|".join(f"(?:{x[1:]})" for x in patterns), re.IGNORECASE).match
        return re.compile("|".join(f"(?:{x})" for x in patterns), re.IGNORECASE).search
    except re.error:
        return None
