"""POST /leads: a request's body read into records by the same intake `route` uses, and
routed by the same Router into the same ledger (one rotation, one set of caps)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from ..actor import token_actor
from ..domain.rights import POST_LEADS, refusal
from ..errors import LeadctlError
from ..intake import MAX_LINE, IntakeError, Options, read_objects, read_records
from .service import Answer, Service, _authenticate

JSON_TYPES = ("application/json", "text/json")
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines")
CSV_TYPES = ("text/csv", "application/csv")
FORM_TYPES = ("application/x-www-form-urlencoded",)


ACCEPTED = ", ".join((*JSON_TYPES, *JSONL_TYPES[:1], *CSV_TYPES[:1], *FORM_TYPES))


SERVE_PATIENCE = 3.0  # seconds a request's batch is retried through a store failure; then 503 (the client retries)


class Unsupported(Exception):
    """A body of a Content-Type leadctl does not read (415)."""


def records_from(body: bytes, content_type: str, options):
    """The request body as intake records: a JSON object or array (each element a record,
    each on its own line: a bad one is rejected alone), JSON Lines, CSV or a form; with no
    Content-Type it is sniffed like a file; any other type is Unsupported."""
    import io

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
        except json.JSONDecodeError as exc:  # where it went wrong, as an editor counts
            raise IntakeError(f"the body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
                              " (a JSON object or array)") from None
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise IntakeError(f"the body is not JSON: {getattr(exc, 'msg', exc)}") from None
        items = data if isinstance(data, list) else [data]
        if len(body) <= MAX_LINE:  # each item read as a JSON Lines line would be, without writing one
            return read_objects(items, options, escapes=b"\\u" in body)
        # ASCII escapes: a lone surrogate (`"\ud800"`) stays an escape the JSON Lines reader
        # rejects on its own line, instead of failing the whole body.
        body = b"".join(json.dumps(item).encode("ascii") + b"\n" for item in items)
        kind = "application/x-ndjson"
    fmt = "jsonl" if kind in JSONL_TYPES else "csv" if kind in CSV_TYPES else None
    return read_records(io.BytesIO(body), fmt, options)


@dataclass
class Work:
    """A POST /leads whose credentials, rights and body are good: what to route, and for whom."""

    token: dict
    records: list
    group: str | None


def prepare(service: Service, body: bytes, headers: dict, query: dict, known=None) -> Work | Answer:
    """POST /leads, once the body is read, up to the routing: credentials, rights, the
    records; or the Answer that refuses it. `known`: `service.credentials` read for a round."""
    found = _authenticate(service, headers, body, intake=True, known=known)
    if isinstance(found, Answer):
        return found
    cfg, _ledger, token = found
    why = refusal(cfg, token_actor(token["name"], token["user_id"]), POST_LEADS)
    if why:
        return Answer(403, {"error": why}, token=token["name"])
    try:
        if query.get("mapping"):
            from ..config import mapping as saved_mapping

            columns = saved_mapping(cfg, query["mapping"])
        else:
            columns = {}
        options = Options(mapping=columns, shape=query.get("shape") or None)
        content_type = headers.get("content-type", "")
        records = list(records_from(body, content_type, options)) if body.strip() else []
        if not records:
            raise IntakeError(_nothing_in(body, content_type))
    except Unsupported as exc:
        return Answer(415, {"error": str(exc)}, token=token["name"])
    except IntakeError as exc:
        return Answer(400, {"error": str(exc)}, token=token["name"])
    except LeadctlError as exc:  # an unknown mapping or shape in the query
        return Answer(400, {"error": str(exc)}, token=token["name"])
    return Work(token, records, query.get("group") or None)


def route_works(service: Service, works: list[Work], routers: dict | None = None, *, ledger=None,
                wait: bool = True) -> list[Answer | None]:
    """Route requests that came together: those from one token for one group as one batch in
    one transaction (group commit), each answered from its own share of the outcomes once it
    is committed. `routers`: Routers kept between calls by the one thread that calls it (a
    Router holds that thread's ledger connection). `ledger`: the connection to write with,
    else this thread's. `wait=False` (serve's event loop): neither this process's writers
    nor the ledger's lock are waited for; a batch that would have to is answered None,
    nothing of it kept, for the caller to route where waiting is fine."""
    from ..assign.route import Router
    from ..ledger import LedgerBusy, LedgerError

    answers: list[Answer | None] = [None] * len(works)
    together: dict[tuple, list[int]] = {}
    for i, w in enumerate(works):
        together.setdefault((w.token["name"], w.group), []).append(i)
    routers = {} if routers is None else routers
    for (name, group), members in together.items():
        if not service.writing.acquire(wait):
            continue  # another thread here is writing: (None) for the caller
        try:
            cfg, _ = service.config()
            writer = ledger or service.ledger(cfg)
            router = routers.get((name, group))
            if router is None or router.ledger is not writer:
                router = routers[(name, group)] = Router(
                    lambda: service.config()[0], writer, clock=lambda: datetime.now().astimezone(),
                    rng=random.Random(), actor=token_actor(name, None), group=group,
                    patience=SERVE_PATIENCE if wait else 0)
            router.start_row = writer.last_rowid()  # an id recorded before these requests is "already in the ledger"
            outcomes = list(router.route([r for i in members for r in works[i].records]))
        except LedgerBusy:
            if not wait:
                continue  # (None): nothing of it was kept
            shared = Answer(503, {"error": "the ledger is busy; retry"})
        except LedgerError:  # a full disk, a server gone: nothing of the batch in flight was kept
            shared = Answer(503, {"error": "the ledger failed; nothing of this request was kept, retry"})
        except LeadctlError as exc:  # an unknown group in the query
            shared = Answer(400, {"error": str(exc)}, token=name)
        else:
            if any(o.assigned_to for o in outcomes) and _tells(cfg):
                service.routed.set()  # the sender looks now
            at = 0
            for i in members:
                n = len(works[i].records)
                answers[i] = _answer(outcomes[at:at + n], name)
                at += n
            continue
        finally:
            service.writing.release()
        for i in members:
            answers[i] = shared
    return answers


def route_request(service: Service, body: bytes, headers: dict, query: dict) -> Answer:
    """POST /leads, once the body is read: credentials, records, routing, the answer."""
    work = prepare(service, body, headers, query)
    return work if isinstance(work, Answer) else route_works(service, [work])[0]  # type: ignore[return-value]


def _tells(cfg) -> bool:
    """Whether an assignment may leave something to send: a notification channel or a CRM."""
    n = cfg.notify
    return bool(n.email or n.webhook_url or cfg.crms or any(u.webhook_url for u in cfg.users))


def _answer(outcomes: list, token_name: str) -> Answer:
    from ..assign.route import REJECTED

    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    status = 422 if counts.get(REJECTED) else 200
    return Answer(status, {"outcomes": [o.as_dict() for o in outcomes]},
                  " ".join(f"{k}={v}" for k, v in sorted(counts.items())), token_name)


def _nothing_in(body: bytes, content_type: str) -> str:
    """Why a body gave no record, and what to send instead (never its contents)."""
    kind = content_type.split(";")[0].strip() or "no Content-Type"
    got = "an empty body" if not body.strip() else f"{len(body)} bytes as {kind}, holding no lead"
    return (f"no record in the request: {got}; send a JSON object or array (Content-Type: application/json),"
            " JSON Lines (application/x-ndjson), CSV with a header row (text/csv) or a form"
            " (application/x-www-form-urlencoded) with at least one filled field")
