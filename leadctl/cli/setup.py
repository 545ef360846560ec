"""Set-up commands: init, config check, settings, users, groups, members, rules.

Every change goes through `_change`: load, apply a pure change from
`leadctl.config`, validate the whole result, write atomically. A refused
change exits 2 and leaves the file byte-for-byte as it was.
"""

from typing import Annotated, Callable, Literal, Optional

import typer

from . import MAX_NUMBER, SETUP, LimitOpt, ListFormat, State, YesOpt, confirm, state
from ..errors import ConfigError

Fmt = Literal["table", "json", "csv"]
Method = Literal["sequential", "random", "weighted"]
RecordType = Literal["lead", "contact", "deal"]
Role = Literal["standard", "trusted", "manager", "owner"]

FormatOpt = Annotated[Fmt, typer.Option("--format", help="Output format.")]


def _say(message: str) -> None:
    from ..render import err

    err(message)


def _change(ctx: typer.Context, change: Callable, message: str | None = None,
            in_ledger: Callable | None = None):
    """Load, change, validate and write the config under its lock.

    The file is edited, not rewritten (comments and layout kept); the text it
    replaces goes into the ledger's config history with the actor and the
    command, in the same ledger transaction as `in_ledger(ledger, old, new)`
    (when given), which commits only once the file is written.
    """
    from .. import config as cfgmod

    st: State = state(ctx)
    with cfgmod.locked(st.config_path):
        cfg, old_text = cfgmod.load_text(st.config_path)
        new = change(cfgmod, cfg)
        if new == cfg:
            _say("nothing to change: the config already says that (the file was not written)")
            return new
        text = cfgmod.render_text(new, cfg, old_text)
        _write_with_history(st, new, text, old_text, in_ledger and (lambda ledger: in_ledger(ledger, cfg, new)))
    if message:
        _say(message)
    return new


def _write_with_history(st: State, cfg, text: str, previous: str, in_ledger: Callable | None = None,
                        command: str | None = None) -> int:
    """Write the config text, keeping `previous` in the ledger's history; returns the change's number."""
    from datetime import datetime

    from .. import config as cfgmod

    ledger = st.ledger(cfg)  # the history lives in the ledger: made here if there is none yet
    try:
        with ledger.write():
            if in_ledger:
                in_ledger(ledger)
            at = datetime.now().astimezone(cfg.tz()).isoformat(timespec="seconds")
            n = ledger.record_config(at, st.actor, command or st.command, previous)
            cfgmod.write_text(cfg.path, text)
    finally:
        ledger.close()
    return n


# -- init / config / settings ------------------------------------------------------


def init(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
    yes: YesOpt = False,
) -> None:
    """Write a starter config (no users or groups, commented examples) and create the ledger.

    Example: leadctl init && leadctl user add tom --name "Tom"
    """
    from ..config import STARTER, write_atomic

    st = state(ctx)
    path = st.config_path
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it")
    if path.exists():
        confirm(f"Replace {path} with an empty starter config (every user, group and rule in it is lost)?", yes)
    if not path.parent.exists():
        raise ConfigError(f"folder {path.parent} does not exist")
    ledger_path = st.ledger_path()  # the starter config names no ledger of its own
    on_server = isinstance(ledger_path, str)  # a PostgreSQL URL: its tables are never removed here
    existed = on_server or ledger_path.exists()
    if path.exists():  # --force: the replaced config goes into the history, so it can be restored
        from .. import config as cfgmod

        with cfgmod.locked(path):
            old_text = path.read_text(encoding="utf-8", errors="replace")
            starter = cfgmod.parse(STARTER.encode(), path)
            _write_with_history(st, starter, STARTER, old_text)
        _say(f"replaced {path} with a starter config; `leadctl config history` can bring the old one back")
        return
    st.ledger().close()  # first: if the ledger cannot be made, no config is written either
    try:
        write_atomic(path, STARTER)
    except OSError as exc:
        if not existed:
            from ..ledger import remove_new_file

            remove_new_file(ledger_path)
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from None
    from ..redact import display

    shown = display(ledger_path) if on_server else ledger_path
    _say(f"wrote {path} and {'opened' if existed else 'created'} the ledger {shown}")


config_app = typer.Typer(help="Check the config file, list its changes, bring back an earlier version.",
                         no_args_is_help=True)


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the config; print warnings (they do not fail: exit 0).

    Example: leadctl config check
    """
    from .. import render
    from ..config import warnings

    st = state(ctx)
    cfg = st.config()
    for w in warnings(cfg):
        _say(f"warning: {w}")
    render.say(
        f"{cfg.path}: ok ({len(cfg.users)} users, {len(cfg.groups)} groups, {len(cfg.rules)} rules,"
        f" time zone {cfg.settings.timezone})"
    )
    path = st.ledger_path(cfg)
    if isinstance(path, str) or path.exists():
        ledger = st.ledger(cfg, create=False)
        try:
            render.say(f"{ledger.path}: {ledger.describe()}, {ledger.count_leads()} lead(s)")
        finally:
            ledger.close()
    else:
        render.say(f"{path}: no ledger yet (the first route creates it)")


@config_app.command("history")
def config_history(ctx: typer.Context, fmt: ListFormat = "table",
                   limit: Annotated[Optional[int], typer.Option("--limit", metavar="N", min=0, max=MAX_NUMBER,
                                    help="Only the last N changes.")] = None) -> None:
    """Every change made to the config through leadctl: number, time, who, and the command.

    `leadctl config restore N` brings back the config as it was before change N.

    Example: leadctl config history
    """
    from .. import render

    st = state(ctx)
    cfg = None
    try:
        cfg = st.config()
    except ConfigError:
        pass  # a broken config is exactly when the history is wanted
    ledger = st.ledger(cfg, create=False)
    try:
        rows = ledger.config_history()
    finally:
        ledger.close()
    if limit is not None:
        rows = rows[-limit:] if limit > 0 else []
    if cfg is not None:
        rows = list(render.LocalTimes(cfg.tz()).rows(rows, ("at",)))
    render.emit(rows, ["n", "at", "actor", "command"], fmt, title="Config changes",
                empty="no config changes recorded yet", right=["n"])


@config_app.command("restore")
def config_restore(ctx: typer.Context,
                   n: Annotated[int, typer.Argument(metavar="N", min=1, max=MAX_NUMBER, help="Change number from `config history`.")],
                   yes: YesOpt = False) -> None:
    """Bring back the config as it was before change N (this is itself recorded, so it can be undone).

    Example: leadctl config restore 12 --yes
    """
    from .. import config as cfgmod

    st = state(ctx)
    with cfgmod.locked(st.config_path):
        try:
            current, current_text = cfgmod.load_text(st.config_path)
        except ConfigError:
            current, current_text = None, (st.config_path.read_text(encoding="utf-8", errors="replace")
                                            if st.config_path.exists() else "")
        ledger = st.ledger(current, create=False)
        try:
            previous = ledger.config_before(n)
        finally:
            ledger.close()
        if previous is None:
            raise ConfigError(f"there is no change {n} in the config history (see `leadctl config history`)")
        try:
            restored = cfgmod.parse(previous.encode("utf-8"), st.config_path)
        except ConfigError as exc:  # a broken file that `init --force` replaced: it comes back as text
            if current is None:
                raise ConfigError(f"the config before change {n} is not a valid config either ({exc}); nothing"
                                  " changed") from None
            confirm(f"Put back the text from before change {n}? It is not a valid config ({exc})", yes)
            m = _write_with_history(st, current, previous, current_text)
            _say(f"restored the text as it was before change {n} (this is change {m}); it is not a valid config:"
                 f" {exc}; fix it in an editor, or `leadctl config restore {m}` to undo this")
            return
        if current is not None and restored == current and previous == current_text:
            _say("nothing to change: the config is already as it was before that change")
            return
        confirm(f"Replace the config with the version from before change {n}?", yes)

        m = _write_with_history(st, restored, previous, current_text,
                                lambda ledger: _ledger_follows(ledger, current, restored))
    _say(f"restored the config as it was before change {n} (this is change {m})")


@config_app.command("revert")
def config_revert(ctx: typer.Context,
                  n: Annotated[int, typer.Argument(metavar="N", min=1, max=MAX_NUMBER, help="Change number from `config history`.")],
                  yes: YesOpt = False) -> None:
    """Undo change N alone, keeping every later change (refused when a later change touched
    the same settings: it names that change). The revert is itself recorded.

    Example: leadctl config revert 12 --yes
    """
    from .. import config as cfgmod
    from ..config import revert as rv

    st = state(ctx)
    with cfgmod.locked(st.config_path):
        current, current_text = cfgmod.load_text(st.config_path)
        ledger = st.ledger(current, create=False)
        try:
            changes = ledger.config_changes_from(n)
        finally:
            ledger.close()
        if not changes or changes[0]["n"] != n:
            raise ConfigError(f"there is no change {n} in the config history (see `leadctl config history`)")
        texts = [c["previous"] for c in changes] + [current_text]

        def as_data(i: int) -> dict:
            try:
                return cfgmod.to_dict(cfgmod.parse(texts[i].encode("utf-8"), st.config_path))
            except ConfigError:
                which = f"change {changes[i]['n']}" if i < len(changes) else "the config now"
                raise ConfigError(f"the config before {which} cannot be read, so change {n} cannot be undone"
                                  f" alone; `leadctl config restore {n}` rewinds to before it") from None

        before, after = as_data(0), as_data(1)
        paths = rv.touched(before, after)
        if not paths:
            _say(f"nothing to change: change {n} changed no setting")
            return
        for i, later in enumerate(changes[1:], 1):
            overlap = paths & rv.touched(as_data(i), as_data(i + 1))
            if overlap:
                raise ConfigError(
                    f"change {later['n']} (`{later['command']}`) also changed {rv.describe(overlap)}: revert it"
                    f" first, or rewind both with `leadctl config restore {n}`")
        reverted = cfgmod.from_dict(rv.revert(cfgmod.to_dict(current), before, paths), st.config_path)
        try:
            cfgmod.validate(reverted)  # e.g. a member whose user a later change removed
        except ConfigError as exc:
            raise ConfigError(f"change {n} cannot be undone alone: {exc}") from None
        confirm(f"Undo change {n} (`{changes[0]['command']}`): {rv.describe(paths)}?", yes)
        text = cfgmod.render_text(reverted, current, current_text)
        m = _write_with_history(st, reverted, text, current_text,
                                lambda ledger: _ledger_follows(ledger, current, reverted))
    _say(f"undid change {n}: {rv.describe(paths)} as before it (this is change {m})")


def _ledger_follows(ledger, old, new) -> None:
    """What the ledger must redo when the config changes under it (in the change's own
    transaction): day counts after a new time zone, phone keys after a new phone region."""
    if old is None or old.settings.timezone != new.settings.timezone:
        ledger.rebuild_usage(new.tz())  # a day's leads are counted on one day of the new zone
    if old is None or old.settings.phone_region != new.settings.phone_region:
        from ..keys import phone_key

        region = new.settings.phone_region or None  # earlier leads match the numbers to come
        changed = ledger.rekey_phones(lambda phone: phone_key(phone, region))
        if changed:
            _say(f"{changed} lead(s) have a new phone key for duplicate matching")


def settings(
    ctx: typer.Context,
    timezone: Annotated[Optional[str], typer.Option("--timezone", metavar="TZ",
                        help="IANA time zone for caps and reports, e.g. Europe/London.")] = None,
    duplicates: Annotated[Optional[str], typer.Option("--duplicates", metavar="FIELD[,FIELD...]",
                          help="Give a repeat lead to the earlier lead's owner, matched on email and/or phone.")] = None,
    no_duplicates: Annotated[bool, typer.Option("--no-duplicates", help="Turn duplicate matching off.")] = False,
    isolate: Annotated[Optional[bool], typer.Option("--isolate/--no-isolate",
                       help="Trusted users see only their own leads.")] = None,
    assign_to_creator: Annotated[Optional[bool], typer.Option("--assign-to-creator/--no-assign-to-creator",
                                 help="A lead's created_by user gets it.")] = None,
    phone_region: Annotated[Optional[str], typer.Option("--phone-region", metavar="CC",
                            help="Read national phone numbers as this country's (e.g. DE) for duplicates;"
                                 " \"\" for none. Re-keys the ledger's leads.")] = None,
    fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table",
) -> None:
    """Show the settings, or change them.

    Example: leadctl settings --timezone Europe/London --duplicates email,phone
    """
    from dataclasses import replace

    from ..config import check_phone_region, check_timezone

    if duplicates is not None and no_duplicates:
        raise ConfigError("use either --duplicates or --no-duplicates, not both")
    changes = {}
    if timezone is not None:
        check_timezone(timezone)
        changes["timezone"] = timezone
    if duplicates is not None:
        changes["duplicates"] = tuple(f.strip().lower() for f in duplicates.split(",") if f.strip())
        if not changes["duplicates"]:
            raise ConfigError("--duplicates needs at least one of: email, phone")
    if no_duplicates:
        changes["duplicates"] = ()
    if isolate is not None:
        changes["isolate"] = isolate
    if assign_to_creator is not None:
        changes["assign_to_creator"] = assign_to_creator
    if phone_region is not None:
        changes["phone_region"] = check_phone_region(phone_region) if phone_region.strip() else ""

    if changes:
        cfg = _change(ctx, lambda m, c: replace(c, settings=replace(c.settings, **changes)), "settings saved",
                      in_ledger=_ledger_follows)
    else:
        cfg = state(ctx).config()
    from .. import render

    s = cfg.settings
    row = {"timezone": s.timezone, "duplicates": list(s.duplicates), "isolate": s.isolate,
           "assign_to_creator": s.assign_to_creator, "phone_region": s.phone_region or None}
    if fmt == "json":
        import json

        typer.echo(json.dumps(row, indent=2))
    else:
        render.table([{"setting": k, "value": render.display(v)} for k, v in row.items()],
                     ["setting", "value"])


# -- users --------------------------------------------------------------------------

user_app = typer.Typer(help="Add, change, remove and list users.", no_args_is_help=True)

NameOpt = Annotated[Optional[str], typer.Option("--name", help="Display name.")]
EmailOpt = Annotated[Optional[str], typer.Option("--email", help="Email address.")]
RoleOpt = Annotated[Optional[Role], typer.Option("--role", help="standard, trusted (sees only own leads when isolation is on), manager or owner.")]
PickupOpt = Annotated[Optional[bool], typer.Option("--pickup/--no-pickup", help="May pick up unassigned leads.")]
NotifyOpt = Annotated[Optional[bool], typer.Option("--notify/--no-notify", help="Told about each lead they get (default on).")]
HookOpt = Annotated[Optional[str], typer.Option("--webhook-url", metavar="URL", help="Their own chat webhook instead of the team's.")]


@user_app.command("add")
def user_add(ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID", help="User ID, e.g. tom.")],
             name: NameOpt = None, email: EmailOpt = None, role: RoleOpt = None, pickup: PickupOpt = None,
             notify: NotifyOpt = None, webhook_url: HookOpt = None) -> None:
    """Add a user (role standard, no pick-up unless given).

    Example: leadctl user add tom --name "Tom" --email tom@example.com --pickup
    """
    from ..config import User

    user = User(user_id, name or "", email or "", role or "standard", bool(pickup),
                notify=True if notify is None else notify, webhook_url=webhook_url or "")
    _change(ctx, lambda m, c: m.add_user(c, user), f"added user '{user_id}'")


@user_app.command("edit")
def user_edit(ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID", help="User ID.")],
              name: NameOpt = None, email: EmailOpt = None, role: RoleOpt = None, pickup: PickupOpt = None,
              active: Annotated[Optional[bool], typer.Option("--active/--inactive",
                                help="An inactive user is skipped by every group and gets no leads.")] = None,
              notify: NotifyOpt = None, webhook_url: HookOpt = None) -> None:
    """Change a user.

    Example: leadctl user edit tom --inactive
    """
    _change(ctx, lambda m, c: m.edit_user(c, user_id, name=name, email=email, role=role, pickup=pickup,
                                          active=active, notify=notify, webhook_url=webhook_url),
            f"updated user '{user_id}'")


@user_app.command("remove")
def user_remove(ctx: typer.Context, user_id: Annotated[str, typer.Argument(metavar="ID", help="User ID.")],
                yes: YesOpt = False) -> None:
    """Remove a user; they also leave every group. Their leads keep their owner until reassigned.

    Example: leadctl user remove tom --yes
    """
    st = state(ctx)
    cfg = st.config()
    user_id = cfg.find_user(user_id).id
    confirm(f"Remove user '{user_id}' from the config and from every group?", yes)

    def revoke_tokens(ledger, old, new) -> None:  # a token is for the user it was made for, not a later namesake
        from datetime import datetime

        n = ledger.revoke_user_tokens(user_id, datetime.now().astimezone().isoformat(timespec="seconds"))
        if n:
            _say(f"revoked {n} token(s) of '{user_id}'")

    cfg = _change(ctx, lambda m, c: m.remove_user(c, user_id), f"removed user '{user_id}' from the config and every group",
                  in_ledger=revoke_tokens)
    ledger = st.ledger(cfg, create=False)
    open_leads = sum(1 for _ in ledger.leads(owner=user_id))
    ledger.close()
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
    rows = [{"id": u.id, "name": u.name, "email": u.email, "role": u.role, "pickup": u.pickup,
             "active": u.active, "groups": groups[u.id]} for u in cfg.users]
    render.emit(rows, ["id", "name", "email", "role", "pickup", "active", "groups"], fmt, limit=limit,
                title="Users", empty="no users yet: leadctl user add ID")


# -- groups -------------------------------------------------------------------------

group_app = typer.Typer(help="Add, change, remove, list and show groups (distribution pools).", no_args_is_help=True)
member_app = typer.Typer(help="Add, change and remove group members (order = rotation order).", no_args_is_help=True)
group_app.add_typer(member_app, name="member")

StatusOpt = Annotated[Optional[list[str]], typer.Option("--pickup-status", metavar="STATUS",
                      help="A lead status members may pick up (repeat for more).")]


@group_app.command("add")
def group_add(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Group name, e.g. tele-sales.")],
              method: Annotated[Method, typer.Option("--method", help="How leads are shared.")] = "sequential",
              record_type: Annotated[RecordType, typer.Option("--record-type", help="The one record type this pool takes.")] = "lead",
              pickup_status: StatusOpt = None) -> None:
    """Add a group.

    Example: leadctl group add tele-sales --method sequential --pickup-status new
    """
    from ..config import Group

    group = Group(name, method, record_type, tuple(pickup_status or ()))
    _change(ctx, lambda m, c: m.add_group(c, group), f"added group '{name}'",
            in_ledger=lambda ledger, old, new: ledger.forget_group(name))


@group_app.command("edit")
def group_edit(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Group name.")],
               method: Annotated[Optional[Method], typer.Option("--method", help="How leads are shared.")] = None,
               pickup_status: StatusOpt = None,
               no_pickup_statuses: Annotated[bool, typer.Option("--no-pickup-statuses", help="Remove every pick-up status.")] = False) -> None:
    """Change a group's method or pick-up statuses.

    Example: leadctl group edit advisors --method weighted
    """
    if pickup_status and no_pickup_statuses:
        raise ConfigError("use either --pickup-status or --no-pickup-statuses, not both")
    statuses = () if no_pickup_statuses else (tuple(pickup_status) if pickup_status else None)
    _change(ctx, lambda m, c: m.edit_group(c, name, method=method, pickup_statuses=statuses),
            f"updated group '{name}'")


@group_app.command("remove")
def group_remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Group name.")],
                 yes: YesOpt = False) -> None:
    """Remove a group (refused while a rule sends leads to it).

    Example: leadctl group remove advisors --yes
    """
    from ..config import remove_group

    current = state(ctx).config()
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
    ledger = st.ledger(cfg, create=False)
    view = group_view(cfg, ledger, cfg.group(name))
    ledger.close()
    if fmt == "json":
        import json

        typer.echo(json.dumps(view, indent=2, ensure_ascii=False))
        return
    from .. import render

    head = (f"Group {view['name']}: {view['method']}, takes {view['record_type']}s;"
            f" pick-up statuses: {render.display(view['pickup_statuses'])}; next: {view['next'] or '-'}")
    # "next" is a column too: off a terminal the title is not printed, and who is next is a fact.
    rows = [{"#": i, "user": m["user"], "weight": m["weight"],
             "today": render.used_of(m["daily_used"], m["daily_limit"]),
             "this month": render.used_of(m["monthly_used"], m["monthly_limit"]),
             "state": render.member_state(m), "next": "next" if m["user"] == view["next"] else ""}
            for i, m in enumerate(view["members"], 1)]
    render.table(rows, ["#", "user", "weight", "today", "this month", "state", "next"],
                 title=head, empty=f"{head}\nno members yet: leadctl group member add {name} USER",
                 right=["#", "weight"])


DailyOpt = Annotated[Optional[int], typer.Option("--daily", metavar="N", help="Daily cap; 0 = no limit.")]
MonthlyOpt = Annotated[Optional[int], typer.Option("--monthly", metavar="N", help="Monthly cap; 0 = no limit.")]
WeightOpt = Annotated[Optional[int], typer.Option("--weight", metavar="W", help="Share in a weighted group: 10 gets twice the leads of 5.")]
GroupArg = Annotated[str, typer.Argument(metavar="GROUP", help="Group name.")]
UserArg = Annotated[str, typer.Argument(metavar="USER", help="User ID.")]


@member_app.command("add")
def member_add(ctx: typer.Context, group: GroupArg, user: UserArg, daily: DailyOpt = None,
               monthly: MonthlyOpt = None, weight: WeightOpt = None) -> None:
    """Add a user to a group; they join at the end of the rotation.

    Example: leadctl group member add tele-sales tom --daily 10 --monthly 200
    """
    from ..config import Member

    member = Member(user, 0 if daily is None else daily, 0 if monthly is None else monthly,
                    1 if weight is None else weight)
    cfg = _change(ctx, lambda m, c: m.add_member(c, group, member), f"added '{user}' to group '{group}'")
    _warn_unused_weight(cfg, group, weight)


@member_app.command("edit")
def member_edit(ctx: typer.Context, group: GroupArg, user: UserArg, daily: DailyOpt = None,
                monthly: MonthlyOpt = None, weight: WeightOpt = None) -> None:
    """Change a member's caps or weight.

    Example: leadctl group member edit tele-sales tom --daily 0
    """
    cfg = _change(ctx, lambda m, c: m.edit_member(c, group, user, daily=daily, monthly=monthly, weight=weight),
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


# -- rules --------------------------------------------------------------------------

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
    app.command("init", rich_help_panel=SETUP)(init)
    app.add_typer(config_app, name="config", rich_help_panel=SETUP)
    app.command("settings", rich_help_panel=SETUP)(settings)
    app.add_typer(user_app, name="user", rich_help_panel=SETUP)
    app.add_typer(group_app, name="group", rich_help_panel=SETUP)
    app.add_typer(rule_app, name="rule", rich_help_panel=SETUP)
