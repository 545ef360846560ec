"""`leadctl group ...` and `group member ...`: the distribution pools, their members, caps and weights."""

from typing import Annotated, Literal, Optional

import typer

from . import SETUP, LimitOpt, ListFormat, YesOpt, confirm, state
from ..errors import ConfigError
from ..domain.rights import CONFIGURE
from .change import _change, _say


Method = Literal["sequential", "random", "weighted", "balanced"]


RecordType = Literal["lead", "contact", "deal"]


group_app = typer.Typer(help="Add, change, remove, list and show groups (distribution pools).", no_args_is_help=True)


member_app = typer.Typer(help="Add, change and remove group members (order = rotation order).", no_args_is_help=True)
group_app.add_typer(member_app, name="member")


StatusOpt = Annotated[Optional[list[str]], typer.Option("--pickup-status", metavar="STATUS",
                      help="A lead status members may pick up (repeat for more).")]


OverflowOpt = Annotated[Optional[str], typer.Option("--overflow", metavar="GROUP",
                        help="Where a lead goes when nobody here can take it now (one step further at most).")]
QueueOpt = Annotated[Optional[bool], typer.Option("--queue/--no-queue",
                     help="A lead nobody can take now waits, queued, until `leadctl drain` can hand it out.")]


@group_app.command("add")
def group_add(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Group name, e.g. tele-sales.")],
              method: Annotated[Method, typer.Option("--method", help="How leads are shared.")] = "sequential",
              record_type: Annotated[RecordType, typer.Option("--record-type", help="The one record type this pool takes.")] = "lead",
              pickup_status: StatusOpt = None, overflow: OverflowOpt = None, queue: QueueOpt = None) -> None:
    """Add a group.

    Example: leadctl group add tele-sales --method sequential --pickup-status new
    """
    from ..config import Group

    group = Group(name, method, record_type, tuple(pickup_status or ()), overflow=overflow or "", queue=bool(queue))
    _change(ctx, lambda m, c: m.add_group(c, group), f"added group '{name}'",
            in_ledger=lambda ledger, old, new: ledger.forget_group(name))


@group_app.command("edit")
def group_edit(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Group name.")],
               method: Annotated[Optional[Method], typer.Option("--method", help="How leads are shared.")] = None,
               pickup_status: StatusOpt = None,
               no_pickup_statuses: Annotated[bool, typer.Option("--no-pickup-statuses", help="Remove every pick-up status.")] = False,
               overflow: OverflowOpt = None,
               no_overflow: Annotated[bool, typer.Option("--no-overflow", help="No overflow group.")] = False,
               queue: QueueOpt = None,
               contact_within: Annotated[Optional[str], typer.Option(
                   "--contact-within", metavar="DURATION",
                   help="SLA: re-route a lead its holder has not contacted this long after getting it (15m, 4h, 1d).")] = None,
               no_contact_within: Annotated[bool, typer.Option("--no-contact-within", help="No SLA.")] = False,
               max_hops: Annotated[Optional[int], typer.Option("--max-hops", metavar="N", min=1, max=100,
                                   help="SLA re-routes before escalation (default 2).")] = None,
               escalate_to: Annotated[Optional[str], typer.Option("--escalate-to", metavar="USER",
                                      help="Who gets a lead after the last re-route (else it stays; managers are told).")] = None) -> None:
    """Change a group's method, pick-up statuses, overflow group or queue.

    Example: leadctl group edit advisors --method weighted
    Example: leadctl group edit inbound --overflow night-desk --queue
    """
    if pickup_status and no_pickup_statuses:
        raise ConfigError("use either --pickup-status or --no-pickup-statuses, not both")
    if overflow and no_overflow:
        raise ConfigError("use either --overflow or --no-overflow, not both")
    if contact_within and no_contact_within:
        raise ConfigError("use either --contact-within or --no-contact-within, not both")
    if contact_within:
        from ..config import duration_seconds

        duration_seconds(contact_within)
    from datetime import datetime

    now = datetime.now().astimezone()
    statuses = () if no_pickup_statuses else (tuple(pickup_status) if pickup_status else None)
    before = state(ctx).config().group(name)
    cfg = _change(ctx, lambda m, c: m.edit_group(c, name, at=now.astimezone(c.tz()).isoformat(timespec="seconds"),
                                                 method=method, pickup_statuses=statuses,
                                                 overflow="" if no_overflow else overflow, queue=queue,
                                                 contact_within="" if no_contact_within else contact_within,
                                                 max_hops=max_hops, escalate_to=escalate_to),
                  f"updated group '{name}'")
    after = cfg.group(name)
    from ..config.ladder import steps_of

    if steps_of(after) and after.sla_since != before.sla_since:
        _sla_scope(ctx, cfg, after)


@group_app.command("sla")
def group_sla(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Group name.")],
              step: Annotated[Optional[list[str]], typer.Option(
                  "--step", metavar="AFTER:ACTION",
                  help="A step of the ladder, repeat for more: after how long (15m, 4h, 1d) and what: remind,"
                       " notify-managers, reroute or escalate:USER. The steps given replace the ladder.")] = None,
              clock: Annotated[Optional[Literal["wall", "business"]], typer.Option(
                  "--clock", help="wall: time passes always; business: only in the holder's working hours (their zone).")] = None,
              accept_within: Annotated[Optional[str], typer.Option(
                  "--accept-within", metavar="DURATION",
                  help="Offer each lead: its holder accepts it within this (5m), else the group's method gives it"
                       " to the next member; the SLA's steps count from the acceptance. 0: no offers.")] = None,
              off: Annotated[bool, typer.Option("--off", help="No SLA for this group.")] = False) -> None:
    """The group's SLA ladder: what happens, step by step, to a lead its holder has not
    contacted (without options: shows it).

    Example: leadctl group sla inbound --step 15m:remind --step 45m:notify-managers --step 1h:reroute
    Example: leadctl group sla inbound --clock business
    """
    from datetime import datetime

    from ..config.ladder import parse_step, steps_of

    if off and (step or clock or accept_within):
        raise ConfigError("use either --off or --step/--clock/--accept-within, not both")
    if accept_within and accept_within != "0":
        from ..config import duration_seconds

        duration_seconds(accept_within, "--accept-within")
    if not (step or clock or off or accept_within):
        from ..render import say

        group = state(ctx).config().group(name)
        ladder = steps_of(group)
        offers = f"offered, to accept within {group.sla.accept_within}" if group.sla.accept_within else ""
        say(f"group '{name}': " + (f"{', '.join(map(str, ladder)) or 'no steps'} ({group.sla.clock} clock"
                                    f"{'; ' + offers if offers else ''}; covers leads assigned from {group.sla_since})"
                                    if ladder or offers else "no SLA"))
        return
    steps = tuple(parse_step(s) for s in step) if step else None
    now = datetime.now().astimezone()
    before = state(ctx).config().group(name)
    cfg = _change(ctx, lambda m, c: m.set_sla(c, name, at=now.astimezone(c.tz()).isoformat(timespec="seconds"),
                                              steps=steps, clock=clock, accept_within=accept_within, off=off),
                  f"group '{name}': no SLA" if off else f"updated the SLA of group '{name}'")
    after = cfg.group(name)
    if (steps_of(after) or after.sla.accept_within) and after.sla_since != before.sla_since:
        _say(f"group '{name}': {', '.join(map(str, steps_of(after))) or 'no steps'} ({after.sla.clock} clock"
             + (f"; offered, to accept within {after.sla.accept_within})" if after.sla.accept_within else ")"))
        _sla_scope(ctx, cfg, after)


def _sla_scope(ctx: typer.Context, cfg, group) -> None:
    """Say how many open leads a new or changed SLA leaves alone (assigned before it)."""
    from ..assign.sla import not_covered

    with state(ctx).ledger(cfg, create=False) as ledger:
        left = not_covered(cfg, ledger, group)
    if left:
        _say(f"{left} open lead(s) of group '{group.name}' were assigned before this SLA and are not covered by it;"
             " it covers leads assigned from now on")


@group_app.command("remove")
def group_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Group name.")],
                 yes: YesOpt = False) -> None:
    """Remove a group (refused while a rule sends leads to it).

    Example: leadctl group remove advisors --yes
    """
    from ..config import remove_group

    current = state(ctx).config()
    state(ctx).require(CONFIGURE, current)
    g = current.group(name)
    remove_group(current, name)  # refused (exit 2) before asking, e.g. when a rule uses it
    confirm(f"Remove group '{name}' ({len(g.members)} member(s))?", yes)
    cfg = _change(ctx, lambda m, c: m.remove_group(c, name), f"removed group '{name}'")
    if cfg.default_group is None and cfg.groups:
        _say("there is no default group now: leads that match no rule will be rejected"
             " until you set one with `leadctl rule default GROUP`")


@group_app.command("list")
def group_list(ctx: typer.Context, fmt: ListFormat = "table", limit: LimitOpt = None) -> None:
    """List groups.

    Example: leadctl group list --format json
    """
    from .. import render

    cfg = state(ctx).config()
    rows = [{"name": g.name, "method": g.method, "record_type": g.record_type,
             "members": [m.user for m in g.members], "pickup_statuses": list(g.pickup_statuses),
             "default": g.name == cfg.default_group} for g in cfg.groups]
    render.emit(rows, ["name", "method", "record_type", "members", "pickup_statuses", "default"], fmt, limit=limit,
                title="Groups", empty="no groups yet: leadctl group add NAME")


@group_app.command("show")
def group_show(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Group name.")],
               fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table") -> None:
    """Show a group: its members in rotation order, caps, weights, today's use and who is next.

    Example: leadctl group show tele-sales
    """
    from ..audit import group_view

    st = state(ctx)
    cfg = st.config()
    with st.ledger(cfg, create=False) as ledger:
        view = group_view(cfg, ledger, cfg.group(name))
    if fmt == "json":
        import json

        typer.echo(json.dumps(view, indent=2, ensure_ascii=False))
        return
    from .. import render

    head = (f"Group {view['name']}: {view['method']}, takes {view['record_type']}s;"
            f" pick-up statuses: {render.display(view['pickup_statuses'])}; next: {view['next'] or '-'};"
            f" queued: {view['queued']}")
    # "next" is a column too: off a terminal the title is not printed, and who is next is a fact.
    rows = [{"#": i, "user": m["user"], "weight": m["weight"],
             "today": render.used_of(m["daily_used"], m["daily_limit"]),
             "this month": render.used_of(m["monthly_used"], m["monthly_limit"]),
             "state": render.member_state(m), "next": "next" if m["user"] == view["next"] else "",
             "user caps (all groups)": render.user_used(m)}
            for i, m in enumerate(view["members"], 1)]
    render.table(rows, ["#", "user", "weight", "today", "this month", "state", "next"]
                 + (["user caps (all groups)"] if render.user_caps(view["members"]) else []),
                 title=head, empty=f"{head}\nno members yet: leadctl group member add {name} USER",
                 right=["#", "weight"])


DailyOpt = Annotated[Optional[int], typer.Option("--daily", metavar="N", help="Daily cap; 0 = no limit.")]


MonthlyOpt = Annotated[Optional[int], typer.Option("--monthly", metavar="N", help="Monthly cap; 0 = no limit.")]


WeightOpt = Annotated[Optional[int], typer.Option("--weight", metavar="W", help="Share in a weighted group: 10 gets twice the leads of 5.")]


MaxOpenOpt = Annotated[Optional[int], typer.Option("--max-open", metavar="N", min=0,
                       help="Balanced groups: no more leads while they hold N open ones (0 = no limit).")]


GroupArg = Annotated[str, typer.Argument(metavar="GROUP", help="Group name.")]


UserArg = Annotated[str, typer.Argument(metavar="USER", help="User ID.")]


@member_app.command("add")
def member_add(ctx: typer.Context, group: GroupArg, user: UserArg, daily: DailyOpt = None,
               monthly: MonthlyOpt = None, weight: WeightOpt = None, max_open: MaxOpenOpt = None) -> None:
    """Add a user to a group; they join at the end of the rotation.

    Example: leadctl group member add tele-sales tom --daily 10 --monthly 200
    """
    from ..config import Member

    member = Member(user, 0 if daily is None else daily, 0 if monthly is None else monthly,
                    1 if weight is None else weight, max_open or 0)
    cfg = _change(ctx, lambda m, c: m.add_member(c, group, member), f"added '{user}' to group '{group}'")
    _warn_unused_weight(cfg, group, weight)


@member_app.command("edit")
def member_edit(ctx: typer.Context, group: GroupArg, user: UserArg, daily: DailyOpt = None,
                monthly: MonthlyOpt = None, weight: WeightOpt = None, max_open: MaxOpenOpt = None) -> None:
    """Change a member's caps, weight or most open leads.

    Example: leadctl group member edit tele-sales tom --daily 0
    """
    cfg = _change(ctx, lambda m, c: m.edit_member(c, group, user, daily=daily, monthly=monthly, weight=weight,
                                                  max_open=max_open),
                  f"updated '{user}' in group '{group}'")
    _warn_unused_weight(cfg, group, weight)


def _warn_unused_weight(cfg, group: str, weight: int | None) -> None:
    method = cfg.group(group).method
    if weight is not None and method != "weighted":
        _say(f"warning: group '{group}' is {method}: the weight is kept but counts only in a weighted group"
             f" (`leadctl group edit {group} --method weighted`)")


@member_app.command("remove")
def member_remove(ctx: typer.Context, group: GroupArg, user: UserArg) -> None:
    """Take a user out of a group; the rotation goes on with whoever followed them.

    Example: leadctl group member remove tele-sales tom
    """
    _change(ctx, lambda m, c: m.remove_member(c, group, user), f"removed '{user}' from group '{group}'")


def register(app: typer.Typer) -> None:
    app.add_typer(group_app, name="group", rich_help_panel=SETUP)
