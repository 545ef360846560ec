"""The CRM the team works in: the owner of each lead written back there (`push.py`: the writes
every change of holder queued, delivered at least once, in order per lead, read-compare-write),
who is who there (`owners_by_email`), and what differs between it and the ledger
(`reconcile`). One module per vendor holds its documented calls; `webhooks.py` reads what the
CRMs post.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .http import Refused, Wait
from .push import VENDORS, push, record_id_of

__all__ = ["VENDORS", "owners_by_email", "push", "reconcile"]


def owners_by_email(cfg, crm, *, token_of: Callable[[str], str | None] = os.environ.get) -> dict[str, str]:
    """{leadctl user: their owner id in the CRM}, matched by email (any case), read from the CRM."""
    from ..errors import LeadctlError

    vendor = VENDORS[crm.kind]
    token = token_of(crm.token_variable)
    if not token:
        raise LeadctlError(f"no token in ${crm.token_variable} to read {crm.name}'s owners with")
    try:
        listed = vendor.owners(crm, token)
    except (Wait, Refused) as exc:
        raise LeadctlError(f"cannot read {crm.name}'s owners: {exc}", 1) from None
    by_email = {email.strip().lower(): owner_id for owner_id, email in listed if email}
    return {u.id: by_email[u.email.strip().lower()] for u in cfg.users
            if u.email and u.email.strip().lower() in by_email and u.crm_id(crm.name) != by_email[u.email.strip().lower()]}


def reconcile(cfg, crm, ledger, *, limit: int = 100, token_of: Callable[[str], str | None] = os.environ.get) -> list[dict]:
    """What differs between the ledger and the CRM: every write left as a conflict, then the
    first `limit` held leads whose owner in the CRM is not their holder's owner id there."""
    from ..errors import LeadctlError

    vendor = VENDORS[crm.kind]
    token = token_of(crm.token_variable)
    if not token:
        raise LeadctlError(f"cannot read {crm.name}: no token in ${crm.token_variable}")
    rows, seen = [], set()
    for w in reversed(ledger.crm_writes(crm.name)):
        if w["status"] == "conflict" and w["lead_id"] not in seen:
            seen.add(w["lead_id"])
            rows.append({"lead_id": w["lead_id"], "holder": w["owner"], "crm_owner": w["crm_owner"],
                         "why": "conflict: changed in the CRM; not overwritten"})
    ids = {u.id: u.crm_id(crm.name) for u in cfg.users}
    held = [lead for lead in ledger.leads(limit=limit, newest=True)
            if lead["assigned_to"] is not None and lead["id"] not in seen]
    batch = getattr(vendor, "BATCH", 1)
    for i in range(0, len(held), batch):  # read in batches where the CRM allows
        part = [(lead, record_id_of(crm, {"lead_id": lead["id"], "fields": lead["fields"]})) for lead in held[i:i + batch]]
        try:
            current = _read(vendor, crm, token, [r for _, r in part if r])
        except Wait as exc:
            raise LeadctlError(f"cannot read {crm.name}: {exc}; try again", 1) from None
        except Refused as exc:
            rows += [{"lead_id": lead["id"], "holder": lead["assigned_to"], "crm_owner": None, "why": str(exc)}
                     for lead, _ in part]
            continue
        for lead, record_id in part:
            if record_id is not None and record_id not in current:
                rows.append({"lead_id": lead["id"], "holder": lead["assigned_to"], "crm_owner": None,
                             "why": f"no {crm.record_object} '{record_id}' in {crm.name}"})
                continue
            now_there = current.get(record_id)
            if now_there != ids.get(lead["assigned_to"]):
                rows.append({"lead_id": lead["id"], "holder": lead["assigned_to"], "crm_owner": now_there,
                             "why": "differs" if now_there else "no owner in the CRM"})
    return rows


def _read(vendor, crm, token: str, record_ids: list[str]) -> dict[str, str | None]:
    """{record id: its owner} of the records found: one batch call, or one call each."""
    if len(record_ids) > 1 and hasattr(vendor, "read_owners"):
        return vendor.read_owners(crm, token, record_ids)
    found = {}
    for record_id in record_ids:
        try:
            found[record_id] = vendor.read_owner(crm, token, record_id)
        except Refused as exc:
            if exc.everything:
                raise
    return found
