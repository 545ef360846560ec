"""Leads after routing: list, show, pick up, reassign and release."""

from typing import Annotated, Literal, Optional

import typer

from . import LEADS, LimitOpt, ListFormat, state
from ..errors import LeadctlError, Refused

LIST_COLUMNS = ["id", "type", "status", "assigned_to", "group", "method", "received_at", "source"]

leads_app = typer.Typer(help="List leads and show one lead with its history.", no_args_is_help=True)


def _public(row: dict) -> dict:
    from ..lead_view import public

    return public(row)


@leads_app.command("list")
def leads_list(
    ctx: typer.Context,
    owner: Annotated[Optional[str], typer.Option("--owner", metavar="USER", help="Only leads assigned to USER.")] = None,
    unassigned: Annotated[bool, typer.Option("--unassigned", help="Only leads nobody has.")] = False,
    status: Annotated[Optional[str], typer.Option("--status", help="Only leads with this status (any case);"
                      " `queued`: the leads waiting in a group's queue.")] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Only leads routed through GROUP.")] = None,
    pickable_by: Annotated[Optional[str], typer.Option("--pickable-by", metavar="USER",
                           help="Only unassigned leads USER may pick up now.")] = None,
    limit: LimitOpt = None,
    newest: Annotated[bool, typer.Option("--newest", help="Newest first (with --limit 20: the last twenty).")] = False,
    fields: Annotated[Optional[str], typer.Option("--fields", metavar="F,F...",
                      help="These columns: leadctl's (id, status, assigned_to ...) or the lead's own (name, zip ...),"
                           " named as in the file's header in any case, with spaces or underscores.")] = None,
    all_fields: Annotated[bool, typer.Option("--all-fields", help="Every column, the lead's own fields included.")] = False,
    fmt: ListFormat = "table",
) -> None:
    """List leads, oldest first (--newest: newest first). Times are in the configured zone.

    Example: leadctl leads list --owner tom --fields id,name,email,phone -o csv > tom.csv
    Example: leadctl leads list --newest --limit 20
    Example: leadctl leads list --as stephanie    # what a trusted user sees with isolation on
    """
    from itertools import islice

    from .. import render
    from ..outcome import QUEUED
    from ..domain.rights import pickup_refusal, pickup_statuses, visible_owner

    if fields and all_fields:
        raise LeadctlError("use either --fields or --all-fields, not both")
    columns = [c.strip() for c in fields.split(",") if c.strip()] if fields else None
    if fields is not None and not columns:
        raise LeadctlError("--fields needs at least one name, e.g. --fields id,name,email")
    st = state(ctx)
    cfg = st.config()
    if group:
        cfg.group(group)
    visible = visible_owner(cfg, st.actor.user)  # what the actor may see (--as USER: that user)
    with st.ledger(cfg, create=False) as ledger:
        if owner is not None:
            owner = _owner_named(cfg, ledger, owner)

        def found():
            if pickable_by is not None:  # the other filters apply on top, row by row
                user = cfg.find_user(pickable_by)
                rows = (r for r in ledger.pickable(pickup_statuses(cfg, user), newest=newest)
                        if pickup_refusal(cfg, user, r) is None and _matches(r, owner, status, group, visible))
                return islice(rows, limit) if limit is not None else rows
            waiting = status is not None and status.strip().lower() == QUEUED  # in a queue, whatever their status
            return ledger.leads(owner=owner, unassigned=unassigned, status=None if waiting else status, group=group,
                                visible_to=visible, limit=limit, newest=newest, queued=waiting)

        own = bool(columns) or all_fields
        if all_fields:
            # Every lead's own field names, in the order first seen (one pass more, memory flat).
            seen = dict.fromkeys(LIST_COLUMNS)
            for r in found():
                seen.update(dict.fromkeys(_expanded(r)))
            columns = list(seen)
        wanted = None if all_fields else columns  # --all-fields lists the keys as they are
        rows = (_expanded(r, wanted) if own else _public(r) for r in found())
        rows = render.LocalTimes(cfg.tz()).rows(rows, ("received_at", "assigned_at"))
        # The same columns on a terminal as off one: a table for people is no other listing.
        render.emit(rows, columns or LIST_COLUMNS, fmt, title="Leads", empty="no leads match", nowrap=["type"])


def _owner_named(cfg, ledger, name: str) -> str:
    """The user `--owner` names: a user of the config in any case, or one removed since who
    still holds leads in the ledger (their leads can be listed and handed on); else exit 2."""
    from ..errors import ConfigError

    try:
        return cfg.find_user(name).id
    except ConfigError:
        if next(ledger.leads(owner=name, limit=1), None) is not None:
            return name
        raise


def _expanded(row: dict, wanted: list[str] | None = None) -> dict:
    """The lead's own fields (name, zip ...) with leadctl's columns over them; a wanted name
    that is not a key as written is found as a header would be (any case, spaces, `-`, `_`)."""
    import json

    from ..intake.columns import compared, field_for

    out = {**json.loads(row["fields"]), **_public(row)}
    for name in wanted or ():
        if name not in out:
            field = field_for(name)
            if field in out:
                out[name] = out[field]
                continue
            key = compared(name)
            out[name] = next((v for k, v in out.items() if compared(k) == key), None)
    return out


def _matches(row: dict, owner, status, group, visible) -> bool:
    """The listing's filters and the visibility rule, for a pickable (so unassigned) lead."""
    return ((visible is None or row["assigned_to"] == visible)
            and (owner is None or row["assigned_to"] == owner)
            and (status is None or (row["status"] or "").lower() == status.lower())
            and (group is None or row["group_name"] == group))


@leads_app.command("show")
def leads_show(
    ctx: typer.Context,
    lead_id: Annotated[str, typer.Argument(metavar="LEAD", help="Lead id.")],
    fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table",
) -> None:
    """Show one lead, all its fields and its assignment history (oldest first).

    Example: leadctl leads show L-1001 --format json
    """
    import json

    from .. import render

    from ..lead_view import own_fields, whole

    row, history = _lead_with_history(ctx, lead_id)
    lead = whole(row, history)
    fields = own_fields(row)
    if fmt == "json":
        typer.echo(json.dumps(lead, indent=2, ensure_ascii=False))
        return
    info = [{"field": k, "value": v} for k, v in _public(row).items()]
    info += [{"field": f"  {k}", "value": v} for k, v in fields.items() if k not in ("id",)]
    render.table(info, ["field", "value"], title=f"Lead {lead_id}")
    for h in history:
        h["passed over"] = ", ".join(f"{p['user']} ({p['why']})" for p in h["passed_over"])
    render.table(history, ["at", "assigned_to", "group", "method", "reason", "actor", "via", "note", "passed over"],
                 title="History", empty="no assignment yet")


@leads_app.command("explain")
def leads_explain(
    ctx: typer.Context,
    lead_id: Annotated[str, typer.Argument(metavar="LEAD", help="Lead id.")],
) -> None:
    """Why a lead went where it went, and what every later change did, in words.

    Example: leadctl leads explain FB-0019
    """
    from .. import render
    from ..domain.explain import explain

    row, history = _lead_with_history(ctx, lead_id)
    render.say(explain(_public(row), history))


def _lead_with_history(ctx: typer.Context, lead_id: str) -> tuple[dict, list[dict]]:
    """The lead's row and its history, if the actor may see it; else "unknown lead" (exit 1)."""
    from ..lead_view import lead_for

    st = state(ctx)
    cfg = st.config()
    with st.ledger(cfg, create=False) as ledger:
        found = lead_for(cfg, ledger, lead_id, st.actor.user)
    if found is None:
        raise Refused(f"unknown lead '{lead_id}'")
    return found


MoveFormat = Annotated[Literal["text", "json"], typer.Option("--format", "-o", help="text: a line per lead; json: an array.")]
NoteOpt = Annotated[Optional[str], typer.Option("--note", metavar="TEXT", help="Why: kept in the lead's history.")]


def _in_ledger(ctx: typer.Context, act):
    """`act(state, config, ledger)` with the ledger open (made if missing), closed afterwards."""
    st = state(ctx)
    cfg = st.config()
    with st.ledger(cfg) as ledger:
        return act(st, cfg, ledger)


def _report_moves(moves, fmt: str) -> None:
    """Print what moved (stdout) and what was refused (stderr); exit 1 on any refusal."""
    import json

    from ..render import err, say

    if fmt == "json":
        typer.echo(json.dumps([m.as_dict() for m in moves], indent=2))
    for m in moves:
        if not m.done:
            err(f"{m.lead_id}: refused: {m.reason}")
        elif fmt == "text" and m.method is None:
            say(f"{m.lead_id}: {m.reason}")
        elif fmt == "text":
            say(f"{m.lead_id}: {m.previous or 'unassigned'} -> {m.assigned_to or 'unassigned'} ({m.method})")
    if any(not m.done for m in moves):
        raise typer.Exit(1)


def pickup(
    ctx: typer.Context,
    lead_id: Annotated[str, typer.Argument(metavar="LEAD", help="Lead id.")],
    user: Annotated[Optional[str], typer.Option("--user", metavar="USER",
                    help="Who picks it up (default: the acting user; for another user: managers and above).")] = None,
    note: NoteOpt = None,
    fmt: MoveFormat = "text",
) -> None:
    """Pick up an unassigned lead. Caps do not apply and it does not count towards them.

    Allowed when the user is active, has pick-up permission, the lead is
    unassigned, and its status is a pick-up status of a group the user belongs to.

    Example: leadctl pickup L-1001 --user tom
    """
    from datetime import datetime

    from ..assign.manual import pickup as do_pickup

    st = state(ctx)
    cfg = st.config()
    user = user or st.actor.user
    if user is None:
        raise LeadctlError("say who picks it up: --user USER")
    with st.ledger(cfg) as ledger:
        move = do_pickup(cfg, ledger, lead_id, user, datetime.now().astimezone(), actor=st.actor, note=note)
    _report_moves([move], fmt)


def reassign(
    ctx: typer.Context,
    lead_ids: Annotated[Optional[list[str]], typer.Argument(metavar="[LEAD]...", help="Lead ids.")] = None,
    from_user: Annotated[Optional[str], typer.Option("--from", metavar="USER", help="Every lead USER has (e.g. someone leaving).")] = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="USER", help="Give the leads to USER (manual: no cap counted, no rotation moved), or to a GROUP named here: its next user.")] = None,
    to_group: Annotated[Optional[str], typer.Option("--to-group", metavar="GROUP", help="Give each lead to GROUP's next user, as routing would.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", metavar="N", help="Seed for a random group.")] = None,
    note: NoteOpt = None,
    fmt: MoveFormat = "text",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --from: move without asking (needed off a terminal).")] = False,
) -> None:
    """Move leads to a user, or to a group's next user.

    Example: leadctl reassign L-1001 L-1002 --to stephanie
    Example: leadctl reassign --from tom --to-group tele-sales
    """
    import random
    from datetime import datetime

    from ..assign.manual import reassign as do_reassign

    from . import confirm

    st = state(ctx)
    cfg = st.config()
    if from_user is not None and not lead_ids and (to is None) != (to_group is None):
        confirm(f"Move every lead of '{from_user}' to {f'user {to!r}' if to else f'group {to_group!r}'}?", yes)
    with st.ledger(cfg) as ledger:
        moves = do_reassign(cfg, ledger, lead_ids, now=datetime.now().astimezone(), rng=random.Random(seed),
                            from_user=from_user, to_user=to, to_group=to_group, actor=st.actor, note=note)
    if not moves:
        from ..render import err

        err(f"'{from_user}' has no leads to move")
    _report_moves(moves, fmt)


def release(
    ctx: typer.Context,
    lead_ids: Annotated[list[str], typer.Argument(metavar="LEAD...", help="Lead ids.")],
    note: NoteOpt = None,
    fmt: MoveFormat = "text",
) -> None:
    """Put leads back to unassigned (they can then be picked up or reassigned).

    Example: leadctl release L-1001
    """
    from datetime import datetime

    from ..assign.manual import release as do_release

    moves = _in_ledger(ctx, lambda st, cfg, ledger: do_release(
        cfg, ledger, lead_ids, datetime.now().astimezone(), actor=st.actor, note=note))
    _report_moves(moves, fmt)


@leads_app.command("status")
def leads_status(
    ctx: typer.Context,
    words: Annotated[list[str], typer.Argument(metavar="LEAD... STATUS", help="Lead ids, then the new status.")],
    note: NoteOpt = None,
    fmt: MoveFormat = "text",
) -> None:
    """Set leads' status (any text; won, lost, converted, closed and junk close a lead, see
    `settings --closed-statuses`). The first change after an assignment is the holder's first contact.

    Example: leadctl leads status FB-0019 contacted --note "left a voicemail"
    """
    import json
    from datetime import datetime

    from ..assign.manual import set_status
    from ..render import err, say

    if len(words) < 2:
        raise LeadctlError("name the lead(s), then the status: leadctl leads status LEAD... STATUS")
    *lead_ids, status = words
    moves = _in_ledger(ctx, lambda st, cfg, ledger: set_status(
        cfg, ledger, lead_ids, status, datetime.now().astimezone(), actor=st.actor, note=note))
    if fmt == "json":
        typer.echo(json.dumps([m.as_dict() for m in moves], indent=2))
    for m in moves:
        if not m.done:
            err(f"{m.lead_id}: refused: {m.reason}")
        elif fmt == "text":
            say(f"{m.lead_id}: status {m.reason}")
    if any(not m.done for m in moves):
        raise typer.Exit(1)


@leads_app.command("accept")
def leads_accept(ctx: typer.Context, lead_id: Annotated[str, typer.Argument(metavar="LEAD", help="Lead id.")]) -> None:
    """Accept a lead offered to you (a group with `group sla --accept-within`): it is yours, and
    the SLA's steps count from now. Not accepted in time, it goes to the group's next member.

    Example: leadctl leads accept FB-0019 --as tom
    """
    from datetime import datetime

    from ..assign.offers import accept
    from ..render import say

    def act(st, cfg, ledger):
        if not st.actor.user:
            raise LeadctlError("say who accepts it: --as USER (or LEADCTL_USER)")
        return accept(cfg, ledger, lead_id, st.actor.user, datetime.now().astimezone())

    say(_in_ledger(ctx, act))


@leads_app.command("convert")
def leads_convert(
    ctx: typer.Context,
    lead_id: Annotated[str, typer.Argument(metavar="LEAD", help="Lead id.")],
    to: Annotated[Literal["contact", "deal"], typer.Option("--to", help="The type of the new record.")],
    owner: Annotated[Optional[str], typer.Option("--owner", metavar="USER|GROUP",
                     help="The new record's owner: a user (outside the rules), or a group of that type (its next"
                          " member by its method). Default: the lead's owner.")] = None,
    new_id: Annotated[Optional[str], typer.Option("--id", metavar="NEW_ID",
                      help="The new record's id. Default: LEAD:contact or LEAD:deal.")] = None,
    note: NoteOpt = None,
    fmt: MoveFormat = "text",
) -> None:
    """Convert a lead to a contact or a deal: a new record with the lead's fields, linked both
    ways (`converted_from`, `converted_to` in `leads show`); the lead's status becomes converted.

    Example: leadctl leads convert FB-0019 --to deal --owner closers
    """
    import json
    import random
    from datetime import datetime

    from ..assign.convert import convert
    from ..render import say

    done = _in_ledger(ctx, lambda st, cfg, ledger: convert(
        cfg, ledger, lead_id, to, now=datetime.now().astimezone(), rng=random.Random(), owner=owner, new_id=new_id,
        actor=st.actor, note=note))
    if fmt == "json":
        typer.echo(json.dumps(done.as_dict(), indent=2))
    else:
        say(f"{done.lead_id} -> {done.type} {done.record_id}: {done.assigned_to or 'unassigned'}"
            + (f" ({done.method})" if done.method else ""))


def register(app: typer.Typer) -> None:
    from .ledger_ops import forget  # (with the ledger's other keeping: personal data)
    leads_app.command("forget")(forget)
    app.add_typer(leads_app, name="leads", rich_help_panel=LEADS)
    app.command("pickup", rich_help_panel=LEADS)(pickup)
    app.command("reassign", rich_help_panel=LEADS)(reassign)
    app.command("release", rich_help_panel=LEADS)(release)
