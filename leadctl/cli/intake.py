"""`leadctl intake map ...`: column mappings kept in the config, per source.

A HubSpot export calls its id `Record ID` and its owner `Contact owner`; a
mapping saved once (`intake map add hubspot --map "Record ID=id" ...`) is used
with `route --mapping hubspot`, so nobody retypes it.
"""

from typing import Annotated, Optional

import typer

from . import ROUTING, LimitOpt, ListFormat, state

intake_app = typer.Typer(help="Column mappings for exports whose column names differ from leadctl's fields.",
                         no_args_is_help=True)
map_app = typer.Typer(help="Add, list and remove saved column mappings (used by `route --mapping NAME`).",
                      no_args_is_help=True)
intake_app.add_typer(map_app, name="map")

MapOpt = Annotated[Optional[list[str]], typer.Option("--map", metavar="SOURCE=FIELD",
                   help="Rename column SOURCE to FIELD (repeat for more; SOURCE in any case).")]


@map_app.command("add")
def map_add(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Mapping name, e.g. hubspot.")],
            pairs: MapOpt = None,
            replace: Annotated[bool, typer.Option("--replace", help="Replace a mapping of that name.")] = False) -> None:
    """Save a column mapping in the config.

    Example: leadctl intake map add hubspot --map "Record ID=id" --map "Contact owner=owner"
    """
    from ..intake import parse_mapping
    from .change import _change

    parse_mapping(pairs)  # refuses a malformed pair with the usual message
    kept = {}
    for pair in pairs or ():
        source, _, target = pair.partition("=")
        kept[source.strip()] = target.strip()
    _change(ctx, lambda m, c: m.add_mapping(c, name, kept, replace), f"saved mapping '{name}' ({len(kept)} column(s))")


@map_app.command("list")
def map_list(ctx: typer.Context, fmt: ListFormat = "table", limit: LimitOpt = None) -> None:
    """List saved mappings, one row per mapped column.

    Example: leadctl intake map list
    """
    from .. import render

    cfg = state(ctx).config()
    rows = [{"mapping": name, "source": source, "field": target}
            for name, m in cfg.mappings.items() for source, target in m.items()]
    render.emit(rows, ["mapping", "source", "field"], fmt, limit=limit, title="Mappings",
                empty="no mappings yet: leadctl intake map add NAME --map SOURCE=FIELD")


@map_app.command("remove")
def map_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Mapping name.")]) -> None:
    """Remove a saved mapping.

    Example: leadctl intake map remove hubspot
    """
    from .change import _change

    _change(ctx, lambda m, c: m.remove_mapping(c, name), f"removed mapping '{name}'")


def register(app: typer.Typer) -> None:
    app.add_typer(intake_app, name="intake", rich_help_panel=ROUTING)
