"""`leadctl drain` and `leadctl tick`: what waits or is due, done now (for cron; `serve` does both
by itself): the queues handed out, and the SLA's re-routes."""

from typing import Annotated, Literal, Optional

import typer

from . import ROUTING, state


def drain(ctx: typer.Context,
          group: Annotated[Optional[str], typer.Option("--group", metavar="GROUP", help="Only this group's queue.")] = None,
          output: Annotated[Literal["table", "jsonl", "csv"], typer.Option(
              "--output", "-o", help="table: a line per lead handed out and a summary; jsonl or csv: route's fields.")] = "table",
          seed: Annotated[Optional[int], typer.Option("--seed", metavar="N", help="Seed for random groups.")] = None) -> None:
    """Hand out queued leads, oldest first, as capacity allows now (for cron; `serve` drains by itself).

    Example: leadctl drain -o jsonl
    """
    import random
    from datetime import datetime

    from .. import render
    from ..outcome import OUTPUT_FIELDS
    from ..assign.drain import drain as do_drain

    st = state(ctx)
    cfg = st.config()
    with st.ledger(cfg) as ledger:
        out, left = do_drain(cfg, ledger, datetime.now().astimezone(), random.Random(seed), group=group, actor=st.actor)
    rows = [o.as_dict() for o in out]
    if output == "jsonl":
        render.jsonl_out(rows)
    elif output == "csv":
        render.emit(rows, list(OUTPUT_FIELDS), "csv")
    else:
        for o in out:
            render.say(f"{o.lead_id}: {o.assigned_to} ({o.group}, {o.method})")
    render.err(f"drained {len(out)} lead(s); {left} still queued")


def tick(ctx: typer.Context,
         output: Annotated[Literal["table", "jsonl"], typer.Option(
             "--output", "-o", help="table: a line per lead re-routed; jsonl: an object per lead.")] = "table",
         seed: Annotated[Optional[int], typer.Option("--seed", metavar="N", help="Seed for random groups.")] = None) -> None:
    """Run what is due: the SLA ladders' steps (reminders, notices to managers, re-routes and
    escalations of leads not contacted in time), then the queues' drain (for cron; `serve` does
    both by itself), the /reports page's figures when they are over five minutes old, and once a
day the retention period (`ledger prune`, with `settings --retain-days N`).

    Example: */5 * * * * leadctl tick
    """
    import random
    from datetime import datetime

    from .. import render
    from ..assign.drain import drain as do_drain
    from ..assign.sla import summary, tick as do_tick
    from ..personal_data import prune_daily
    from ..reports_figures import refresh as refresh_reports

    st = state(ctx)
    cfg = st.config()
    with st.ledger(cfg) as ledger:
        moved = do_tick(cfg, ledger, datetime.now().astimezone(), random.Random(seed), actor=st.actor)
        drained, left = do_drain(cfg, ledger, datetime.now().astimezone(), random.Random(seed), actor=st.actor)
        refresh_reports(cfg, ledger, datetime.now().astimezone())
        pruned = prune_daily(cfg, ledger, datetime.now().astimezone(), actor=st.actor)
    if output == "jsonl":
        render.jsonl_out(r.as_dict() for r in moved)
    for r in moved if output != "jsonl" else ():
        render.say(f"{r.lead_id}: {r.previous} -> {r.assigned_to} ({r.method}): {r.reason}")
    render.err(f"{summary(moved)}; drained {len(drained)}, {left} still queued"
               + (f"; retention: forgot {len(pruned.forgotten)} closed lead(s)" if pruned is not None else ""))


def register(app: typer.Typer) -> None:
    app.command("drain", rich_help_panel=ROUTING)(drain)
    app.command("tick", rich_help_panel=ROUTING)(tick)
