"""GET /reports (managers and above): the last 7, 30 or 90 days as charts drawn on the server —
leads per member, speed to lead (median time to first contact, the 90th percentile as a
mark), SLA attainment — each with its numbers as a table beside it (for screen readers and
copying), and the assignments per member per day. The same counts as `report`, `report --sla`
(`audit`, `speed_report`), drawn by `charts.bar_chart` as `report --chart` is."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from .pages import Page, Visit, _base, days_window, for_managers

WINDOWS = (7, 30, 90)


def reports(v: Visit, now: datetime, days: str | None) -> Page:
    from ..audit import Window, contact_stats, window_counts
    from ..charts import bar_chart
    from ..speed_report import sla_stats

    refused = for_managers(v)
    if refused:
        return refused
    window, first, last = days_window(v, now, days, WINDOWS)
    span = Window(first, last)
    counts = window_counts(v.cfg, v.ledger, span)
    per_member: Counter = Counter()
    per_day: dict = defaultdict(Counter)
    for (day, user, _group, _method), n in counts.items():
        if user:
            per_member[user] += n
            per_day[day.isoformat()][user] += n
    members = sorted(per_member, key=lambda u: (-per_member[u], u))
    speed = contact_stats(v.cfg, v.ledger, span)
    fast = sorted((u for u in speed if speed[u]["first_contact_median_s"] is not None),
                  key=lambda u: speed[u]["first_contact_median_s"])
    sla = [r for r in sla_stats(v.cfg, v.ledger, span, now, "user") if r["attainment"] is not None]
    charts = {
        "given": bar_chart([(u, per_member[u]) for u in members], f"Leads per member, last {window} days")
        if members else "",
        "speed": bar_chart([(u, round(speed[u]["first_contact_median_s"] / 60, 1)) for u in fast],
                           f"Median minutes to first contact, last {window} days (mark: 90th percentile)",
                           marks=[round(speed[u]["first_contact_p90_s"] / 60, 1) for u in fast],
                           mark_title="90th percentile, minutes") if fast else "",
        "sla": bar_chart([(r["user"], r["attainment"]) for r in sla], f"SLA attainment, last {window} days",
                         percent=True) if sla else "",
    }
    speed_rows = [{"user": u, "median": _minutes(speed[u]["first_contact_median_s"]),
                   "p90": _minutes(speed[u]["first_contact_p90_s"])} for u in fast]
    days_rows = [{"day": d, "total": sum(per_day[d].values()),
                  "members": ", ".join(f"{u} {n}" for u, n in sorted(per_day[d].items(), key=lambda x: (-x[1], x[0])))}
                 for d in sorted(per_day, reverse=True)]
    return Page(200, "reports.html", _base(
        v, "Reports", window=window, windows=WINDOWS, first=first.isoformat(), last=last.isoformat(),
        charts=charts, given=[{"user": u, "count": per_member[u]} for u in members], speed=speed_rows, sla=sla,
        days=days_rows))


def _minutes(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
