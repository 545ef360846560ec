"""Owner write-back: the writes every change of holder queued for each CRM (`crm_writes`, in the
same transaction as the change), delivered at least once, in order per lead, by `crm push`.

Read, compare, write: before writing, the record's current owner is read from the CRM. When it
is neither empty, nor the owner leadctl last wrote for that lead, nor the new owner, someone
changed it in the CRM: nothing is written, the write is a `conflict` (with the CRM's owner). A
release clears the owner only while the CRM still shows the one leadctl wrote. A rate limit,
a timeout or a 5xx waits and is tried again (Retry-After when the CRM says); any other refusal
is `failed` with the CRM's own message. One module per vendor holds its documented calls.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from . import hubspot, pipedrive, salesforce, sell
from .http import Refused, Wait

VENDORS = {"hubspot": hubspot, "pipedrive": pipedrive, "salesforce": salesforce, "sell": sell}
BATCH = 100  # writes claimed at once per CRM
CLAIM_SECONDS = 120  # how long a claim holds before another pusher may take the write
MAX_BACKOFF = 3600  # seconds a retry waits at most


def push(cfg, ledger, now: datetime, *, token_of: Callable[[str], str | None] = os.environ.get,
         say: Callable[[str], None] = lambda message: None) -> Counter:
    """Deliver the owner writes due at `now` to every CRM; counts by outcome (sent, conflict,
    failed, retry). What stops a CRM as a whole (no token) is said."""
    counts: Counter = Counter()
    stamp = now.astimezone(timezone.utc)
    at = stamp.isoformat(timespec="seconds")
    until = (stamp + timedelta(seconds=CLAIM_SECONDS)).isoformat(timespec="seconds")
    names = [c.name for c in cfg.crms]
    for crm in cfg.crms:
        vendor = VENDORS[crm.kind]  # (the config's kinds are these: checks.py)
        token = token_of(crm.token_variable)
        if not token:
            say(f"crm '{crm.name}': no token in ${crm.token_variable}; its writes wait")
            waiting = ledger.crm_counts([crm.name]).get((crm.name, "pending"), 0)
            if waiting:
                counts["retry"] += waiting
            continue
        while True:
            with ledger.write():
                rows = ledger.claim_crm_writes(crm.name, names, at, until, BATCH)
            if not rows:
                break
            for row in rows:
                status, done = _deliver(cfg, crm, vendor, token, ledger, row, stamp)
                counts[status] += 1
                with ledger.write():
                    ledger.finish_crm_write(row["n"], "pending" if status == "retry" else status, at, **done)
            if len(rows) < BATCH:
                break
    return counts


def _deliver(cfg, crm, vendor, token: str, ledger, row: dict, now: datetime) -> tuple[str, dict]:
    """One write: (outcome, what to record of it)."""
    record_id = _record_id(crm, row)
    if record_id is None:
        return "failed", {"error": f"lead '{row['lead_id']}' has no field '{crm.id_field}' (the {crm.name} record id)"}
    owner_id = None
    if row["owner"] is not None:
        user = next((u for u in cfg.users if u.id == row["owner"]), None)
        owner_id = user.crm_id(crm.name) if user is not None else None
        if owner_id is None:
            return "failed", {"error": f"user '{row['owner']}' has no owner id in {crm.name}"
                                       f" (leadctl user edit {row['owner']} --crm {crm.name}=ID)"}
    try:
        current = vendor.read_owner(crm, token, record_id)
        last = ledger.last_crm_owner(crm.name, row["lead_id"])
        if owner_id is None:  # a release: cleared only while the CRM shows what leadctl wrote
            if current is not None and current != last:
                return "conflict", {"crm_owner": current, "error": f"the owner in {crm.name} is {current}, set there"}
            if current is not None:
                vendor.write_owner(crm, token, record_id, None)
            return "sent", {}
        if current not in (None, last, owner_id):
            return "conflict", {"crm_owner": current, "error": f"the owner in {crm.name} is {current}, set there"}
        if current != owner_id:
            vendor.write_owner(crm, token, record_id, owner_id)
        return "sent", {"written": owner_id}
    except Wait as exc:
        delay = exc.after if exc.after is not None else min(MAX_BACKOFF, 5 * 2 ** max(0, row["attempts"]))
        return "retry", {"error": str(exc), "next_at": (now + timedelta(seconds=delay)).isoformat(timespec="seconds")}
    except Refused as exc:
        return "failed", {"error": str(exc)}


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
    for lead in ledger.leads(limit=limit, newest=True):
        if lead["assigned_to"] is None or lead["id"] in seen:
            continue
        record_id = _record_id(crm, {"lead_id": lead["id"], "fields": lead["fields"]})
        try:
            current = vendor.read_owner(crm, token, record_id) if record_id else None
        except Refused as exc:
            rows.append({"lead_id": lead["id"], "holder": lead["assigned_to"], "crm_owner": None, "why": str(exc)})
            continue
        except Wait as exc:
            raise LeadctlError(f"cannot read {crm.name}: {exc}; try again", 1) from None
        if current != ids.get(lead["assigned_to"]):
            rows.append({"lead_id": lead["id"], "holder": lead["assigned_to"], "crm_owner": current,
                         "why": "differs" if current else "no owner in the CRM"})
    return rows


def _record_id(crm, row: dict) -> str | None:
    """The CRM record's id: the lead's `id_field` (its name in any case), or its id."""
    if crm.id_field == "id":
        return row["lead_id"]
    fields = json.loads(row["fields"]) if row.get("fields") else {}
    wanted = crm.id_field.strip().lower()
    value = next((v for k, v in fields.items() if k.strip().lower() == wanted), None)
    return str(value).strip() or None if value is not None else None
