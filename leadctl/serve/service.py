"""What every endpoint of `serve` shares: the Service (config and ledger per request), the
Answer, credentials checked against the ledger's tokens, and query parameters read strictly."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import LeadctlError

MAX_BODY = 1 << 20  # bytes; `serve --max-body` changes it
BUSY_TIMEOUT = 5.0  # seconds a request waits for another writer before 503 (LEADCTL_BUSY_TIMEOUT overrides)
RETRY_AFTER = "2"


@dataclass
class Answer:
    status: int
    body: dict
    counts: str = ""  # outcome counts for the log line (never lead contents)
    token: str | None = None  # the name of the credentials that were accepted, for the log line


class Service:
    """What the endpoints need: where the config and ledger are, read per request."""

    def __init__(self, config_path: Path, db: Path | None):
        from ..config import Watcher, load

        self.config_path = config_path
        self.db = db
        self.watcher = Watcher(load(config_path))
        self.lock = threading.Lock()
        # Requests in this process take turns at the ledger's write lock here, in order: left
        # to SQLite, waiting threads sleep in growing steps (up to 100 ms) and latency tails off.
        self.writing = threading.Lock()
        self.local = threading.local()  # one ledger connection per worker thread, kept open
        self.routed = threading.Event()  # set when a request assigned a lead: the sender looks now
        self.web_keys: dict[str, str] = {}  # ledger -> the key the pages' session cookie is signed with

    def config(self):
        with self.lock:
            cfg = self.watcher.current()
            return cfg, self.watcher.problem

    def zone(self):
        """The configured time zone (the log's times are in it, as every listing's); UTC while
        the config cannot be read."""
        from datetime import timezone

        try:
            return self.watcher.cfg.tz()  # the config last read (no look at the file: the log asks per request)
        except LeadctlError:
            return timezone.utc

    def ledger_target(self, cfg):
        """Where the ledger is: --db, else the config's: a Path, or a PostgreSQL URL (text)."""
        from ..ledger import target

        return target(self.db) if self.db else cfg.ledger_path()

    def ledger(self, cfg):
        """This thread's connection to the ledger, opened once and kept for its next requests."""
        from ..ledger import Ledger

        path = self.ledger_target(cfg)
        kept = getattr(self.local, "ledger", None)
        if kept is not None and (kept.target != path or kept.broken):
            kept.close()  # another ledger now, or a PostgreSQL connection that dropped: open anew
            kept = None
        if kept is None:
            kept = self.local.ledger = Ledger.open(path, busy_timeout=BUSY_TIMEOUT)
        return kept


def _google_key(body: bytes) -> str | None:
    """Google Ads lead forms cannot send headers: the key set in Google Ads comes as
    `google_key` in the body, and is checked like a bearer token."""
    if b'"google_key"' not in body:
        return None
    try:
        key = json.loads(body).get("google_key")
    except (ValueError, AttributeError, RecursionError):
        return None
    return f"Bearer {key}" if isinstance(key, str) else None


UNAVAILABLE = "the service cannot take requests right now; retry"  # all an unauthenticated caller learns


def credentials(service: Service, ledger=None):
    """(config, ledger, live tokens) for checking requests, else the Answer (503) saying the
    server cannot: read once per request, or once per round of requests routed together.
    `ledger`: the connection to read them with (a round on the event loop has its own, which
    never waits: its LedgerBusy is the caller's), else this thread's."""
    from ..ledger import LedgerBusy
    from ..render import err

    try:
        cfg, _ = service.config()
    except LeadctlError as exc:
        err(f"the config cannot be used: {exc}")
        return Answer(503, {"error": UNAVAILABLE})
    given = ledger is not None
    try:
        ledger = ledger if given else service.ledger(cfg)
        tokens = ledger.live_tokens()
    except LeadctlError as exc:  # busy past the timeout, unreachable, or not a ledger this leadctl can use
        if given and isinstance(exc, LedgerBusy):
            raise
        err(f"the ledger cannot be used: {exc}")
        return Answer(503, {"error": UNAVAILABLE})
    return cfg, ledger, tokens


def _authenticate(service: Service, headers: dict, body: bytes, *, intake: bool, known=None):
    """(config, ledger, token row) for a request with good credentials, else the Answer
    that refuses it. The ledger is this thread's kept connection. A signature proves a
    body, so it is taken for intake (`intake`: POST /leads) only; what a user does needs
    their bearer token. A token whose user is inactive, or gone from the config, is refused.
    `known`: `credentials` already read for this round of requests.
    What went wrong with the config or the ledger goes to the log, never to the caller: the
    answer names neither a file nor a URL."""
    from ..tokens import check

    found = known or credentials(service)
    if isinstance(found, Answer):
        return found
    cfg, ledger, tokens = found
    authorization = headers.get("authorization") or (_google_key(body) if intake else None)
    signature = headers.get("x-hub-signature-256") if intake else None
    token = check(tokens, authorization, signature, body, timestamp=headers.get("x-leadctl-timestamp"))
    if token is not None and token["user_id"]:
        user = next((u for u in cfg.users if u.id == token["user_id"]), None)
        if user is None or not user.active:
            token = None  # the user it was made for is gone or inactive: the token is dead with them
    if token is None:
        how = ("Authorization: Bearer TOKEN, or X-Hub-Signature-256 over the body for a signing token" if intake
               else "Authorization: Bearer TOKEN, a token made with `leadctl token add NAME --user USER`")
        return Answer(401, {"error": f"missing or wrong credentials ({how})"})
    return cfg, ledger, token


def _as_user(service: Service, headers: dict):
    """(config, ledger, user) for a request made with a token bound to a user, else the
    Answer refusing it."""
    found = _authenticate(service, headers, b"", intake=False)
    if isinstance(found, Answer):
        return found
    cfg, ledger, token = found
    if not token["user_id"] or not cfg.has_user(token["user_id"]):
        return Answer(403, {"error": "this token is for intake only; a rep's view needs a token made with --user"},
                      token=token["name"])
    return cfg, ledger, cfg.user(token["user_id"]), token["name"]


MAX_LIMIT = 10_000  # leads one GET /me/leads returns at most


class BadQuery(Exception):
    """A query parameter with a value it cannot have (a 400 that names it)."""


def _query_int(query: dict, key: str, default: int, low: int, high: int) -> int:
    text = query.get(key)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
        raise BadQuery(f"?{key} must be a whole number from {low} to {high}")
    return int(text)


def _query_flag(query: dict, key: str) -> bool:
    text = query.get(key, "0").lower()
    if text not in ("0", "1", "true", "false", ""):
        raise BadQuery(f"?{key} must be 1 or 0")
    return text in ("1", "true")
