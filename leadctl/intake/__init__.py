"""One reader for leads in CSV or JSON Lines: lazy records with their line numbers.

`read_records(stream, fmt, options)` takes a binary stream (a file, stdin,
BytesIO), works out what it holds when it is not told (the encoding from a
byte-order mark, the format from the extension, by the caller, then from the
content, the CSV delimiter from the header line), and yields `Record` or
`BadRecord` one at a time, so memory does not grow with the file. A bad row
never stops the rest: it becomes a `BadRecord` with its line and a reason. Only
a problem with the whole input (a broken CSV header, a JSON array instead of
JSON Lines) raises `IntakeError`.

Exports come as they come: rows whose every cell is empty are not leads (they
are counted in `Options.stats`), a header repeated inside the data (two files
joined) is rejected with its line, column names can be mapped to leadctl's
fields (`Options.mapping`), and JSON payloads of known ad and form tools are
flattened (`shapes`).

Every value is kept as text: phone numbers and zip codes keep their leading
zeros; JSON numbers and booleans become their JSON spelling.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import LeadctlError
from . import shapes
from .columns import MEANINGFUL, compared, examples, field_for, is_credential  # noqa: F401  (MEANINGFUL: part of this package's face)
from .sniff import DELIMITERS, decoded, delimiter_of, sniff_format

EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MAX_LINE = 1 << 20  # a JSON line longer than 1 MiB is rejected, not read into memory
MAX_FIELD = 1 << 20
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
# A NUL character is no text a person typed, and a PostgreSQL ledger cannot keep one.
NUL_REASON = "contains a NUL character (\\0), which is not text; not a lead"
# A \uD800-\uDFFF escape: only then can a JSON string hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_JSON_KIND = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


@dataclass(slots=True)
class Record:
    line: int
    fields: dict[str, str]
    # A CSV row also keeps its cells in header order and the header's JSON layout
    # (`{"id": %s, ...}`), so that its fields become JSON without a dict walk per lead.
    cells: list[str] | None = field(default=None, compare=False, repr=False)
    layout: str | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class BadRecord:
    line: int
    reason: str


@dataclass
class Stats:
    """What a reader saw besides records: blank rows ignored, warnings for the user."""

    blank: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class Options:
    """How to read one input. `mapping`: source column name (trimmed, lower case) -> field."""

    delimiter: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    shape: str | None = None
    stats: Stats = field(default_factory=Stats)
    duplicate_fields: tuple[str, ...] = ()  # the settings' duplicate fields: warn when a header has none


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


def parse_mapping(pairs: list[str] | None) -> dict[str, str]:
    """`["Record ID=id", ...]` -> {"record id": "id"}; names trimmed, sources in lower case."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        source, sep, target = pair.partition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target:
            raise LeadctlError(f"--map '{pair}' must look like SOURCE=FIELD, e.g. \"Record ID=id\"")
        if source.lower() in out:
            raise LeadctlError(f"--map: column '{source}' is named twice (column names compare in any case)")
        out[source.lower()] = target
    return out


def read_records(stream: BinaryIO, fmt: str | None = None, options: Options | None = None) -> Iterator[Record | BadRecord]:
    """Yield the records of a CSV or JSON Lines stream, in order."""
    options = options or Options()
    if options.delimiter is not None and options.delimiter not in DELIMITERS:
        raise LeadctlError("--delimiter must be one of , ; | or tab (\\t)")
    if options.shape is not None and options.shape not in shapes.SHAPES:
        raise LeadctlError(f"--shape must be one of {', '.join(shapes.SHAPES)}")
    stream, encoding = decoded(stream)
    head = stream.peek(4096)[:4096]
    if fmt is None:
        fmt = sniff_format(head)
    if fmt == "jsonl":
        return _read_jsonl(stream, options)
    if fmt == "csv":
        if options.shape is not None:  # a shape is a webhook payload's (JSON); a CSV export has columns
            raise LeadctlError(f"--shape {options.shape} applies to JSON records (webhook payloads), and this"
                               " input is CSV: drop --shape (its columns are read by name)")
        return _read_csv(stream, head, options, encoding)
    raise LeadctlError(f"unknown format '{fmt}' (use csv or jsonl)")


def _key(name: str, mapping: dict[str, str]) -> str:
    """A source name as a field: mapped if asked, a known column name as its field (see columns)."""
    if mapping:
        name = mapping.get(name.strip().lower(), name)
    return field_for(name)


# -- CSV --------------------------------------------------------------------------


def json_layout(names: list[str]) -> str:
    """The JSON object of these keys with a `%s` for each value, exactly as the C encoder
    (`ensure_ascii=False`, separators ", " and ": ") writes a dict of them in this order."""
    from json.encoder import encode_basestring

    return "{" + ", ".join(encode_basestring(n).replace("%", "%%") + ": %s" for n in names) + "}"


def _header(row: list[str], options: Options) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    written: set[str] = set()  # the raw names as compared: "email" and "EMAIL" are one column twice
    for i, raw in enumerate(row, 1):
        name = raw.strip()
        if _NOT_UTF8.search(name):
            raise IntakeError("line 1: the header is not valid UTF-8")
        same = compared(name) if name else None
        name = _key(name, options.mapping) if name else f"column_{i}"
        if name in seen and same not in written and raw.strip() not in seen:
            name = raw.strip()  # "Email" and "Email Address": the first is email, the other kept as written
        if name in seen:
            raise IntakeError(f"line 1: column '{name}' appears twice in the header")
        seen.add(name)
        written.add(same)
        names.append(name)
    return names


def _check_header(header: list[str], raw: list[str], options: Options) -> None:
    """Refuse a header read with the wrong delimiter; note mapped names that are not there."""
    if len(raw) == 1:
        others = [d for d in DELIMITERS if d in raw[0]]
        if others:
            option = "tab" if others[0] == "\t" else f"'{others[0]}'"
            raise IntakeError(
                f"line 1: the header reads as one column but contains {option}: pass"
                f" --delimiter {option} (or check the file's separator)"
            )
    present = {r.strip().lower() for r in raw}
    for source in options.mapping:
        if source not in present:
            options.stats.warnings.append(f"--map: no column '{source}' in the header")
    missing = [f for f in options.duplicate_fields if f not in header]
    if options.duplicate_fields and len(missing) == len(options.duplicate_fields):
        options.stats.warnings.append(
            f"duplicates are found by {' and '.join(missing)}, but no column here is one"
            f" ({'; '.join(examples(f) for f in missing)}...): no lead of this input is matched as a"
            f" duplicate; name the column with --map 'COLUMN={missing[0]}'"
        )
    if "id" not in header:
        options.stats.warnings.append(
            "no id column: leads get an id made from their content, so a re-export of a changed"
            " row will not be recognised as the same lead; name the id column with --map 'COLUMN=id'"
        )


def _read_csv(stream: BinaryIO, head: bytes, options: Options, encoding: str) -> Iterator[Record | BadRecord]:
    text = io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")
    csv.field_size_limit(MAX_FIELD)
    delimiter = options.delimiter or delimiter_of(head, encoding)
    reader = csv.reader(text, delimiter=delimiter)
    header: list[str] | None = None
    raw_header: list[str] = []
    header_start = ""
    layout: str | None = None
    width = 0
    secret: list[int] = []  # positions of credential columns, dropped from every row
    keep: list[int] = []
    consumed = 0  # physical lines read so far
    stats = options.stats
    try:
        for row in reader:
            start = consumed + 1
            consumed = reader.line_num
            joined = "".join(row)
            if not joined or joined.isspace():  # `not joined.strip()`, without the copy
                if header is not None and row:
                    stats.blank += 1  # a spreadsheet's empty row (,,,,): not a lead
                continue
            if header is None:
                header = _header(row, options)
                raw_header = [c.strip() for c in row]
                header_start = raw_header[0]  # a row holding it in its first cell may repeat the header
                width = len(header)
                layout = json_layout(header)
                _check_header(header, raw_header, options)
                secret = [i for i, raw in enumerate(raw_header) if is_credential(raw) or is_credential(header[i])]
                if secret:  # a credential column is never kept: its rows take the dict path
                    keep = [i for i in range(width) if i not in secret]
                    stats.warnings.append(f"column(s) {', '.join(raw_header[i] for i in secret)} hold credentials:"
                                          " not kept with the leads")
                continue
            if len(row) != width:
                if len(row) > width and not any(v.strip() for v in row[width:]):
                    row = row[:width]  # trailing empty cells, as spreadsheets write them
                else:
                    yield BadRecord(start, f"has {len(row)} fields, the header has {width}")
                    continue
            if header_start in row[0] and [c.strip() for c in row] == raw_header:
                yield BadRecord(start, "repeats the header (two files joined?); not a lead")
                continue
            if "\0" in joined:
                yield BadRecord(start, NUL_REASON)
                continue
            if not joined.isascii() and _NOT_UTF8.search(joined):
                yield BadRecord(start, "is not valid UTF-8 (save the file as UTF-8)")
                continue
            if secret:
                yield Record(start, {header[i]: row[i] for i in keep})
                continue
            yield Record(start, dict(zip(header, row)), row, layout)
    except csv.Error as exc:  # only the reader raises these
        start = consumed + 1
        if header is None:
            raise IntakeError(f"line {start}: unreadable CSV header: {exc}") from None
        # Past a syntax error the reader no longer knows where fields begin: what
        # follows could be text from inside a quoted field. Stop reading this input.
        yield BadRecord(start, f"unreadable CSV: {exc}; reading stopped at this line,"
                               " the rest of this input was not routed")
    except UnicodeError as exc:  # only for utf-16 input that is broken
        raise IntakeError(f"line {consumed + 1}: cannot decode the input as {encoding}: {exc.reason}") from None


# -- JSON Lines --------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _read_jsonl(stream: BinaryIO, options: Options) -> Iterator[Record | BadRecord]:
    line = 0
    warned_id = False
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
        record = _object_record(data, line, options, bool(_SURROGATE_ESCAPE.search(raw)), b"\\u0000" in raw)
        if record is None:
            continue
        if not warned_id and record.__class__ is Record and not (record.fields.get("id") or "").strip():
            warned_id = True
            _warn_no_id(options, line)
        yield record


def read_objects(items: list, options: Options | None = None, *, escapes: bool = True) -> Iterator[Record | BadRecord]:
    """The records of JSON values already parsed (a webhook's body: an object, or an array of
    them, the n-th on line n), read as `read_records` reads each line of JSON Lines. `escapes`:
    the text they were parsed from held `\\u` escapes (a lone surrogate or a NUL may hide there)."""
    options = options or Options()
    if options.shape is not None and options.shape not in shapes.SHAPES:
        raise LeadctlError(f"--shape must be one of {', '.join(shapes.SHAPES)}")
    warned_id = False
    for line, data in enumerate(items, 1):
        record = _object_record(data, line, options, escapes, escapes)
        if record is None:
            continue
        if not warned_id and record.__class__ is Record and not (record.fields.get("id") or "").strip():
            warned_id = True
            _warn_no_id(options, line)
        yield record


def _warn_no_id(options: Options, line: int) -> None:
    options.stats.warnings.append(
        f"line {line}: no id: the lead gets an id made from its content, so a re-sent changed"
        " record will not be recognised as the same lead; name the id field with --map 'FIELD=id'"
    )


def _object_record(data, line: int, options: Options, surrogates: bool, nuls: bool) -> Record | BadRecord | None:
    """One JSON value as a record (None: blank, not a lead): an object's keys mapped to fields,
    credentials dropped, values as text; anything else rejected with why."""
    if not isinstance(data, dict):
        if isinstance(data, list) and data and isinstance(data[0], dict) and "subscriptionType" in data[0]:
            return BadRecord(line, "is a list of HubSpot webhook events, which carry only object ids,"
                                   " not contacts: export the contacts and route those")
        return BadRecord(line, f"is a JSON {_JSON_KIND.get(type(data), 'value')}, not an object")
    try:
        flat = shapes.flatten(data, options.shape)
    except shapes.NotALead as exc:
        return BadRecord(line, str(exc))
    mapping = options.mapping
    fields: dict[str, str] = {}
    for key, value in (flat or data).items():
        if value is None or is_credential(key):  # a credential is never kept with a lead
            continue
        name = _key(key.strip(), mapping) or "column"
        if name in fields:  # "E-Mail" and "email" in one object: the first is email, the other kept
            name = key.strip() if key.strip() not in fields else f"{key.strip()} (2)"
        fields[name] = _text(value)
    if surrogates and _has_lone_surrogate(fields):
        return BadRecord(line, "has a \\u escape that is not a character (a lone UTF-16 surrogate)")
    if nuls and any("\0" in k or "\0" in v for k, v in fields.items()):
        return BadRecord(line, NUL_REASON)
    if not any(v.strip() for v in fields.values()):
        options.stats.blank += 1  # {} or only empty values: not a lead
        return None
    return Record(line, fields)


def _has_lone_surrogate(fields: dict[str, str]) -> bool:
    """True when a key or value holds half of a UTF-16 pair, which is no text at all."""
    for key, value in fields.items():
        try:
            key.encode("utf-8")
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False
