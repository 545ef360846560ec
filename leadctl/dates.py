"""Dates as exports write them when they are not ISO 8601: which forms are read, and how.

ISO 8601 (`2026-12-06T10:15:00`, `2026-12-06 10:15`, with or without an offset) is read by
`datetime.fromisoformat`. Besides it, a date of three numbers with dots or slashes and an
optional 24-hour time (`06.12.2026 10:15`, `12/06/2026 10:15:30`) is read here:

- with dots, day.month.year: the German, Austrian, Swiss, Polish, Russian... way, never
  month first;
- with slashes, the order the setting `date_format` names (`DD/MM/YYYY` or `MM/DD/YYYY`);
  without it only when one of the first two numbers is over 12 (then it can be read one way
  only); `06/12/2026` is refused as ambiguous, naming the setting;
- year first (`2026/12/06`, `2026.12.06`) is year, month, day.

Pure: text in, a naive datetime (or a reason) out; `parse_when` applies the zone, and
`LocalTimes` turns routing's `received_at` texts into the zone's ISO 8601 and day, fast.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

DATE_FORMATS = ("DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY", "YYYY-MM-DD")
_FORM = re.compile(r"^(\d{1,4})([./])(\d{1,2})\2(\d{1,4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


class Ambiguous(ValueError):
    """A date that reads two ways (06/12/2026) and no setting that says which."""


def check_date_format(text: str) -> str:
    """A `--date-format` value, upper-cased; anything but DATE_FORMATS (or "") is a ValueError."""
    value = text.strip().upper()
    if value and value not in DATE_FORMATS:
        raise ValueError(f"--date-format '{text}' is not one of {', '.join(DATE_FORMATS)} (or \"\" for none)")
    return value


def read_other(text: str, date_format: str = "") -> datetime:
    """`text` in one of the forms above as a naive datetime; a ValueError says why not."""
    m = _FORM.match(text.strip())
    if not m:
        raise ValueError("not a date and time")
    a, sep, b, c = m.group(1), m.group(2), m.group(3), m.group(4)
    hour, minute, second = (int(x) if x else 0 for x in m.group(5, 6, 7))
    if len(a) == 4:  # year first
        year, month, day = int(a), int(b), int(c)
    elif len(c) != 4:
        raise ValueError("the year must have four digits")
    elif sep == "." or date_format.startswith("DD"):
        day, month, year = int(a), int(b), int(c)
    elif date_format.startswith("MM"):
        month, day, year = int(a), int(b), int(c)
    elif int(a) > 12 >= int(b):
        day, month, year = int(a), int(b), int(c)
    elif int(b) > 12 >= int(a):
        month, day, year = int(a), int(b), int(c)
    else:
        raise Ambiguous(f"'{a}{sep}{b}{sep}{c}' could be day/month or month/day: set `leadctl settings"
                        " --date-format DD/MM/YYYY` (or MM/DD/YYYY)")
    return datetime(year, month, day, hour, minute, second)


def parse_when(text: str, tz: tzinfo, date_format: str = "") -> datetime:
    """ISO 8601 (or another form `dates` reads, `date_format` deciding the ambiguous ones) to an
    aware datetime in `tz`; without an offset it is read in `tz`."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        dt = read_other(text, date_format)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=tz)
    return dt.astimezone(tz)


class LocalTimes:
    """`received_at` text -> (ISO 8601 with the zone's offset, local calendar day).

    Exactly `parse_when(...).isoformat(timespec="seconds")`, but the common forms
    `YYYY-MM-DDTHH:MM:SS` (no offset: local time) and `...+HH:MM` (what the ledger keeps,
    what `simulate` reads back) are not parsed per record: the zone's
    offset is looked up once per local minute (every offset change since 1973 falls on
    a whole minute, and the minute is what the cache is keyed by) and appended.
    """

    def __init__(self, tz: tzinfo, date_format: str = ""):
        self.tz = tz
        self.date_format = date_format
        self.offsets: dict[str, str] = {}  # local minute -> the zone's offset then
        self.shifted: dict[str, tuple[str, str, str]] = {}  # minute and offset -> (local minute, offset, day)

    def convert(self, text: str) -> tuple[str, str]:
        if (len(text) == 25 and text[10] == "T" and text[16] == ":" and text[17] in "012345"
                and text[18] in "0123456789" and text[19] in "+-" and text[22] == ":"):
            # with an offset (as the ledger writes them): the minute in the zone is looked up
            # once per (minute, offset); the seconds never change (offsets are whole minutes)
            key = text[:16] + text[19:]
            known = self.shifted.get(key)
            if known is None:
                if len(self.shifted) > 100_000:
                    self.shifted.clear()
                when = parse_when(text[:16] + ":00" + text[19:], self.tz).isoformat(timespec="seconds")
                if len(when) != 25:  # the zone's offset then had seconds (local mean time, before 1900)
                    exact = parse_when(text, self.tz)
                    return exact.isoformat(timespec="seconds"), exact.date().isoformat()
                known = self.shifted[key] = (when[:16], when[19:], when[:10])
            minute, offset, day = known
            return minute + text[16:19] + offset, day
        if (len(text) == 19 and text[10] == "T" and text[16] == ":" and text[17] in "012345"
                and text[18] in "0123456789"):
            minute = text[:16]
            offset = self.offsets.get(minute)
            if offset is None:
                if len(self.offsets) > 100_000:
                    self.offsets.clear()
                local = datetime.fromisoformat(minute).replace(tzinfo=self.tz)  # checks the date and time
                offset = self.offsets[minute] = local.isoformat(timespec="seconds")[19:]
            return text + offset, text[:10]
        when = parse_when(text, self.tz, self.date_format)
        return when.isoformat(timespec="seconds"), when.date().isoformat()
