"""`leadctl territory ...`: the territory table (CSV `territory,country,state,zip,target,priority`)
a `rule add --territories` routes by: import it, list it, check it for overlaps and gaps."""

from typing import Annotated, Literal

import typer

from . import SETUP, state
from .change import save_table

territory_app = typer.Typer(help="Territories: country, state and zip to a group or a user.", no_args_is_help=True)
DEFAULT_FILE = "territories.csv"


@territory_app.command("import")
def territory_import(ctx: typer.Context,
                     file: Annotated[str, typer.Argument(metavar="FILE", help="CSV: territory,country,state,zip,"
                                                         "target,priority (state, zip, priority may be empty).")],
                     replace: Annotated[bool, typer.Option("--replace", help="The file becomes the whole table"
                                                           " (default: its rows are added).")] = False) -> None:
    """Import territory rows; every row is checked first (a bad one is exit 2 with its line, and
    nothing changes). Countries by ISO code or English name, states by code or name, zips
    exact (94105), by prefix (94*) or range (94000-94999); the target is a group or a user.

    Example: leadctl territory import territories.csv --replace
    """
    from ..assign.territory_table import indexed, load_table
    from ..config import service
    from ..domain.rights import CONFIGURE
    from ..domain.territories import BadTerritory, read_rows, to_csv
    from ..assign.data_files import read_import
    from ..errors import ConfigError

    st = state(ctx)
    cfg = st.config()
    service.require(cfg, st.actor, (CONFIGURE, None))
    new = read_import(file, read_rows, BadTerritory)
    known = {g.name for g in cfg.groups} | {u.id for u in cfg.users}
    for row in new:
        if row.target not in known:
            raise ConfigError(f"{file}: line {row.line}: target '{row.target}' is no group or user; nothing was imported")
    rows = new if replace or cfg.territory_path() is None else [*load_table(cfg).rows, *new]
    text = to_csv(rows)
    path = save_table(ctx, cfg, cfg.territory_path(), DEFAULT_FILE, text, "territory_file")
    indexed(path, text)  # its index made now, not by the first route
    from ..render import err

    err(f"{len(new)} territory row(s) {'make the table' if replace else 'added'}: {len(rows)} row(s) in {path.name}"
        + (f" (the table before: {path.name}.previous)" if path.with_name(path.name + ".previous").exists() else ""))


@territory_app.command("list")
def territory_list(ctx: typer.Context,
                   fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table"
                   ) -> None:
    """The territory table, as routing reads it (codes, not names), most specific rows first
    within each country.

    Example: leadctl territory list --format json
    """
    from .. import render
    from ..assign.territory_table import load_table

    table = load_table(state(ctx).config())
    rows = [{"territory": r.territory, "country": r.country, "state": r.state or None, "zip": r.zip or None,
             "kind": r.kind, "target": r.target, "priority": r.priority, "line": r.line}
            for r in sorted(table.rows, key=lambda r: (r.country, -r.specificity, -r.priority, r.line))]
    render.emit(rows, ["territory", "country", "state", "zip", "kind", "target", "priority", "line"], fmt,
                title="Territories", right=["priority", "line"],
                empty="no territories yet: leadctl territory import FILE")


@territory_app.command("check")
def territory_check(ctx: typer.Context, days: Annotated[int, typer.Option("--days", min=1, max=3650, help=(
                    "Gaps: countries and states of the leads of the last N days in no row."))] = 30) -> None:
    """Overlaps (rows a lead falls in both of, at the same specificity and priority: exit 1) and
    gaps (countries and states of recent leads that no row holds).

    Example: leadctl territory check
    """
    import json
    from datetime import datetime, timedelta

    from ..assign.territory_table import load_table
    from ..domain.places import place_state
    from ..errors import LeadctlError
    from ..render import err

    st = state(ctx)
    cfg = st.config()
    table = load_table(cfg)
    path = cfg.territory_path()
    if path is not None:  # every code looked up, as an import does (routing takes the file's codes as they are)
        from ..domain.territories import BadTerritory, read_rows
        from ..errors import ConfigError

        try:
            read_rows(path.read_text(encoding="utf-8-sig"), check=True)
        except BadTerritory as exc:
            raise ConfigError(f"{path}: {exc}") from None
    overlaps = table.overlaps()
    for a, b in overlaps:
        print(f"overlap: line {a.line} ({a.describe()} -> {a.target}) and line {b.line} ({b.describe()} -> {b.target}),"
              f" both priority {a.priority}: line {a.line} wins")
    now = datetime.now(cfg.tz())
    since, until = ((now - timedelta(days=days)).isoformat(timespec="seconds"),
                    (now + timedelta(days=1)).isoformat(timespec="seconds"))
    gaps: dict[str, int] = {}
    with st.ledger(cfg, create=False) as ledger:
        for lead in ledger.window_leads(since, until):
            f = {k.lower(): v for k, v in json.loads(lead[3]).items()}
            if table.match_lead(f) is None:
                country, region = f.get("country") or "", place_state(f) or ""
                where = " / ".join(x for x in (country, region) if x) or "(no country)"
                gaps[where] = gaps.get(where, 0) + 1
    for where, n in sorted(gaps.items(), key=lambda kv: -kv[1]):
        print(f"gap: {where}: {n} lead(s) of the last {days} days in no territory")
    err(f"{len(table)} row(s): {len(overlaps)} overlap(s), {len(gaps)} gap(s)")
    if overlaps:
        raise LeadctlError("territories overlap (see above)", 1)


def register(app: typer.Typer) -> None:
    app.add_typer(territory_app, name="territory", rich_help_panel=SETUP)
