"""The leadctl command line: thin Typer commands over the library.

Each command parses its options, loads the config and ledger through
`State`, makes one library call and renders the result. The project's own
error type is caught once, in `_Root.invoke`: one line on stderr and the
contract's exit code, never a traceback.

The command modules have no `from __future__ import annotations`: Typer reads every
option's annotation when it builds a command, and a string annotation is compiled and
evaluated there, at each start-up.
"""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import LeadctlError

SETUP, ROUTING, LEADS, AUDIT = "Set-up", "Routing", "Leads", "Audit"
# Typer raises click's (or its vendored click's) exception types; find the base either way.
_CLICK_EXCEPTION = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _err(message: str) -> None:
    from ..render import err

    err(message)


def _actor_first(argv: list[str]) -> list[str]:
    """`leadctl reassign L1 --to b --as ann` = `leadctl --as ann reassign L1 --to b`: the
    actor may be named after the command too (a listing then shows what they may see)."""
    start = _command_index(argv)
    if start is None:
        return argv
    head, tail, moved = argv[:start], [], []
    j = start
    while j < len(argv):
        token = argv[j]
        if token == "--":
            tail += argv[j:]
            break
        if token == "--as" and j + 1 < len(argv):
            moved += [token, argv[j + 1]]
            j += 2
            continue
        if token.startswith("--as="):
            moved.append(token)
        else:
            tail.append(token)
        j += 1
    return head + moved + tail if moved else argv


def _undecodable(argv: list[str]) -> str | None:
    """The first argument holding bytes that are not UTF-8 (Python keeps them as lone
    surrogates, which no file, table or terminal can take), shown escaped; else None."""
    for arg in argv:
        if isinstance(arg, str) and any("\ud800" <= ch <= "\udfff" for ch in arg):
            from ..render import clean

            return f"'{clean(arg)}'"
    return None


class _Root(TyperGroup):
    def main(self, *args, **kwargs):
        """Usage errors as one plain line too (not a box), with the contract's exit 2."""
        standalone = kwargs.pop("standalone_mode", True)
        argv = list(args[0] if args else kwargs.get("args") or sys.argv[1:])
        global ARGV
        ARGV = argv  # the command as typed: kept in the config history
        argv = _actor_first(argv)
        if args:
            args = (argv, *args[1:])
        else:
            kwargs["args"] = argv
        bad = _undecodable(argv)
        if bad is not None:
            _err(f"error: argument {bad} is not valid UTF-8 text; nothing was changed")
            if not standalone:
                return 2
            sys.exit(2)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except _CLICK_EXCEPTION as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `leadctl group`: show its help
                exc.show()
                sys.exit(0 if not argv else exc.exit_code)  # bare `leadctl`: the help was the answer
            if not standalone:
                raise
            hint = ""
            ctx = getattr(exc, "ctx", None)
            if ctx is not None:
                hint = f" (see `{ctx.command_path} --help`)"
            _err(f"error: {exc.format_message()}{hint}")
            rv = exc.exit_code
        except typer.Abort:
            if not standalone:
                raise
            sys.stderr.write("aborted\n")
            rv = 1
        if not standalone:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LeadctlError as exc:
            _err(f"error: {exc}")
            raise typer.Exit(exc.code) from None
        except BrokenPipeError:
            # `leadctl leads list | head`: the reader left; stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(1) from None
        except Exception as exc:
            from ..ledger.errors import store_failed

            if store_failed(exc):  # (the ledger's own failures are LeadctlErrors: this is a stray one)
                # The ledger failed (locked past the busy timeout, disk full, damaged):
                # the batch in flight was rolled back, every committed one is kept.
                _err(f"error: the ledger failed: {exc}; committed work is kept, run the command again")
                raise typer.Exit(1) from None
            if isinstance(exc, OSError) and exc.strerror:
                _err(f"error: {exc.strerror}{f' ({exc.filename})' if exc.filename else ''}")
                raise typer.Exit(1) from None
            raise


def _new_app() -> typer.Typer:
    return typer.Typer(
        cls=_Root,
        name="leadctl",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        help=(
            "Decide who gets each incoming lead: route CSV or JSON Lines through your team's"
            " groups (round robin, random or weighted, with daily and monthly caps), and audit"
            " who got what.\n\n"
            "Start with: leadctl init, then leadctl user add, leadctl group add,"
            " leadctl group member add, and leadctl route leads.csv."
        ),
        epilog="Example: leadctl --config team.toml route leads.csv --output table",
    )


ARGV: list[str] = []


@dataclass
class State:
    """Where the config and ledger are, and who is acting; loaded on demand by each command."""

    config_path: Path
    db_override: str | None  # a file path or a postgresql:// URL
    actor_name: str | None = None
    _actor: object = field(default=None, init=False, repr=False)  # made once, when first asked for
    _cfg: object = field(default=None, init=False, repr=False)  # the config as this command read it

    @property
    def actor(self):
        """Who acts (an `Actor`, resolved once per command, see `actor.cli_actor`): --as USER,
        else $LEADCTL_USER, else the user tied to the OS account, else the OS account."""
        if self._actor is None:
            from ..actor import cli_actor

            from ..errors import ConfigError

            try:  # a config that cannot be read has no users to act as (restore can still mend it)
                cfg = self.config() if self.config_path.exists() else None
            except ConfigError:
                cfg = None
            self._actor = cli_actor(cfg, self.actor_name, os.environ.get("LEADCTL_USER"))
        return self._actor

    def require(self, action: str, cfg=None, *, for_user: str | None = None) -> None:
        """Refuse the command (config changes: exit 2; lead actions: exit 1) when the actor lacks
        the right; `rights.refusal` decides."""
        from ..config.service import require

        if cfg is None:
            from ..errors import ConfigError

            try:
                cfg = self.config() if self.config_path.exists() else None
            except ConfigError:
                cfg = None
        require(cfg, self.actor, (action, for_user))

    @property
    def command(self) -> str:
        """The command as typed, without the global options that only say where files are."""
        import shlex

        words, skip = [], False
        for word in ARGV:
            if skip:
                skip = False
                continue
            if word in ("--config", "--db", "--as"):
                skip = True
                continue
            if word.startswith(("--config=", "--db=", "--as=")):
                continue
            words.append(word)
        return "leadctl " + shlex.join(words)

    def config(self):
        """The config, read once per command (a change this command writes replaces it)."""
        if self._cfg is None:
            from ..config import load

            self._cfg = load(self.config_path)
        return self._cfg

    def ledger_path(self, cfg=None) -> Path | str:
        """The SQLite file, or the PostgreSQL URL (text), the ledger is kept in."""
        from ..ledger import target

        if self.db_override is not None:
            return target(self.db_override)
        if cfg is not None:
            return cfg.ledger_path()
        return self.config_path.parent / "leadctl.db"

    def ledger(self, cfg=None, *, create: bool = True, write: bool = False):
        """The ledger. create=False: a missing one reads as empty, and (unless
        `write`) one that cannot be written is opened for reading only."""
        from ..ledger import Ledger

        return Ledger.open(self.ledger_path(cfg), create=create, readonly=not (create or write))


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"leadctl {__version__}\n")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    config: Annotated[
        Optional[Path],
        typer.Option("--config", envvar="LEADCTL_CONFIG", metavar="PATH",
                     help="Config file. Default: $LEADCTL_CONFIG, else ./leadctl.toml."),
    ] = None,
    db: Annotated[
        Optional[str],
        typer.Option("--db", envvar="LEADCTL_DB", metavar="PATH|URL",
                     help="The ledger: an SQLite file, or postgresql://USER@HOST[:PORT]/DB. Default: $LEADCTL_DB,"
                          " else the config's `ledger` key, else leadctl.db beside the config."),
    ] = None,
    actor: Annotated[
        Optional[str],
        typer.Option("--as", metavar="USER",
                     help="Act as this leadctl user (their rights, their view of the leads). Default: $LEADCTL_USER,"
                          " else the user whose os_user is your OS account, else your OS account."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    ctx.obj = State(config or Path("leadctl.toml"), db, actor)
    if (actor or os.environ.get("LEADCTL_USER")) and not ctx.resilient_parsing:
        ctx.obj.actor  # a name that is no user is exit 2 for every command, before it does anything


def state(ctx: typer.Context) -> State:
    return ctx.find_root().obj


ListFormat = Annotated[Literal["table", "json", "jsonl", "csv"], typer.Option(
    "--format", "-o", help="table (plain tab-separated lines off a terminal), json, jsonl or csv.")]
MAX_NUMBER = 10**12  # the largest id, number or count a command takes: beyond it, a usage error (exit 2)
LimitOpt = Annotated[Optional[int], typer.Option("--limit", metavar="N", min=0, max=MAX_NUMBER, help="At most N rows.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (needed off a terminal).")]


def confirm(question: str, yes: bool) -> None:
    """A destructive step goes ahead with --yes, or when a person at a terminal says so.
    Off a terminal without --yes it is refused (exit 2): a script must say it means it."""
    if yes:
        return
    if sys.stdin.isatty() and sys.stderr.isatty():
        from ..render import clean

        if typer.confirm(clean(question), default=False, err=True):
            return
        raise LeadctlError("nothing was changed", 1)
    raise LeadctlError(f"{question.rstrip('?')}: pass --yes to confirm; nothing was changed")


MODULES = ("configure", "users", "groups", "rules", "away", "store", "route", "due", "intake", "serve", "notify", "leads",
           "audit", "simulate", "watch", "crm", "territories", "accounts")  # each registers its commands
# Which module holds each top-level command, so a run imports and builds only the one it needs.
OWNER = {"init": "configure", "config": "configure", "settings": "configure", "user": "users", "group": "groups",
         "rule": "rules", "away": "away", "route": "route", "drain": "due", "tick": "due", "intake": "intake", "leads": "leads", "pickup": "leads",
         "reassign": "leads", "release": "leads", "quota": "audit", "report": "audit", "simulate": "simulate", "watch": "watch",
         "serve": "serve", "token": "serve", "notify": "notify", "ledger": "store", "crm": "crm",
         "territory": "territories", "account": "accounts"}


def build(command: str | None = None) -> typer.Typer:
    """The app with every command, or (for a run of `command`) only the module that owns it:
    Typer turns each registered command into click objects at start-up, ~1 ms apiece, and
    the other modules need not be imported at all."""
    from importlib import import_module

    new = _new_app()
    new.callback()(root)
    for name in ([OWNER[command]] if command in OWNER else MODULES):
        import_module(f"{__name__}.{name}").register(new)
    return new


def __getattr__(name: str):
    """`leadctl.cli.app`, the whole app (for tests and docs), made when first asked for."""
    if name == "app":
        globals()["app"] = whole = build()
        return whole
    raise AttributeError(name)


def _command_index(argv: list[str]) -> int | None:
    """Where the top-level command stands in `argv`, past the root options (None when there
    is none, or another option such as --help comes first)."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token in ("--config", "--db", "--as"):
            i += 2
        elif token.startswith(("--config=", "--db=", "--as=")):
            i += 1
        else:
            return None if token.startswith("-") else i
    return None


def main() -> None:
    argv = sys.argv[1:]
    at = _command_index(argv)
    build(None if at is None else argv[at])()
