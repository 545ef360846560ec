"""A lead as people see it, the same on the command line and over `serve`: the ledger's own
columns under their public names, the lead's fields as they came (never a credential), and
its history oldest first; and whether the viewer may see it at all (isolation, rights.py)."""

from __future__ import annotations

import json

from .config import Config
from .domain.engine import passed_over_list
from .ledger import Ledger
from .domain.rights import can_see

_STORAGE = ("fields", "email_key", "phone_key", "group_name", "passed_over", "backup_for")


def public(row: dict) -> dict:
    """A ledger row as users see it: `group`, not the column name; no storage details (the
    match keys, the number of a passed-over list: the history says who was passed over)."""
    out = {k: v for k, v in row.items() if k not in _STORAGE}
    out["group"] = row["group_name"]
    return out


def own_fields(row: dict) -> dict:
    """The lead's fields as it came (a lead kept before credentials were dropped at intake may
    still hold one: it is never shown)."""
    from .intake.columns import is_credential

    return {k: v for k, v in json.loads(row["fields"]).items() if not is_credential(k)}


def history(ledger: Ledger, lead_id: str) -> list[dict]:
    """A lead's events as users see them, oldest first."""
    return [{"at": e["at"], "assigned_to": e["assigned_to"], "group": e["group_name"], "method": e["method"],
             "reason": e["reason"], "counted": bool(e["counted"]), "actor": e["actor"], "via": e["via"],
             "backup_for": e["backup_for"],
             "note": e["note"],
             "passed_over": passed_over_list(e["passed_over"])}
            for e in ledger.history(lead_id)]


def lead_for(cfg: Config, ledger: Ledger, lead_id: str, viewer: str | None) -> tuple[dict, list[dict]] | None:
    """(row, history) of a lead `viewer` may see (None: anyone), with every time in the config's
    zone; None for a lead that is not there or that the viewer may not see (the same to them)."""
    from .render import LocalTimes

    row = ledger.lead(lead_id)
    if row is None or not can_see(cfg, viewer, row):
        return None
    times = LocalTimes(cfg.tz())
    assigned_at = row["assigned_at"]
    (row,) = times.rows([row], ("received_at", "assigned_at"))
    row = dict(row, converted_to=list(ledger.conversions(lead_id).values()),  # the link, both ways
               converted_from=ledger.converted_from(lead_id), sla_steps=ledger.sla_steps_of(lead_id))
    offer = ledger.offer_of(lead_id, assigned_at)  # (by the assignment's time as the ledger keeps it)
    row.update(offered=bool(offer and not offer["accepted_at"]), offer_until=offer["until"] if offer else None,
               accepted_at=offer["accepted_at"] if offer else None)
    return row, list(times.rows(history(ledger, lead_id), ("at",)))


def first_contact(events: list[dict]) -> str | None:
    """When the current holder first changed the lead's status after it became theirs (the first
    status change after the latest assignment), or None."""
    from .domain.engine import NOT_ASSIGNMENTS, STATUS

    contact = None
    for e in events:
        if e["method"] == STATUS:
            contact = contact or e["at"]
        elif e["method"] not in NOT_ASSIGNMENTS:  # an assignment or a release: a new holder's clock
            contact = None
    return contact


def whole(row: dict, events: list[dict]) -> dict:
    """`leads show --format json` and GET /leads/{id}: the fields, the columns (which win over
    a field of the same name), the fields again under `fields`, the first contact, and the
    history."""
    fields = own_fields(row)
    return {**fields, **public(row), "first_contact_at": first_contact(events), "fields": fields, "history": events}
