"""`leadctl simulate`: what the window's leads would have done under a proposed config."""

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from . import AUDIT, MAX_NUMBER, state


def simulate(
    ctx: typer.Context,
    proposed: Annotated[Path, typer.Option("--proposed", metavar="FILE",
                        help="The config to try: a copy of leadctl.toml with the changes you consider.")],
    since: Annotated[Optional[str], typer.Option("--since", metavar="DATE",
                     help="First day, inclusive (YYYY-MM-DD). Default: 29 days before --until.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", metavar="DATE",
                     help="Last day, inclusive (YYYY-MM-DD). Default: today.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", metavar="N", min=0, max=MAX_NUMBER,
                    help="Seed for random groups, to repeat a simulation.")] = None,
    leads: Annotated[bool, typer.Option("--leads", help="Also list each lead that would have had another first owner.")] = False,
    fmt: Annotated[Literal["table", "json", "csv"], typer.Option("--output", "-o",
                   help="table (default), json, or csv (one row per user, group and total; with --leads, per lead).")] = "table",
) -> None:
    """Replay the leads received in a window through a proposed config, and compare.

    The leads are routed afresh, in order of receipt and each at its own received_at,
    through the proposed groups, caps, methods, rules, settings, hours and leave, from
    an empty rotation and usage at the window's start. Each lead's simulated first
    owner is compared with its actual first owner. Nothing is written or locked:
    routing goes on meanwhile.

    Example: leadctl simulate --proposed proposed.toml --since 2026-11-01 --until 2026-11-30
    """
    from datetime import datetime

    from ..audit import parse_date
    from ..config import load
    from ..errors import LeadctlError
    from ..assign.simulate import simulate as replay, window

    st = state(ctx)
    cfg = st.config()
    if not proposed.exists():
        raise LeadctlError(f"proposed config {proposed} not found")
    if proposed.is_dir():
        raise LeadctlError(f"proposed config {proposed} is a folder, not a file")
    plan = load(proposed)  # validated exactly as the config is; its errors name its path
    first, last = window(cfg, parse_date(since, "--since") if since else None,
                         parse_date(until, "--until") if until else None, datetime.now().astimezone())
    with st.ledger(cfg, create=False) as ledger:
        result = replay(cfg, plan, ledger, first, last, seed=seed, keep_leads=leads, actor=st.actor)
    _show(result, fmt, proposed)


def _show(result, fmt: str, proposed: Path) -> None:
    from .. import render

    span = f"{result.since} to {result.until}"
    if not result.total:
        render.err(f"no leads were received from {span}: nothing to simulate")
        if fmt == "table":
            return
    if fmt == "json":
        render.json_out(result.as_dict(), indent=2)
        return
    if fmt == "csv":
        if result.leads is not None:
            rows = [{"lead_id": i, "actual": a, "simulated": s} for i, a, s in result.leads]
            render.emit(rows, ["lead_id", "actual", "simulated"], "csv")
            return
        rows = [{"kind": "user", "name": u, "actual": a, "simulated": s} for u, (a, s) in sorted(result.users.items())]
        rows += [{"kind": "group", "name": g, "actual": a, "simulated": s} for g, (a, s) in sorted(result.groups.items())]
        rows.append({"kind": "unassigned", "name": "", "actual": result.unassigned[0], "simulated": result.unassigned[1]})
        rows.append({"kind": "moved", "name": "", "actual": 0, "simulated": result.moved})
        render.emit(rows, ["kind", "name", "actual", "simulated"], "csv")
        return
    top = max((max(a, s) for a, s in result.users.values()), default=0)
    users = [{"user": u, "actual": a, "simulated": s, "change": _change(a, s),
              "actual ": render.bar(a, top, 16), "simulated ": render.bar(s, top, 16)}
             for u, (a, s) in sorted(result.users.items())]
    render.table(users, ["user", "actual", "simulated", "change", "actual ", "simulated "],
                 title=f"First owners, {span}: {result.total} lead(s), actual vs {proposed.name}",
                 empty="nobody got a lead", right=["actual", "simulated", "change"])
    groups = [{"group": g, "actual": a, "simulated": s, "change": _change(a, s)}
              for g, (a, s) in sorted(result.groups.items())]
    render.table(groups, ["group", "actual", "simulated", "change"], title="By group", empty="no group gave a lead",
                 right=["actual", "simulated", "change"])
    a, s = result.unassigned
    extra = [f"{n} {what}" for n, what in ((result.queued, "queued"), (result.rejected, "rejected")) if n]
    render.note(f"unassigned: {a} actual, {s} simulated" + (f" ({', '.join(extra)})" if extra else ""))
    for f in result.fairness:
        gaps = ", ".join(f"{side} {'-' if f[key] is None else f[key]}" for side, key in
                         (("actual", "actual_gap"), ("simulated", "simulated_gap")))
        render.note(f"fairness gap {f['group']}: {gaps} (leads away from the shares the weights ask for)")
    render.note(f"moved: {result.moved} of {result.total} lead(s) would have had another first owner")
    if result.leads:
        rows = [{"lead_id": i, "actual": a or "-", "simulated": s or "-"} for i, a, s in result.leads]
        render.table(rows, ["lead_id", "actual", "simulated"], title="Leads that would have moved")


def _change(actual: int, simulated: int) -> str:
    d = simulated - actual
    return f"+{d}" if d > 0 else str(d) if d else "0"


def register(app: typer.Typer) -> None:
    app.command("simulate", rich_help_panel=AUDIT)(simulate)
