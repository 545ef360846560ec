"""Audit commands: quota tables and reports."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import typer

from . import AUDIT, state

FormatOpt = Annotated[Literal["table", "json", "csv"], typer.Option("--format", help="Output format.")]
QUOTA_COLUMNS = ["group", "user", "daily_used", "daily_limit", "daily_remaining", "monthly_used",
                 "monthly_limit", "monthly_remaining", "capped", "active"]


def quota(
    ctx: typer.Context,
    group: Annotated[Optional[str], typer.Option("--group", help="Only this group.")] = None,
    day: Annotated[Optional[str], typer.Option("--date", metavar="YYYY-MM-DD", help="The day (and its month) to show; default today.")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Caps per group member: used, limit and remaining today and this month.

    Example: leadctl quota --group tele-sales --date 2026-11-23
    """
    from datetime import datetime

    from .. import render
    from ..audit import parse_date, quota_rows, today

    st = state(ctx)
    cfg = st.config()
    when = parse_date(day, "--date") if day else today(cfg, datetime.now().astimezone())
    if group:
        cfg.group(group)
    ledger = st.ledger(cfg, create=False)
    try:
        rows = quota_rows(cfg, ledger, when, group)
    finally:
        ledger.close()
    render.emit(rows, QUOTA_COLUMNS, fmt, title=f"Quota on {when.isoformat()} ({cfg.settings.timezone})",
                empty="no group members yet", right=QUOTA_COLUMNS[2:8],
                headers={"daily_used": "today", "daily_limit": "daily cap", "daily_remaining": "left today",
                         "monthly_used": "this month", "monthly_limit": "monthly cap",
                         "monthly_remaining": "left this month"})


def report(
    ctx: typer.Context,
    since: Annotated[Optional[str], typer.Option("--since", metavar="DATE", help="First day, inclusive (YYYY-MM-DD).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", metavar="DATE", help="Last day, inclusive (YYYY-MM-DD).")] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Only this group.")] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="Only this user.")] = None,
    by: Annotated[Literal["user", "group", "day", "month", "method"], typer.Option("--by", help="What to count by.")] = "user",
    fmt: FormatOpt = "table",
) -> None:
    """Assignments in a window, by user, group, day, month or method (every method counts).

    Example: leadctl report --since 2026-11-01 --until 2026-11-30 --by user
    """
    from .. import render
    from ..audit import parse_date, report_rows
    from ..errors import LeadctlError

    st = state(ctx)
    cfg = st.config()
    start = parse_date(since, "--since") if since else None
    end = parse_date(until, "--until") if until else None
    if start and end and start > end:
        raise LeadctlError(f"--since {since} is after --until {until}")
    if group:
        cfg.group(group)
    ledger = st.ledger(cfg, create=False)
    try:
        rows = report_rows(cfg, ledger, by=by, since=start, until=end, group=group, user=user)
    finally:
        ledger.close()
    columns = [by, "count", "share"] + (["by_method"] if by != "method" else [])
    if fmt != "json":
        for r in rows:
            if "by_method" in r:
                r["by_method"] = " ".join(f"{m}={n}" for m, n in r["by_method"].items())
    window = f"{since or 'start'} .. {until or 'now'}"
    render.emit(rows, columns, fmt, title=f"Assignments by {by}, {window}", empty="no assignments in this window",
                right=["count", "share"])


def register(app: typer.Typer) -> None:
    app.command("quota", rich_help_panel=AUDIT)(quota)
    app.command("report", rich_help_panel=AUDIT)(report)
