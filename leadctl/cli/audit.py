"""Audit commands: quota tables and reports."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import AUDIT, LimitOpt, ListFormat, state

FormatOpt = ListFormat
QUOTA_COLUMNS = ["group", "user", "daily_used", "daily_limit", "daily_remaining", "monthly_used",
                 "monthly_limit", "monthly_remaining", "capped", "capped_by", "user_daily_used", "user_daily_limit",
                 "user_monthly_used", "user_monthly_limit", "active", "away", "next"]


def quota(
    ctx: typer.Context,
    group: Annotated[Optional[str], typer.Option("--group", help="Only this group.")] = None,
    day: Annotated[Optional[str], typer.Option("--date", metavar="YYYY-MM-DD", help="The day (and its month) to show; default today.")] = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = None,
) -> None:
    """Caps per group member: used, limit and remaining for the day and its month.

    Only the groups' own methods count; owner, creator, duplicate, manual and
    pick-up assignments do not.

    Example: leadctl quota --group tele-sales --date 2026-11-23
    """
    from datetime import datetime

    from .. import render
    from ..audit import parse_date, quota_rows, today

    st = state(ctx)
    cfg = st.config()
    now = datetime.now().astimezone()
    when = parse_date(day, "--date") if day else today(cfg, now)
    if group:
        cfg.group(group)
    with st.ledger(cfg, create=False) as ledger:
        rows = quota_rows(cfg, ledger, when, group, now)
    title = f"Quota on {when.isoformat()} and in {when.isoformat()[:7]} ({cfg.settings.timezone})"
    if limit is not None:
        rows = rows[:limit]
    if fmt != "table":
        render.emit(rows, QUOTA_COLUMNS, fmt)
        return
    shown = [{
        "group": r["group"],
        "user": r["user"],
        "today": render.used_of(r["daily_used"], r["daily_limit"]),
        "this month": render.used_of(r["monthly_used"], r["monthly_limit"]),
        "state": render.member_state(r),
        "next": "next" if r["next"] else "",
        **({"user caps (all groups)": render.user_used(r)} if render.user_caps(rows) else {}),
    } for r in rows]
    render.table(shown, list(shown[0]) if shown else [], title=title, empty="no group members yet")
    if shown and not render.plain():
        render.say("used/limit (- = no limit); the bar is the share of the limit used")


def report(
    ctx: typer.Context,
    since: Annotated[Optional[str], typer.Option("--since", metavar="DATE", help="First day, inclusive (YYYY-MM-DD).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", metavar="DATE", help="Last day, inclusive (YYYY-MM-DD).")] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Only this group.")] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="Only this user.")] = None,
    by: Annotated[str, typer.Option("--by", metavar="user|group|day|month|hour|method|source|rule|territory|field:NAME",
                                    help="What to count by: who, where, when (hour: of receipt, in the configured"
                                         " zone), how, the rule or territory that routed the lead, or a lead's own"
                                         " field.")] = "user",
    sla: Annotated[bool, typer.Option("--sla", help="Speed to lead: SLA met, missed, attainment and time to first"
                                                    " contact, per user (or --by group, day, month, method, hour).")] = False,
    chart: Annotated[Optional[Path], typer.Option("--chart", metavar="FILE.svg",
                                                  help="Also draw the report as a bar chart (SVG).")] = None,
    fmt: FormatOpt = "table",
    limit: LimitOpt = None,
) -> None:
    """Assignments in a window, by user, group, day, month or method (every method counts).

    Dates are calendar days in the configured time zone. The table adds a bar per
    row and, for sequential and weighted groups, how far the split is from what
    the weights ask for.

    Example: leadctl report --since 2026-11-01 --until 2026-11-30 --by user
    """
    from .. import render
    from ..audit import Window, contact_stats, fairness, parse_date, report_rows, window_counts
    from ..errors import LeadctlError
    from ..speed_report import SKIPS, fairness_line, shares, skip_counts

    st = state(ctx)
    cfg = st.config()
    window = Window(parse_date(since, "--since") if since else None, parse_date(until, "--until") if until else None)
    if window.since and window.until and window.since > window.until:
        raise LeadctlError(f"--since {since} is after --until {until}")
    if group:
        cfg.group(group)
    if user is not None:
        user = cfg.find_user(user).id  # an unknown user is exit 2, not an empty report
    by_field = by in ("source", "rule", "territory", "hour") or by.startswith("field:")
    if not by_field and by not in ("user", "group", "day", "month", "method"):
        raise LeadctlError(f"--by '{by}' is not one of user, group, day, month, hour, method, source, rule, territory"
                           " or field:NAME")
    if by.startswith("field:") and not by[6:].strip():
        raise LeadctlError("--by field:NAME needs the field's name, e.g. --by field:campaign")
    if sla and by not in ("user", "group", "day", "month", "method", "hour"):
        raise LeadctlError(f"--sla counts by user, group, day, month, method or hour, not by {by}")
    title = f"{since or 'the start'} to {until or 'today'}"
    if sla:
        from datetime import datetime

        from ..speed_report import sla_stats

        with st.ledger(cfg, create=False) as ledger:
            rows = [r for r in sla_stats(cfg, ledger, window, datetime.now().astimezone(), by)
                    if (not user or r.get("user") == user) and (not group or by != "group" or r["group"] == group)]
        rows = rows[:limit] if limit is not None else rows
        columns = [by, "sla_met", "sla_missed", "attainment", "first_contact_median_s", "first_contact_p90_s"]
        _draw(chart, rows, by, "attainment", f"SLA attainment by {by}, {title}")
        render.emit(rows, columns, fmt) if fmt != "table" else render.table(
            [{**r, "attainment": "" if r["attainment"] is None else f"{r['attainment']:.0%}"} for r in rows], columns,
            title=f"Speed to lead by {by}, {title}", empty="no assignments the SLA covers in this window",
            right=columns[1:])
        return
    if by_field:
        from ..audit import field_counts, field_rows

        column = by if by in ("source", "rule", "territory", "hour") else by[6:].strip()
        with st.ledger(cfg, create=False) as ledger:
            rows = field_rows(field_counts(cfg, ledger, window, column, group=group, user=user,
                                           viewer=st.actor.user, routed=by in ("rule", "territory", "hour")), column)
        if by == "hour":
            rows.sort(key=lambda r: (r["hour"] is None, r["hour"] or ""))
        rows = rows[:limit] if limit is not None else rows
        _draw(chart, rows, column, "count", f"Assignments by {column}, {title}")
        _show(rows, [column, "count", "share", "by_method"], fmt, f"Assignments by {column}, {title}")
        return
    with st.ledger(cfg, create=False) as ledger:
        counts = window_counts(cfg, ledger, window, group=group, user=user)
        contact = contact_stats(cfg, ledger, window) if by == "user" else {}
        # Fairness is about the whole group, whoever the rows are filtered to.
        group_counts = window_counts(cfg, ledger, window, group=group) if user else counts
        skips = skip_counts(ledger, window, group) if by == "user" else {}
        fair = [f for f in fairness(cfg, group_counts, group) if not user or cfg.group(f["group"]).member(user)]
        fair_skips = {f["group"]: skip_counts(ledger, window, f["group"]) for f in fair} if fmt == "table" else {}
    rows = report_rows(counts, by)
    extra = ["first_contact_median_s", "first_contact_p90_s", "sla_misses"] if by == "user" else []
    if by == "user":
        extra += [*SKIPS, "target_share", "actual_share"]
        asked = shares(cfg, group_counts, group)
        for r in rows:
            r.update(contact.get(r["user"], {"first_contact_median_s": None, "first_contact_p90_s": None,
                                             "sla_misses": 0}))
            r.update({k: skips.get(r["user"], {}).get(k, 0) for k in SKIPS})
            target, actual = asked.get(r["user"], (None, None))
            r.update(target_share=target, actual_share=actual)
    if limit is not None:
        rows = rows[:limit]
    columns = [by, "count", "share"] + (["by_method"] if by != "method" else []) + extra
    _draw(chart, rows, by, "count", f"Assignments by {by}, {title}")
    if not _show(rows, columns, fmt, f"Assignments by {by}, {title}"):
        return
    for f in fair:
        render.note(fairness_line(f, fair_skips[f["group"]]))


def _draw(chart: Path | None, rows: list[dict], key: str, value: str, title: str) -> None:
    """`--chart FILE.svg`: the report's rows as a bar chart, drawn by the pages' own code."""
    if chart is None:
        return
    from ..charts import bar_chart
    from ..errors import LeadctlError

    svg = bar_chart([(str(r[key]) if r[key] is not None else "(none)", r[value] or 0) for r in rows], title,
                    percent=value == "attainment")
    try:
        chart.write_text(svg, encoding="utf-8")
    except OSError as exc:
        raise LeadctlError(f"cannot write the chart {chart}: {exc.strerror}") from None
    from .. import render

    render.err(f"chart written to {chart}")


def _show(rows: list[dict], columns: list[str], fmt: str, title: str) -> bool:
    """A report's rows, the same way whatever it counts by: JSON as they are (shares 0-1), CSV
    and the table with the split by method in words, the table with shares in % and a bar.
    Returns whether it was the table (the fairness notes follow it)."""
    from .. import render

    if fmt in ("json", "jsonl"):
        render.emit(rows, columns, fmt)
        return False
    for r in rows:
        if "by_method" in r:
            r["by_method"] = " ".join(f"{m}={n}" for m, n in r["by_method"].items())
    if fmt == "csv":
        render.emit(rows, columns, fmt)
        return False
    top = max((r["count"] for r in rows), default=0)
    for r in rows:
        r["share"] = f"{r['share']:.1%}"
        r[""] = render.bar(r["count"], top)
    render.table(rows, [*columns[:3], "", *columns[3:]], title=title, empty="no assignments in this window",
                 right=["count", "share"])
    return True


def register(app: typer.Typer) -> None:
    app.command("quota", rich_help_panel=AUDIT)(quota)
    app.command("report", rich_help_panel=AUDIT)(report)
