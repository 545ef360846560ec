"""GET /queue (managers and above): the leads waiting in each group's queue (nobody could take
them when they came), oldest first, with their age; each can be handed to a member of its
group there and then — the form posts to the lead's own reassign action, the same library
call as `leadctl reassign` (rights, history `via web`), and comes back here saying what it did."""

from __future__ import annotations

import json
from datetime import datetime

from .pages import Page, Visit, _age, _base, for_managers


def queue(v: Visit, now: datetime, done: str | None = None) -> Page:
    from ..domain.rights import REASSIGN, refusal
    from ..notify import lead_name
    from ..render import LocalTimes

    refused = for_managers(v)
    if refused:
        return refused
    active = v.cfg.active_users()
    times = LocalTimes(v.cfg.tz())
    groups = []
    for g in v.cfg.groups:
        waiting = [r for r in v.ledger.queued(g.name) if r["assigned_to"] is None and not r["missing"]]
        if not waiting and not g.queue:
            continue
        rows = []
        for r in waiting:
            fields = json.loads(r["fields"]) if r["fields"] else {}
            (shown,) = times.rows([{"received_at": r["received_at"]}], ("received_at",))
            rows.append({"id": r["lead_id"], "name": lead_name(fields), "received": shown["received_at"],
                         "age": _age(r["received_at"], now)})
        groups.append({"name": g.name, "leads": rows, "members": [m.user for m in g.members if m.user in active]})
    return Page(200, "queue.html", _base(v, "Queue", groups=groups, done=(done or "")[:200] or None,
                                         may_hand=refusal(v.cfg, v.actor, REASSIGN) is None))
