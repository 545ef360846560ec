"""Every output in one place: tables for people, JSON and CSV for scripts.

Data goes to stdout; messages, warnings and progress go to stderr. CSV cells
that a spreadsheet would run as a formula are escaped with a leading quote.
JSON is always valid, `[]` when empty. rich is imported only when a table is
drawn, so `--format json` and start-up stay light.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> Any:
    """A CSV cell that cannot start a formula in Excel, LibreOffice or Sheets."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
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
    """One plain line on stderr."""
    sys.stderr.write(message.rstrip("\n") + "\n")


def display(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def table(rows: Sequence[dict], columns: Sequence[str], *, title: str | None = None,
          headers: dict[str, str] | None = None, empty: str = "nothing to show",
          right: Iterable[str] = (), nowrap: Iterable[str] = ()) -> None:
    from rich.table import Table

    out = console()
    if not rows:
        out.print(f"[dim]{empty}[/dim]" if not out.no_color else empty)
        return
    right, nowrap = set(right), set(nowrap)
    t = Table(title=title, title_justify="left", header_style="bold")
    for c in columns:
        t.add_column((headers or {}).get(c, c), justify="right" if c in right else "left",
                     overflow="fold", no_wrap=c in nowrap)
    for r in rows:
        t.add_row(*(_markup_safe(display(r.get(c))) for c in columns))
    out.print(t)


def bar(value: float, maximum: float, width: int = 24) -> str:
    """A horizontal bar of `value` out of `maximum`, in eighths of a block."""
    if maximum <= 0 or value <= 0:
        return ""
    eighths = round(min(value / maximum, 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")


def used_of(used: int, limit: int) -> str:
    """"3/10 ██▍" for a cap, "3/-" without one."""
    if not limit:
        return f"{used}/-"
    return f"{used}/{limit} {bar(used, limit, 8)}"


def member_state(row: dict) -> str:
    return "inactive" if not row["active"] else ("CAPPED" if row["capped"] else "ok")


def _markup_safe(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def emit(rows: Iterable[dict], columns: Sequence[str], fmt: str, **table_options: Any) -> None:
    """Print `rows` as a table, a JSON array or CSV, with `columns` in order.

    JSON and CSV are written row by row, so an export of a million leads does
    not hold them all in memory; a table needs them all to size its columns.
    """
    if fmt == "json":
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
        table(list(rows), columns, **table_options)
