"""Territories as data: rows of `territory,country,state,zip,target,priority`, and the one a
lead falls in.

A lead's country (ISO code, alpha-3, or English name, any case: pycountry's list of countries,
a well-kept one), state (code or name, for the countries pycountry lists subdivisions of; for
Germany its English names too) and zip are matched against the rows of its country; the most
specific row wins — an exact zip, then the longest zip prefix (`94*`), then a zip range
(`94000-94999`, the narrowest first), then the state, then the country alone — and among rows
equally specific, the higher `priority`, then the earlier row. Each kind of row is a look-up,
not a scan: a table of thousands of rows costs a lead a few dictionary reads.
"""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_left, bisect_right
from functools import lru_cache
from typing import NamedTuple

COLUMNS = ("territory", "country", "state", "zip", "target", "priority")
EXACT, PREFIX, RANGE, STATE, COUNTRY = 5, 4, 3, 2, 1  # specificity, most specific first
KINDS = {EXACT: "zip", PREFIX: "zip prefix", RANGE: "zip range", STATE: "state", COUNTRY: "country"}
_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")
_PREFIX = re.compile(r"^([0-9A-Z]+)\*$")
MAX_ROWS = 1_000_000

# Germany's Länder by their English names (pycountry names them in German)
_GERMAN_STATES = {"bavaria": "BY", "hesse": "HE", "lower saxony": "NI", "north rhine-westphalia": "NW",
                  "north rhine westphalia": "NW", "rhineland-palatinate": "RP", "rhineland palatinate": "RP",
                  "saxony": "SN", "saxony-anhalt": "ST", "saxony anhalt": "ST", "thuringia": "TH",
                  "mecklenburg-western pomerania": "MV", "mecklenburg-vorpommern": "MV"}


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


# -- words into codes ------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def country_code(text: str, check: bool = False) -> str | None:
    """ISO alpha-2 of a country written as a code (alpha-2 or -3) or its English name; None.
    Two letters are taken as a code as they are unless `check` (a lead's unknown code then
    simply falls in no territory: the table's own codes were checked when it was imported)."""
    text = text.strip()
    if not text:
        return None
    if not check and len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    import pycountry

    try:
        return pycountry.countries.lookup(text).alpha_2
    except LookupError:
        pass
    common = {"uk": "GB", "usa": "US", "u.s.": "US", "u.s.a.": "US", "england": "GB", "great britain": "GB"}
    return common.get(text.lower())


@lru_cache(maxsize=8192)
def state_code(country: str, text: str) -> str:
    """A state's code within its country (`CA`, `BY`, `NSW`) from its code, its ISO code
    (`US-CA`) or its name, any case; as written (upper case) when it is none of them."""
    text = text.strip()
    if not text:
        return ""
    wanted = text.upper()
    if wanted.startswith(country + "-"):
        wanted = wanted[len(country) + 1:]
    if len(wanted) <= 3 and wanted.isascii() and wanted.isalnum() and not (country == "DE" and wanted.lower() in _GERMAN_STATES):
        return wanted  # a code already (its subdivisions are read only for names)
    return _states(country).get(wanted.lower()) or _states(country).get(text.lower()) or wanted


@lru_cache(maxsize=512)
def _states(country: str) -> dict[str, str]:
    """{a state's code or name, in lower case: its code} for one country (pycountry's
    subdivisions; Germany's Länder by their English names too)."""
    import pycountry

    out = {}
    for sub in pycountry.subdivisions.get(country_code=country) or ():
        code = sub.code.split("-", 1)[1]
        out[code.lower()] = out[sub.name.lower()] = code
    if country == "DE":
        out.update(_GERMAN_STATES)
    return out


def place_state(low: dict[str, str]) -> str | None:
    """A lead's state, whichever of the names a form gives it (names in lower case)."""
    return low.get("state") or low.get("region") or low.get("province")


def zip_text(text: str) -> str:
    """A zip as compared: upper case, no spaces (`sw1a 1aa` is `SW1A1AA`); a US ZIP+4
    (`94105-1234`) is its five digits."""
    z = text.upper() if " " not in text and "\t" not in text else re.sub(r"\s+", "", text).upper()
    return z[:5] if _ZIP4.match(z) else z


_ZIP4 = re.compile(r"^\d{5}-\d{4}$")


# -- the table -------------------------------------------------------------------------------------
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
        return _as_written(reader)
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


def _as_written(reader) -> list[Row]:
    """The rows of a table `to_csv` wrote (each checked when it was imported), read without
    looking anything up again: a few comparisons a row, for a start-up that stays short."""
    rows = []
    append = rows.append
    for line, cells in enumerate(reader, 2):
        if len(cells) != 6:
            if not any(c.strip() for c in cells):
                continue
            raise BadTerritory(f"line {line}: {len(cells)} cells, not 6 (territory,country,state,zip,target,priority)")
        territory, country, state, zip_, target, priority = cells
        if (len(country) != 2 or not country.isupper() or len(state) > 3 or state != state.upper()
                or zip_ != zip_.upper() or " " in zip_ or not territory or not target):  # edited by hand: read it fully
            append(make_row(line, territory.strip(), country.strip(), state.strip(), zip_.strip(), target.strip(),
                            priority.strip(), False))
            continue
        if not zip_:
            specificity = STATE if state else COUNTRY
        elif zip_.isalnum():
            specificity = EXACT
        elif zip_[-1] == "*":
            specificity = PREFIX
        elif _RANGE.match(zip_):
            specificity = RANGE
        else:
            specificity = EXACT
        try:
            append(Row(line, territory, country, state, zip_, target, int(priority) if priority else 0, specificity))
        except ValueError:
            raise BadTerritory(f"line {line}: priority '{priority[:20]}' is not a whole number") from None
    return rows


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


def _order(row: Row) -> tuple:
    """How rows equally matched rank: higher priority first, then the earlier line."""
    return (-row.priority, row.line)


class Table:
    """The rows, indexed per country by kind: exact zips and prefixes and states in
    dictionaries, ranges sorted by their low end."""

    def __init__(self, rows: list[Row]):
        self.rows = rows
        self.exact: dict[tuple[str, str], list[Row]] = {}
        self.prefix: dict[tuple[str, str], list[Row]] = {}
        self.prefix_lengths: dict[str, list[int]] = {}  # country -> prefix lengths present, longest first
        self.ranges: dict[str, list[tuple]] = {}  # country -> (lo, hi, width, row, digits) by lo
        self.states: dict[tuple[str, str], list[Row]] = {}
        self.countries: dict[str, list[Row]] = {}
        for r in rows:
            if r.specificity == EXACT:
                self.exact.setdefault((r.country, r.zip), []).append(r)
            elif r.specificity == PREFIX:
                p = r.zip[:-1]
                self.prefix.setdefault((r.country, p), []).append(r)
                self.prefix_lengths.setdefault(r.country, []).append(len(p))
            elif r.specificity == RANGE:
                ends = _RANGE.match(r.zip).groups()
                lo, hi = int(ends[0]), int(ends[1])
                self.ranges.setdefault(r.country, []).append((lo, hi, hi - lo, r, len(ends[0])))
            elif r.specificity == STATE:
                self.states.setdefault((r.country, r.state), []).append(r)
            else:
                self.countries.setdefault(r.country, []).append(r)
        for country, lengths in self.prefix_lengths.items():
            self.prefix_lengths[country] = sorted(set(lengths), reverse=True)
        for index in (self.exact, self.prefix, self.states, self.countries):  # each list in the order it wins
            for found in index.values():
                found.sort(key=_order)
        for spans in self.ranges.values():
            spans.sort(key=lambda s: s[0])
        self._lows = {c: [s[0] for s in spans] for c, spans in self.ranges.items()}
        self._widest = {c: max(s[2] for s in spans) for c, spans in self.ranges.items()}

    def __len__(self) -> int:
        return len(self.rows)

    def match_lead(self, low: dict[str, str]) -> Row | None:
        """The row a lead falls in, from its fields (names in lower case): `country`; `state`,
        else `region` or `province`; `zip`, else `postcode` or `postal_code`."""
        return self.match(low.get("country"), place_state(low), low.get("zip") or low.get("postcode")
                          or low.get("postal_code"))

    def match(self, country: str | None, state: str | None, zip_: str | None) -> Row | None:
        """The row a lead falls in (its fields as written), or None."""
        if not country:
            return None
        code = country.upper() if len(country) == 2 and country.isalpha() else country_code(country)
        if code is None:
            return None
        if not state:
            st = ""
        elif len(state) <= 3 and state.isalnum():  # a code as it is (the common case: no look-up)
            st = state.upper()
        else:
            st = state_code(code, state)
        z = (zip_.upper() if zip_.isalnum() else zip_text(zip_)) if zip_ else ""
        if z:
            for row in self.exact.get((code, z), ()):
                if not row.state or row.state == st:
                    return row
            for n in self.prefix_lengths.get(code, ()):
                if n <= len(z):
                    for row in self.prefix.get((code, z[:n]), ()):
                        if not row.state or row.state == st:
                            return row
            if code in self.ranges and z.isdigit():
                for row in self._in_ranges(code, z):
                    if not row.state or row.state == st:
                        return row
        if st:
            for row in self.states.get((code, st), ()):
                return row
        found = self.countries.get(code)
        return found[0] if found else None

    def _in_ranges(self, code: str, z: str) -> list[Row]:
        """The country's zip ranges holding `z` (as many digits as their ends), narrowest first:
        only those starting within the widest range's width below it are looked at."""
        value, spans, lows = int(z), self.ranges[code], self._lows[code]
        start = bisect_left(lows, value - self._widest[code])
        inside = [s for s in spans[start:bisect_right(lows, value)] if s[1] >= value and s[4] == len(z)]
        if len(inside) < 2:
            return [inside[0][3]] if inside else []
        return [s[3] for s in sorted(inside, key=lambda s: (s[2], *_order(s[3])))]

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
        for country, spans in self.ranges.items():  # ranges that share zips, neither inside the other
            for i, (lo, hi, _, row, _) in enumerate(spans):
                for lo2, hi2, _, other, _ in spans[i + 1:]:
                    if lo2 > hi:
                        break
                    nested = (lo <= lo2 and hi2 <= hi) or (lo2 <= lo and hi <= hi2)
                    if (not nested or (lo, hi) == (lo2, hi2)) and other.priority == row.priority \
                            and (not row.state or not other.state or row.state == other.state):
                        out.append((row, other) if row.line < other.line else (other, row))
        return sorted(out, key=lambda p: (p[0].line, p[1].line))


def to_csv(rows: list[Row]) -> str:
    """The rows as the territory file keeps them (codes, not names)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([r.territory, r.country, r.state, r.zip, r.target, r.priority or ""])
    return out.getvalue()
