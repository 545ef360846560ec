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

Pure: text in, a naive datetime (or a reason) out; the caller applies the zone.
"""

from __future__ import annotations

import re
from datetime import datetime

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
