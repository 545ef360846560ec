"""`leadctl serve` and its credentials: `leadctl token add/list/revoke`."""

from typing import Annotated, Literal, Optional

import typer

from ..domain.rights import CONFIGURE
from . import ROUTING, state
from ..errors import LeadctlError

DEFAULT_PORT = 8080  # serve's, when neither --port nor the config's [serve] port says

token_app = typer.Typer(help="Credentials for `leadctl serve`: bearer tokens and signing secrets.",
                        no_args_is_help=True)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default; put a TLS proxy in front).")] = "127.0.0.1",
    port: Annotated[Optional[int], typer.Option("--port", min=1, max=65535,
                    help="Port to listen on (default: the config's [serve] port, else 8080).")] = None,
    max_body: Annotated[int, typer.Option("--max-body", metavar="BYTES", min=1, max=1 << 30, help="Largest request body accepted (413 above).")] = 1 << 20,
    log_format: Annotated[Literal["text", "json"], typer.Option(
        "--log-format", help="text: a line a request; json: one JSON object a line (for a log shipper).")] = "text",
    metrics_token_env: Annotated[Optional[str], typer.Option(
        "--metrics-token-env", metavar="VAR", help="GET /metrics needs `Authorization: Bearer` with this environment"
                                                   " variable's value (else: this machine's clients only).")] = None,
    forwarded_allow_ips: Annotated[Optional[str], typer.Option(
        "--forwarded-allow-ips", metavar="IP[,IP...]", help="Trust X-Forwarded-For (the client's address) from these"
                                                            " proxies only ('*': any; default: none).")] = None,
) -> None:
    """Receive leads live: POST /leads routes each request's leads at once (same rules,
    rotation and caps as `route`); GET /healthz says whether config and ledger are usable.

    Requests need `Authorization: Bearer TOKEN` (see `leadctl token add`) or, for a
    signing token, `X-Hub-Signature-256: sha256=HMAC`. Stops cleanly on Ctrl-C or SIGTERM.

    Example: leadctl token add website && leadctl serve --port 8080
    """
    from ..serve import Service, run

    import os

    st = state(ctx)
    token = None
    if metrics_token_env is not None:
        token = os.environ.get(metrics_token_env, "").strip()
        if len(token) < 16:
            raise LeadctlError(f"--metrics-token-env {metrics_token_env[:40]}: set that variable to a token of 16"
                               " characters or more")
    service = Service(st.config_path, st.db_override)
    cfg, _ = service.config()
    service.ledger(cfg)  # made now if new: a broken path fails here, not on the first lead
    run(service, host, port or cfg.port or DEFAULT_PORT, max_body, log_format=log_format, metrics_token=token,
        forwarded_allow_ips=forwarded_allow_ips)


@token_app.command("add")
def token_add(ctx: typer.Context,
              name: Annotated[str, typer.Argument(metavar="NAME", help="What sends with it, e.g. website or zapier.")],
              user: Annotated[Optional[str], typer.Option("--user", metavar="USER", help="Bind it to a user (their own view).")] = None,
              hmac_: Annotated[bool, typer.Option("--hmac", help="A signing secret instead: requests carry X-Hub-Signature-256.")] = False) -> None:
    """Make a token; it is printed once, and the ledger keeps only its hash.

    Example: leadctl token add website
    Example: leadctl token add facebook --hmac
    """
    from datetime import datetime

    from .. import render
    from ..config import check_name
    from ..tokens import digest, new_token

    st = state(ctx)
    cfg = st.config()
    st.require(CONFIGURE, cfg)
    check_name(name, "token")
    bound = cfg.find_user(user).id if user else None
    secret = new_token()
    with st.ledger(cfg) as ledger:
        with ledger.write():
            ledger.add_token(name, "hmac" if hmac_ else "bearer", None if hmac_ else digest(secret),
                             secret if hmac_ else None, bound, datetime.now().astimezone().isoformat(timespec="seconds"))
    render.say(secret)
    render.err(f"token '{name}' made: keep it now, it is not shown again"
               + (" (send X-Hub-Signature-256: sha256=HMAC-SHA256 of the body with it)" if hmac_ else ""))


@token_app.command("link")
def token_link(ctx: typer.Context,
               user: Annotated[str, typer.Argument(metavar="USER", help="Who signs in with it.")],
               ttl: Annotated[str, typer.Option("--ttl", metavar="DURATION",
                              help="How long it works until it is used: 90s, 15m, 4h, 2d (default 15m, at most 7d).")] = "15m",
               port: Annotated[Optional[int], typer.Option("--port", min=1, max=65535,
                               help="serve's port, for the link when the config has no [serve] base_url"
                                    " (default: its [serve] port, else 8080).")] = None,
               lead: Annotated[Optional[str], typer.Option("--lead", metavar="LEAD",
                               help="Land on this lead's page instead of the inbox.")] = None) -> None:
    """Print a one-time sign-in link to serve's web pages for USER.

    Opening it signs USER in (a session cookie for 12 hours) and lands on /inbox; it works
    once, within --ttl. An admin may make one for anyone; a user for themselves.

    Example: leadctl token link tom --ttl 1h
    """
    from datetime import datetime
    from urllib.parse import quote

    from .. import render
    from ..config import duration_seconds
    from ..signin import issue_link

    st = state(ctx)
    cfg = st.config()
    who = cfg.find_user(user)
    if st.actor.user != who.id:
        st.require(CONFIGURE, cfg)
    if not who.active:
        raise LeadctlError(f"user '{who.id}' is not active and cannot sign in")
    seconds = duration_seconds(ttl, "--ttl")
    if seconds > 7 * 86400:
        raise LeadctlError(f"--ttl '{ttl}' is longer than 7d: a sign-in link is for now, not for later")
    base = cfg.base_url or f"http://127.0.0.1:{port or cfg.port or DEFAULT_PORT}"
    with st.ledger(cfg) as ledger:
        url = issue_link(ledger, base, who.id, datetime.now().astimezone(), seconds,
                         f"/leads/{quote(lead, safe='')}" if lead else "/inbox")
    render.say(url)
    render.err(f"sign-in link for '{who.id}': works once, for {ttl}")


@token_app.command("list")
def token_list(ctx: typer.Context,
               fmt: Annotated[Literal["table", "json"], typer.Option("--format", "-o", help="Output format.")] = "table") -> None:
    """List tokens (never their secrets).

    Example: leadctl token list
    """
    from .. import render

    st = state(ctx)
    cfg = st.config()
    with st.ledger(cfg, create=False) as ledger:
        rows = ledger.tokens()
    rows = render.LocalTimes(cfg.tz()).rows(rows, ("created_at", "revoked_at"))
    render.emit(rows, ["name", "kind", "user", "created_at", "revoked_at"], fmt, title="Tokens",
                empty="no tokens yet: leadctl token add NAME")


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Token name.")]) -> None:
    """Revoke a token: requests with it are refused from now on.

    Example: leadctl token revoke website
    """
    from datetime import datetime

    from .. import render

    st = state(ctx)
    cfg = st.config()
    st.require(CONFIGURE, cfg)
    with st.ledger(cfg) as ledger:
        with ledger.write():
            done = ledger.revoke_token(name, datetime.now().astimezone().isoformat(timespec="seconds"))
    if not done:
        raise LeadctlError(f"no live token '{name}' (see `leadctl token list`)")
    render.err(f"revoked token '{name}'")


def register(app: typer.Typer) -> None:
    app.command("serve", rich_help_panel=ROUTING)(serve)
    app.add_typer(token_app, name="token", rich_help_panel=ROUTING)
