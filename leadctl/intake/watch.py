"""`leadctl watch`: a source that grows (a published Google Sheet, any CSV or JSON Lines URL,
a local file) kept routed, poll after poll.

A poll fetches the source conditionally (ETag / Last-Modified for a URL; size and modification
time for a file: unchanged costs one small request, or one stat), reads it with the one intake
reader, and hands the router only the rows whose lead id (their `id`, else the content-derived
id `route` gives) is new: the ids of the previous poll are remembered in memory and in the
ledger (`watches`), so a poll of 50,000 known rows looks none of them up. A row whose content
changed in place (its derived id is new, but the row it replaced at that position is gone) was
routed already and is not routed again when it is still the same person (the same email or
phone): a row deleted as another arrives in its place is a new lead, routed. What the source
does wrong — an HTTP error, a timeout,
a web page instead of CSV, a changed header — is a `SourceError`: one line, and the next poll
tries again (the caller backs off).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from ..outcome import derived_id
from ..errors import LeadctlError
from . import BadRecord, IntakeError, Options, Record, format_for, read_records

TIMEOUT = 30  # seconds a whole fetch may take (connecting, waiting and reading, together)
MAX_SIZE = 256 << 20  # bytes a source may have
# a sheet's own address (not a published /d/e/… link, which is already CSV when it says so)
_SHEET = re.compile(r"^https://docs\.google\.com/spreadsheets/d/(?!e/)([A-Za-z0-9_-]+)(?:/(?:edit|view|htmlview)[^?#]*)?(?:[?#].*)?$")


class SourceError(LeadctlError):
    """The source could not be read this time (the next poll tries again)."""

    def __init__(self, message: str):
        super().__init__(message, 1)


def sheet_csv_url(url: str) -> str:
    """A Google Sheet's address as copied from the browser (…/edit#gid=N) made into its CSV export
    (…/export?format=csv&gid=N); any other address as given."""
    m = _SHEET.match(url)
    if not m:
        return url
    gid = re.search(r"[#&?]gid=(\d+)", url)
    return f"https://docs.google.com/spreadsheets/d/{m.group(1)}/export?format=csv" + (f"&gid={gid.group(1)}" if gid else "")


def label(source: str) -> str:
    """How messages name a source: a URL without its query, fragment or credentials."""
    if "://" not in source:
        return source
    parts = urlsplit(source)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass
class Fetched:
    body: bytes | None  # None: unchanged since the last poll
    etag: str | None = None
    last_modified: str | None = None


def redirect_refusal(origin: str, target: str) -> str | None:
    """Why a watch of `origin` must not follow a redirect to `target`, or None. Never to another
    scheme (https to http, or anything but http(s)); never from a public source to a loopback,
    private or link-local address (a published sheet is not a way into the office network).
    A source that is itself on such an address may redirect within them."""
    to = urlsplit(target)
    if to.scheme != urlsplit(origin).scheme:
        return f"the source redirected to a {to.scheme or 'relative'}:// address; a watch never changes scheme"
    if not _internal(urlsplit(origin).hostname) and _internal(to.hostname):
        return f"the source redirected to an internal address ({to.hostname}); not followed"
    return None


def _internal(host: str | None) -> bool:
    """Whether `host` is (or resolves to) a loopback, private, link-local or otherwise
    non-public address. A name that does not resolve here is taken as public."""
    import ipaddress
    import socket

    if not host:
        return False
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in socket.getaddrinfo(host, None)]
        except (OSError, UnicodeError, ValueError):
            return False
    return any(not a.is_global or a.is_multicast for a in addresses)


def _opener(url: str):
    import urllib.request

    class Redirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            why = redirect_refusal(url, newurl)
            if why:
                raise SourceError(why)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    return urllib.request.build_opener(Redirects)


def _read_whole(response, deadline: float) -> bytes:
    """The whole answer, within the overall deadline and the size limit; an answer that ends
    before its Content-Length (or its last chunk) is a SourceError: nothing of it is routed."""
    import http.client
    import time

    parts, size = [], 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise SourceError(f"the source did not send its answer within {TIMEOUT} s")
            part = response.read1(65536)
            if not part:
                break
            parts.append(part)
            size += len(part)
            if size > MAX_SIZE:
                raise SourceError(f"the source is larger than {MAX_SIZE >> 20} MiB")
    except http.client.IncompleteRead:
        raise SourceError("the source's answer was cut short; nothing from it was routed") from None
    body = b"".join(parts)
    length = response.headers.get("Content-Length")
    if length and length.strip().isdigit() and len(body) < int(length):
        raise SourceError(f"the source's answer was cut short ({len(body)} of {int(length)} bytes);"
                          " nothing from it was routed")
    return body


def fetch_url(url: str, etag: str | None, last_modified: str | None) -> Fetched:
    """GET `url`, conditionally; a 304 is `Fetched(None)`. Anything but CSV or JSON Lines text
    with a 200, whole, within TIMEOUT seconds in all, is a SourceError naming what came instead;
    redirects are followed only where `redirect_refusal` lets them."""
    import socket
    import time
    import urllib.error
    import urllib.request

    headers = {"User-Agent": "leadctl-watch", "Accept": "text/csv, application/x-ndjson, text/plain;q=0.9, */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)
    deadline = time.monotonic() + TIMEOUT
    try:
        with _opener(url).open(request, timeout=TIMEOUT) as response:
            body = _read_whole(response, deadline)
            kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            new_etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, last_modified)
        hint = " (is the sheet published to the web, and the link its CSV?)" if exc.code in (401, 403, 404) else ""
        raise SourceError(f"the source answered HTTP {exc.code} {exc.reason}{hint}") from None
    except (socket.timeout, TimeoutError):
        raise SourceError(f"the source did not answer within {TIMEOUT} s") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise SourceError(f"the source did not answer within {TIMEOUT} s") from None
        raise SourceError(f"cannot reach the source: {getattr(reason, 'strerror', None) or reason}") from None
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read the source: {exc}") from None
    if kind == "text/html" or body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise SourceError("the source sent a web page, not CSV or JSON Lines (a Google Sheet must be published"
                          " to the web as CSV: File > Share > Publish to web > CSV)")
    return Fetched(body, new_etag, modified)


def fetch_file(path: str, etag: str | None) -> Fetched:
    """A local file, read whole when its size or modification time changed (the pair is its ETag)."""
    try:
        info = os.stat(path)
        validator = f"{info.st_size}:{info.st_mtime_ns}"
        if validator == etag:
            return Fetched(None, etag)
        if info.st_size > MAX_SIZE:
            raise SourceError(f"the file is larger than {MAX_SIZE >> 20} MiB")
        with open(path, "rb") as fh:
            return Fetched(fh.read(), validator)
    except FileNotFoundError:
        raise SourceError(f"no file {path} (yet)") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a folder, not a file") from None
    except PermissionError:
        raise SourceError(f"cannot read {path}: permission denied") from None


@dataclass
class Poll:
    """What one poll did: unchanged, or the outcomes of the new rows (and what it left alone)."""

    unchanged: bool = False
    outcomes: list = field(default_factory=list)
    known: int = 0  # rows already routed (by id)
    changed: int = 0  # rows routed before whose content changed in place: not routed again
    bad: list[BadRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Watch:
    """One source kept routed through `router` (an assign.route.Router on the ledger)."""

    def __init__(self, source: str, router, ledger, options: Callable[[], Options], fmt: str | None,
                 fetch: Callable[[str, str | None, str | None], Fetched] | None = None):
        self.source = sheet_csv_url(source)
        self.is_url = "://" in source
        if self.is_url:
            try:
                scheme = urlsplit(self.source).scheme
                label(self.source)
            except ValueError:
                raise LeadctlError(f"'{source[:200]}' is not a valid URL") from None
            if scheme not in ("http", "https"):
                raise LeadctlError(f"watch takes an http(s) URL or a file, not '{label(source)}'")
        self.name = label(source)  # how messages name it
        self.key = label(self.source) if not self.is_url else self.source  # the ledger's name for it
        self.router = router
        self.ledger = ledger
        self.options = options
        self.fmt = format_for(None if self.is_url else source, fmt)
        self.fetch = fetch or (fetch_url if self.is_url else (lambda path, etag, _: fetch_file(path, etag)))
        state = ledger.watch_state(self.key) or {}
        self.etag, self.last_modified = state.get("etag"), state.get("last_modified")
        self.header: str | None = state.get("header")
        self.previous: list[str] = state.get("row_ids", [])  # the last poll's routed ids, row by row ("": none)
        self.known: set[str] = set(self.previous) - {""}  # ids known to be in the ledger
        self.header_seen: str | None = state.get("pending_header")  # a changed header seen once: taken if it holds
        self.said: set[str] = set()  # ids of rejected rows already reported
        self.by_cells: dict[tuple, str] = {}  # a CSV row's cells -> its id, as of the last poll
        self.layout: str | None = None  # the header's layout those cells were read with

    def _ids(self, rows: list) -> list[str | None]:
        """Each row's lead id (None for a row that could not be read). A CSV row seen at the last
        poll with the same header keeps the id made then: a content id is a hash of the row's
        sorted JSON, and a sheet of 50,000 rows would make them all again at every poll."""
        known = self.by_cells
        layout = next((r.layout for r in rows if r.__class__ is Record), None)
        if layout != self.layout:
            known = {}
        fresh: dict[tuple, str] = {}
        ids: list[str | None] = []
        for r in rows:
            if r.__class__ is not Record:
                ids.append(None)
                continue
            if r.cells is None or r.layout != layout:
                ids.append(_id_of(r))
                continue
            key = tuple(r.cells)
            lead_id = known.get(key) or fresh.get(key)
            if lead_id is None:
                lead_id = _id_of(r)
            fresh[key] = lead_id
            ids.append(lead_id)
        self.by_cells, self.layout = fresh, layout
        return ids

    def _same_person(self, old_id: str, record: Record) -> bool:
        """Whether `record` is the routed lead `old_id` edited in place: the same email or phone
        (a name fixed, a status filled in); else it is someone new in a deleted row's place."""
        from ..domain.keys import email_key, phone_key

        old = self.ledger.lead(old_id)
        if old is None:
            return False
        email, phone = email_key(record.fields.get("email")), phone_key(record.fields.get("phone"))
        return bool((email and email == email_key(old["email"])) or (phone and phone == phone_key(old["phone"])))

    def poll(self, now: datetime, stop: Callable[[], bool] = lambda: False) -> Poll:
        got = self.fetch(self.source, self.etag, self.last_modified)
        if got.body is None:
            return Poll(unchanged=True)
        body, held = got.body, False
        if not self.is_url and _unterminated(body) and self.etag != HELD + str(got.etag):
            # a writer may be mid-append: the last line waits for the next poll (taken then, whole
            # or not, if the file has not changed since: some files just lack the last newline)
            body, held = body[:body.rfind(b"\n") + 1], True
        options = self.options()
        try:
            rows = list(read_records(io.BytesIO(body), self.fmt, options))
        except IntakeError as exc:
            raise SourceError(f"cannot read the source: {exc}") from None
        header = _header_of(body) if body and (self.fmt or _format_of(body)) != "jsonl" else None
        if self.header is not None and header is not None and header != self.header:
            if header != self.header_seen:  # said once; if it holds until the next poll, it is the new header
                self.header_seen = header
                with self.ledger.write():
                    self.ledger.hold_watch_header(self.key, header, now.isoformat(timespec="seconds"))
                raise SourceError(f"the header changed (now: {header[:200]}); nothing routed from this poll;"
                                  " if the change is meant, the next poll takes the new header")
        self.header_seen = None
        out = Poll(warnings=list(options.stats.warnings))
        ids = self._ids(rows)
        present = set(i for i in ids if i)
        vanished = {i for i in self.previous if i and i not in present}  # routed rows of the last poll now gone
        unknown = [i for i in ids if i and i not in self.known]
        if unknown:
            self.known.update(self.ledger.existing_ids(unknown))  # once per new id, in chunks
        fresh: list[Record] = []
        for n, (r, lead_id) in enumerate(zip(rows, ids)):
            if r.__class__ is not Record:
                out.bad.append(r)
                continue
            if lead_id in self.known:
                out.known += 1
            elif (n < len(self.previous) and self.previous[n] in vanished and not r.fields.get("id")
                  and self._same_person(self.previous[n], r)):
                out.changed += 1  # this row replaced one routed before: an edit, not a new lead
                self.known.add(lead_id)
            else:
                fresh.append(r)
        stopped = False
        for outcomes in self.router.route_batches(iter(fresh)):
            for o in outcomes:
                if o.status != "rejected":
                    self.known.add(o.lead_id)  # routed now, or found in the ledger (skipped)
                elif o.lead_id is None or o.lead_id not in self.said:  # a bad row is said once, not each poll
                    self.said.add(o.lead_id)
                    out.outcomes.append(o)
                    continue
                else:
                    continue
                out.outcomes.append(o)
            if stop():
                stopped = True  # the rest waits for the next poll: the answer is fetched whole again
                break
        if stopped:
            self.etag = self.last_modified = None
        elif held:
            self.etag, self.last_modified = HELD + str(got.etag), None  # read again at the next poll
        else:
            self.etag, self.last_modified = got.etag, got.last_modified
        # the rows routed (or found in the ledger) by position; "" for the rest (unreadable, rejected,
        # or left for the next poll by a stop): a row there later is new, not an edit
        self.previous = [i if i and i in self.known else "" for i in ids]
        if header is not None:
            self.header = header
        with self.ledger.write():
            self.ledger.save_watch_state(self.key, self.etag, self.last_modified, self.header, self.previous,
                                         now.isoformat(timespec="seconds"))
        return out


HELD = "held:"  # the validator of a file whose unterminated last line waits for the next poll


def _unterminated(body: bytes) -> bool:
    """Whether a file's last line has no line end yet (UTF-16 files are read whole)."""
    return bool(body) and not body.endswith(b"\n") and not body.startswith((b"\xff\xfe", b"\xfe\xff"))


def _format_of(body: bytes) -> str:
    from .sniff import sniff_format

    return sniff_format(body[:4096])


def _header_of(body: bytes) -> str | None:
    """The first line of a CSV (BOM and line end removed), to notice a changed header."""
    text = body[:65536].decode("utf-8-sig", "replace")
    line = text.split("\n", 1)[0].rstrip("\r")
    return line or None


def _id_of(record: Record) -> str:
    return (record.fields.get("id") or "").strip() or derived_id(record.fields)


def iterate(poll_once: Callable[[], Poll], every: float, wait: Callable[[float], bool]) -> Iterator[Poll | SourceError]:
    """Polls forever, `every` seconds apart; after a failure the wait doubles (up to 16x `every`,
    at most an hour) until a poll works again. `wait(seconds)` returns True when asked to stop."""
    delay = every
    while True:
        try:
            yield poll_once()
            delay = every
        except SourceError as exc:
            yield exc
            delay = min(delay * 2, every * 16, 3600)
        if wait(delay):
            return
