"""Territories as data: rows of `territory,country,state,zip,target,priority`, and the one a
lead falls in.

A lead's country (ISO code, alpha-3, or English name, any case: pycountry's list of countries,
a well-kept one), state (code or name, for the countries pycountry lists subdivisions of; for
Germany its English names too) and zip are matched against the rows of its country; the most
specific row wins — an exact zip, then the longest zip prefix (`94*`), then a zip range
(`94000-94999`, the narrowest first), then the state, then the country alone — and among rows
equally specific, the higher `priority`, then the earlier row. Each kind of row is a look-up,
not a scan: a table of thousands of rows costs a lead a few dictionary reads. (`places.py`
turns a country's or state's name into its code.)
"""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_right
from heapq import heappop, heappush
from itertools import repeat
from typing import NamedTuple

from .places import country_code, state_code, zip_text

COLUMNS = ("territory", "country", "state", "zip", "target", "priority")
EXACT, PREFIX, RANGE, STATE, COUNTRY = 5, 4, 3, 2, 1  # specificity, most specific first
KINDS = {EXACT: "zip", PREFIX: "zip prefix", RANGE: "zip range", STATE: "state", COUNTRY: "country"}
_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")
_PREFIX = re.compile(r"^([0-9A-Z]+)\*$")
MAX_ROWS = 1_000_000
_new = tuple.__new__  # a Row of a plain tuple (`_new(Row, t)`): the index keeps plain tuples, for `marshal`

class BadTerritory(ValueError):
    """A row that cannot be read (the message names its line and why)."""


class Row(NamedTuple):  # (a tuple: ten thousand are made at start-up, a dataclass three times as slowly)
    line: int
    territory: str
    country: str  # ISO alpha-2
    state: str  # its code, or ""
    zip: str  # as written (normalised): "94105", "94*", "94000-94999", or ""
    target: str
    priority: int
    specificity: int

    @property
    def kind(self) -> str:
        return KINDS[self.specificity]

    def describe(self) -> str:
        """`west (US, zip prefix 94*)`: the row as a reason says it."""
        where = self.zip or self.state or self.country
        return f"territory '{self.territory}' ({self.country}, {self.kind} {where})" if where != self.country \
            else f"territory '{self.territory}' ({self.country})"


def read_rows(text: str, check: bool = True) -> list[Row]:
    """The rows of a territory CSV (a header naming COLUMNS; `state`, `zip`, `priority` may be
    empty). A bad row is BadTerritory naming its line. `check`: every country code is looked
    up too (an import, `territory check`); routing reads the table import wrote without it."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise BadTerritory("the file is empty (a header territory,country,state,zip,target,priority first)")
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("territory", "country", "target") if c not in names]
    if missing:
        raise BadTerritory(f"line 1: the header has no {', '.join(missing)} column (use {','.join(COLUMNS)})")
    if not check and tuple(names) == COLUMNS:  # as `import` wrote it: codes, zips and numbers in their form
        rows = _as_written(text.partition("\n")[2])
        if rows is not None:
            return rows
    at = [names.index(c) if c in names else None for c in COLUMNS]
    width = max(i for i in at if i is not None) + 1
    rows = []
    append = rows.append
    for line, cells in enumerate(reader, 2):
        if len(cells) < width:
            if not any(c.strip() for c in cells):
                continue
            cells = cells + [""] * (width - len(cells))
        if len(rows) >= MAX_ROWS:
            raise BadTerritory(f"more than {MAX_ROWS:,} rows")
        append(make_row(line, *[cells[i].strip() if i is not None else "" for i in at], check))
    return rows


def _as_written(body: str) -> list[Row] | None:
    """The rows of a table `to_csv` wrote (each checked when it was imported), read a column
    at a time by C loops (split, zip, map, join) instead of a Python loop a row: a 10,000-row
    table starts in a third of the time. None when the text is not in that form (edited by
    hand: quotes, blank lines, names, spaces, negative priorities), for `read_rows` to read
    each row fully."""
    if '"' in body or "\r" in body:
        return None
    lines = body.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines:
        return []
    cells = [line.split(",") for line in lines]
    if set(map(len, cells)) != {6}:
        return None
    territory, country, state, zip_, target, priority = zip(*cells)
    codes, states, zips, prios = "".join(country), "".join(state), "".join(zip_), "".join(priority)
    if not (all(territory) and all(target) and set(map(len, country)) == {2} and codes.isupper()
            and codes.isalpha() and max(map(len, state)) <= 3 and states == states.upper()
            and zips == zips.upper() and " " not in zips and " " not in "".join(target)
            and (prios.isdigit() or not prios)):
        return None
    ranks = [int(p) if p else 0 for p in priority]
    kinds = [(EXACT if z.isalnum() else PREFIX if z[-1] == "*" else RANGE if _RANGE.match(z) else EXACT)
             if z else STATE if st else COUNTRY for z, st in zip(zip_, state)]
    return list(map(tuple.__new__, repeat(Row), zip(range(2, len(lines) + 2), territory, country, state, zip_,
                                                     target, ranks, kinds)))


def make_row(line: int, territory: str, country: str, state: str, zip_: str, target: str, priority: str,
             check: bool = True) -> Row:
    if not territory:
        raise BadTerritory(f"line {line}: no territory name")
    if not target:
        raise BadTerritory(f"line {line}: territory '{territory}' has no target (a group or a user)")
    code = country_code(country, check)
    if code is None:
        raise BadTerritory(f"line {line}: unknown country '{country[:40]}' (an ISO code or its English name)")
    try:
        rank = int(priority) if priority else 0
    except ValueError:
        raise BadTerritory(f"line {line}: priority '{priority[:20]}' is not a whole number") from None
    state = state_code(code, state) if state else ""
    zip_ = zip_text(zip_) if zip_ else ""
    if not zip_:
        specificity = STATE if state else COUNTRY
    elif zip_.isalnum():
        specificity = EXACT
    elif _RANGE.match(zip_):
        lo, hi = _RANGE.match(zip_).groups()
        if len(lo) != len(hi) or int(lo) > int(hi):
            raise BadTerritory(f"line {line}: zip range '{zip_}' must run from low to high, both ends with as many"
                               " digits (a zip written with a dash, such as 00-950, is written here without it)")
        specificity = RANGE
    elif zip_.endswith("*"):
        if not _PREFIX.match(zip_):
            raise BadTerritory(f"line {line}: zip prefix '{zip_}' must be letters or digits then * (e.g. 94*)")
        specificity = PREFIX
    elif not re.match(r"^[0-9A-Z-]+$", zip_):
        raise BadTerritory(f"line {line}: zip '{zip_}' is not a zip, a prefix (94*) or a range (94000-94999)")
    else:
        specificity = EXACT
    return Row(line, territory, code, state, zip_, target, rank, specificity)


def _order(row: tuple) -> tuple:
    """How rows equally matched rank: higher priority first, then the earlier line."""
    return (-row[6], row[0])


class _Country:
    """One country's rows, by kind: exact zips, zip prefixes and states in dictionaries, zip
    ranges as (lo, hi, (width, -priority, line), row, digits) sorted by their low end and cut
    into `_cuts` per state, the country's own rows; each list in the order it wins."""

    __slots__ = ("code", "exact", "prefix", "lengths", "spans", "cuts", "states", "whole")

    def __init__(self, code: str):
        self.code = code
        self.exact: dict[str, list[Row]] = {}
        self.prefix: dict[str, list[Row]] = {}
        self.lengths: list[int] = []  # the prefix lengths present, longest first
        self.spans: list[tuple] = []
        self.cuts: dict[str, dict] = {}  # a state ("": any) -> `_cuts` of the ranges a lead there may fall in
        self.states: dict[str, list[Row]] = {}
        self.whole: list[Row] = []

    def state_of(self, state: str | None) -> str:
        """A lead's state as this country's rows name it: its code ("" for none)."""
        if not state:
            return ""
        if len(state) <= 3 and state.isalnum():  # a code as it is (the common case: no look-up)
            return state.upper()
        return state_code(self.code, state)


class Table:
    """The rows, indexed per country (`_Country`): a lead costs a few dictionary reads however
    many rows there are."""

    def __init__(self, rows: list[Row]):
        self.rows = rows
        self.countries: dict[str, _Country] = {}
        shared = []  # the lists holding more than one row (to put in the order they win)
        self._plain = list(map(tuple, rows))  # the rows as the index keeps them (plain tuples: `to_index`)
        for r in self._plain:  # (a tight loop: it runs for every row, at every start)
            place = self.countries.get(r[2])
            if place is None:
                place = self.countries[r[2]] = _Country(r[2])
            specificity = r[7]
            if specificity == EXACT:
                index, key = place.exact, r[4]
            elif specificity == PREFIX:
                key = r[4][:-1]
                index = place.prefix
                if len(key) not in place.lengths:
                    place.lengths.append(len(key))
            elif specificity == RANGE:
                low, _, high = r[4].partition("-")
                lo, hi = int(low), int(high)
                place.spans.append((lo, hi, (hi - lo, -r[6], r[0]), r, len(low)))
                continue
            elif specificity == STATE:
                index, key = place.states, r[3]
            else:
                place.whole.append(r)
                if len(place.whole) == 2:
                    shared.append(place.whole)
                continue
            found = index.get(key)
            if found is None:
                index[key] = [r]
            else:
                found.append(r)
                if len(found) == 2:
                    shared.append(found)
        for found in shared:
            found.sort(key=_order)
        for place in self.countries.values():
            place.lengths.sort(reverse=True)
            if place.spans:
                place.spans.sort(key=_low_end)
                for state in {"", *(s[3][3] for s in place.spans)}:
                    place.cuts[state] = _cuts([s for s in place.spans if s[3][3] in ("", state)])
        self._aliases()

    def _aliases(self) -> None:
        """Each country and state code in lower case too: a lead's fields come in lower case."""
        for code, place in list(self.countries.items()):
            self.countries[code.lower()] = place
            place.states.update({state.lower(): rows for state, rows in place.states.items()})

    def to_index(self) -> tuple:
        """The rows and their index as plain data (tuples, lists, dicts of str and int; each
        row one tuple, shared) for `marshal`: `from_index` takes it back without reading a row."""
        return self._plain, [(code, c.exact, c.prefix, c.lengths, c.spans, c.cuts,
                              {k: v for k, v in c.states.items() if not k.islower()}, c.whole)  # (not the aliases)
                             for code, c in self.countries.items() if code == c.code]

    @classmethod
    def from_index(cls, data: tuple) -> Table:
        """The table `to_index` gave."""
        table = cls.__new__(cls)
        table._plain, places = data
        table.rows, table.countries = list(map(_new, repeat(Row), table._plain)), {}
        for code, *parts in places:
            place = table.countries[code] = _Country(code)
            place.exact, place.prefix, place.lengths, place.spans, place.cuts, place.states, place.whole = parts
        table._aliases()
        return table

    def __len__(self) -> int:
        return len(self.rows)

    def match_lead(self, low: dict[str, str]) -> Row | None:
        """The row a lead falls in, from its fields (names in lower case, values as written or
        in lower case): `country`; `state`, else `region` or `province`; `zip`, else `postcode`
        or `postal_code`. (One function: it runs for every lead a territory rule takes.)"""
        country = low.get("country")
        if not country:
            return None
        place = self.countries.get(country)  # (its code in either case: both are keys)
        if place is None:
            place = self.countries.get(country_code(country) or "")
            if place is None:
                return None
        state = low.get("state") or low.get("region") or low.get("province")
        zip_ = low.get("zip") or low.get("postcode") or low.get("postal_code")
        st = None  # the lead's state code, read when a row asks
        if zip_:
            z = zip_ if zip_.isdigit() else zip_.upper() if zip_.isalnum() else zip_text(zip_)
            for row in place.exact.get(z, ()):
                if not row[3] or row[3] == (st := st if st is not None else place.state_of(state)):
                    return _new(Row, row)
            for n in place.lengths:
                if n <= len(z):
                    for row in place.prefix.get(z[:n], ()):
                        if not row[3] or row[3] == (st := st if st is not None else place.state_of(state)):
                            return _new(Row, row)
            if place.cuts and z.isdigit():  # the range a zip falls in: one bisect
                cuts = place.cuts[""] if len(place.cuts) == 1 else \
                    place.cuts.get(st if st is not None else place.state_of(state)) or place.cuts[""]
                cut = cuts.get(len(z))
                if cut is not None:
                    row = cut[1][bisect_right(cut[0], int(z)) - 1]
                    if row is not None:
                        return _new(Row, row)
        if state and place.states:
            found = place.states.get(state)  # (a code in either case: both are keys)
            if found is None:
                found = place.states.get(st if st is not None else place.state_of(state), ())
            for row in found:
                return _new(Row, row)
        return _new(Row, place.whole[0]) if place.whole else None

    def overlaps(self) -> list[tuple[Row, Row]]:
        """Pairs of rows a lead could fall in both of at the same specificity and priority (the
        earlier line wins them: `territory check` lists them)."""
        out = []
        groups: dict[tuple, list[Row]] = {}
        for r in self.rows:
            if r.specificity in (EXACT, PREFIX, STATE, COUNTRY):
                groups.setdefault((r.specificity, r.country, r.zip, r.state if r.specificity != EXACT else "",
                                   r.priority), []).append(r)
        for same in groups.values():
            out += [(same[0], other) for other in same[1:]]
        for code, place in self.countries.items():  # ranges that share zips, neither inside the other
            if code != place.code:
                continue  # (its lower-case alias)
            spans = [(lo, hi, _new(Row, row)) for lo, hi, _, row, _ in place.spans]
            for i, (lo, hi, row) in enumerate(spans):
                for lo2, hi2, other in spans[i + 1:]:
                    if lo2 > hi:
                        break
                    nested = (lo <= lo2 and hi2 <= hi) or (lo2 <= lo and hi <= hi2)
                    if (not nested or (lo, hi) == (lo2, hi2)) and other.priority == row.priority \
                            and (not row.state or not other.state or row.state == other.state):
                        out.append((row, other) if row.line < other.line else (other, row))
        return sorted(out, key=lambda p: (p[0].line, p[1].line))


def _low_end(span: tuple) -> int:
    return span[0]


def _cuts(spans: list[tuple]) -> dict[int, tuple[list[int], list]]:
    """For each length of zip: the points where the range that wins changes, in order, and
    the row that wins from each up to the next (None: no range) — a zip's range is then one
    bisect, however many ranges overlap. Made by a sweep, the ranges holding each point in a
    heap by how they win (narrowest, then priority, then line)."""
    out = {}
    for digits in {s[4] for s in spans}:
        these = [s for s in spans if s[4] == digits]  # (by low end already)
        edges = sorted({s[0] for s in these} | {s[1] + 1 for s in these})
        wins: list = [None]  # below the first edge (bisect gives -1: the last, which is None too)
        holding: list = []
        at = 0
        for edge in edges:
            while at < len(these) and these[at][0] <= edge:
                heappush(holding, (these[at][2], these[at][1], these[at][3]))
                at += 1
            while holding and holding[0][1] < edge:
                heappop(holding)
            wins.append(holding[0][2] if holding else None)
        out[digits] = ([-1, *edges], wins)
    return out


def to_csv(rows: list[Row]) -> str:
    """The rows as the territory file keeps them (codes, not names)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([r.territory, r.country, r.state, r.zip, r.target, r.priority or ""])
    return out.getvalue()
