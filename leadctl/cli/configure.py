"""Set-up of the file and the team's settings: init, config check/history/restore/revert, settings."""

from typing import Annotated, Literal, Optional

import typer

from . import MAX_NUMBER, SETUP, ListFormat, YesOpt, confirm, state
from ..errors import ConfigError
from ..domain.rights import CONFIGURE
from .change import _change, _ledger_follows, _say, _write_with_history, same_file


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
        st.require(CONFIGURE)
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
            try:
                current = cfgmod.parse(old_text.encode("utf-8"), path)
            except ConfigError:
                current = None  # a broken file: nobody to ask
            _write_with_history(st, starter, STARTER, old_text, current=current)
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
        with st.ledger(cfg, create=False) as ledger:
            render.say(f"{ledger.path}: {ledger.describe()}, {ledger.count_leads()} lead(s)")
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
    with st.ledger(cfg, create=False) as ledger:
        rows = ledger.config_history()
    if limit is not None:
        rows = rows[-limit:] if limit > 0 else []
    if cfg is not None:
        rows = list(render.LocalTimes(cfg.tz()).rows(rows, ("at",)))
    machine = fmt in ("json", "jsonl", "csv")  # a `file` column; for people, only where it is another file
    if not machine:
        here = str(st.config_path.resolve())
        rows = [dict(r, command=r["command"] + (f"  [{r['file']}]" if r["file"] not in (None, here) else ""))
                for r in rows]
    render.emit(rows, ["n", "at", "actor", "via", "command", *(["file"] if machine else [])], fmt,
                title="Config changes",
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
    st.require(CONFIGURE)
    with cfgmod.locked(st.config_path):
        try:
            current, current_text = cfgmod.load_text(st.config_path)
        except ConfigError:
            current, current_text = None, (st.config_path.read_text(encoding="utf-8", errors="replace")
                                            if st.config_path.exists() else "")
        with st.ledger(current, create=False) as ledger:
            found = ledger.config_before(n)
        if found is None:
            raise ConfigError(f"there is no change {n} in the config history (see `leadctl config history`)")
        previous, file = found
        same_file(st, n, file)
        try:
            restored = cfgmod.parse(previous.encode("utf-8"), st.config_path)
        except ConfigError as exc:  # a broken file that `init --force` replaced: it comes back as text
            if current is None:
                raise ConfigError(f"the config before change {n} is not a valid config either ({exc}); nothing"
                                  " changed") from None
            confirm(f"Put back the text from before change {n}? It is not a valid config ({exc})", yes)
            m = _write_with_history(st, current, previous, current_text, current=current)
            _say(f"restored the text as it was before change {n} (this is change {m}); it is not a valid config:"
                 f" {exc}; fix it in an editor, or `leadctl config restore {m}` to undo this")
            return
        if current is not None and restored == current and previous == current_text:
            _say("nothing to change: the config is already as it was before that change")
            return
        confirm(f"Replace the config with the version from before change {n}?", yes)

        m = _write_with_history(st, restored, previous, current_text,
                                lambda ledger: _ledger_follows(ledger, current, restored), current=current)
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
    st.require(CONFIGURE)
    with cfgmod.locked(st.config_path):
        current, current_text = cfgmod.load_text(st.config_path)
        with st.ledger(current, create=False) as ledger:
            changes = ledger.config_changes_from(n)
        if not changes or changes[0]["n"] != n:
            raise ConfigError(f"there is no change {n} in the config history (see `leadctl config history`)")
        same_file(st, n, changes[0]["file"])
        here = changes[0]["file"]  # only this file's later changes follow from it
        changes = [c for c in changes if c["file"] in (None, here)]
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
                                lambda ledger: _ledger_follows(ledger, current, reverted), current=current)
    _say(f"undid change {n}: {rv.describe(paths)} as before it (this is change {m})")


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
    closed_statuses: Annotated[Optional[str], typer.Option("--closed-statuses", metavar="S[,S...]",
                               help="Statuses that close a lead (default won,lost,converted,closed,junk).")] = None,
    date_format: Annotated[Optional[str], typer.Option("--date-format", metavar="DD/MM/YYYY|MM/DD/YYYY",
                           help="How to read a received_at like 06/12/2026 10:15 (not ISO 8601); \"\" for none."
                                " Dotted dates (06.12.2026) are always day first.")] = None,
    match_domains: Annotated[Optional[bool], typer.Option(
        "--match-domains/--no-match-domains",
        help="A lead from a company's email domain goes to that account's owner (`leadctl account import`), else"
             " to the owner of the latest lead from that domain; free-mail domains never match.")] = None,
    retain_days: Annotated[Optional[int], typer.Option(
        "--retain-days", metavar="N", help="Forget closed leads received over N days ago (`ledger prune`; `tick`"
                                           " once a day); 0 keeps them forever.")] = None,
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
    if closed_statuses is not None:
        changes["closed_statuses"] = tuple(dict.fromkeys(s.strip() for s in closed_statuses.split(",") if s.strip()))
        if not changes["closed_statuses"]:
            raise ConfigError("--closed-statuses needs at least one status, e.g. won,lost")

    if match_domains is not None:
        changes["match_domains"] = match_domains
    if retain_days is not None:
        if not 0 <= retain_days <= 36500:
            raise ConfigError("--retain-days must be 0 (keep forever) to 36500")
        changes["retain_days"] = retain_days
    if date_format is not None:
        from ..dates import check_date_format

        try:
            changes["date_format"] = check_date_format(date_format)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if changes:
        cfg = _change(ctx, lambda m, c: replace(c, settings=replace(c.settings, **changes)), "settings saved",
                      in_ledger=_ledger_follows)
    else:
        cfg = state(ctx).config()
    from .. import render

    s = cfg.settings
    row = {"timezone": s.timezone, "duplicates": list(s.duplicates), "isolate": s.isolate,
           "assign_to_creator": s.assign_to_creator, "phone_region": s.phone_region or None,
           "closed_statuses": list(s.closed_statuses), "date_format": s.date_format or None,
           "match_domains": s.match_domains, "retain_days": s.retain_days}
    if fmt == "json":
        import json

        typer.echo(json.dumps(row, indent=2))
    else:
        render.table([{"setting": k, "value": render.display(v)} for k, v in row.items()],
                     ["setting", "value"])


def register(app: typer.Typer) -> None:
    app.command("init", rich_help_panel=SETUP)(init)
    app.add_typer(config_app, name="config", rich_help_panel=SETUP)
    app.command("settings", rich_help_panel=SETUP)(settings)
