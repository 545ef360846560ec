"""Working hours: "mon-fri 09:00-17:30; sat 10:00-13:00", read once and asked at a moment.

Pure. A spec is `;`-separated parts, each days then one or more `HH:MM-HH:MM` spans (comma
separated): days as `mon`, `mon-fri` (a range may wrap: `fri-mon`) or `mon,wed`, or `daily`.
A span that ends before it starts runs past midnight into the next day (`fri 22:00-02:00`
covers Friday night and the first two hours of Saturday); `24:00` is the end of the day. The
moment is read in the user's own time zone, so summer time moves the hours with the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from ..errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
EXAMPLE = '"mon-fri 09:00-17:30; sat 10:00-13:00"'


@dataclass(frozen=True)
class Hours:
    """For each weekday (0 = Monday), the minutes of the day [start, end) when someone works."""

    spans: tuple[tuple[tuple[int, int], ...], ...]  # 7 tuples of (start, end) minutes

    def within(self, local: datetime) -> bool:
        """Whether the local time (in the user's zone) falls in working hours."""
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.spans[local.weekday()])

    def after(self, start: datetime, seconds: float, zone: tzinfo, days: int = 400) -> datetime | None:
        """The moment `seconds` of working time have passed since `start` (the business clock:
        a lead assigned Friday 17:20 with an hour to go and hours to 17:30 is due Monday
        09:50). Each span is real elapsed time in `zone`: one that a summer-time change falls in
        is an hour shorter or longer. None when the hours hold that much within `days` days."""
        left = seconds
        begin = start.astimezone(timezone.utc)
        day = start.astimezone(zone).date()
        for _ in range(days):
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            for a, b in _merged(self.spans[day.weekday()]):
                lo = max((midnight + timedelta(minutes=a)).astimezone(timezone.utc), begin)
                hi = (midnight + timedelta(minutes=b)).astimezone(timezone.utc)
                if hi <= lo:
                    continue
                span = (hi - lo).total_seconds()
                if span >= left:
                    return lo + timedelta(seconds=left)
                left -= span
            day += timedelta(days=1)
        return None


def _merged(spans: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """A day's spans (sorted) with overlapping ones joined: no minute counted twice."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _days(text: str, spec: str) -> list[int]:
    if text == "daily":
        return list(range(7))
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ConfigError(f"hours {spec!r}: '{text}' is not days like mon-fri, sat or daily (e.g. {EXAMPLE})")
        a, b = DAYS.index(first), DAYS.index(last or first)
        out += [(a + i) % 7 for i in range((b - a) % 7 + 1)]
    return out


def parse(spec: str) -> Hours:
    """The hours a spec names; a spec that does not parse is a ConfigError that quotes it."""
    days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    parts = [p.strip() for p in spec.lower().split(";") if p.strip()]
    if not parts:
        raise ConfigError(f"hours {spec!r} name no days and times (e.g. {EXAMPLE}; --no-hours for none)")
    for part in parts:
        words = part.split(None, 1)
        if len(words) != 2:
            raise ConfigError(f"hours {spec!r}: '{part}' needs days and times, e.g. {EXAMPLE}")
        for span in words[1].replace(" ", "").split(","):
            m = _SPAN.match(span)
            if not m:
                raise ConfigError(f"hours {spec!r}: '{span}' is not a time span like 09:00-17:30")
            h1, m1, h2, m2 = map(int, m.groups())
            if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
                raise ConfigError(f"hours {spec!r}: '{span}' is not a time of day")
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if start == end:
                raise ConfigError(f"hours {spec!r}: '{span}' is empty")
            for d in _days(words[0], spec):
                if end > start:
                    days[d].append((start, end))
                else:  # past midnight: the rest of this day, and the start of the next
                    days[d].append((start, 24 * 60))
                    if end:
                        days[(d + 1) % 7].append((0, end))
    return Hours(tuple(tuple(sorted(d)) for d in days))
