"""POST /leads: a request's body read into records by the same intake `route` uses, and
routed by the same Router into the same ledger (one rotation, one set of caps)."""

from __future__ import annotations

import json
import random
from datetime import datetime
from urllib.parse import parse_qsl

from ..errors import LeadctlError
from .service import Answer, Service, _authenticate

JSON_TYPES = ("application/json", "text/json")
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines")
CSV_TYPES = ("text/csv", "application/csv")
FORM_TYPES = ("application/x-www-form-urlencoded",)


ACCEPTED = ", ".join((*JSON_TYPES, *JSONL_TYPES[:1], *CSV_TYPES[:1], *FORM_TYPES))


class Unsupported(Exception):
    """A body of a Content-Type leadctl does not read (415)."""


def records_from(body: bytes, content_type: str, options):
    """The request body as intake records: a JSON object or array (each element a record,
    each on its own line: a bad one is rejected alone), JSON Lines, CSV or a form; with no
    Content-Type it is sniffed like a file; any other type is Unsupported."""
    import io

    from ..intake import IntakeError, read_records

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
        # ASCII escapes: a lone surrogate (`"\ud800"`) stays an escape the JSON Lines reader
        # rejects on its own line, instead of failing the whole body.
        body = b"".join(json.dumps(item).encode("ascii") + b"\n" for item in items)
        kind = "application/x-ndjson"
    fmt = "jsonl" if kind in JSONL_TYPES else "csv" if kind in CSV_TYPES else None
    return read_records(io.BytesIO(body), fmt, options)


def route_request(service: Service, body: bytes, headers: dict, query: dict) -> Answer:
    """POST /leads, once the body is read: credentials, records, routing, the answer."""
    from ..actor import token_actor
    from ..config import mapping as saved_mapping
    from ..intake import IntakeError, Options
    from ..ledger import LedgerBusy, LedgerError
    from ..assign.route import REJECTED, Router

    from ..domain.rights import POST_LEADS, refusal

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
    except LedgerError:  # a full disk, a server gone: nothing of the batch in flight was kept
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
