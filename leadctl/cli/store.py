"""`leadctl ledger ...`: the ledger itself (where it is kept, and moving it; backing it up,
checking it and the retention period: `ledger_ops`)."""

import signal
from typing import Annotated, Literal

import typer

from . import SETUP, state
from ..domain.rights import CONFIGURE
from ..errors import LeadctlError

ledger_app = typer.Typer(help="The ledger itself: copy it to another store (SQLite file or PostgreSQL), back it"
                              " up, check it, prune it.",
                         no_args_is_help=True)


@ledger_app.command("copy")
def ledger_copy(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", metavar="URL|PATH",
                                    help="The new ledger: postgresql://USER@HOST[:PORT]/DB, or an SQLite file.")],
    fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="table or json.")] = "table",
) -> None:
    """Copy the whole ledger (leads, history, rotations, usage, config changes, tokens,
    notifications) into a new, empty one: SQLite to PostgreSQL or back. The target is
    written in one transaction and checked (row counts and a content hash) before it
    commits. Then point --db / LEADCTL_DB / the config's `ledger` key at it.

    Example: leadctl ledger copy --to postgresql://leadctl@db.internal/leads
    """
    from .. import render
    from ..ledger import Ledger, remove_new_file, target
    from ..ledger.copy import TABLES, copy

    st = state(ctx)
    cfg = st.config() if st.config_path.exists() else None
    st.require(CONFIGURE, cfg)  # the whole ledger, every lead: the admins'
    where = st.ledger_path(cfg)
    dest = target(to)
    if isinstance(where, str) == isinstance(dest, str) and (
            where == dest if isinstance(dest, str) else dest.resolve() == where.resolve()):
        raise LeadctlError("--to names the ledger being copied; name a new, empty one")
    if not isinstance(where, str) and not where.exists():
        raise LeadctlError(f"no ledger at {where} to copy")
    source = Ledger.open(where, create=False)
    try:
        if not isinstance(dest, str) and dest.exists() and dest.stat().st_size:
            raise LeadctlError(f"{dest} already exists; copy only into a new ledger")
        made = not isinstance(dest, str) and not dest.exists()
        new = Ledger.open(dest)
        previous = signal.signal(signal.SIGTERM, _stopped)  # SIGTERM cleans up as Ctrl-C does
        try:
            sums, digest = copy(source, new)
        except BaseException:
            new.close()
            if made:  # a failed copy into a new file leaves no half ledger behind (and touches nothing else)
                remove_new_file(dest)
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
        new.close()
    finally:
        source.close()
    rows = [{"table": t, "rows": sums[t].rows} for t in TABLES]
    if fmt == "json":
        render.json_out({"from": str(source.path), "to": str(new.path), "store": new.store,
                         "tables": {r["table"]: r["rows"] for r in rows}, "sha256": digest})
        return
    render.table(rows, ["table", "rows"], title=f"Copied to {new.path}", right=["rows"])
    render.note(f"copied {source.path} to {new.store} ledger {new.path}: every table's row count and content"
                f" hash match (sha256 {digest[:16]})")


def _stopped(signum, frame):
    raise LeadctlError("stopped by SIGTERM: nothing was copied (a new target file was removed); run it again", 1)


def register(app: typer.Typer) -> None:
    from .ledger_ops import backup, check, prune

    ledger_app.command("backup")(backup)
    ledger_app.command("check")(check)
    ledger_app.command("prune")(prune)
    app.add_typer(ledger_app, name="ledger", rich_help_panel=SETUP)
