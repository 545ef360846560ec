"""GET /reports (managers and above): the last 7, 30 or 90 days as charts drawn on the server —
leads per member, speed to lead (median time to first contact, the 90th percentile as a
mark), SLA attainment — each with its numbers as a table beside it (for screen readers and
copying), and the assignments per member per day. The figures are `reports_figures`' (the
same counts as `report` and `report --sla`, kept as a snapshot that `tick` refreshes); the
page says when they were computed, and POST /reports computes them now."""

from __future__ import annotations

from datetime import datetime, timedelta

from .pages import Page, Visit, _base, _forbidden_form, csrf_ok, days_window, for_managers


def reports(v: Visit, now: datetime, days: str | None) -> Page:
    return _page(v, now, days, None)


def refresh(v: Visit, form: dict, now: datetime) -> Page:
    """POST /reports: `days`, `csrf`: the window's figures computed now, then the page."""
    refused = for_managers(v)
    if refused:
        return refused
    if not csrf_ok(v.session, form.get("csrf")):
        return _forbidden_form()
    return _page(v, now, form.get("days"), timedelta(0))


def _page(v: Visit, now: datetime, days: str | None, max_age: timedelta | None) -> Page:
    from ..charts import bar_chart
    from ..reports_figures import STALE, WINDOWS, figures

    refused = for_managers(v)
    if refused:
        return refused
    window, _first, _last = days_window(v, now, days, WINDOWS)
    f = figures(v.cfg, v.ledger, window, now, max_age=STALE if max_age is None else max_age)
    given, speed, sla = f["given"], f["speed"], f["sla"]
    charts = {
        "given": bar_chart([(u, n) for u, n in given], f"Leads per member, last {window} days") if given else "",
        "speed": bar_chart([(u, round(median / 60, 1)) for u, median, _ in speed],
                           f"Median minutes to first contact, last {window} days (mark: 90th percentile)",
                           marks=[round(p90 / 60, 1) for _, _, p90 in speed],
                           mark_title="90th percentile, minutes") if speed else "",
        "sla": bar_chart([(r["user"], r["attainment"]) for r in sla], f"SLA attainment, last {window} days",
                         percent=True) if sla else "",
    }
    per_day = f["per_day"]
    days_rows = [{"day": d, "total": sum(per_day[d].values()),
                  "members": ", ".join(f"{u} {n}" for u, n in sorted(per_day[d].items(), key=lambda x: (-x[1], x[0])))}
                 for d in sorted(per_day, reverse=True)]
    as_of = datetime.fromisoformat(f["as_of"]).astimezone(v.cfg.tz())
    return Page(200, "reports.html", _base(
        v, "Reports", window=window, windows=WINDOWS, first=f["first"], last=f["last"], charts=charts,
        as_of=as_of.strftime("%H:%M"), as_of_full=as_of.isoformat(timespec="seconds"),
        given=[{"user": u, "count": n} for u, n in given],
        speed=[{"user": u, "median": _minutes(m), "p90": _minutes(p)} for u, m, p in speed], sla=sla,
        days=days_rows))


def _minutes(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
