"""`leadctl away ...`: leave, as whole days in the user's time zone, with an optional backup."""

from typing import Annotated, Literal, Optional

import typer

from . import MAX_NUMBER, SETUP, state
from .change import _change, _say

away_app = typer.Typer(help="Leave: who is away when, and who takes their turns.", no_args_is_help=True)


def _date(text: str, option: str) -> str:
    from ..config import parse_day

    return parse_day(text, option).isoformat()


@away_app.command("add")
def away_add(ctx: typer.Context, user: Annotated[str, typer.Argument(metavar="USER", help="Who is away.")],
             start: Annotated[str, typer.Option("--from", metavar="DATE", help="First day away (YYYY-MM-DD, their zone).")],
             end: Annotated[str, typer.Option("--to", metavar="DATE", help="Last day away, included.")],
             backup: Annotated[Optional[str], typer.Option("--backup", metavar="USER",
                               help="Who takes their turns meanwhile (if eligible); else their turns are skipped.")] = None,
             note: Annotated[Optional[str], typer.Option("--note", metavar="TEXT", help="Why, for the list.")] = None) -> None:
    """Add leave for a user; prints the entry's id. A user may add their own; for others: managers and above.

    Example: leadctl away add tom --from 2026-12-20 --to 2026-12-31 --backup stephanie
    """
    from ..render import plain, say
    from ..domain.rights import AWAY

    start, end = _date(start, "--from"), _date(end, "--to")
    made: list[int] = []

    def change(m, c):
        from ..errors import ConfigError
        from ..domain.rights import backup_refusal

        why = backup_refusal(c, state(ctx).actor, c.find_user(user).id, c.find_user(backup).id if backup else "")
        if why:
            raise ConfigError(f"{why}; nothing was changed")
        new, n = m.add_away(c, user, start, end, backup or "", note or "")
        made.append(n)
        return new

    _change(ctx, change, right=(AWAY, user))
    told = f"'{user}' is away from {start} to {end}" + (f"; '{backup}' takes their turns" if backup else "")
    if plain():  # for scripts: the entry's id alone on stdout, the words on stderr
        say(str(made[-1]))
        _say(told)
    else:  # for people: one line
        say(f"away entry {made[-1]}: {told} (`leadctl away remove {made[-1]}` ends it)")


@away_app.command("list")
def away_list(ctx: typer.Context, user: Annotated[Optional[str], typer.Option("--user", metavar="USER", help="Only this user's leave.")] = None,
              fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table") -> None:
    """List leave entries, by id.

    Example: leadctl away list --user tom --format json
    """
    from .. import render

    cfg = state(ctx).config()
    who = cfg.find_user(user).id if user else None
    rows = [{"id": a.id, "user": a.user, "from": a.start, "to": a.end, "backup": a.backup or None, "note": a.note or None}
            for a in cfg.away if who is None or a.user == who]
    render.emit(rows, ["id", "user", "from", "to", "backup", "note"], fmt, title="Away", right=["id"],
                empty="nobody is away: leadctl away add USER --from DATE --to DATE")


@away_app.command("remove")
def away_remove(ctx: typer.Context, n: Annotated[int, typer.Argument(metavar="ID", min=1, max=MAX_NUMBER, help="Entry id (away list).")]) -> None:
    """Remove a leave entry (back early, or entered by mistake).

    Example: leadctl away remove 3
    """
    from ..domain.rights import AWAY

    cfg = state(ctx).config()
    entry = next((a for a in cfg.away if a.id == n), None)
    _change(ctx, lambda m, c: m.remove_away(c, n), f"removed away entry {n}",
            right=(AWAY, entry.user if entry else None))


def register(app: typer.Typer) -> None:
    app.add_typer(away_app, name="away", rich_help_panel=SETUP)
