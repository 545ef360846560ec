"""`leadctl notify ...`: set up, send, list and retry the reps' notifications."""

from typing import Annotated, Literal, Optional

import typer

from . import MAX_NUMBER, LimitOpt, ROUTING, state
from ..config import MAX_ATTEMPTS, MAX_RETRY_SECONDS
from ..domain.rights import CONFIGURE
from ..errors import LeadctlError

TEMPFAIL = 75  # `notify send` when a delivery failed and will be retried (sysexits.h EX_TEMPFAIL)

notify_app = typer.Typer(help="Tell reps about their leads: email over SMTP and/or a chat webhook.",
                         no_args_is_help=True)


@notify_app.command("setup")
def notify_setup(
    ctx: typer.Context,
    smtp_host: Annotated[Optional[str], typer.Option("--smtp-host", help="SMTP server, e.g. smtp.gmail.com.")] = None,
    smtp_port: Annotated[Optional[int], typer.Option("--smtp-port", min=1, max=65535, help="SMTP port (587 STARTTLS, 465 SSL).")] = None,
    smtp_from: Annotated[Optional[str], typer.Option("--smtp-from", help="The From address.")] = None,
    smtp_security: Annotated[Optional[Literal["none", "starttls", "ssl"]], typer.Option("--smtp-security", help="How to secure the SMTP connection: starttls (the default, port 587), ssl (port 465) or none.")] = None,
    smtp_user: Annotated[Optional[str], typer.Option("--smtp-user", help="SMTP login (the password only from $LEADCTL_SMTP_PASSWORD).")] = None,
    webhook_url: Annotated[Optional[str], typer.Option("--webhook-url", help="The team's chat webhook (Slack-compatible {\"text\": ...}); \"\" turns it off.")] = None,
    max_attempts: Annotated[Optional[int], typer.Option("--max-attempts", min=1, max=MAX_ATTEMPTS, help="Tries before a notification is marked failed.")] = None,
    retry_seconds: Annotated[Optional[int], typer.Option("--retry-seconds", min=0, max=MAX_RETRY_SECONDS, help="Wait before the first retry (at most a day); doubled each time, up to a week.")] = None,
    no_email: Annotated[bool, typer.Option("--no-email", help="Stop sending email (forget the SMTP server).")] = False,
) -> None:
    """Set up how reps are told: writes the config's \\[notify] table; no option prints it.

    Email goes over SMTP with STARTTLS unless --smtp-security says otherwise; the SMTP
    password is read only from $LEADCTL_SMTP_PASSWORD, never stored.

    Example: leadctl notify setup --smtp-host smtp.gmail.com --smtp-from leads@example.com --smtp-user leads@example.com
    """
    from dataclasses import asdict, replace

    from .. import render
    from .change import _change

    changes = {k: v for k, v in dict(smtp_host=smtp_host, smtp_port=smtp_port, smtp_from=smtp_from,
                                       smtp_security=smtp_security, smtp_user=smtp_user, webhook_url=webhook_url,
                                       max_attempts=max_attempts, retry_seconds=retry_seconds).items()
               if v is not None}
    if no_email:
        changes.update(smtp_host="", smtp_from="", smtp_user="")
    if changes:
        cfg = _change(ctx, lambda m, c: replace(c, notify=replace(c.notify, **changes)), "notification settings saved")
    else:
        cfg = state(ctx).config()
    rows = [{"setting": k, "value": v} for k, v in asdict(cfg.notify).items()]
    render.table(rows, ["setting", "value"], title="Notifications ([notify])")


@notify_app.command("send")
def notify_send(ctx: typer.Context) -> None:
    """Deliver the notifications that are due, then exit (for cron; `serve` does it continuously).

    Exit 0 when nothing failed; 75 when a delivery failed and will be retried (the first
    problem is named on stderr); 1 when one was given up on (`notify retry --failed`).
    A notification whose lead changed hands before it was sent is `superseded`, not sent.

    Example: */5 * * * * cd /srv/leads && leadctl notify send
    """
    import os
    from datetime import datetime

    from .. import render
    from ..notify import send_due

    st = state(ctx)
    cfg = st.config()
    with st.ledger(cfg) as ledger:
        counts = send_due(cfg, ledger, datetime.now().astimezone(), password=os.environ.get("LEADCTL_SMTP_PASSWORD"))
    line = f"sent {counts['sent']}, to retry {counts['retry']}, failed {counts['failed']}"
    if counts["superseded"]:
        line += f", superseded {counts['superseded']} (the lead changed hands first)"
    if counts.problems:
        more = len(counts.problems) - 1
        line += ": " + counts.problems[0] + (f" (and {more} other problem(s): `leadctl notify list`)" if more else "")
    render.err(line)
    if counts["failed"]:
        raise typer.Exit(1)  # given up on: done in part
    if counts["retry"]:
        raise typer.Exit(TEMPFAIL)  # will be tried again: a temporary failure (sysexits EX_TEMPFAIL)


@notify_app.command("list")
def notify_list(ctx: typer.Context,
                status: Annotated[Optional[Literal["pending", "sending", "sent", "failed", "superseded"]], typer.Option("--status", help="Only these.")] = None,
                limit: LimitOpt = None,
                fmt: Annotated[Literal["table", "json", "jsonl", "csv"], typer.Option("--format", "-o", help="Output format.")] = "table") -> None:
    """List notifications, oldest first, with their state and last error.

    Example: leadctl notify list --status failed
    """
    from .. import render

    st = state(ctx)
    cfg = st.config()
    with st.ledger(cfg, create=False) as ledger:
        rows = ledger.notifications(status, limit)
    rows = render.LocalTimes(cfg.tz()).rows(rows, ("next_at", "sent_at", "created_at"))
    render.emit(rows, ["id", "lead_id", "user", "channel", "address", "method", "status", "attempts", "next_at", "last_error",
                       "sent_at"], fmt, title="Notifications", empty="no notifications")


@notify_app.command("retry")
def notify_retry(ctx: typer.Context,
                 ids: Annotated[Optional[list[int]], typer.Argument(metavar="[ID]...", min=1, max=MAX_NUMBER, help="Notification ids.")] = None,
                 failed: Annotated[bool, typer.Option("--failed", help="Every failed notification.")] = False) -> None:
    """Make notifications due again now (the next `notify send` or `serve` delivers them).

    Example: leadctl notify retry --failed
    """
    from datetime import datetime, timezone

    from .. import render

    if bool(ids) == failed:
        raise LeadctlError("name the notifications (ID...) or pass --failed: one or the other")
    st = state(ctx)
    cfg = st.config()
    st.require(CONFIGURE, cfg)  # operating the outbox is the admins'
    with st.ledger(cfg) as ledger:
        with ledger.write():
            n = ledger.retry_notifications(None if failed else list(ids), datetime.now(timezone.utc).isoformat(timespec="seconds"))
    render.err(f"{n} notification(s) due again")
    if not failed and n < len(set(ids)):
        raise LeadctlError("some ids are unknown or being sent right now (see `leadctl notify list`)", 1)


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify", rich_help_panel=ROUTING)
