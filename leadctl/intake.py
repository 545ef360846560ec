"""One reader for leads in CSV or JSON Lines: lazy records with their line numbers.

`read_records(stream, fmt)` takes a binary stream (a file, stdin, BytesIO),
works out the format when none is given (extension first, by the caller, then
content), and yields `Record` or `BadRecord` one at a time, so memory does not
grow with the file. A bad row never stops the rest: it becomes a `BadRecord`
with its line and a reason. Only a problem with the whole input (a broken CSV
header, a JSON array instead of JSON Lines) raises `IntakeError`.

Every value is kept as text: phone numbers and zip codes keep their leading
zeros; JSON numbers and booleans become their JSON spelling.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .errors import LeadctlError

EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}  # else the content decides
# Fields that mean something to leadctl; matched case-insensitively in headers and keys.
MEANINGFUL = frozenset(
    {"id", "type", "status", "email", "phone", "source", "owner", "created_by", "received_at"}
)
MAX_LINE = 1 << 20  # a JSON line longer than 1 MiB is rejected, not read into memory
MAX_FIELD = 1 << 20
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
# A \uD800-\uDFFF escape: only then can a JSON string hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_JSON_KIND = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


@dataclass(slots=True)
class Record:
    line: int
    fields: dict[str, str]


@dataclass(slots=True)
class BadRecord:
    line: int
    reason: str


class IntakeError(LeadctlError):
    """The input as a whole cannot be read (exit 1: nothing of it was routed)."""

    def __init__(self, message: str):
        super().__init__(message, 1)


def format_for(name: str | None, fmt: str | None) -> str | None:
    """The format named by the option, else by the file extension, else None."""
    if fmt:
        return fmt
    if name:
        lower = name.lower()
        for ext, kind in EXTENSIONS.items():
            if lower.endswith(ext):
                return kind
    return None


def _sniff(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        raise IntakeError(
            "input looks like a JSON array; leadctl reads JSON Lines (one object per line)"
        )
    return "jsonl" if text.startswith(b"{") else "csv"


def _peekable(stream: BinaryIO) -> io.BufferedReader:
    if hasattr(stream, "peek"):
        return stream  # type: ignore[return-value]
    return io.BufferedReader(stream)  # type: ignore[arg-type]


def read_records(stream: BinaryIO, fmt: str | None = None) -> Iterator[Record | BadRecord]:
    """Yield the records of a CSV or JSON Lines stream, in order."""
    stream = _peekable(stream)
    head = stream.peek(4096)[:4096]
    if fmt is None:
        fmt = _sniff(head)
    if fmt == "jsonl":
        return _read_jsonl(stream)
    if fmt == "csv":
        return _read_csv(stream, head)
    raise LeadctlError(f"unknown format '{fmt}' (use csv or jsonl)")


def _key(name: str) -> str:
    lower = name.lower()
    return lower if lower in MEANINGFUL else name


# -- CSV --------------------------------------------------------------------------


def _header(row: list[str]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(row, 1):
        name = raw.strip()
        if _NOT_UTF8.search(name):
            raise IntakeError("line 1: the header is not valid UTF-8")
        name = _key(name) if name else f"column_{i}"
        if name in seen:
            raise IntakeError(f"line 1: column '{name}' appears twice in the header")
        seen.add(name)
        names.append(name)
    return names


def _read_csv(stream: BinaryIO, head: bytes) -> Iterator[Record | BadRecord]:
    encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
    csv.field_size_limit(MAX_FIELD)
    reader = csv.reader(text)
    header: list[str] | None = None
    width = 0
    consumed = 0  # physical lines read so far
    while True:
        start = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            consumed = reader.line_num
            if header is None:
                raise IntakeError(f"line {start}: unreadable CSV header: {exc}") from None
            # Past a syntax error the reader no longer knows where fields begin: what
            # follows could be text from inside a quoted field. Stop reading this input.
            yield BadRecord(start, f"unreadable CSV: {exc}; reading stopped at this line,"
                                   " the rest of this input was not routed")
            return
        except UnicodeError as exc:  # only for utf-16 input that is broken
            raise IntakeError(f"line {start}: cannot decode the input as {encoding}: {exc.reason}") from None
        consumed = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if header is None:
            header = _header(row)
            width = len(header)
            continue
        if len(row) != width:
            if len(row) > width and not any(v.strip() for v in row[width:]):
                row = row[:width]  # trailing empty cells, as spreadsheets write them
            else:
                yield BadRecord(start, f"has {len(row)} fields, the header has {width}")
                continue
        if _NOT_UTF8.search("\x1f".join(row)):
            yield BadRecord(start, "is not valid UTF-8 (save the file as UTF-8)")
            continue
        yield Record(start, dict(zip(header, row)))


# -- JSON Lines --------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _read_jsonl(stream: BinaryIO) -> Iterator[Record | BadRecord]:
    line = 0
    while True:
        raw = stream.readline(MAX_LINE + 1)
        if not raw:
            return
        line += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the long line
                raw = stream.readline(MAX_LINE)
            yield BadRecord(line, "line is longer than 1 MiB")
            continue
        if line == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield BadRecord(line, "is not valid UTF-8")
            continue
        except json.JSONDecodeError as exc:
            yield BadRecord(line, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            yield BadRecord(line, "invalid JSON: nested too deeply")
            continue
        except ValueError:  # an integer of thousands of digits (CPython's int limit)
            yield BadRecord(line, "invalid JSON: a number is too long")
            continue
        if not isinstance(data, dict):
            yield BadRecord(line, f"is a JSON {_JSON_KIND.get(type(data), 'value')}, not an object")
            continue
        fields: dict[str, str] = {}
        for key, value in data.items():
            if value is None:
                continue
            name = _key(key.strip()) or "column"
            fields[name] = _text(value)
        if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(fields):
            yield BadRecord(line, "has a \\u escape that is not a character (a lone UTF-16 surrogate)")
            continue
        yield Record(line, fields)


def _has_lone_surrogate(fields: dict[str, str]) -> bool:
    """True when a key or value holds half of a UTF-16 pair, which is no text at all."""
    for key, value in fields.items():
        try:
            key.encode("utf-8")
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False
