"""`leadctl serve`: the live entrance, a webhook endpoint that routes each lead as it arrives.

A thin ASGI app (starlette, run by uvicorn; imported by `serve` alone): a request
is read (within the size limit), its credentials checked against the ledger's
tokens, its body turned into records by the same intake `route` uses, and the
records routed by the same Router into the same ledger, so files, stdin and
webhooks share one rotation and one set of caps. The answer carries `route`'s
outcome fields. Each request reads the config afresh when its file changed and
opens the ledger for itself, so admin edits apply from the next request.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl

from .errors import LeadctlError

MAX_BODY = 1 << 20  # bytes; `serve --max-body` changes it
BUSY_TIMEOUT = 5.0  # seconds a request waits for another writer before 503 (LEADCTL_BUSY_TIMEOUT overrides)
RETRY_AFTER = "2"
JSON_TYPES = ("application/json", "text/json")
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines")
CSV_TYPES = ("text/csv", "application/csv")
FORM_TYPES = ("application/x-www-form-urlencoded",)


@dataclass
class Answer:
    status: int
    body: dict
    counts: str = ""  # outcome counts for the log line (never lead contents)
    token: str | None = None  # the name of the credentials that were accepted, for the log line


class Service:
    """What the endpoints need: where the config and ledger are, read per request."""

    def __init__(self, config_path: Path, db: Path | None):
        from .config import Watcher, load

        self.config_path = config_path
        self.db = db
        self.watcher = Watcher(load(config_path))
        self.lock = threading.Lock()
        # Requests in this process take turns at the ledger's write lock here, in order: left
        # to SQLite, waiting threads sleep in growing steps (up to 100 ms) and latency tails off.
        self.writing = threading.Lock()
        self.local = threading.local()  # one ledger connection per worker thread, kept open
        self.routed = threading.Event()  # set when a request assigned a lead: the sender looks now

    def config(self):
        with self.lock:
            cfg = self.watcher.current()
            return cfg, self.watcher.problem

    def ledger(self, cfg):
        """This thread's connection to the ledger, opened once and kept for its next requests."""
        from .ledger import Ledger, target

        path = target(self.db) if self.db else cfg.ledger_path()
        kept = getattr(self.local, "ledger", None)
        if kept is not None and (kept.target != path or getattr(kept.conn, "broken", False)):
            kept.close()  # another ledger now, or a PostgreSQL connection that dropped: open anew
            kept = None
        if kept is None:
            kept = self.local.ledger = Ledger.open(path, busy_timeout=BUSY_TIMEOUT)
        return kept


ACCEPTED = ", ".join((*JSON_TYPES, *JSONL_TYPES[:1], *CSV_TYPES[:1], *FORM_TYPES))


class Unsupported(Exception):
    """A body of a Content-Type leadctl does not read (415)."""


def records_from(body: bytes, content_type: str, options):
    """The request body as intake records: a JSON object or array (each element a record,
    each on its own line: a bad one is rejected alone), JSON Lines, CSV or a form; with no
    Content-Type it is sniffed like a file; any other type is Unsupported."""
    import io

    from .intake import IntakeError, read_records

    kind = content_type.split(";")[0].strip().lower()
    if kind and kind not in (*JSON_TYPES, *JSONL_TYPES, *CSV_TYPES, *FORM_TYPES):
        raise Unsupported(f"Content-Type {kind[:60]} is not read here; send one of: {ACCEPTED}")
    if kind in FORM_TYPES and body.lstrip()[:1] in (b"{", b"["):
        kind = "application/json"  # `curl -d '{...}'` sends JSON labelled as a form: read it as JSON
    if kind in FORM_TYPES:
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        body, kind = (json.dumps(fields) + "\n").encode(), "application/x-ndjson"
    elif kind in JSON_TYPES or (not kind and body.lstrip()[:1] in (b"{", b"[")):
        try:
            data = json.loads(body.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise IntakeError(f"the body is not JSON: {getattr(exc, 'msg', exc)}") from None
        items = data if isinstance(data, list) else [data]
        # ASCII escapes: a lone surrogate (`"\ud800"`) stays an escape the JSON Lines reader
        # rejects on its own line, instead of failing the whole body.
        body = b"".join(json.dumps(item).encode("ascii") + b"\n" for item in items)
        kind = "application/x-ndjson"
    fmt = "jsonl" if kind in JSONL_TYPES else "csv" if kind in CSV_TYPES else None
    return read_records(io.BytesIO(body), fmt, options)


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


def _authenticate(service: Service, headers: dict, body: bytes, *, intake: bool):
    """(config, ledger, token row) for a request with good credentials, else the Answer
    that refuses it. The ledger is this thread's kept connection. A signature proves a
    body, so it is taken for intake (`intake`: POST /leads) only; what a user does needs
    their bearer token. A token whose user is inactive, or gone from the config, is refused.
    What went wrong with the config or the ledger goes to the log, never to the caller: the
    answer names neither a file nor a URL."""
    from .render import err
    from .tokens import check

    try:
        cfg, _ = service.config()
    except LeadctlError as exc:
        err(f"the config cannot be used: {exc}")
        return Answer(503, {"error": UNAVAILABLE})
    try:
        ledger = service.ledger(cfg)
    except LeadctlError as exc:  # busy past the timeout, unreachable, or not a ledger this leadctl can use
        err(f"the ledger cannot be used: {exc}")
        return Answer(503, {"error": UNAVAILABLE})
    authorization = headers.get("authorization") or (_google_key(body) if intake else None)
    signature = headers.get("x-hub-signature-256") if intake else None
    token = check(ledger.live_tokens(), authorization, signature, body, timestamp=headers.get("x-leadctl-timestamp"))
    if token is not None and token["user_id"]:
        user = next((u for u in cfg.users if u.id == token["user_id"]), None)
        if user is None or not user.active:
            token = None  # the user it was made for is gone or inactive: the token is dead with them
    if token is None:
        how = ("Authorization: Bearer TOKEN, or X-Hub-Signature-256 over the body for a signing token" if intake
               else "Authorization: Bearer TOKEN, a token made with `leadctl token add NAME --user USER`")
        return Answer(401, {"error": f"missing or wrong credentials ({how})"})
    return cfg, ledger, token


def route_request(service: Service, body: bytes, headers: dict, query: dict) -> Answer:
    """POST /leads, once the body is read: credentials, records, routing, the answer."""
    from .actor import token_actor
    from .config import mapping as saved_mapping
    from .intake import IntakeError, Options
    from .ledger import LedgerBusy, LedgerError
    from .routing import REJECTED, Router

    from .rights import POST_LEADS, refusal

    found = _authenticate(service, headers, body, intake=True)
    if isinstance(found, Answer):
        return found
    cfg, ledger, token = found
    why = refusal(cfg, token_actor(token["name"], token["user_id"]), POST_LEADS)
    if why:
        return Answer(403, {"error": why}, token=token["name"])
    try:
        columns = saved_mapping(cfg, query["mapping"]) if query.get("mapping") else {}
        options = Options(mapping=columns, shape=query.get("shape") or None)
        content_type = headers.get("content-type", "")
        records = list(records_from(body, content_type, options)) if body.strip() else []
        if not records:
            raise IntakeError(_nothing_in(body, content_type))
        with service.writing:
            router = Router(lambda: cfg, ledger, clock=lambda: datetime.now().astimezone(), rng=random.Random(),
                            actor=token_actor(token["name"], None), group=query.get("group") or None)
            outcomes = [o for batch in router.route_batches(records) for o in batch]
        if any(o.assigned_to for o in outcomes):
            service.routed.set()
    except LedgerBusy:
        return Answer(503, {"error": "the ledger is busy; retry"})
    except (sqlite3.Error, LedgerError):  # a full disk, a server gone: nothing of the batch in flight was kept
        return Answer(503, {"error": "the ledger failed; nothing of this request was kept, retry"})
    except Unsupported as exc:
        return Answer(415, {"error": str(exc)}, token=token["name"])
    except IntakeError as exc:
        return Answer(400, {"error": str(exc)}, token=token["name"])
    except LeadctlError as exc:  # an unknown group, mapping or shape in the query
        return Answer(400, {"error": str(exc)}, token=token["name"])
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    status = 422 if counts.get(REJECTED) else 200
    return Answer(status, {"outcomes": [o.as_dict() for o in outcomes]},
                  " ".join(f"{k}={v}" for k, v in sorted(counts.items())), token["name"])


def _nothing_in(body: bytes, content_type: str) -> str:
    """Why a body gave no record, and what to send instead (never its contents)."""
    kind = content_type.split(";")[0].strip() or "no Content-Type"
    got = "an empty body" if not body.strip() else f"{len(body)} bytes as {kind}, holding no lead"
    return (f"no record in the request: {got}; send a JSON object or array (Content-Type: application/json),"
            " JSON Lines (application/x-ndjson), CSV with a header row (text/csv) or a form"
            " (application/x-www-form-urlencoded) with at least one filled field")


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


def my_leads(service: Service, headers: dict, query: dict) -> Answer:
    """GET /me/leads: the leads the token's user may see (lead isolation applied). The
    ledger's own columns come first; the lead's fields as it came are under `fields` too,
    so a payload field named like a column (`assigned_to`, `group`) never stands in for it."""
    from .rights import visible_owner

    found = _as_user(service, headers)
    if isinstance(found, Answer):
        return found
    cfg, ledger, user, name = found
    try:
        limit = _query_int(query, "limit", 100, 1, MAX_LIMIT)
        mine = _query_flag(query, "mine")
    except BadQuery as exc:
        return Answer(400, {"error": str(exc)}, token=name)
    from .intake.columns import is_credential

    rows = []
    for r in ledger.leads(visible_to=visible_owner(cfg, user.id), owner=user.id if mine else None, limit=limit):
        # (a lead kept before credentials were removed at intake may still hold one: never shown)
        own = {k: v for k, v in json.loads(r["fields"]).items() if not is_credential(k)}
        rows.append({**own, "id": r["id"], "type": r["type"], "status": r["status"], "assigned_to": r["assigned_to"],
                     "group": r["group_name"], "received_at": r["received_at"], "fields": own})
    return Answer(200, {"user": user.id, "leads": rows}, f"leads={len(rows)}", name)


def my_quota(service: Service, headers: dict) -> Answer:
    """GET /me/quota: the token's user's caps and use today, in every group they belong to."""
    from .audit import quota_rows, today

    found = _as_user(service, headers)
    if isinstance(found, Answer):
        return found
    cfg, ledger, user, name = found
    rows = [r for r in quota_rows(cfg, ledger, today(cfg, datetime.now().astimezone())) if r["user"] == user.id]
    return Answer(200, {"user": user.id, "quota": rows}, token=name)


def pick_up(service: Service, headers: dict, lead_id: str) -> Answer:
    """POST /leads/{id}/pickup: the token's user picks up a lead, under `leadctl pickup`'s rules."""
    from .actor import token_actor
    from .manual import pickup

    found = _as_user(service, headers)
    if isinstance(found, Answer):
        return found
    cfg, ledger, user, name = found
    if "\0" in lead_id:  # no lead id holds a NUL (intake refuses them); a PostgreSQL ledger could not look it up
        return Answer(404, {"error": "unknown lead"}, token=name)
    with service.writing:
        move = pickup(cfg, ledger, lead_id, user.id, datetime.now().astimezone(), actor=token_actor(name, user.id))
    if not move.done:
        status = 404 if move.reason and move.reason.startswith("unknown lead") else 409
        return Answer(status, {"error": move.reason}, token=name)
    return Answer(200, move.as_dict(), token=name)


def health(service: Service) -> Answer:
    """GET /healthz: whether requests can be served; why not goes to the log, not the answer."""
    from .render import err

    try:
        cfg, problem = service.config()
        if problem:
            err(f"healthz: the config cannot be used: {problem}")
            return Answer(503, {"ok": False, "error": "the config cannot be used (see the server's log)"})
        service.ledger(cfg)
    except LeadctlError as exc:
        err(f"healthz: {exc}")
        return Answer(503, {"ok": False, "error": "the config or the ledger cannot be used (see the server's log)"})
    return Answer(200, {"ok": True})


def log_line(at: datetime, client: str, method: str, path: str, status: int, took_ms: float,
             token: str | None, counts: str) -> str:
    """One request in the server's log: when (ISO 8601), who from where, what, the answer, and
    the outcome counts; never a body, a credential or a lead's contents."""
    from urllib.parse import quote

    who = f"token={token}" if token else "token=-"
    safe_path = quote(path, safe="/:@!$&'()*+,;=-._~")[:200]  # no control characters, bounded
    line = f"{at.isoformat(timespec='seconds')} {client} {who} {method[:16]} {safe_path} {status} {took_ms:.1f}ms"
    return f"{line} {counts}".rstrip()


def create_app(service: Service, max_body: int = MAX_BODY):
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from .render import err

    def respond(request, answer: Answer) -> JSONResponse:
        request.state.token = answer.token  # for the log line, written by `logged` below
        request.state.counts = answer.counts
        headers = {"Retry-After": RETRY_AFTER} if answer.status == 503 else None
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)

    async def post_leads(request):
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body:
            return respond(request, Answer(413, {"error": f"the body is over {max_body} bytes"}))
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    return respond(request, Answer(413, {"error": f"the body is over {max_body} bytes"}))
        except ClientDisconnect:  # the sender went away mid-body: nothing was read, nothing kept
            return respond(request, Answer(400, {"error": "the body did not arrive whole"}, "client went away"))
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = dict(request.query_params)
        return respond(request, await run_in_threadpool(route_request, service, bytes(body), headers, query))

    async def get_health(request):
        return respond(request, await run_in_threadpool(health, service))

    def lower(request) -> dict:
        return {k.lower(): v for k, v in request.headers.items()}

    async def get_my_leads(request):
        return respond(request, await run_in_threadpool(my_leads, service, lower(request), dict(request.query_params)))

    async def get_my_quota(request):
        return respond(request, await run_in_threadpool(my_quota, service, lower(request)))

    async def post_pickup(request):
        lead_id = request.path_params["lead_id"]
        return respond(request, await run_in_threadpool(pick_up, service, lower(request), lead_id))

    async def not_here(request, exc):  # the router's own 404 and 405, as JSON like every answer
        words = {404: "no such endpoint (POST /leads, GET /me/leads, GET /me/quota, POST /leads/ID/pickup,"
                      " GET /healthz)", 405: f"{request.method} is not allowed here"}
        return JSONResponse({"error": words.get(exc.status_code, exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    app = Starlette(exception_handlers={404: not_here, 405: not_here}, routes=[Route("/leads", post_leads, methods=["POST"]),
                            Route("/leads/{lead_id:path}/pickup", post_pickup, methods=["POST"]),
                            Route("/me/leads", get_my_leads, methods=["GET"]),
                            Route("/me/quota", get_my_quota, methods=["GET"]),
                            Route("/healthz", get_health, methods=["GET"])])

    async def logged(scope, receive, send):
        """Every answer is logged, the router's own 404 and 405 included."""
        if scope["type"] != "http":
            return await app(scope, receive, send)
        started = time.perf_counter()
        status = [500]

        async def send_logged(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_logged)
        finally:
            state = scope.get("state") or {}
            client = scope.get("client")
            err(log_line(datetime.now().astimezone(), client[0] if client else "-", scope.get("method", "?"),
                         scope.get("path", ""), status[0], (time.perf_counter() - started) * 1000,
                         state.get("token"), state.get("counts", "")))

    return logged


NOTIFY_EVERY = 2.0  # seconds between two looks at the outbox while serving (at once after an assignment here)


def _deliver_forever(service: Service) -> None:
    """`serve` tells the reps as it goes: the outbox is emptied as soon as a request here
    assigned a lead, and every few seconds (for leads routed elsewhere and for retries), by a
    thread with its own connection that takes its turn with the request threads."""
    import os

    from .notify import send_due
    from .render import err

    password = os.environ.get("LEADCTL_SMTP_PASSWORD")
    while True:
        service.routed.wait(NOTIFY_EVERY)
        service.routed.clear()
        try:
            cfg, _ = service.config()
            counts = send_due(cfg, service.ledger(cfg), datetime.now().astimezone(), password=password,
                              turn=lambda: service.writing)
        except Exception as exc:  # a locked or broken ledger: try again next round
            err(f"notifications: {exc}")
            continue
        if counts:
            err("notifications: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))


def run(service: Service, host: str, port: int, max_body: int) -> None:
    """Serve until SIGINT or SIGTERM: then stop taking connections, let the requests in
    flight finish (each commits or rolls back whole), and return."""
    import uvicorn

    from .render import err

    import signal
    import socket

    try:  # a port already taken or not ours to take: one line, before uvicorn's own log
        with socket.create_server((host, port), reuse_port=False):
            pass
    except OSError as exc:
        raise LeadctlError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    err(f"leadctl serve: listening on http://{host}:{port} (POST /leads, GET /healthz)")
    # uvicorn catches SIGINT/SIGTERM, finishes the requests in flight, then raises the signal
    # again for the handler that was there before: let that be a quiet one, so a stop ends
    # with a line and exit 0 instead of a kill or a KeyboardInterrupt traceback.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    threading.Thread(target=_deliver_forever, args=(service,), name="leadctl-notify", daemon=True).start()
    uvicorn.run(create_app(service, max_body), host=host, port=port, log_level="warning", access_log=False,
                timeout_graceful_shutdown=30)
    err("leadctl serve: stopped")
