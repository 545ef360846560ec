"""`leadctl user ...`: add, change, remove and list the team's users."""

from typing import Annotated, Optional

import typer

from ..errors import LeadctlError
from . import MAX_NUMBER, SETUP, LimitOpt, ListFormat, YesOpt, confirm, state
from ..domain.rights import CONFIGURE
from .change import _change, _say


user_app = typer.Typer(help="Add, change, remove and list users.", no_args_is_help=True)


NameOpt = Annotated[Optional[str], typer.Option("--name", help="Display name.")]


EmailOpt = Annotated[Optional[str], typer.Option("--email", help="Email address.")]


RoleOpt = Annotated[Optional[list[str]], typer.Option(
    "--role", metavar="ROLE", help="owner, admin (change the config), manager (sees and moves every lead), trusted (sees only"
                   " their own leads when isolation is on) or standard; repeat for several (rights add up).")]
ReassignOpt = Annotated[Optional[bool], typer.Option("--reassign/--no-reassign", help="May reassign and release leads.")]
OsUserOpt = Annotated[Optional[str], typer.Option("--os-user", metavar="NAME",
                      help="The OS account that acts as this user on the command line (default: the user's id).")]


PickupOpt = Annotated[Optional[bool], typer.Option("--pickup/--no-pickup", help="May pick up unassigned leads.")]


NotifyOpt = Annotated[Optional[bool], typer.Option("--notify/--no-notify", help="Told about each lead they get (default on).")]


HookOpt = Annotated[Optional[str], typer.Option("--webhook-url", metavar="URL", help="Their own chat webhook instead of the team's.")]


TzOpt = Annotated[Optional[str], typer.Option("--timezone", metavar="TZ",
                  help="Their own time zone, for hours and leave (default: the config's).")]
HoursOpt = Annotated[Optional[str], typer.Option("--hours", metavar="SPEC",
                     help='When they take leads, in their zone, e.g. "mon-fri 09:00-17:30; sat 10:00-13:00".')]
UserCapOpt = lambda key: Annotated[Optional[int], typer.Option(  # noqa: E731
    f"--{key}", metavar="N", min=0, max=MAX_NUMBER,
    help=f"The most the group methods give them a {'day' if key == 'daily' else 'month'}, in all groups together (0: no limit).")]


@user_app.command("add")
def user_add(ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID", help="User ID, e.g. tom.")],
             name: NameOpt = None, email: EmailOpt = None, role: RoleOpt = None, pickup: PickupOpt = None,
             reassign: ReassignOpt = None, os_user: OsUserOpt = None,
             timezone: TzOpt = None, hours: HoursOpt = None,
             daily: UserCapOpt("daily") = None, monthly: UserCapOpt("monthly") = None,
             notify: NotifyOpt = None, webhook_url: HookOpt = None) -> None:
    """Add a user (role standard, no pick-up or reassign unless given).

    Example: leadctl user add tom --name "Tom" --email tom@example.com --pickup
    Example: leadctl user add dana --role manager --role trusted
    """
    from ..config import User, ordered_roles

    user = User(user_id, name or "", email or "", ordered_roles(role or ()), bool(pickup),
                notify=True if notify is None else notify, webhook_url=webhook_url or "",
                reassign=bool(reassign), os_user=os_user or "", timezone=timezone or "", hours=hours or "",
                daily=daily or 0, monthly=monthly or 0)
    _change(ctx, lambda m, c: m.add_user(c, user), f"added user '{user_id}'")


@user_app.command("edit")
def user_edit(ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID", help="User ID.")],
              name: NameOpt = None, email: EmailOpt = None, role: RoleOpt = None, pickup: PickupOpt = None,
              reassign: ReassignOpt = None, os_user: OsUserOpt = None,
              timezone: TzOpt = None, hours: HoursOpt = None,
              no_hours: Annotated[bool, typer.Option("--no-hours", help="They take leads at any time.")] = False,
              daily: UserCapOpt("daily") = None, monthly: UserCapOpt("monthly") = None,
              active: Annotated[Optional[bool], typer.Option("--active/--inactive",
                                help="An inactive user is skipped by every group and gets no leads.")] = None,
              notify: NotifyOpt = None, webhook_url: HookOpt = None,
              crm: Annotated[Optional[list[str]], typer.Option("--crm", metavar="NAME=OWNER_ID",
                             help="Their owner id in the CRM NAME (repeatable; NAME= forgets it).")] = None,
              tag: Annotated[Optional[list[str]], typer.Option("--tag", metavar="TAG",
                             help="Give them a tag (a skill a rule may require: lang:de, product:crm); repeatable.")] = None,
              untag: Annotated[Optional[list[str]], typer.Option("--untag", metavar="TAG",
                               help="Take a tag away; repeatable.")] = None) -> None:
    """Change a user (--role given here replaces the whole set of roles).

    Example: leadctl user edit tom --inactive
    Example: leadctl user edit dana --role manager --role trusted
    Example: leadctl user edit tom --timezone Europe/Berlin --hours "mon-fri 09:00-17:30"
    Example: leadctl user edit stephanie --tag lang:de --tag lang:fr
    """
    from ..config import ordered_roles

    if hours and no_hours:
        raise LeadctlError("use either --hours or --no-hours, not both")
    ids = {}
    for pair in crm or ():
        crm_name, sep, owner_id = pair.partition("=")
        if not sep or not crm_name.strip():
            raise LeadctlError(f"--crm '{pair}' is not NAME=OWNER_ID (e.g. --crm hubspot=51234)")
        ids[crm_name.strip()] = owner_id.strip()

    def edit(m, c):
        c = m.edit_user(c, user_id, name=name, email=email, roles=ordered_roles(role) if role else None,
                        pickup=pickup, reassign=reassign, os_user=os_user, timezone=timezone,
                        hours="" if no_hours else hours, daily=daily, monthly=monthly, active=active,
                        notify=notify, webhook_url=webhook_url)
        if tag or untag:
            c = m.tag_user(c, user_id, tag, untag)
        return m.set_crm_ids(c, {user_id: ids}) if ids else c

    _change(ctx, edit,
            f"updated user '{user_id}'",
            in_ledger=lambda ledger, old, new: _end_sessions(ledger, new.find_user(user_id).id) if active is False else None)


def _end_sessions(ledger, user_id: str) -> None:
    """A removed or deactivated user is signed out of the web pages at once, on every device."""
    from datetime import datetime

    n = ledger.end_sessions(datetime.now().astimezone().isoformat(timespec="seconds"), user=user_id)
    if n:
        _say(f"signed '{user_id}' out of {n} web session(s)")


@user_app.command("remove")
def user_remove(ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID", help="User ID.")],
                yes: YesOpt = False) -> None:
    """Remove a user; they also leave every group. Their leads keep their owner until reassigned.

    Example: leadctl user remove tom --yes
    """
    st = state(ctx)
    cfg = st.config()
    st.require(CONFIGURE, cfg)
    user_id = cfg.find_user(user_id).id
    confirm(f"Remove user '{user_id}' from the config and from every group?", yes)

    def revoke_tokens(ledger, old, new) -> None:  # a token is for the user it was made for, not a later namesake
        from datetime import datetime

        at = datetime.now().astimezone().isoformat(timespec="seconds")
        n = ledger.revoke_user_tokens(user_id, at)
        if n:
            _say(f"revoked {n} token(s) of '{user_id}'")
        _end_sessions(ledger, user_id)

    cfg = _change(ctx, lambda m, c: m.remove_user(c, user_id), f"removed user '{user_id}' from the config and every group",
                  in_ledger=revoke_tokens)
    with st.ledger(cfg, create=False) as ledger:
        open_leads = sum(1 for _ in ledger.leads(owner=user_id))
    if open_leads:
        _say(f"'{user_id}' still owns {open_leads} lead(s); move them with"
             f" `leadctl reassign --from {user_id} --to USER` or `--to-group GROUP`")


@user_app.command("list")
def user_list(ctx: typer.Context, fmt: ListFormat = "table", limit: LimitOpt = None) -> None:
    """List users.

    Example: leadctl user list --format csv
    """
    from .. import render

    cfg = state(ctx).config()
    groups = {u.id: [g.name for g in cfg.groups if g.member(u.id)] for u in cfg.users}
    rows = [{"id": u.id, "name": u.name, "email": u.email, "role": u.role, "roles": list(u.roles),
             "pickup": u.pickup, "reassign": u.reassign, "os_user": u.os_user or u.id, "active": u.active,
             "groups": groups[u.id], "timezone": u.timezone or cfg.settings.timezone, "hours": u.hours or None,
             "daily": u.daily, "monthly": u.monthly, "tags": list(u.tags)} for u in cfg.users]
    columns = ["id", "name", "email", "role", "roles", "pickup", "reassign", "os_user", "active", "groups",
               "timezone", "hours", "daily", "monthly", "tags"]
    if fmt == "table":  # narrower: the permissions in one column (`role`, the highest, is for older scripts)
        for r in rows:
            r["permissions"] = [p for p in ("pickup", "reassign") if r[p]]
            r["caps (all groups)"] = " ".join(f"{r[k]}/{per}" for k, per in (("daily", "day"), ("monthly", "month"))
                                              if r[k]) or "-"
        columns = ["id", *(c for c in ("name", "email") if render.plain() or any(r[c] for r in rows)),
                   "roles", "permissions", "active", "groups"]  # (drawn: no empty name or email column)
        if any(u.tags for u in cfg.users):
            columns.append("tags")
        if any(u.daily or u.monthly for u in cfg.users):
            columns.append("caps (all groups)")
    render.emit(rows, columns, fmt, limit=limit,
                title="Users", empty="no users yet: leadctl user add ID")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user", rich_help_panel=SETUP)
