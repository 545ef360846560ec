"""Every output in one place: tables for people, JSON and CSV for scripts.

Data goes to stdout; messages, warnings and progress go to stderr. CSV cells
that a spreadsheet would run as a formula are escaped with a leading quote.
JSON is always valid, `[]` when empty. rich is imported only when a table is
drawn, so `--format json` and start-up stay light.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# What a terminal would act on instead of showing: C0/C1 controls (ESC starts a screen
# command), DEL, bidirectional overrides, and the stand-ins for undecodable bytes.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as Python keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: Any) -> str:
    """Text safe to show on a terminal: control characters appear escaped (ESC as
    `\\x1b`), so data can neither move the cursor nor clear the screen. JSON and CSV
    output never goes through here: they stay exact."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_escape_char, text) if _UNSAFE.search(text) else text


def safe_cell(value: Any) -> Any:
    """A CSV cell that cannot start a formula in Excel, LibreOffice or Sheets."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)  # one cell: a;b, not Python's ['a', 'b']
    elif isinstance(value, dict):
        value = ";".join(f"{k}={v}" for k, v in value.items())
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


class CsvOut:
    """A streaming, spreadsheet-safe CSV writer with a fixed header."""

    def __init__(self, columns: Sequence[str], out: IO[str] | None = None):
        self.columns = list(columns)
        self.writer = csv.writer(out or sys.stdout, lineterminator="\n")
        self.writer.writerow([safe_cell(c) for c in self.columns])

    def row(self, data: dict) -> None:
        self.writer.writerow([safe_cell(data.get(c)) for c in self.columns])


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def err(message: str) -> None:
    """One plain line on stderr, control characters escaped."""
    sys.stderr.write(clean(message.rstrip("\n")) + "\n")


def note(message: str) -> None:
    """A line that goes with a table: under it on a terminal (wrapped between words at the
    terminal's width); on stderr off one, so that stdout stays plain tab-separated rows."""
    if plain():
        err(message)
        return
    from rich.text import Text

    console().print(Text(clean(message.rstrip("\n"))))


def json_out(value: Any, *, indent: int | None = None) -> None:
    """One JSON document on stdout (exact: no escaping beyond JSON's own)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=indent) + "\n")


def jsonl_out(rows: Iterable[Any]) -> None:
    """JSON Lines on stdout: one object (or a line already written as JSON) a line."""
    write = sys.stdout.write
    for row in rows:
        write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")


def say(message: str) -> None:
    """One plain line on stdout, control characters escaped."""
    sys.stdout.write(clean(message.rstrip("\n")) + "\n")


class LocalTimes:
    """ISO 8601 times as the configured zone reads them (`at(text)`), for every listing: the
    ledger keeps each time with the offset it was written with (the zone of the day, or UTC)."""

    def __init__(self, tz):
        self.tz = tz
        self.seen: dict[str, str] = {}

    def at(self, value: Any) -> Any:
        if not isinstance(value, str) or len(value) < 19 or value[10:11] != "T":
            return value
        found = self.seen.get(value)
        if found is None:
            from datetime import datetime

            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
            found = moment.astimezone(self.tz).isoformat(timespec="seconds") if moment.tzinfo else value
            if len(self.seen) > 50_000:
                self.seen.clear()
            self.seen[value] = found
        return found

    def rows(self, rows: Iterable[dict], columns: Sequence[str]) -> Iterator[dict]:
        """The rows with these columns' times in the zone."""
        for r in rows:
            for c in columns:
                if r.get(c):
                    r[c] = self.at(r[c])
            yield r


def display(value: Any) -> str:
    """A value as a person reads it in a table, control characters escaped."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(clean(v) for v in value) or "-"
    return clean(value)


def plain() -> bool:
    """Off a terminal (a pipe, a file), tables are plain tab-separated lines, unless
    LEADCTL_TABLES=rich asks for the drawn tables anyway (e.g. for `less`)."""
    import os

    return not sys.stdout.isatty() and os.environ.get("LEADCTL_TABLES") != "rich"


def tsv(rows: Iterable[dict], columns: Sequence[str], headers: dict[str, str] | None = None) -> None:
    """A header row and one line per row, tab-separated, streamed; no title, no box, no
    wrapping, so `grep`, `cut` and `sort` work. Tabs and newlines in data appear escaped;
    columns without a name (bars) are left out."""
    columns = [c for c in columns if c]
    write = sys.stdout.write
    write("\t".join(clean((headers or {}).get(c, c)) for c in columns) + "\n")
    for r in rows:
        write("\t".join(display(r.get(c)) for c in columns) + "\n")


def table(rows: Iterable[dict], columns: Sequence[str], *, title: str | None = None,
          headers: dict[str, str] | None = None, empty: str = "nothing to show",
          right: Iterable[str] = (), nowrap: Iterable[str] = ()) -> None:
    """Rows for people: a rich table on a terminal, tab-separated lines off one. Data is
    never read as rich markup (every cell and title is a `Text`), and control characters
    are shown escaped. On a narrow terminal cells wrap between words, never inside one (a
    word longer than MAX_WORD folds): numbers, ids and `sequential=1` stay whole."""
    if plain():
        tsv(rows, columns, headers)
        return
    from rich.table import Table
    from rich.text import Text

    rows = list(rows)
    out = console()
    if not rows:
        out.print(Text(clean(empty), style="dim"))
        return
    right, nowrap = set(right), set(nowrap)
    t = Table(title=Text(clean(title)) if title is not None else None, title_justify="left",
              header_style="bold")
    cells = [[display(r.get(c)) for c in columns] for r in rows]
    for i, c in enumerate(columns):
        name = clean((headers or {}).get(c, c))
        if not c:  # a bar: cropped on a narrow terminal rather than pushing the numbers out
            t.add_column("", overflow="crop", no_wrap=True, min_width=0, ratio=None)
            continue
        longest = max((len(w) for row in cells for w in row[i].split()), default=1)  # (headers may fold)
        t.add_column(Text(name), justify="right" if c in right else "left", overflow="fold",
                     no_wrap=c in nowrap, min_width=min(longest, MAX_WORD))
    for row in cells:
        t.add_row(*(Text(text) for text in row))
    out.print(t)


MAX_WORD = 32  # characters: a longer word (an email, a URL) may fold inside a narrow table


def bar(value: float, maximum: float, width: int = 24) -> str:
    """A horizontal bar of `value` out of `maximum`, in eighths of a block."""
    if maximum <= 0 or value <= 0:
        return ""
    eighths = round(min(value / maximum, 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")


def used_of(used: int, limit: int) -> str:
    """"3/10 ██▍" for a cap (no bar off a terminal), "3/-" without one."""
    if not limit:
        return f"{used}/-"
    return f"{used}/{limit}" if plain() else f"{used}/{limit} {bar(used, limit, 8)}"


def member_state(row: dict) -> str:
    if not row["active"]:
        return "inactive"
    if row.get("away"):
        return row["away"]
    if row["capped"]:
        return f"CAPPED ({row['capped_by']})" if row.get("capped_by") else "CAPPED"
    return "ok"


def user_caps(rows: list[dict]) -> bool:
    """Whether any of these quota rows' users has caps of their own (shown then, as columns)."""
    return any(r.get("user_daily_limit") or r.get("user_monthly_limit") for r in rows)


def user_used(row: dict) -> str:
    """A user's own caps (over every group): "2/5 today, 9/- month"."""
    return (f"{used_of(row['user_daily_used'], row['user_daily_limit'])} today,"
            f" {used_of(row['user_monthly_used'], row['user_monthly_limit'])} month")


def emit(rows: Iterable[dict], columns: Sequence[str], fmt: str, *, limit: int | None = None,
         **table_options: Any) -> None:
    """Print `rows` as a table, a JSON array, JSON Lines or CSV, with `columns` in order;
    at most `limit` rows when given.

    Everything but a table on a terminal is written row by row, so an export of a
    million leads does not hold them all in memory.
    """
    if limit is not None:
        from itertools import islice

        rows = islice(rows, max(limit, 0))
    if fmt == "jsonl":
        out = sys.stdout
        for r in rows:
            out.write(json.dumps({c: r.get(c) for c in columns}, ensure_ascii=False) + "\n")
    elif fmt == "json":
        out = sys.stdout
        out.write("[")
        empty = True
        for r in rows:
            out.write(("\n  " if empty else ",\n  ") + json.dumps({c: r.get(c) for c in columns}, ensure_ascii=False))
            empty = False
        out.write("]\n" if empty else "\n]\n")
    elif fmt == "csv":
        w = CsvOut(columns)
        for r in rows:
            w.row(r)
    else:
        table(rows, columns, **table_options)
