"""`leadctl account ...`: which company's email domain belongs to whom (CSV `domain,owner`),
for account matching (`settings --match-domains`)."""

from typing import Annotated, Literal

import typer

from . import SETUP, state
from .change import save_table

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
    from ..assign.account_table import BadAccount, load_accounts, read_accounts, to_csv
    from ..config import service
    from ..domain.rights import CONFIGURE
    from ..assign.data_files import read_import
    from ..errors import ConfigError
    from ..render import err

    st = state(ctx)
    cfg = st.config()
    service.require(cfg, st.actor, (CONFIGURE, None))
    rows = read_import(file, read_accounts, BadAccount)
    users = {u.id.lower(): u.id for u in cfg.users}
    for line, domain, owner in rows:
        if owner.lower() not in users:
            raise ConfigError(f"{file}: line {line}: owner '{owner}' of {domain} is no user; nothing was imported")
    table = {} if replace else dict(load_accounts(cfg))
    table.update({domain: users[owner.lower()] for _, domain, owner in rows})
    path = save_table(ctx, cfg, cfg.account_path(), DEFAULT_FILE, to_csv(table), "account_file")
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
