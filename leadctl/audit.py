"""Answers to "who got what, and is it fair?": quota tables, reports, group views.

Functions over a Config and a Ledger that return plain rows (dicts), for
`render` to draw. Days and months are calendar dates in the configured time
zone.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime

from .config import Config, Group
from .engine import Rotation, Slot, day_key, has_room, month_key, pick
from .errors import LeadctlError
from .ledger import Ledger

REPORT_KEYS = ("user", "group", "day", "month", "method")


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise LeadctlError(f"{option} '{text}' is not a date like 2026-11-23") from None


def today(cfg: Config, now: datetime) -> date:
    return now.astimezone(cfg.tz()).date()


def quota_rows(cfg: Config, ledger: Ledger, day: date, group: str | None = None) -> list[dict]:
    """One row per group member: used, limit and remaining for the day and its month."""
    groups = [cfg.group(group)] if group else list(cfg.groups)
    iso = day.isoformat()
    daily = ledger.usage_counts(day_key(iso))
    monthly = ledger.usage_counts(month_key(iso))
    active = cfg.active_users()
    rows = []
    for g in groups:
        for m in g.members:
            d_used, m_used = daily.get((g.name, m.user), 0), monthly.get((g.name, m.user), 0)
            rows.append({
                "group": g.name,
                "user": m.user,
                "daily_used": d_used,
                "daily_limit": m.daily,
                "daily_remaining": max(m.daily - d_used, 0) if m.daily else None,
                "monthly_used": m_used,
                "monthly_limit": m.monthly,
                "monthly_remaining": max(m.monthly - m_used, 0) if m.monthly else None,
                "capped": not has_room(Slot(m.user, m.daily, m.monthly), d_used, m_used),
                "active": m.user in active,
            })
    return rows


def group_view(cfg: Config, ledger: Ledger, group: Group, now: datetime | None = None) -> dict:
    """A group with its members in rotation order, today's use and who is next."""
    day = today(cfg, now or datetime.now().astimezone())
    rows = quota_rows(cfg, ledger, day, group.name)
    slots = cfg.slots(group)
    capped = {r["user"] for r in rows if r["capped"]}

    def eligible(slot):
        return slot.active and slot.user not in capped

    nxt = None
    if group.method != "random":
        state = ledger.load_rotations([group.name]).get(group.name, Rotation())
        nxt = pick(group.method, slots, eligible, Rotation.from_dict(state.to_dict()), random.Random(0))
    for s, r in zip(slots, rows):
        r["weight"] = s.weight
    return {
        "name": group.name,
        "method": group.method,
        "record_type": group.record_type,
        "pickup_statuses": list(group.pickup_statuses),
        "default": cfg.default_group == group.name,
        "next": nxt,
        "members": rows,
    }


def report_rows(
    cfg: Config,
    ledger: Ledger,
    *,
    by: str = "user",
    since: date | None = None,
    until: date | None = None,
    group: str | None = None,
    user: str | None = None,
) -> list[dict]:
    """Assignment events in the window (inclusive local dates), counted by `by`."""
    if by not in REPORT_KEYS:
        raise LeadctlError(f"--by '{by}' is not one of {', '.join(REPORT_KEYS)}")
    tz = cfg.tz()
    counts: Counter = Counter()
    methods: dict[str, Counter] = defaultdict(Counter)
    local_day: dict[str, date] = {}
    for at, assigned_to, group_name, method in ledger.events():
        if group is not None and group_name != group:
            continue
        if user is not None and assigned_to != user:
            continue
        d = local_day.get(at)
        if d is None:
            d = local_day[at] = datetime.fromisoformat(at).astimezone(tz).date()
        if (since and d < since) or (until and d > until):
            continue
        key = {"user": assigned_to, "group": group_name, "day": d.isoformat(),
               "month": d.isoformat()[:7], "method": method}[by]
        counts[key] += 1
        methods[key][method] += 1
    total = sum(counts.values())
    ordered = sorted(counts) if by in ("day", "month") else sorted(counts, key=lambda k: (-counts[k], str(k)))
    rows = []
    for key in ordered:
        row = {by: key, "count": counts[key]}
        if by != "method":
            row["by_method"] = dict(sorted(methods[key].items()))
        row["share"] = round(counts[key] / total, 4) if total else 0.0
        rows.append(row)
    return rows
