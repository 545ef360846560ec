"""`leadctl account ...`: which company's email domain belongs to whom (CSV `domain,owner`),
for account matching (`settings --match-domains`)."""

from typing import Annotated, Literal

import typer

from . import SETUP, state
from .change import _change

account_app = typer.Typer(help="Accounts: a company's email domain to its owner.", no_args_is_help=True)
DEFAULT_FILE = "accounts.csv"


@account_app.command("import")
def account_import(ctx: typer.Context,
                   file: Annotated[str, typer.Argument(metavar="FILE", help="CSV: domain,owner.")],
                   replace: Annotated[bool, typer.Option("--replace", help="The file becomes the whole table"
                                                         " (default: its rows are added, a domain's owner updated).")] = False
                   ) -> None:
    """Import accounts: each row is checked first (a bad one is exit 2 with its line, and nothing
    changes). With `settings --match-domains`, a lead whose email's domain is listed goes to its
    owner (method account).

    Example: leadctl account import accounts.csv
    """
    import os

    from ..assign.account_table import BadAccount, load_accounts, read_accounts, to_csv
    from ..config import service
    from ..domain.rights import CONFIGURE
    from ..errors import ConfigError, LeadctlError
    from ..render import err

    st = state(ctx)
    cfg = st.config()
    service.require(cfg, st.actor, (CONFIGURE, None))
    try:
        with open(file, encoding="utf-8-sig") as fh:
            rows = read_accounts(fh.read(64 << 20))
    except FileNotFoundError:
        raise LeadctlError(f"input file {file} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LeadctlError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    except BadAccount as exc:
        raise ConfigError(f"{file}: {exc}; nothing was imported") from None
    users = {u.id.lower(): u.id for u in cfg.users}
    for line, domain, owner in rows:
        if owner.lower() not in users:
            raise ConfigError(f"{file}: line {line}: owner '{owner}' of {domain} is no user; nothing was imported")
    table = {} if replace else dict(load_accounts(cfg))
    table.update({domain: users[owner.lower()] for _, domain, owner in rows})
    path = cfg.account_path() or cfg.path.parent / DEFAULT_FILE
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(to_csv(table), encoding="utf-8")
    os.replace(temp, path)
    if cfg.account_path() is None:
        from dataclasses import replace as changed

        _change(ctx, lambda m, c: changed(c, account_file=path.name), None)
    err(f"{len(rows)} account(s) {'make the table' if replace else 'imported'}: {len(table)} in {path.name}"
        + ("" if (st._cfg or cfg).settings.match_domains else "; turn matching on with `leadctl settings --match-domains`"))


@account_app.command("list")
def account_list(ctx: typer.Context,
                 fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table"
                 ) -> None:
    """The accounts table: each domain and its owner.

    Example: leadctl account list --format json
    """
    from .. import render
    from ..assign.account_table import load_accounts

    rows = [{"domain": d, "owner": o} for d, o in sorted(load_accounts(state(ctx).config()).items())]
    render.emit(rows, ["domain", "owner"], fmt, title="Accounts", empty="no accounts yet: leadctl account import FILE")


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account", rich_help_panel=SETUP)
