"""A lead's personal data: the right to be forgotten (`leads forget`) and the retention period
(`settings --retain-days`, `ledger prune`, once a day in `tick`).

Forgetting a lead keeps what the team's figures need — its id, type, status, source and
received_at, and its whole history (who held it, when, how) — and erases the rest: every other
field, its email and phone and their duplicate keys, the notes in its history, its outbox
messages and the owner writes still owed to CRMs. A `forgotten` event names who did it. It is
written through the one write path (`assign.changes`), and then the store drops the bytes it
still keeps (SQLite: zeroed pages and an emptied write-ahead log; PostgreSQL: VACUUM).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from .actor import Actor, channel_of, label_of
from .config import Config
from .domain.kinds import FORGOTTEN
from .errors import LeadctlError

KEPT = ("id", "type", "status", "source", "received_at")  # a forgotten lead's fields that stay


@dataclass
class Forgetting:
    """What an erasure did: the leads forgotten now, those forgotten before (erased again,
    harmlessly), ids the ledger does not have, and what the store could not scrub yet."""

    forgotten: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    scrub: str | None = None


def named(cfg: Config, ledger, lead_ids: list[str], email: str | None, phone: str | None) -> list[str]:
    """The leads an erasure request names: ids as given, and every lead with that email or
    phone (compared as duplicates are: normalised)."""
    from .domain.keys import email_key, phone_key

    out = list(lead_ids)
    if email is not None:
        key = email_key(email)
        if not key:
            raise LeadctlError("--email: that is no email address")
        out += ledger.leads_keyed("email_key", key)
    if phone is not None:
        key = phone_key(phone, cfg.settings.phone_region or None)
        if not key:
            raise LeadctlError("--phone: that is no phone number")
        out += ledger.leads_keyed("phone_key", key)
    return list(dict.fromkeys(out))


def forget(cfg: Config, ledger, lead_ids: list[str], now: datetime, *, actor: Actor | None = None,
           why: str = "personal data erased") -> Forgetting:
    """Erase the leads' personal data (see the module), in one transaction."""
    from .assign.changes import Changes, apply

    done = Forgetting()
    at = now.astimezone(cfg.tz()).isoformat(timespec="seconds")
    changes = Changes()
    with ledger.write():
        before = ledger.forgotten_ids(lead_ids)
        for lead_id in lead_ids:
            lead = ledger.lead(lead_id)
            if lead is None:
                done.unknown.append(lead_id)
                continue
            changes.erased.append((lead_id, json.dumps(_kept(lead["fields"]), ensure_ascii=False)))
            if lead_id in before:
                done.already.append(lead_id)
                continue
            changes.events.append((lead_id, at, lead["assigned_to"], lead["group_name"], FORGOTTEN, why, 0,
                                   label_of(actor), None, None, channel_of(actor), None))
            done.forgotten.append(lead_id)
        apply(ledger, cfg, changes, now, notify=False)
    if changes.erased:
        done.scrub = ledger.scrub()
    return done


def _kept(fields_json: str | None) -> dict:
    try:
        fields = json.loads(fields_json or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in fields.items() if k.strip().lower() in KEPT} if isinstance(fields, dict) else {}


@dataclass
class Prune:
    """`ledger prune`'s plan: the closed leads received before `cutoff` (forgotten by it), and
    how many open ones received before it are kept."""

    cutoff: datetime
    closed: list[str]
    open_kept: int


def prune_plan(cfg: Config, ledger, now: datetime) -> Prune:
    """The leads the retention period (`settings --retain-days N`) lets go: closed (a closed
    status) and received more than N days before now. 0 (the default): none."""
    days = cfg.settings.retain_days
    if not days:
        raise LeadctlError("no retention period is set: `leadctl settings --retain-days N` first (0 keeps forever)")
    cutoff = now.astimezone(timezone.utc) - timedelta(days=days)
    closed, open_kept = [], 0
    day_after = (cutoff + timedelta(days=2)).date().isoformat()  # any offset's date of the cutoff is before it
    for lead_id, status, received_at in ledger.received_before(day_after):
        try:
            when = datetime.fromisoformat(received_at)
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=cfg.tz())
        if when >= cutoff:
            continue
        if cfg.settings.is_open(status):
            open_kept += 1
        else:
            closed.append(lead_id)
    return Prune(cutoff, closed, open_kept)


def prune(cfg: Config, ledger, now: datetime, *, actor: Actor | None = None) -> tuple[Prune, Forgetting]:
    """Forget what `prune_plan` names, in batches of 500 (each its own transaction)."""
    plan = prune_plan(cfg, ledger, now)
    done = Forgetting()
    for i in range(0, len(plan.closed), 500):
        part = forget(cfg, ledger, plan.closed[i:i + 500], now, actor=actor,
                      why=f"retention: closed, received over {cfg.settings.retain_days} days ago")
        done.forgotten += part.forgotten
        done.scrub = part.scrub
    return plan, done


def prune_daily(cfg: Config, ledger, now: datetime, *, actor: Actor | None = None) -> Forgetting | None:
    """For `tick`: prune once a day when a retention period is set (the last run is kept in
    the ledger, so several ticks or machines prune once); None when it was not due."""
    if not cfg.settings.retain_days:
        return None
    last = ledger.kept_figures("ledger prune")
    if last is not None and now - datetime.fromisoformat(last[1]) < timedelta(days=1):
        return None
    with ledger.write():
        last = ledger.kept_figures("ledger prune")  # under the lock: another tick may have just run it
        if last is not None and now - datetime.fromisoformat(last[1]) < timedelta(days=1):
            return None
        ledger.keep_figures("ledger prune", "", now.isoformat(timespec="seconds"), "{}")
    return prune(cfg, ledger, now, actor=actor)[1]
