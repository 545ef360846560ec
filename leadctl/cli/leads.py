"""Leads after routing: list and show."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import typer

from . import LEADS, state
from ..errors import Refused

LIST_COLUMNS = ["id", "type", "status", "assigned_to", "group", "method", "received_at", "source"]

leads_app = typer.Typer(help="List leads and show one lead with its history.", no_args_is_help=True)


def _public(row: dict) -> dict:
    """A ledger row as users see it: `group`, not the column name."""
    out = {k: v for k, v in row.items() if k not in ("fields", "email_key", "phone_key", "group_name")}
    out["group"] = row["group_name"]
    return out


@leads_app.command("list")
def leads_list(
    ctx: typer.Context,
    as_user: Annotated[Optional[str], typer.Option("--as", metavar="USER", help="Show what this user may see (lead isolation).")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", metavar="USER", help="Only leads assigned to USER.")] = None,
    unassigned: Annotated[bool, typer.Option("--unassigned", help="Only leads nobody has.")] = False,
    status: Annotated[Optional[str], typer.Option("--status", help="Only leads with this status.")] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Only leads routed through GROUP.")] = None,
    fmt: Annotated[Literal["table", "json", "csv"], typer.Option("--format", help="Output format.")] = "table",
) -> None:
    """List leads, oldest first.

    Example: leadctl leads list --unassigned --format csv > unassigned.csv
    """
    from .. import render
    from ..access import visible_owner

    st = state(ctx)
    cfg = st.config()
    if group:
        cfg.group(group)
    ledger = st.ledger(cfg, create=False)
    try:
        rows = [_public(r) for r in ledger.leads(owner=owner, unassigned=unassigned, status=status,
                                                 group=group, visible_to=visible_owner(cfg, as_user))]
    finally:
        ledger.close()
    render.emit(rows, LIST_COLUMNS, fmt, title=f"{len(rows)} lead(s)", empty="no leads match")


@leads_app.command("show")
def leads_show(
    ctx: typer.Context,
    lead_id: Annotated[str, typer.Argument(metavar="LEAD", help="Lead id.")],
    fmt: Annotated[Literal["table", "json"], typer.Option("--format", help="Output format.")] = "table",
) -> None:
    """Show one lead, all its fields and its assignment history (oldest first).

    Example: leadctl leads show L-1001 --format json
    """
    import json

    from .. import render

    st = state(ctx)
    cfg = st.config()
    ledger = st.ledger(cfg, create=False)
    try:
        row = ledger.lead(lead_id)
        if row is None:
            raise Refused(f"unknown lead '{lead_id}'")
        history = [{"at": e["at"], "assigned_to": e["assigned_to"], "group": e["group_name"],
                    "method": e["method"], "reason": e["reason"], "counted": bool(e["counted"])}
                   for e in ledger.history(lead_id)]
    finally:
        ledger.close()
    fields = json.loads(row["fields"])
    lead = {**fields, **_public(row), "fields": fields, "history": history}
    if fmt == "json":
        typer.echo(json.dumps(lead, indent=2, ensure_ascii=False))
        return
    info = [{"field": k, "value": v} for k, v in _public(row).items()]
    info += [{"field": f"  {k}", "value": v} for k, v in fields.items() if k not in ("id",)]
    render.table(info, ["field", "value"], title=f"Lead {lead_id}")
    render.table(history, ["at", "assigned_to", "group", "method", "reason"], title="History",
                 empty="no assignment yet")


def register(app: typer.Typer) -> None:
    app.add_typer(leads_app, name="leads", rich_help_panel=LEADS)
