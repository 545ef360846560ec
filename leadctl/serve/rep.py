"""What a rep's token does over HTTP (a token bound to a user acts as that user, with the same
rights as on the command line: rights.py decides): their leads, their quota, pick-up."""

from __future__ import annotations

import json
from datetime import datetime

from .service import MAX_LIMIT, Answer, BadQuery, Service, _as_user, _query_flag, _query_int


def my_leads(service: Service, headers: dict, query: dict) -> Answer:
    """GET /me/leads: the leads the token's user may see (lead isolation applied). The
    ledger's own columns come first; the lead's fields as it came are under `fields` too,
    so a payload field named like a column (`assigned_to`, `group`) never stands in for it."""
    from ..rights import visible_owner

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
    rows = [r for r in quota_rows(cfg, ledger, today(cfg, datetime.now().astimezone())) if r["user"] == user.id]
    return Answer(200, {"user": user.id, "quota": rows}, token=name)


def pick_up(service: Service, headers: dict, lead_id: str) -> Answer:
    """POST /leads/{id}/pickup: the token's user picks up a lead, under `leadctl pickup`'s rules."""
    from ..actor import token_actor
    from ..manual import pickup

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
