"""A rule's conditions, as teams write them: parsed from `--when` or the file, compiled once
into a test of a lead's fields, described back, and compared (does one rule take every lead
another could?).

`--when` (all must hold; with `--any`, one): `F=V`, `F!=V`, `F=A|B`, `F~TEXT` (contains),
`F^=TEXT` (starts with), `F$=TEXT` (ends with), `F>N`, `F>=N`, `F<N`, `F<=N` (numbers: a value
that is no number never matches), `F=/REGEX/` (Python syntax, case-insensitive, searched
anywhere), `F?` (present and not empty). Text compares case-insensitively, spaces trimmed.

In the file: `when = {all = [...]}`, `{any = [...]}`, `{not = ...}` nest; a leaf is `{field,
op, value}` with op one of OPS; the short form `when = {source = "partner|referral"}` (each
key a field, all must hold, `A|B` either) is what the file held before and stays valid.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

OPS = ("eq", "ne", "in", "contains", "starts_with", "ends_with", "gt", "gte", "lt", "lte", "regex", "exists")
NUMERIC = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_SIGNS = {"eq": "=", "ne": "!=", "in": "=", "contains": "~", "starts_with": "^=", "ends_with": "$=", **NUMERIC}
# `--when` operators, longest first where one begins another
_CLI = (("!=", "ne"), ("^=", "starts_with"), ("$=", "ends_with"), (">=", "gte"), ("<=", "lte"), ("=", "eq"),
        ("~", "contains"), (">", "gt"), ("<", "lt"))
_OPERATOR_CHARS = re.compile(r"[!^$<>=~]")
MAX_REGEX = 500
# A regex looks at a value's first characters only: a lead's values come from outside, and a
# pattern that backtracks badly must not let a long one stall routing.
MAX_SEARCHED = 1000


@lru_cache(maxsize=1024)
def regex_test(pattern: str):
    """How a pattern is run: `search`, or `match` when it can only match at the start (`^` first,
    no alternation around it, no multi-line flag): the same answer, one attempt instead of one
    per position."""
    compiled = re.compile(pattern, re.IGNORECASE)
    return compiled.match if _anchored(compiled) else compiled.search


def _anchored(compiled: re.Pattern) -> bool:
    try:  # the parser's own view of the pattern (a private module: if it moves, search it is)
        from re import _constants, _parser

        parsed = _parser.parse(compiled.pattern)
        first = parsed.data[0] if parsed.data else None
        return first == (_constants.AT, _constants.AT_BEGINNING) and not compiled.flags & re.MULTILINE
    except Exception:  # noqa: BLE001
        return False


class BadCondition(ValueError):
    """A condition that cannot be read or compiled (the message says which and why)."""


@dataclass(frozen=True)
class Leaf:
    field: str  # lower case
    op: str
    value: str | tuple[str, ...] | float | None = None  # text (as written), values (`in`), a number, None (exists)


@dataclass(frozen=True)
class All:
    parts: tuple


@dataclass(frozen=True)
class Any:
    parts: tuple


@dataclass(frozen=True)
class Not:
    part: object


Condition = Leaf | All | Any | Not


# -- reading ---------------------------------------------------------------------------------
def parse(text: str) -> Leaf:
    """One `--when` condition."""
    text = text.strip()
    if text.endswith("?") and not _OPERATOR_CHARS.search(text[:-1]):
        return _leaf(text[:-1], "exists", None, text)
    found = _OPERATOR_CHARS.search(text)
    if not found:
        raise BadCondition(f"--when '{text}' must look like FIELD=VALUE (or FIELD!=VALUE, FIELD=A|B, FIELD~TEXT,"
                           " FIELD^=TEXT, FIELD$=TEXT, FIELD>N, FIELD<=N, FIELD=/REGEX/, FIELD?)")
    name, rest = text[:found.start()], text[found.start():]
    sign, op = next((s, o) for s, o in _CLI if rest.startswith(s))
    value = rest[len(sign):].strip()
    if op == "eq" and len(value) >= 2 and value.startswith("/") and value.endswith("/"):
        return _leaf(name, "regex", value[1:-1], text)
    if op == "eq" and "|" in value:
        return _leaf(name, "in", tuple(v.strip() for v in value.split("|")), text)
    return _leaf(name, op, value, text)


def _leaf(name: str, op: str, value, written: str) -> Leaf:
    name = name.strip().lower()
    if not name:
        raise BadCondition(f"condition '{written}' names no field")
    if op not in OPS:
        raise BadCondition(f"condition on '{name}': unknown op '{op}' (use {', '.join(OPS)})")
    if op == "exists":
        return Leaf(name, op, None)
    if op == "in":
        values = value if isinstance(value, (list, tuple)) else str(value).split("|")
        values = tuple(str(v).strip() for v in values)
        if not values or not all(values):
            raise BadCondition(f"condition '{written}': every value of A|B must be given")
        return Leaf(name, op, values)
    if op in NUMERIC:
        number = _number(value)
        if number is None:
            raise BadCondition(f"condition '{written}': {value!r} is not a number")
        return Leaf(name, op, number)
    value = "" if value is None else str(value).strip()
    if op == "regex":
        if len(value) > MAX_REGEX:
            raise BadCondition(f"condition '{written}': the regex is longer than {MAX_REGEX} characters")
        try:
            re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise BadCondition(f"condition '{written}': the regex does not compile ({exc})") from None
    elif not value and op != "ne":
        raise BadCondition(f"condition '{written}' needs a value")
    return Leaf(name, op, value)


def from_data(data, where: str = "when") -> Condition:
    """A condition as the file holds it (see the module's doc)."""
    if not isinstance(data, dict) or not data:
        raise BadCondition(f"{where} must be a table: {{all = [...]}}, {{any = [...]}}, {{not = ...}},"
                           " {field = ..., op = ..., value = ...} or {FIELD = \"VALUE\"}")
    keys = set(data)
    if keys in ({"all"}, {"any"}):
        (key,) = keys
        parts = data[key]
        if not isinstance(parts, list) or not parts:
            raise BadCondition(f"{where}.{key} must be a list of conditions")
        parts = tuple(from_data(p, f"{where}.{key}[{i}]") for i, p in enumerate(parts, 1))
        return All(parts) if key == "all" else Any(parts)
    if keys == {"not"}:
        return Not(from_data(data["not"], f"{where}.not"))
    if "field" in keys and "op" in keys and keys <= {"field", "op", "value"}:
        op, name = data["op"], data["field"]
        if not isinstance(op, str) or not isinstance(name, str):
            raise BadCondition(f"{where}: field and op must be text")
        value = data.get("value")
        if op not in ("exists", "in") and not isinstance(value, (str, int, float)):
            raise BadCondition(f"{where}: condition on '{name}' ({op}) needs a value")
        return _leaf(name, op, value, f"{name} {op} {value}")
    if keys & {"all", "any", "not", "op"}:
        raise BadCondition(f"{where}: mixes all/any/not/op with other keys ({', '.join(sorted(keys))})")
    parts = []
    for name, value in data.items():  # the short form: FIELD = "VALUE" or "A|B"
        if not isinstance(value, str):
            raise BadCondition(f"{where}.{name} must be text")
        parts.append(parse(f"{name}={value}") if "|" in value else _leaf(name, "eq", value, f"{name}={value}"))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def to_data(cond: Condition):
    """The file's form of a condition: the short form when it is one (all equalities on
    different fields), else the nested one."""
    leaves = cond.parts if isinstance(cond, All) else (cond,)
    if (all(isinstance(p, Leaf) and p.op in ("eq", "in") for p in leaves)
            and len({p.field for p in leaves}) == len(leaves)
            and not any(p.op == "eq" and "|" in p.value for p in leaves)):
        return {p.field: p.value if p.op == "eq" else "|".join(p.value) for p in leaves}
    return _nested(cond)


def _nested(cond: Condition):
    if isinstance(cond, All):
        return {"all": [_nested(p) for p in cond.parts]}
    if isinstance(cond, Any):
        return {"any": [_nested(p) for p in cond.parts]}
    if isinstance(cond, Not):
        return {"not": _nested(cond.part)}
    value = list(cond.value) if isinstance(cond.value, tuple) else cond.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return {"field": cond.field, "op": cond.op, **({"value": value} if value is not None else {})}


# -- saying it back ----------------------------------------------------------------------------
def describe(cond: Condition | None) -> str:
    """One line, in `--when` words: `country=US and (size>=100 or tier=gold)`."""
    if cond is None:
        return "(every lead)"
    if isinstance(cond, (All, Any)):
        joiner = " and " if isinstance(cond, All) else " or "
        return joiner.join(f"({describe(p)})" if isinstance(p, (All, Any)) else describe(p) for p in cond.parts)
    if isinstance(cond, Not):
        return f"not ({describe(cond.part)})"
    if cond.op == "exists":
        return f"{cond.field}?"
    if cond.op == "regex":
        return f"{cond.field}=/{cond.value}/"
    if cond.op == "in":
        return f"{cond.field}={'|'.join(cond.value)}"
    value = f"{cond.value:g}" if isinstance(cond.value, float) else cond.value
    return f"{cond.field}{_SIGNS[cond.op]}{value}"


# -- testing a lead ----------------------------------------------------------------------------
Test = Callable[[dict], bool]


def compile_condition(cond: Condition | None) -> Test:
    """A test of a lead's fields, given as {field in lower case: value stripped, in lower case}:
    built once (regexes compiled here), run for every lead. Closures: cheap to build, for the
    rules an index picks out (a lead calls one or two); `first_of` makes one function of many."""
    if cond is None:
        return lambda low: True
    if isinstance(cond, (All, Any)):
        tests = tuple(compile_condition(p) for p in cond.parts)
        if len(tests) == 2:  # the common case, without a loop
            first, second = tests
            if isinstance(cond, All):
                return lambda low: first(low) and second(low)
            return lambda low: first(low) or second(low)
        if isinstance(cond, All):
            return lambda low: all(t(low) for t in tests)
        return lambda low: any(t(low) for t in tests)
    if isinstance(cond, Not):
        test = compile_condition(cond.part)
        return lambda low: not test(low)
    name, op, value = cond.field, cond.op, cond.value
    if op == "exists":
        return lambda low: bool(low.get(name))
    if op == "regex":
        search = regex_test(value)
        return lambda low: (v := low.get(name)) is not None and search(v, 0, MAX_SEARCHED) is not None
    if op in NUMERIC:
        compare = _COMPARE[op]
        return lambda low: (compare(int(v), value) if (v := low.get(name)) and len(v) < 16 and v.isdecimal()
                            else _number_in(v, compare, value))  # (a short whole number, the common case, inline)
    if op == "in":
        values = frozenset(v.lower() for v in value)
        return lambda low: low.get(name) in values
    text = value.lower()
    if op == "eq":
        return lambda low: low.get(name) == text
    if op == "ne":
        return lambda low: low.get(name) != text
    if op == "contains":
        return lambda low: (v := low.get(name)) is not None and text in v
    if op == "starts_with":
        return lambda low: (v := low.get(name)) is not None and v.startswith(text)
    return lambda low: (v := low.get(name)) is not None and v.endswith(text)  # ends_with


_COMPARE = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _number_in(value: str | None, compare, limit: float) -> bool:
    """Whether a field's value is a number that `compare`s to `limit` (text never is)."""
    if value is None:
        return False
    try:
        number = float(value)
    except ValueError:
        return False
    return compare(number, limit) and math.isfinite(number)


def key_of(cond: Condition | None) -> tuple[str, frozenset[str]] | None:
    """(field, the values in lower case) when the condition can only hold for a lead whose
    field is one of those values: rules are indexed by it (`rulebook.RuleBook`). None: any lead
    may meet it, as far as one field tells."""
    if isinstance(cond, Leaf):
        if cond.op == "eq":
            return cond.field, frozenset((cond.value.lower(),))
        if cond.op == "in":
            return cond.field, frozenset(v.lower() for v in cond.value)
        return None
    if isinstance(cond, All):
        return next((k for p in cond.parts if (k := key_of(p)) is not None), None)
    if isinstance(cond, Any):
        keys = [key_of(p) for p in cond.parts]
        if all(k is not None for k in keys) and len({k[0] for k in keys}) == 1:
            return keys[0][0], frozenset().union(*(k[1] for k in keys))
    return None


def beyond_key(cond: Condition | None) -> Condition | None:
    """What remains to test of `cond` once its key (`key_of`) is known to hold — the index
    found the rule by the lead's value: in an `all`, the other parts (and what the keyed part
    leaves); an `any` of plain values, nothing; an `any` of more, all of it. None: nothing."""
    if isinstance(cond, All):
        at = next(i for i, p in enumerate(cond.parts) if key_of(p) is not None)
        left = beyond_key(cond.parts[at])
        rest = cond.parts[:at] + ((left,) if left is not None else ()) + cond.parts[at + 1:]
        return None if not rest else rest[0] if len(rest) == 1 else All(rest)
    if isinstance(cond, Any) and not all(isinstance(p, Leaf) for p in cond.parts):
        return cond
    return None  # a Leaf, or an `any` of values of the key's field: the key is all of it


def first_failure(cond: Condition | None, low: dict) -> str | None:
    """The first condition (in `--when` words) that this lead's fields fail; None if they match."""
    if cond is None or compile_condition(cond)(low):
        return None
    if isinstance(cond, All):
        return next(f for p in cond.parts if (f := first_failure(p, low)) is not None)
    if isinstance(cond, Leaf):
        shown = cond.field in low and low[cond.field]
        return f"{describe(cond)} ({cond.field} is '{low[cond.field]}')" if shown else f"{describe(cond)} (no {cond.field})"
    return describe(cond)  # one of `any`, or a `not`, as a whole


def _number(value) -> float | None:
    """A number, or None for anything that is not one (text, empty, NaN, infinity)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
    return number if math.isfinite(number) else None


# -- comparing rules -----------------------------------------------------------------------------
def covers(earlier: Condition | None, later: Condition | None) -> bool:
    """Whether every lead `later` matches, `earlier` matches too (so a rule with `later` after
    one with `earlier` never gets a lead). Conservative: True only when it can tell from
    conditions on the same fields (equalities and sets, presence, prefixes, text contained,
    number ranges); False when unsure."""
    if earlier is None:
        return True
    if later is None:
        return False
    mine = later.parts if isinstance(later, All) else (later,)
    if isinstance(earlier, All):
        return all(covers(p, later) for p in earlier.parts)
    if isinstance(earlier, Any):
        return any(covers(p, later) for p in earlier.parts)
    if not isinstance(earlier, Leaf):
        return False
    return any(isinstance(m, Leaf) and m.field == earlier.field and _leaf_covers(earlier, m) for m in mine)


def _leaf_covers(a: Leaf, b: Leaf) -> bool:
    """Whether any value `b` accepts, `a` accepts (same field)."""
    if a == b:
        return True
    accepted = _texts(b)
    if a.op == "exists":
        return b.op not in ("ne",)  # anything but `!=` needs a value
    if accepted is not None:  # b accepts a known set of texts
        test = compile_condition(a)
        return all(test({a.field: t}) for t in accepted)
    if a.op in NUMERIC and b.op in NUMERIC:
        lo_a, hi_a = _range(a)
        lo_b, hi_b = _range(b)
        return lo_a <= lo_b and hi_b <= hi_a
    if b.op == "starts_with" and a.op == "starts_with":
        return b.value.lower().startswith(a.value.lower())
    if b.op == "ends_with" and a.op == "ends_with":
        return b.value.lower().endswith(a.value.lower())
    if a.op == "contains" and b.op in ("contains", "starts_with", "ends_with"):
        return a.value.lower() in b.value.lower()
    return False


def _texts(leaf: Leaf) -> tuple[str, ...] | None:
    if leaf.op == "eq":
        return (leaf.value.lower(),)
    if leaf.op == "in":
        return tuple(v.lower() for v in leaf.value)
    return None


def _range(leaf: Leaf) -> tuple[float, float]:
    """The numbers a comparison accepts, as a closed-enough interval (open ends nudged)."""
    eps = 1e-9 * max(1.0, abs(leaf.value))
    return {"gt": (leaf.value + eps, math.inf), "gte": (leaf.value, math.inf),
            "lt": (-math.inf, leaf.value - eps), "lte": (-math.inf, leaf.value)}[leaf.op]
