"""`crm push`: the owner writes due, delivered to each CRM at least once, in order per lead.

Read, compare, write, for a batch of writes at once where the vendor allows it (HubSpot's
`batch/read` and `batch/update`, up to 100 records a call; Salesforce's sObject collections, up
to 200), else one record at a time: the records' current owners are read; a record whose owner
is neither empty, nor the owner leadctl last wrote for that lead, nor the new one, was changed
by a person: nothing is written, the write is a `conflict`. A release clears the owner only
while the CRM still shows the one leadctl wrote. A rate limit, a timeout or a 5xx leaves the
write pending for a retry (after the CRM's own delay when it says one); any other refusal is
`failed` with the CRM's message.
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
CLAIM = 200  # writes claimed at once per CRM
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
        token = token_of(crm.token_variable)
        if not token:
            say(f"crm '{crm.name}': no token in ${crm.token_variable}; its writes wait")
            waiting = ledger.crm_counts([crm.name]).get((crm.name, "pending"), 0)
            if waiting:
                counts["retry"] += waiting
            continue
        while True:
            with ledger.write():
                rows = ledger.claim_crm_writes(crm.name, names, at, until, CLAIM)
            if not rows:
                break
            done = Delivery(cfg, crm, token, ledger, stamp).deliver(rows)
            with ledger.write():
                for n, status, outcome in done:
                    ledger.finish_crm_write(n, "pending" if status == "retry" else status, at, **outcome)
            counts.update(status for _, status, _ in done)
            if len(rows) < CLAIM:
                break
    return counts


class Delivery:
    """One CRM's claimed writes, delivered: (write number, outcome, what to record of it) each."""

    def __init__(self, cfg, crm, token: str, ledger, now: datetime):
        self.cfg, self.crm, self.token, self.ledger, self.now = cfg, crm, token, ledger, now
        self.vendor = VENDORS[crm.kind]  # (the config's kinds are these: checks.py)
        self.batch = getattr(self.vendor, "BATCH", 1)
        self.ids = {u.id: u.crm_id(crm.name) for u in cfg.users}

    def deliver(self, rows: list[dict]) -> list[tuple[int, str, dict]]:
        done, ready = [], []
        for row in rows:
            record_id, owner_id, failure = self._target(row)
            if failure:
                done.append((row["n"], "failed", {"error": failure}))
            else:
                ready.append((row, record_id, owner_id))
        part: list = []  # up to a batch, no record twice
        for write in ready:
            if len(part) == self.batch or any(write[1] == other[1] for other in part):
                done += self._deliver(part)
                part = []
            part.append(write)
        return done + (self._deliver(part) if part else [])

    def _target(self, row: dict) -> tuple[str | None, str | None, str | None]:
        """(the CRM record's id, the owner id to write (None: clear it), why it cannot be written)."""
        record_id = record_id_of(self.crm, row)
        if record_id is None:
            return None, None, f"lead '{row['lead_id']}' has no field '{self.crm.id_field}' (the {self.crm.name} record id)"
        if row["owner"] is None:
            return record_id, None, None
        owner_id = self.ids.get(row["owner"])
        if owner_id is None:
            return None, None, (f"user '{row['owner']}' has no owner id in {self.crm.name}"
                                f" (leadctl user edit {row['owner']} --crm {self.crm.name}=ID)")
        return record_id, owner_id, None

    def _deliver(self, part: list[tuple[dict, str, str | None]]) -> list[tuple[int, str, dict]]:
        """Read the records' owners, compare, write what is to be written (a batch, or one)."""
        crm, vendor, token = self.crm, self.vendor, self.token
        try:
            if len(part) > 1:
                current = vendor.read_owners(crm, token, [record_id for _, record_id, _ in part])
            else:
                current = {part[0][1]: vendor.read_owner(crm, token, part[0][1])}
        except Wait as exc:
            return [self._retry(row, exc) for row, _, _ in part]
        except Refused as exc:
            if len(part) > 1 and not exc.everything:  # one record's fault need not fail the batch
                return [done for one in part for done in self._deliver([one])]
            return [(part[0][0]["n"], "failed", {"error": str(exc)})]
        last = self.ledger.last_crm_owners(crm.name, [row["lead_id"] for row, _, _ in part])
        done, writes = [], {}
        for row, record_id, owner_id in part:
            if record_id not in current:
                done.append((row["n"], "failed", {"error": f"no {crm.record_object} '{record_id}' in {crm.name}"}))
                continue
            now_there, wrote = current[record_id], last.get(row["lead_id"])
            if now_there not in (wrote, owner_id) and not crm.placeholder(now_there):
                done.append((row["n"], "conflict", {"crm_owner": now_there,
                                                    "error": f"the owner in {crm.name} is {now_there}, set there"}))
            elif now_there == owner_id:
                done.append((row["n"], "sent", {"written": owner_id}))  # it shows that already
            elif owner_id is None and (now_there is None or not getattr(vendor, "CLEARS", False)):
                done.append((row["n"], "sent", {"written": now_there}))  # every record has an owner there: kept
            else:
                writes[record_id] = (row, owner_id)
        return done + self._write(writes)

    def _write(self, writes: dict[str, tuple[dict, str | None]]) -> list[tuple[int, str, dict]]:
        """Write {record id: (its write, the owner id)}: a batch, or one; each one on its own
        when the CRM refuses a batch whole."""
        crm, vendor, token = self.crm, self.vendor, self.token
        if not writes:
            return []
        try:
            if len(writes) > 1:
                refused = vendor.write_owners(crm, token, {r: o for r, (_, o) in writes.items()})
            else:
                ((record_id, (_, owner_id)),) = writes.items()
                vendor.write_owner(crm, token, record_id, owner_id)
                refused = {}
        except Wait as exc:
            return [self._retry(row, exc) for row, _ in writes.values()]
        except Refused as exc:
            if len(writes) > 1 and not exc.everything:
                return [done for r, w in writes.items() for done in self._write({r: w})]
            return [(row["n"], "failed", {"error": str(exc)}) for row, _ in writes.values()]
        return [(row["n"], "failed", {"error": refused[r]}) if r in refused else (row["n"], "sent", {"written": o})
                for r, (row, o) in writes.items()]

    def _retry(self, row: dict, exc: Wait) -> tuple[int, str, dict]:
        delay = exc.after if exc.after is not None else min(MAX_BACKOFF, 5 * 2 ** max(0, row["attempts"]))
        return row["n"], "retry", {"error": str(exc),
                                   "next_at": (self.now + timedelta(seconds=delay)).isoformat(timespec="seconds")}


def record_id_of(crm, row: dict) -> str | None:
    """The CRM record's id: the lead's `id_field` (its name in any case), or its id."""
    if crm.id_field == "id":
        return row["lead_id"]
    fields = json.loads(row["fields"]) if row.get("fields") else {}
    wanted = crm.id_field.strip().lower()
    value = next((v for k, v in fields.items() if k.strip().lower() == wanted), None)
    return str(value).strip() or None if value is not None else None
