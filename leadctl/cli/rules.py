"""`leadctl rule ...`: which group a lead goes to, in order, and the default group."""

from typing import Annotated, Literal, Optional

import typer

from . import SETUP, LimitOpt, ListFormat, state
from .change import _change
from .groups import GroupArg


rule_app = typer.Typer(help="Routing rules: which group a lead goes to.", no_args_is_help=True)


@rule_app.command("add")
def rule_add(ctx: typer.Context,
             group: Annotated[Optional[str], typer.Option("--group", help="Where matching leads go (with"
                                                          " --territories: those in no territory).")] = None,
             territories: Annotated[bool, typer.Option("--territories", help="The territory table decides where"
                                                       " matching leads go (`leadctl territory import`).")] = False,
             when: Annotated[Optional[list[str]], typer.Option(
                 "--when", metavar="COND",
                 help="A condition; repeat for more (all must hold; with --any, one): F=V, F!=V, F=A|B, F~TEXT"
                      " (contains), F^=TEXT, F$=TEXT (starts/ends with), F>N, F>=N, F<N, F<=N (numbers),"
                      " F=/REGEX/, F? (present). Text is compared in any case. None: every lead.")] = None,
             any_of: Annotated[bool, typer.Option("--any", help="One condition is enough (default: all).")] = False,
             require_tag: Annotated[Optional[list[str]], typer.Option(
                 "--require-tag", metavar="TAG",
                 help="Only members with this tag take its leads (repeatable: every one); {field} takes the"
                      " lead's value, e.g. lang:{language}. If none of them can, the whole group does.")] = None,
             strict_tags: Annotated[bool, typer.Option(
                 "--strict-tags", help="If no member with the tags can take a lead, it waits (queue) or stays"
                                       " unassigned, as a capped group's lead does, instead of going to the whole group.")] = False,
             at: Annotated[Optional[int], typer.Option("--at", metavar="N", help="Put it at position N (1 = tried first).")] = None) -> None:
    """Add a rule; rules are tried in order and the first match wins.

    Example: leadctl rule add --group partners --when source=partner|referral --at 1
    Example: leadctl rule add --group enterprise --when country=US|CA --when employees>=500
    Example: leadctl rule add --group support --when language? --require-tag lang:{language}
    Example: leadctl rule add --territories --group tele-sales --when country?
    """
    where = f" as rule {at}" if at is not None else ""
    _change(ctx, lambda m, c: m.add_rule(c, group, when or [], at, any_of=any_of, require_tags=require_tag,
                                         strict_tags=strict_tags, territories=territories),
            f"added a rule sending leads {'by territory' if territories else f'to {group!r}'}{where}")


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
    from ..domain.conditions import describe, to_data

    cfg = state(ctx).config()
    rows = [{"number": i, "group": r.group or None, "when": to_data(r.when) if r.when is not None else {},
             "default": False, "require_tags": list(r.require_tags), "strict_tags": r.strict_tags,
             "territories": r.territories}
            for i, r in enumerate(cfg.rules, 1)]  # `when` as the file has it
    if cfg.default_group:
        rows.append({"number": None, "group": cfg.default_group, "when": None, "default": True,
                     "require_tags": [], "strict_tags": False, "territories": False})
    columns = ["number", "group", "when", "default", "require_tags", "strict_tags", "territories"]
    if fmt not in ("json", "jsonl"):
        for r, rule in zip(rows, [*cfg.rules, None]):
            r["when"] = describe(rule.when) if rule is not None else "(no rule matches)"
            r["number"] = "default" if r["default"] else r["number"]
            if fmt == "table":
                if r["territories"]:
                    r["group"] = "by territory" + (f", else {r['group']}" if r["group"] else "")
                r["members"] = ("with " + ", ".join(r["require_tags"]) + (" only" if r["strict_tags"] else "")
                                if r["require_tags"] else "all")
        if fmt == "table":
            columns = ["number", "group", "when", "members", "default"]
    render.emit(rows, columns, fmt, limit=limit,
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


@rule_app.command("test")
def rule_test(ctx: typer.Context,
              file: Annotated[Optional[str], typer.Argument(metavar="[FILE]",
                              help="CSV or JSON Lines records; none or - reads stdin.")] = None,
              fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table"
              ) -> None:
    """Which rule each record meets, and why not the earlier ones: routes nothing, writes
    nothing. For each record: the rule met (its number, or `default`), the group, and for each
    earlier rule the first condition that failed.

    Example: leadctl rule test leads.csv
    Example: echo '{"country": "US", "employees": "800"}' | leadctl rule test -o json
    """
    import os
    import sys

    from .. import render
    from ..domain.rulebook import RuleBook
    from ..errors import LeadctlError
    from ..intake import BadRecord, IntakeError, format_for, read_records

    cfg = state(ctx).config()
    name = file or "-"
    if name == "-" and sys.stdin.isatty():
        raise LeadctlError("no input: give a FILE, or pipe records in (e.g. cat leads.csv | leadctl rule test)")
    if name != "-" and not os.path.isfile(name):
        raise LeadctlError(f"input file {name} not found" if not os.path.exists(name) else f"input {name} is not a file")
    book = RuleBook(cfg)
    table = None
    if any(r.territories for r in cfg.rules):
        from ..assign.territory_table import load_table

        table = load_table(cfg)
    rows = []
    stream = sys.stdin.buffer if name == "-" else open(name, "rb")
    try:
        for rec in read_records(stream, format_for(None if name == "-" else name, None)):
            if isinstance(rec, BadRecord):
                render.err(f"line {rec.line}: {rec.reason}")
                continue
            kind = (rec.fields.get("type") or "").strip().lower() or "lead"
            trace = book.trace(rec.fields, kind)
            decided_by = None
            if table is not None and trace.number is not None and cfg.rules[trace.number - 1].territories:
                row = table.match_lead({k.lower(): v for k, v in rec.fields.items()})
                decided_by = f"{row.describe()}, line {row.line} -> {row.target}" if row else "no territory holds it"
                if row is not None and cfg.has_group(row.target):
                    trace.group = row.target  # (a user's row: the lead is theirs, in the rule's fallback group)
            rows.append({"line": rec.line, "id": (rec.fields.get("id") or "").strip() or None,
                         "rule": trace.number if trace.number is not None else "default", "group": trace.group,
                         "decided_by": decided_by, "failed": trace.misses})
    except IntakeError as exc:
        raise LeadctlError(str(exc)) from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if fmt == "table":
        for r in rows:
            r["failed"] = "; ".join(f"rule {m['rule']}: {m['failed']}" for m in r["failed"]) or "-"
            r["group"] = r["group"] or "(none: rejected)"
            r["decided_by"] = r["decided_by"] or "-"
    columns = ["line", "id", "rule", "group", *(["decided_by"] if table is not None else []), "failed"]
    render.emit(rows, columns, fmt, title="Rules met", right=["line"],
                empty="no records")


def register(app: typer.Typer) -> None:
    app.add_typer(rule_app, name="rule", rich_help_panel=SETUP)
