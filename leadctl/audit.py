"""Answers to "who got what, and is it fair?": quota tables, reports, group views.

Functions over a Config and a Ledger that return plain rows (dicts), for
`render` to draw. Days and months are calendar dates in the configured time
zone.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from .config import Config, Group
from .domain.engine import Slot, day_key, month_key, why_not
from .errors import LeadctlError
from .ledger import Ledger

REPORT_KEYS = ("user", "group", "day", "month", "method")


def parse_date(text: str, option: str) -> date:
    from .config import parse_day

    return parse_day(text, option)


def today(cfg: Config, now: datetime) -> date:
    return now.astimezone(cfg.tz()).date()


def away_on(cfg: Config, day: date, now: datetime | None = None) -> dict[str, str]:
    """Who is away on `day` and until when (with their backup), and, when `now` is given (and
    falls on `day`), who is off hours now: user -> words for the quota and group views."""
    iso = day.isoformat()
    out = {a.user: f"away until {a.end}" + (f" (backup {a.backup})" if a.backup else "")
           for a in cfg.away if a.start <= iso <= a.end}
    if now is not None and today(cfg, now) == day:
        from .domain.availability import OFF_HOURS, Availability

        for user, why in Availability(cfg).at(now).away:
            if why == OFF_HOURS:
                out.setdefault(user, OFF_HOURS)
    return out


def who_is_next(cfg: Config, ledger: Ledger, group: Group, now: datetime) -> str | None:
    """Who the group's next lead would go to now: the very decision routing would make (an
    absent member's backup included); None for a random group, or when nobody can take it."""
    from .assign.state import Turns
    from .assign.decide import Policy

    if group.method == "random":
        return None
    return Turns(Policy(cfg, routing=False), ledger, group.name, now, random.Random(0)).next()[1].user


def quota_rows(cfg: Config, ledger: Ledger, day: date, group: str | None = None,
               now: datetime | None = None, nexts: dict[str, str | None] | None = None) -> list[dict]:
    """One row per group member: used, limit and remaining for the day and its month, whether
    they are away (until when) or off hours (`now`: on that day), and (`now`) whether the
    group's next lead is theirs (`nexts`: who is next in each group, when the caller knows)."""
    groups = [cfg.group(group)] if group else list(cfg.groups)
    if nexts is None:
        nexts = {g.name: who_is_next(cfg, ledger, g, now) for g in groups} if now is not None else {}
    iso = day.isoformat()
    daily = ledger.usage_counts(day_key(iso))
    monthly = ledger.usage_counts(month_key(iso))
    active = cfg.active_users()
    gone = away_on(cfg, day, now)
    people = {u.id: u for u in cfg.users}
    totals = {}  # each user's use over every group: what their own caps (user edit --daily) count
    for period, counts in (("daily", daily), ("monthly", monthly)):
        for (_, user), n in counts.items():
            totals[(period, user)] = totals.get((period, user), 0) + n
    rows = []
    for g in groups:
        for m in g.members:
            d_used, m_used = daily.get((g.name, m.user), 0), monthly.get((g.name, m.user), 0)
            person = people.get(m.user)
            u_daily, u_monthly = (person.daily, person.monthly) if person else (0, 0)
            u_d_used, u_m_used = totals.get(("daily", m.user), 0), totals.get(("monthly", m.user), 0)
            own = why_not(Slot(m.user, u_daily, u_monthly), u_d_used, u_m_used)  # the user's caps, all groups
            capped_by = why_not(Slot(m.user, m.daily, m.monthly), d_used, m_used) or (own and f"user {own}")
            rows.append({
                "group": g.name,
                "user": m.user,
                "daily_used": d_used,
                "daily_limit": m.daily,
                "daily_remaining": max(m.daily - d_used, 0) if m.daily else None,
                "monthly_used": m_used,
                "monthly_limit": m.monthly,
                "monthly_remaining": max(m.monthly - m_used, 0) if m.monthly else None,
                "capped": capped_by is not None,
                "capped_by": capped_by,  # "daily cap", "monthly cap", "user daily cap" (all groups), ...
                "user_daily_used": u_d_used,
                "user_daily_limit": u_daily,
                "user_monthly_used": u_m_used,
                "user_monthly_limit": u_monthly,
                "active": m.user in active,
                "away": gone.get(m.user),
                "next": nexts.get(g.name) == m.user,
            })
    return rows


def group_view(cfg: Config, ledger: Ledger, group: Group, now: datetime | None = None) -> dict:
    """A group with its members in rotation order, today's use and who is next."""
    now = now or datetime.now().astimezone()
    nxt = who_is_next(cfg, ledger, group, now)
    rows = quota_rows(cfg, ledger, today(cfg, now), group.name, now, {group.name: nxt})
    for m, r in zip(group.members, rows):
        r["weight"] = m.weight
    return {
        "name": group.name,
        "method": group.method,
        "record_type": group.record_type,
        "pickup_statuses": list(group.pickup_statuses),
        "default": cfg.default_group == group.name,
        "next": nxt,
        "queued": ledger.queue_length().get(group.name, 0),  # leads waiting in its queue
        "members": rows,
    }


@dataclass(frozen=True)
class Window:
    """Inclusive local dates; None means open-ended."""

    since: date | None = None
    until: date | None = None

    def holds(self, day: date) -> bool:
        return not ((self.since and day < self.since) or (self.until and day > self.until))


def window_counts(cfg: Config, ledger: Ledger, window: Window, *, group: str | None = None,
                  user: str | None = None) -> Counter:
    """Assignment events in the window: (local day, user, group, method) -> count.

    The ledger groups events by minute and UTC offset; each bucket is placed on
    its calendar day in the configured time zone here, so one pass is enough
    however many events there are.
    """
    tz = cfg.tz()
    out: Counter = Counter()
    day_of: dict[tuple[str, str], date] = {}
    for minute, offset, assigned_to, group_name, method, n in ledger.event_buckets(group=group, user=user):
        key = (minute, offset)
        d = day_of.get(key)
        if d is None:
            try:
                d = datetime.fromisoformat(f"{minute}:00{offset}").astimezone(tz).date()
            except (ValueError, OverflowError):  # at the very ends of the calendar
                d = date.fromisoformat(minute[:10])
            day_of[key] = d
        if window.holds(d):
            out[(d, assigned_to, group_name, method)] += n
    return out


def field_counts(cfg: Config, ledger: Ledger, window: Window, field: str, *, group: str | None = None,
                 user: str | None = None, viewer: str | None = None, routed: bool = False) -> Counter:
    """Assignments in the window by the value of a lead's field (`source`, or any field of the
    lead as it came, its name in any case) and method: (value, method) -> count. `viewer`: the
    user asking; with isolation, only the leads they may see are counted (a field's values are
    the customers' own: names, emails). `routed`: `field` is `rule` or `territory`, what routed
    the lead (`rule 2`, `default`; the territory's name), or `hour`, the hour of day it came (in
    the configured zone, `09`), not a field of its own."""
    import json

    from .domain.rights import visible_owner

    tz = cfg.tz()
    wanted = field.strip().lower()
    out: Counter = Counter()
    rows = ledger.assignments_with_fields(group=group, user=user, holder=visible_owner(cfg, viewer))
    for at, _user, _group, method, source, fields, rule, territory, received in rows:
        try:
            day = datetime.fromisoformat(at).astimezone(tz).date()
        except (ValueError, OverflowError):
            day = date.fromisoformat(at[:10])
        if not window.holds(day):
            continue
        if wanted == "source":
            value = source
        elif wanted == "hour" and routed:
            value = _hour(received, tz)
        elif routed:  # what routed it (the ledger's own columns, not a field of the lead)
            value = territory if wanted == "territory" else (f"rule {rule}" if rule is not None else "default")
        else:
            value = next((v for k, v in json.loads(fields).items() if k.strip().lower() == wanted), None)
        out[((value or "").strip() or None, method)] += 1
    return out


def _hour(received: str | None, tz) -> str | None:
    """The hour of day a lead came, in the configured zone ("09")."""
    try:
        return f"{datetime.fromisoformat(received).astimezone(tz).hour:02d}" if received else None
    except (ValueError, OverflowError):
        return None


def field_rows(counts: Counter, column: str) -> list[dict]:
    """`report --by source` / `--by field:NAME` rows: the value, count, share and split by method."""
    totals: Counter = Counter()
    methods: dict = defaultdict(Counter)
    for (value, method), n in counts.items():
        totals[value] += n
        methods[value][method] += n
    total = sum(totals.values())
    return [{column: value, "count": totals[value], "share": round(totals[value] / total, 4) if total else 0.0,
             "by_method": dict(sorted(methods[value].items()))}
            for value in sorted(totals, key=lambda v: (-totals[v], v is None, str(v)))]  # none: last


def contact_stats(cfg: Config, ledger: Ledger, window: Window) -> dict[str, dict]:
    """Per user, over the assignments they got in the window: seconds to first contact (median,
    90th percentile, of those contacted) and SLA misses (leads re-routed from them)."""
    from .domain.engine import NOT_ASSIGNMENTS, STATUS

    tz = cfg.tz()
    waits: dict[str, list[float]] = defaultdict(list)
    misses: Counter = Counter()
    current: tuple | None = None  # (lead, holder, when they got it, counted in the window)
    for lead_id, at, user, method, reason in ledger.event_trail():
        when = datetime.fromisoformat(at)
        if current is not None and current[0] != lead_id:
            current = None
        if method == STATUS:
            if current is not None and current[1] and current[3]:
                waits[current[1]].append((when - current[2]).total_seconds())
                current = (lead_id, None, when, False)  # the first contact only
            continue
        if method in NOT_ASSIGNMENTS:
            continue
        if method in ("sla", "escalated") and current is not None and current[1] and current[3]:
            misses[current[1]] += 1
        current = (lead_id, user, when, user is not None and window.holds(when.astimezone(tz).date()))
    out = {}
    for user in set(waits) | set(misses):
        times = sorted(waits.get(user, []))
        out[user] = {**first_contact_figures(times),
                     "sla_misses": misses.get(user, 0)}
    return out


def first_contact_figures(times: list[float]) -> dict:
    """The median and 90th percentile of sorted seconds to first contact (None for none)."""
    from statistics import median

    return {"first_contact_median_s": round(median(times)) if times else None,
            "first_contact_p90_s": round(times[min(len(times) - 1, int(0.9 * len(times)))]) if times else None}


def report_rows(counts: Counter, by: str = "user") -> list[dict]:
    """Counts by `by` (user, group, day, month or method), with the split by method and share."""
    if by not in REPORT_KEYS:
        raise LeadctlError(f"--by '{by}' is not one of {', '.join(REPORT_KEYS)}")
    position = {"user": 1, "group": 2, "method": 3}
    totals: Counter = Counter()
    methods: dict[str, Counter] = defaultdict(Counter)
    for key, n in counts.items():
        if by == "day":
            value = key[0].isoformat()
        elif by == "month":
            value = key[0].isoformat()[:7]
        else:
            value = key[position[by]]
        totals[value] += n
        methods[value][key[3]] += n
    total = sum(totals.values())
    ordered = sorted(totals) if by in ("day", "month") else sorted(totals, key=lambda k: (-totals[k], str(k)))
    rows = []
    for value in ordered:
        row = {by: value, "count": totals[value], "share": round(totals[value] / total, 4) if total else 0.0}
        if by != "method":
            row["by_method"] = dict(sorted(methods[value].items()))
        rows.append(row)
    return rows


def fairness(cfg: Config, counts: Counter, group: str | None = None) -> list[dict]:
    """For each sequential or weighted group: what its own method gave each active member
    in the window, against the share the weights ask for (equal for sequential)."""
    by_member: Counter = Counter()
    for (_day, user, group_name, method), n in counts.items():
        by_member[(group_name, user, method)] += n
    active = cfg.active_users()
    out = []
    for g in cfg.groups:
        if g.method == "random" or (group and g.name != group):
            continue
        members = [m for m in g.members if m.user in active and (g.method != "weighted" or m.weight > 0)]
        if not members:
            continue
        got = {m.user: by_member[(g.name, m.user, g.method)] for m in members}
        total = sum(got.values())
        if not total:
            continue
        weights = {m.user: (m.weight if g.method == "weighted" else 1) for m in members}
        wsum = sum(weights.values())
        rows = [{"user": u, "count": got[u], "expected": total * weights[u] / wsum} for u in got]
        most = max(rows, key=lambda r: r["count"] - r["expected"])
        least = min(rows, key=lambda r: r["count"] - r["expected"])
        out.append({
            "group": g.name,
            "method": g.method,
            "total": total,
            "most": most,
            "least": least,
            "gap": round((most["count"] - most["expected"]) - (least["count"] - least["expected"]), 2),
            "capped_members": [m.user for m in members if m.daily or m.monthly],
        })
    return out
