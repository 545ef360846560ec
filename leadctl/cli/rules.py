"""`leadctl rule ...`: which group a lead goes to, in order, and the default group."""

from typing import Annotated, Optional

import typer

from . import SETUP, LimitOpt, ListFormat, state
from .change import _change
from .groups import GroupArg


rule_app = typer.Typer(help="Routing rules: which group a lead goes to.", no_args_is_help=True)


@rule_app.command("add")
def rule_add(ctx: typer.Context,
             group: Annotated[str, typer.Option("--group", help="Where matching leads go.")],
             when: Annotated[list[str], typer.Option("--when", metavar="FIELD=VALUE[|VALUE...]",
                             help="A condition; repeat for more (all must match; case-insensitive); A|B matches either.")],
             at: Annotated[Optional[int], typer.Option("--at", metavar="N", help="Put it at position N (1 = tried first).")] = None) -> None:
    """Add a rule; rules are tried in order and the first match wins.

    Example: leadctl rule add --group partners --when source=partner|referral --at 1
    """
    where = f" as rule {at}" if at is not None else ""
    _change(ctx, lambda m, c: m.add_rule(c, group, when, at), f"added a rule sending leads to '{group}'{where}")


@rule_app.command("move")
def rule_move(ctx: typer.Context,
              number: Annotated[int, typer.Argument(metavar="N", help="Rule number from `rule list`.")],
              to: Annotated[int, typer.Option("--to", metavar="M", help="Its new position (1 = tried first).")]) -> None:
    """Move rule N to position M; the rules between shift by one.

    Example: leadctl rule move 3 --to 1
    """
    _change(ctx, lambda m, c: m.move_rule(c, number, to), f"rule {number} is now rule {to}")


@rule_app.command("list")
def rule_list(ctx: typer.Context, fmt: ListFormat = "table", limit: LimitOpt = None) -> None:
    """List rules in the order they are tried; the last row is the default group (what
    matches no rule), in every format (`"default": true`, `number` null).

    Example: leadctl rule list --format json
    """
    from .. import render

    cfg = state(ctx).config()
    rows = [{"number": i, "group": r.group, "when": dict(r.when), "default": False} for i, r in enumerate(cfg.rules, 1)]
    if cfg.default_group:
        rows.append({"number": None, "group": cfg.default_group, "when": None, "default": True})
    if fmt not in ("json", "jsonl"):
        for r in rows:
            r["when"] = " and ".join(f"{k}={v}" for k, v in r["when"].items()) if r["when"] else "(no rule matches)"
            r["number"] = "default" if r["default"] else r["number"]
    render.emit(rows, ["number", "group", "when", "default"], fmt, limit=limit,
                title=f"Rules (default group: {cfg.default_group or 'none'})",
                empty="no rules and no default group: `leadctl rule default GROUP`")


@rule_app.command("remove")
def rule_remove(ctx: typer.Context, number: Annotated[int, typer.Argument(metavar="N", help="Rule number from `rule list`.")]) -> None:
    """Remove rule N.

    Example: leadctl rule remove 2
    """
    _change(ctx, lambda m, c: m.remove_rule(c, number), f"removed rule {number}")


@rule_app.command("default")
def rule_default(ctx: typer.Context, group: GroupArg) -> None:
    """Set the group that gets leads matching no rule.

    Example: leadctl rule default tele-sales
    """
    _change(ctx, lambda m, c: m.set_default(c, group), f"leads that match no rule now go to '{group}'")


def register(app: typer.Typer) -> None:
    app.add_typer(rule_app, name="rule", rich_help_panel=SETUP)
