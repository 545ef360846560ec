"""What a rep's token does over HTTP (a token bound to a user acts as that user, with the same
rights as on the command line: rights.py decides): their leads, their quota, one lead, the
pools; pick-up, reassign and release."""

from __future__ import annotations

import json
from datetime import datetime

from ..errors import LeadctlError
from .service import MAX_LIMIT, Answer, BadQuery, Service, _as_user, _query_flag, _query_int


def my_leads(service: Service, headers: dict, query: dict) -> Answer:
    """GET /me/leads: the leads the token's user may see (lead isolation applied). The
    ledger's own columns come first; the lead's fields as it came are under `fields` too,
    so a payload field named like a column (`assigned_to`, `group`) never stands in for it."""
    from ..domain.rights import visible_owner

    found = _as_user(service, headers)
    if isinstance(found, Answer):
        return found
    cfg, ledger, user, name = found
    try:
        limit = _query_int(query, "limit", 100, 1, MAX_LIMIT)
        mine = _query_flag(query, "mine")
    except BadQuery as exc:
        return Answer(400, {"error": str(exc)}, token=name)
    from ..intake.columns import is_credential

    rows = []
    for r in ledger.leads(visible_to=visible_owner(cfg, user.id), owner=user.id if mine else None, limit=limit):
        # (a lead kept before credentials were removed at intake may still hold one: never shown)
        own = {k: v for k, v in json.loads(r["fields"]).items() if not is_credential(k)}
        rows.append({**own, "id": r["id"], "type": r["type"], "status": r["status"], "assigned_to": r["assigned_to"],
                     "group": r["group_name"], "received_at": r["received_at"], "fields": own})
    return Answer(200, {"user": user.id, "leads": rows}, f"leads={len(rows)}", name)


def my_quota(service: Service, headers: dict) -> Answer:
    """GET /me/quota: the token's user's caps and use today, in every group they belong to."""
    from ..audit import quota_rows, today

    found = _as_user(service, headers)
    if isinstance(found, Answer):
        return found
    cfg, ledger, user, name = found
    now = datetime.now().astimezone()
    rows = [r for r in quota_rows(cfg, ledger, today(cfg, now), now=now) if r["user"] == user.id]
    return Answer(200, {"user": user.id, "quota": rows}, token=name)


def pick_up(service: Service, headers: dict, lead_id: str) -> Answer:
    """POST /leads/{id}/pickup: the token's user picks up a lead, under `leadctl pickup`'s rules."""
    from ..actor import token_actor
    from ..assign.manual import pickup

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


def _lead_action(service: Service, headers: dict, lead_id: str, body: bytes, act) -> Answer:
    """A change to one lead by the token's user: the body's JSON object read, `act(cfg, ledger,
    actor, request)` run under the writers' turn; a missing right is 403 with the reason, a lead
    the user may not see 404 (as if it were not there), any other refusal 409."""
    from ..actor import token_actor
    from ..errors import Refused

    found = _as_user(service, headers)
    if isinstance(found, Answer):
        return found
    cfg, ledger, user, name = found
    if "\0" in lead_id:
        return Answer(404, {"error": "unknown lead"}, token=name)
    try:
        request = json.loads(body) if body.strip() else {}
    except (ValueError, RecursionError):
        request = None
    if not isinstance(request, dict) or not all(isinstance(v, (str, type(None))) for v in request.values()):
        return Answer(400, {"error": 'the body must be a JSON object of text, e.g. {"to": "tom", "note": "why"}'},
                      token=name)
    try:
        with service.writing:
            moves = act(cfg, ledger, token_actor(name, user.id), request)
    except Refused as exc:
        return Answer(403, {"error": str(exc)}, token=name)
    except LeadctlError as exc:  # an unknown or inactive user or group named in the body
        return Answer(400, {"error": str(exc)}, token=name)
    move = moves[0]
    if not move.done:
        status = 403 if move.forbidden else 404 if move.reason and move.reason.startswith("unknown lead") else 409
        return Answer(status, {"error": move.reason}, token=name)
    return Answer(200, move.as_dict(), token=name)


def reassign(service: Service, headers: dict, lead_id: str, body: bytes) -> Answer:
    """POST /leads/{id}/reassign `{"to": USER or GROUP, "note": ...}`: as `leadctl reassign`."""
    import random

    from ..assign.manual import reassign as move

    def act(cfg, ledger, actor, request):
        if not request.get("to"):
            raise LeadctlError('say where the lead goes: {"to": USER or GROUP}')
        return move(cfg, ledger, [lead_id], now=datetime.now().astimezone(), rng=random.Random(),
                    to_user=request["to"], actor=actor, note=request.get("note"))

    return _lead_action(service, headers, lead_id, body, act)


def status(service: Service, headers: dict, lead_id: str, body: bytes) -> Answer:
    """POST /leads/{id}/status `{"status": ..., "note": ...}`: as `leadctl leads status` (one's own lead)."""
    from ..assign.manual import set_status

    def act(cfg, ledger, actor, request):
        if not (request.get("status") or "").strip():
            raise LeadctlError('say the new status: {"status": "contacted"}')
        return set_status(cfg, ledger, [lead_id], request["status"], datetime.now().astimezone(), actor=actor,
                          note=request.get("note"))

    return _lead_action(service, headers, lead_id, body, act)


def release(service: Service, headers: dict, lead_id: str, body: bytes) -> Answer:
    """POST /leads/{id}/release `{"note": ...}`: as `leadctl release`."""
    from ..assign.manual import release as move

    return _lead_action(service, headers, lead_id, body, lambda cfg, ledger, actor, request: move(
        cfg, ledger, [lead_id], datetime.now().astimezone(), actor=actor, note=request.get("note")))


def lead(service: Service, headers: dict, lead_id: str) -> Answer:
    """GET /leads/{id}: the lead and its history, as `leads show --format json`, if the token's
    user may see it; else 404, as for a lead that is not there."""
    from ..lead_view import lead_for, whole

    found = _as_user(service, headers)
    if isinstance(found, Answer):
        return found
    cfg, ledger, user, name = found
    shown = lead_for(cfg, ledger, lead_id, user.id) if "\0" not in lead_id else None
    if shown is None:
        return Answer(404, {"error": f"unknown lead '{lead_id[:100]}'"}, token=name)
    return Answer(200, whole(*shown), token=name)


def pools(service: Service, headers: dict) -> Answer:
    """GET /pools: every group, for every user (seed 003: all users can see distribution pools):
    name, record type, method and member ids in rotation order; no caps."""
    found = _as_user(service, headers)
    if isinstance(found, Answer):
        return found
    cfg, _, _, name = found
    return Answer(200, {"pools": [{"name": g.name, "record_type": g.record_type, "method": g.method,
                                   "members": [m.user for m in g.members]} for g in cfg.groups]}, token=name)


def accept(service: Service, headers: dict, lead_id: str, body: bytes) -> Answer:
    """POST /leads/{id}/accept: as `leadctl leads accept` — a lead offered to oneself (anyone
    else's is 404, as if it were not there; a lapsed or accepted offer 409)."""
    from ..assign.offers import accept as accept_offer

    found = _as_user(service, headers)
    if isinstance(found, Answer):
        return found
    cfg, ledger, user, name = found
    try:
        with service.writing:
            said = accept_offer(cfg, ledger, lead_id, user.id, datetime.now().astimezone())
    except LeadctlError as exc:
        if str(exc).startswith(("no lead", f"lead {lead_id} is not offered to")):
            return Answer(404, {"error": "unknown lead"}, token=name)
        return Answer(409, {"error": str(exc)}, token=name)
    return Answer(200, {"lead_id": lead_id, "assigned_to": user.id, "accepted": True, "said": said}, token=name)
