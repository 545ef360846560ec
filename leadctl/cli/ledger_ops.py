"""`leadctl ledger backup | check | prune`: keeping the ledger — an online copy, its
integrity and invariants, and the retention period (`personal_data`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from . import YesOpt, confirm, state
from ..domain.rights import CONFIGURE
from ..errors import LeadctlError

Format = Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="table or json.")]


def backup(ctx: typer.Context,
           to: Annotated[Path, typer.Option("--to", metavar="FILE", help="The copy: a new SQLite file.")],
           fmt: Format = "table") -> None:
    """Copy the SQLite ledger to FILE while routers and serve go on writing (SQLite's online
    backup: one consistent moment, every lead acknowledged before it began). The copy is a
    ledger: point --db at it to restore. PostgreSQL: use pg_dump.

    Example: leadctl ledger backup --to /var/backups/leadctl/$(date +%F).db
    """
    from .. import render
    from ..ledger import Ledger

    st = state(ctx)
    cfg = st.config() if st.config_path.exists() else None
    st.require(CONFIGURE, cfg)  # every lead: the admins'
    where = st.ledger_path(cfg)
    if isinstance(where, str):
        raise LeadctlError("a PostgreSQL ledger is backed up with the server's own tools: pg_dump -Fc"
                           " (see docs/deploy.md); `ledger backup` copies SQLite ledgers")
    if not where.exists():
        raise LeadctlError(f"no ledger at {where} to back up")
    if to.exists() or to.is_symlink():
        raise LeadctlError(f"{to} already exists; back up into a new file")
    if to.resolve().parent == where.resolve().parent and to.name.startswith(where.name + "-"):
        raise LeadctlError(f"{to} would be taken for the ledger's own side file; name it otherwise")
    source = Ledger.open(where, create=False)
    try:
        leads, events = source.backup_to(to)
    finally:
        source.close()
    size = to.stat().st_size
    if fmt == "json":
        render.json_out({"from": str(where), "to": str(to), "leads": leads, "events": events, "bytes": size})
        return
    render.say(f"backed up {where} to {to}: {leads} lead(s), {events} event(s), {size / 1048576:.1f} MiB")


def check(ctx: typer.Context, fmt: Format = "table") -> None:
    """Check the ledger: the store's integrity (SQLite's integrity_check) and its own
    invariants — each lead's holder is its last event's, the usage tallies are the counted
    events, the outbox and owed CRM writes point at leads, the queue at unassigned leads.
    Names what is broken; exit 1 if anything is.

    Example: leadctl ledger check
    """
    from .. import render
    from ..ledger.integrity import check as run

    st = state(ctx)
    cfg = st.config()
    st.require(CONFIGURE, cfg)
    where = st.ledger_path(cfg)
    if not isinstance(where, str) and not where.exists():
        raise LeadctlError(f"no ledger at {where} to check")
    with st.ledger(cfg, create=False) as ledger:
        checks = run(ledger, cfg.tz())
    broken = [c for c in checks if not c.ok]
    if fmt == "json":
        render.json_out({"ok": not broken, "checks": [c.as_dict() for c in checks]})
    else:
        render.table([{"check": c.name, "result": "ok" if c.ok else f"{len(c.problems) + c.more} broken"}
                      for c in checks], ["check", "result"])
        for c in broken:
            for problem in c.problems:
                render.err(f"{c.name}: {problem}")
            if c.more:
                render.err(f"{c.name}: and {c.more} more")
    if broken:
        raise typer.Exit(1)


def prune(ctx: typer.Context,
          dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be forgotten; change nothing.")] = False,
          yes: YesOpt = False, fmt: Format = "table") -> None:
    """Forget the closed leads received before the retention period (`settings
    --retain-days N`), as `leads forget` does; open leads are kept, however old, and counted.

    Example: leadctl ledger prune --dry-run
    """
    from .. import render
    from ..personal_data import prune as do_prune, prune_plan

    st = state(ctx)
    cfg = st.config()
    st.require(CONFIGURE, cfg)
    now = datetime.now().astimezone()
    with st.ledger(cfg) as ledger:
        plan = prune_plan(cfg, ledger, now)
        before = plan.cutoff.astimezone(cfg.tz()).strftime("%Y-%m-%d %H:%M")
        said = (f"{len(plan.closed)} closed lead(s) received before {before} to forget;"
                f" {plan.open_kept} open one(s) that old kept")
        if dry_run or not plan.closed:
            _prune_out(fmt, plan, 0, dry_run)
            render.err(said if dry_run else f"nothing to forget; {plan.open_kept} open lead(s) that old kept")
            return
        confirm(f"Forget {len(plan.closed)} closed lead(s) received before {before}?", yes)
        plan, done = do_prune(cfg, ledger, now, actor=st.actor)
    _prune_out(fmt, plan, len(done.forgotten), False)
    render.err(f"forgot {len(done.forgotten)} closed lead(s) received before {before};"
               f" {plan.open_kept} open one(s) that old kept" + (f"; {done.scrub}" if done.scrub else ""))


def _prune_out(fmt: str, plan, forgotten: int, dry_run: bool) -> None:
    from .. import render

    row = {"cutoff": plan.cutoff.isoformat(timespec="seconds"), "closed": len(plan.closed),
           "open_kept": plan.open_kept, "forgotten": forgotten, "dry_run": dry_run}
    if fmt == "json":
        render.json_out({**row, "leads": plan.closed})
    else:
        render.table([row], list(row), right=["closed", "open_kept", "forgotten"])


def forget(ctx: typer.Context,
           lead_ids: Annotated[list[str] | None, typer.Argument(metavar="[LEAD]...", help="Lead ids.")] = None,
           email: Annotated[str | None, typer.Option("--email", metavar="ADDRESS",
                                                     help="Every lead with this email (as duplicates match).")] = None,
           phone: Annotated[str | None, typer.Option("--phone", metavar="NUMBER",
                                                     help="Every lead with this phone number.")] = None,
           yes: YesOpt = False, fmt: Format = "table") -> None:
    """Forget leads' personal data (an erasure request): every field but id, type, status,
    source and received_at, the email and phone and their duplicate keys, the notes, the
    outbox messages and owed CRM writes. Who held each lead, when and how stays, with a
    `forgotten` event. Nothing of the erased values is left in the SQLite file. Running it
    again changes nothing and exits 0.

    Example: leadctl leads forget --email ada@example.com --yes
    """
    from .. import render
    from ..personal_data import forget as do_forget, named

    if not lead_ids and email is None and phone is None:
        raise LeadctlError("name the leads: LEAD..., --email ADDRESS or --phone NUMBER")
    st = state(ctx)
    cfg = st.config()
    st.require(CONFIGURE, cfg)  # erasure is the admins' (it is kept in each lead's history)
    with st.ledger(cfg) as ledger:
        ids = named(cfg, ledger, list(lead_ids or ()), email, phone)
        if not ids:
            _forget_out(fmt, [], [], [])
            render.err("no lead has that " + ("email" if email is not None else "phone") + "; nothing to forget")
            return
        confirm(f"Forget the personal data of {len(ids)} lead(s) ({', '.join(ids[:5])}{'…' if len(ids) > 5 else ''})?",
                yes)
        done = do_forget(cfg, ledger, ids, datetime.now().astimezone(), actor=st.actor)
    _forget_out(fmt, done.forgotten, done.already, done.unknown)
    render.err(f"forgot {len(done.forgotten)} lead(s)" + (f"; {len(done.already)} forgotten before" if done.already else "")
               + (f"; unknown: {', '.join(done.unknown[:10])}" if done.unknown else "")
               + (f"; {done.scrub}" if done.scrub else ""))
    if done.unknown and not (done.forgotten or done.already):
        raise typer.Exit(1)


def _forget_out(fmt: str, forgotten: list[str], already: list[str], unknown: list[str]) -> None:
    from .. import render

    rows = ([{"lead_id": i, "result": "forgotten"} for i in forgotten]
            + [{"lead_id": i, "result": "already forgotten"} for i in already]
            + [{"lead_id": i, "result": "unknown"} for i in unknown])
    if fmt == "json":
        render.json_out({"forgotten": forgotten, "already": already, "unknown": unknown})
    elif rows:
        render.table(rows, ["lead_id", "result"])
