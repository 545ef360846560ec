"""`leadctl crm ...`: the CRMs each lead's owner is written back to, and who is who there."""

from typing import Annotated, Literal, Optional

import typer

from . import SETUP, ListFormat, state
from .change import _change, _say

crm_app = typer.Typer(help="The CRM the team works in (HubSpot, Salesforce, Pipedrive, Zendesk Sell): the owner of"
                           " each lead is written back to it.", no_args_is_help=True)

Kind = Literal["hubspot", "salesforce", "pipedrive", "sell"]
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The CRM's name in the config, e.g. hubspot.")]


@crm_app.command("add")
def crm_add(ctx: typer.Context, name: NameArg,
            kind: Annotated[Kind, typer.Option("--kind", help="Which CRM it is.")],
            obj: Annotated[Optional[str], typer.Option("--object", metavar="OBJECT",
                           help="The record type written (default: HubSpot contacts, Salesforce Lead, Pipedrive"
                                " leads, Sell leads).")] = None,
            id_field: Annotated[Optional[str], typer.Option("--id-field", metavar="FIELD",
                                help="The lead field holding the CRM record's id (default: the lead's id).")] = None,
            base_url: Annotated[Optional[str], typer.Option("--base-url", metavar="URL",
                                help="The API's address (default: the vendor's; Salesforce: your instance's).")] = None,
            token_env: Annotated[Optional[str], typer.Option("--token-env", metavar="VAR",
                                 help="The environment variable holding the API token (default: NAME_TOKEN)."
                                      " The token itself is never stored.")] = None,
            secret_env: Annotated[Optional[str], typer.Option("--secret-env", metavar="VAR",
                                  help="The environment variable holding the webhook signing secret.")] = None,
            placeholder: Annotated[Optional[list[str]], typer.Option(
                "--placeholder-owner", metavar="OWNER_ID",
                help="An owner id there that means nobody has the record yet (the integration user that creates"
                     " them, an unassigned queue): overwritten like an empty owner. Repeat for more.")] = None) -> None:
    """Add a CRM to write each lead's owner back to.

    Example: leadctl crm add hubspot --kind hubspot --token-env HUBSPOT_TOKEN
    Example: leadctl crm add sf --kind salesforce --base-url https://acme.my.salesforce.com --token-env SF_TOKEN
    """
    from ..config import Crm

    crm = Crm(name, kind, obj or "", (id_field or "id").strip(), (base_url or "").strip(), token_env or "",
              secret_env or "", tuple(p.strip() for p in placeholder or ()))
    _change(ctx, lambda m, c: m.add_crm(c, crm), f"added crm '{name}' ({kind}); its token is read from"
            f" ${crm.token_variable} when owners are written")


@crm_app.command("remove")
def crm_remove(ctx: typer.Context, name: NameArg) -> None:
    """Stop writing owners to a CRM (the users' owner ids there go too).

    Example: leadctl crm remove hubspot
    """
    _change(ctx, lambda m, c: m.remove_crm(c, name), f"removed crm '{name}'")


@crm_app.command("list")
def crm_list(ctx: typer.Context,
             fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table"
             ) -> None:
    """List the CRMs owners are written to.

    Example: leadctl crm list --format json
    """
    import os

    from .. import render

    cfg = state(ctx).config()
    rows = [{"name": c.name, "kind": c.kind, "object": c.record_object, "id_field": c.id_field, "base_url": c.api,
             "token_env": c.token_variable, "token_set": bool(os.environ.get(c.token_variable)),
             "secret_env": c.secret_env or None, "placeholder_owners": list(c.placeholder_owners),
             "mapped_users": sum(1 for u in cfg.users if u.crm_id(c.name))} for c in cfg.crms]
    render.emit(rows, list(rows[0]) if rows else ["name", "kind"], fmt, title="CRMs",
                empty="no CRM yet: leadctl crm add NAME --kind hubspot|salesforce|pipedrive|sell")


@crm_app.command("owners")
def crm_owners(ctx: typer.Context, name: NameArg, fmt: ListFormat = "table",
               sync: Annotated[bool, typer.Option("--sync", help="Read the CRM's owners and map them to users by"
                                                  " email (any case) first.")] = False) -> None:
    """Who is who in a CRM: each leadctl user and their owner id there (none: their leads'
    owner cannot be written; set it with `leadctl user edit USER --crm NAME=ID`, or --sync).

    Example: leadctl crm owners hubspot --sync
    """
    from .. import render
    from ..errors import ConfigError

    cfg = state(ctx).config()
    crm = next((c for c in cfg.crms if c.name == name), None)
    if crm is None:
        raise ConfigError(f"unknown crm '{name}' (see `leadctl crm list`)")
    if sync:
        from ..crm import owners_by_email

        found = owners_by_email(cfg, crm)
        if found:
            cfg = _change(ctx, lambda m, c: m.set_crm_ids(c, {u: {name: i} for u, i in found.items()}),
                          f"mapped {len(found)} user(s) to their owner in {name} by email")
    rows = [{"user": u.id, "email": u.email or None, "owner_id": u.crm_id(name), "active": u.active}
            for u in cfg.users]
    render.emit(rows, ["user", "email", "owner_id", "active"], fmt, title=f"Owners in {name}",
                empty="no users yet")
    unmapped = [r["user"] for r in rows if r["owner_id"] is None and r["active"]]
    if unmapped:
        _say(f"{len(unmapped)} active user(s) without an owner id in {name}: {', '.join(unmapped[:10])}")


@crm_app.command("status")
def crm_status(ctx: typer.Context,
               fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table"
               ) -> None:
    """Owner writes per CRM: pending, sent, superseded, conflict, failed.

    Example: leadctl crm status --format json
    """
    from .. import render

    st = state(ctx)
    cfg = st.config()
    with st.ledger(cfg, create=False) as ledger:
        counts = ledger.crm_counts([c.name for c in cfg.crms])
    rows = [{"crm": c.name, **{s: counts.get((c.name, s), 0) for s in CRM_STATUSES}} for c in cfg.crms]
    render.emit(rows, ["crm", *CRM_STATUSES], fmt, title="Owner writes", right=list(CRM_STATUSES),
                empty="no CRM yet: leadctl crm add NAME --kind hubspot|salesforce|pipedrive|sell")


CRM_STATUSES = ("pending", "sent", "superseded", "conflict", "failed")


@crm_app.command("reconcile")
def crm_reconcile(ctx: typer.Context, name: NameArg,
                  limit: Annotated[int, typer.Option("--limit", metavar="N", min=1, max=100_000,
                                                     help="Compare the newest N held leads (default 100).")] = 100,
                  fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table"
                  ) -> None:
    """What differs between the ledger and a CRM: the writes left as conflicts (a person changed
    the owner there), and held leads whose owner there is not their holder.

    Example: leadctl crm reconcile hubspot --limit 500
    """
    from .. import render
    from ..crm import reconcile
    from ..domain.rights import CONFIGURE
    from ..errors import ConfigError

    st = state(ctx)
    cfg = st.config()
    st.require(CONFIGURE, cfg)
    crm = next((c for c in cfg.crms if c.name == name), None)
    if crm is None:
        raise ConfigError(f"unknown crm '{name}' (see `leadctl crm list`)")
    with st.ledger(cfg, create=False) as ledger:
        rows = reconcile(cfg, crm, ledger, limit=limit)
    render.emit(rows, ["lead_id", "holder", "crm_owner", "why"], fmt, title=f"Differences with {name}",
                empty=f"the ledger and {name} agree")


@crm_app.command("push")
def crm_push(ctx: typer.Context,
             once: Annotated[bool, typer.Option("--once", help="Deliver what is due, then exit (for cron): exit 0"
                                                " when nothing failed, 75 when writes wait for a retry, 1 when one"
                                                " failed.")] = False,
             every: Annotated[int, typer.Option("--every", metavar="SECONDS", min=1, max=3600,
                                                help="Without --once: seconds between rounds.")] = 5) -> None:
    """Write each lead's owner to the CRMs (read, compare, write): what every change of holder
    queued, in order per lead; a write overtaken by a newer one for the same lead is superseded.

    Example: leadctl crm push --once
    """
    import signal
    import threading
    from datetime import datetime

    from .. import render
    from ..crm import push
    from ..domain.rights import CONFIGURE

    st = state(ctx)
    st.require(CONFIGURE)  # operating the outbox is the admins'
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    said: set[str] = set()

    def say(message: str) -> None:
        if message not in said:  # once per run, not every round
            said.add(message)
            render.err(message)

    while True:
        cfg = st.config()
        with st.ledger(cfg) as ledger:
            counts = push(cfg, ledger, datetime.now().astimezone(), say=say)
        if counts or once:
            render.err("owner writes: " + (" ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none due"))
        if once:
            if counts["failed"]:
                raise typer.Exit(1)
            if counts["retry"]:
                raise typer.Exit(75)
            return
        st._cfg = None  # a config edited meanwhile applies from the next round
        if stop.wait(every):
            return


def register(app: typer.Typer) -> None:
    app.add_typer(crm_app, name="crm", rich_help_panel=SETUP)
