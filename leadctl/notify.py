"""Telling reps about their leads: outbox rows, the message, and delivery that survives crashes.

Every assignment to a user queues its notifications in the same ledger transaction
as the assignment (`outbox_rows`): an email to the user's address when [notify] has
an SMTP server, a chat message when there is a webhook URL (the user's own, else the
team's). `send_due` claims due rows in a transaction (two senders never take the
same row), delivers them outside it, and marks each sent, or due again after an
exponential back-off, or `failed` after `max_attempts`. Delivery is at least once:
a sender that dies between sending and marking leaves a claim that runs out, and the
row is sent again with the same key (the email's Message-ID, the webhook's
Idempotency-Key), so a receiver can drop the repeat.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, timedelta, timezone

from .config import Config, Notify
from .config.model import lead_link
from .intake.columns import is_credential

LEASE = timedelta(minutes=5)  # how long a claim holds before another sender may take the row
RENEW = timedelta(minutes=1)  # a sender still at work renews its claims this often
MAX_WAIT = 7 * 86_400  # seconds: the back-off doubles up to a week between tries
METHOD_WORDS = {
    "sequential": "your turn in the round robin of group '{group}'",
    "random": "drawn for you in group '{group}'",
    "weighted": "your share of group '{group}'",
    "owner": "the lead names you as its owner",
    "creator": "you created it",
    "duplicate": "you have this customer's earlier lead",
    "pickup": "you picked it up",
    "manual": "it was reassigned to you",
    "sla": "its holder did not contact it in time: the SLA of group '{group}' moved it to you",
    "escalated": "escalated to you by the SLA of group '{group}'",
    "remind": "a reminder from the SLA of group '{group}': it is still yours, and not contacted yet",
}
TOLD_NOT_GIVEN = ("notify-managers",)  # notices about a lead that is someone else's


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def outbox_rows(cfg: Config, assigned: list[tuple[str, str, str | None, str | None]], now: datetime) -> list[tuple]:
    """The notifications owed for (lead id, user, method, reason) assignments, as ledger rows."""
    n = cfg.notify
    if not (n.email or n.webhook_url or any(u.webhook_url for u in cfg.users)):
        return []
    users = {u.id: u for u in cfg.users}
    at = _utc(now)
    rows = []
    for lead_id, user_id, method, reason in assigned:
        user = users.get(user_id)
        if user is None or not user.notify:
            continue
        if n.email and user.email:
            rows.append((uuid.uuid4().hex, lead_id, user_id, "email", user.email, method, reason, at, at))
        url = user.webhook_url or n.webhook_url
        if url:
            rows.append((uuid.uuid4().hex, lead_id, user_id, "webhook", url, method, reason, at, at))
    return rows


ALERT = "alert"  # the method of a notification that tells managers of leads nobody could take


def alert_rows(cfg: Config, troubles: dict[str, tuple[str, int, str]], now: datetime) -> list[tuple]:
    """Alerts for groups whose leads wait or stay unassigned because nobody can take them:
    group -> (a lead id, how many, why). One per group, recipient and channel an hour (the key
    names the hour; the ledger keeps the first)."""
    from .domain.rights import alert_recipients

    n = cfg.notify
    hour = _utc(now)[:13]
    rows = []
    at = _utc(now)
    for group, (lead_id, count, why) in sorted(troubles.items()):
        reason = f"group '{group}': {count} lead(s) nobody could take ({why})"
        for user in alert_recipients(cfg, group):
            if n.email and user.email:
                rows.append((f"alert:{group}:{hour}:{user.id}:email", lead_id, user.id, "email", user.email, ALERT,
                             reason, at, at))
            url = user.webhook_url or n.webhook_url
            if url:
                rows.append((f"alert:{group}:{hour}:{user.id}:webhook", lead_id, user.id, "webhook", url, ALERT,
                             reason, at, at))
    return rows


SHOWN_FIRST = ("name", "full_name", "first_name", "last_name", "email", "phone", "source")
NOT_SHOWN = ("id", "type")  # the id heads the message
_UNSAFE_IN_HEADERS = {c: " " for c in [*range(32), 127, 0x85, 0x2028, 0x2029]}


def header_text(text: str, limit: int = 150) -> str:
    """Text that is safe in an email header or a chat line's first line: no line breaks
    (CR, LF, U+2028...) or control characters, and bounded."""
    text = " ".join(str(text).translate(_UNSAFE_IN_HEADERS).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def lead_name(fields: dict) -> str:
    return (fields.get("name") or fields.get("full_name") or " ".join(
        v for v in (fields.get("first_name"), fields.get("last_name")) if v) or "").strip()


def message(row: dict, rep: str | None = None, base_url: str = "", sign_in: str | None = None) -> tuple[str, str]:
    """(subject, text) for one notification: this lead's name, source, every field it came
    with and why it is the rep's — and nothing of any other lead. `rep` (the user's name,
    for a team channel) makes the first line say who got it; with `base_url` ([serve]
    base_url) the text links to the lead's page; `sign_in`, a one-time sign-in link to it (an
    email to its rep: their own mailbox)."""
    if row.get("method") == ALERT:
        text = (f"Leads are waiting: {row['reason']}. The first: {row['lead_id']}.\n"
                "See them with: leadctl leads list --unassigned; hand queued ones out with: leadctl drain\n")
        return header_text(f"Leads nobody could take: {row['reason']}"), text
    fields = json.loads(row["fields"]) if row.get("fields") else {}
    name = lead_name(fields)
    source = row.get("source") or fields.get("source") or ""
    why = METHOD_WORDS.get(row.get("method") or "", row.get("method") or "assigned to you")
    why = why.format(group=row.get("group") or "?")
    if row.get("reason"):
        why += f" ({row['reason']})"
    whose = f"is for {rep}" if rep else "is yours"
    if row.get("method") in TOLD_NOT_GIVEN:  # a manager told of someone else's lead
        why, whose = f"the SLA of group '{row.get('group') or '?'}': {row.get('reason') or 'not contacted in time'}", \
            "is waiting"
    lines = [f"Lead {row['lead_id']} {whose}: {why}."]
    for label, value in (("Name", name), ("Email", fields.get("email")), ("Phone", fields.get("phone")),
                         ("Source", source)):
        if value:
            lines.append(f"{label}: {value}")
    for key, value in fields.items():
        if (key.lower() not in SHOWN_FIRST and key.lower() not in NOT_SHOWN and str(value).strip()
                and not is_credential(key)):  # a lead kept before intake removed credentials
            lines.append(f"{key}: {value}")
    if row.get("received_at"):
        lines.append(f"Received: {row['received_at']}")
    if sign_in:
        lines.append(f"Open it (the link signs you in, once, within 24 hours): {sign_in}")
    elif base_url:
        lines.append(f"Open it: {lead_link(base_url, row['lead_id'])}")
    lines.append(f"See it with: leadctl leads show {row['lead_id']}")
    first = {"remind": "Reminder", "notify-managers": "Not contacted in time"}.get(row.get("method") or "", "New lead")
    subject = f"{first}: {name or row['lead_id']}" + (f" from {source}" if source else "")
    return header_text(subject), "\n".join(lines) + "\n"


class Mailer:
    """One SMTP session for a whole run of `send_due`, opened when the first email is due and
    opened again after any failure (a refused address leaves the session usable, a dropped
    connection does not)."""

    def __init__(self, n: Notify, password: str | None):
        self.n = n
        self.password = password
        self.smtp = None

    def send(self, row: dict, subject: str, text: str, now: datetime) -> None:
        import smtplib
        from email.message import EmailMessage
        from email.utils import format_datetime

        msg = EmailMessage()
        msg["From"] = self.n.smtp_from
        msg["To"] = row["address"]
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = f"<{row['key']}@leadctl>"  # the same on a repeat: receivers can drop it
        msg.set_content(text)
        if self.smtp is None:
            n = self.n
            server = smtplib.SMTP_SSL if n.smtp_security == "ssl" else smtplib.SMTP
            smtp = server(n.smtp_host, n.smtp_port, timeout=15)
            if n.smtp_security == "starttls":
                smtp.starttls()
            if n.smtp_user:
                smtp.login(n.smtp_user, self.password or "")
            self.smtp = smtp
        try:
            self.smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused:
            raise
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:
                pass
            self.smtp = None


def send_webhook(row: dict, text: str) -> None:
    """POST the message; only a 2xx answer is delivery. A redirect is not followed (urllib
    would turn the POST into a GET without the text): it is a failure that says where to."""
    import urllib.error
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            return None  # the 3xx comes back as an HTTPError

    request = urllib.request.Request(
        row["address"], data=json.dumps({"text": text}).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": row["key"], "User-Agent": "leadctl"})
    opener = urllib.request.build_opener(NoRedirects)
    with opener.open(request, timeout=15) as response:
        response.read()
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(row["address"], response.status, response.reason, response.headers, None)


def _sign_in_link(ledger, base_url: str, row: dict, now: datetime) -> str:
    from urllib.parse import quote

    from .signin import EMAIL_LINK_TTL, issue_link

    return issue_link(ledger, base_url, row["user_id"], now, EMAIL_LINK_TTL, f"/leads/{quote(row['lead_id'], safe='')}")


def deliver(mailer: Mailer, row: dict, now: datetime, rep: str, base_url: str = "", sign_in: str | None = None) -> None:
    if row["channel"] == "email":
        subject, text = message(row, base_url=base_url, sign_in=sign_in)
        mailer.send(row, subject, text, now)
    else:
        send_webhook(row, message(row, rep, base_url)[1])  # a team channel: say whose lead it is


def describe(exc: Exception, row: dict, n: Notify) -> str:
    """A delivery failure in one line that names where it went wrong and what happened:
    the SMTP server or the webhook's host (never a webhook's path: it is its secret)."""
    import smtplib
    import urllib.error
    from urllib.parse import urlsplit

    if row["channel"] == "email":
        where = f"{n.smtp_host}:{n.smtp_port}"
    else:
        try:
            where = urlsplit(row["address"]).hostname or "the webhook"
        except ValueError:
            where = "the webhook"
    if isinstance(exc, smtplib.SMTPNotSupportedError) and "STARTTLS" in str(exc).upper():
        what = "STARTTLS not supported by the server (see `notify setup --smtp-security`)"
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        what = f"login refused ({exc.smtp_code} {exc.smtp_error.decode('utf-8', 'replace')[:100]})"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = "; ".join(f"{code} {msg.decode('utf-8', 'replace')}" for code, msg in exc.recipients.values())
        what = f"{row['address']} refused: {codes}"
    elif isinstance(exc, urllib.error.HTTPError) and 300 <= exc.code < 400:
        what = f"HTTP {exc.code} {exc.reason}: the webhook redirects, which a POST does not follow; set its final URL"
    elif isinstance(exc, urllib.error.HTTPError):
        what = f"HTTP {exc.code} {exc.reason}"
    elif isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        what = getattr(reason, "strerror", None) or str(reason)
    elif isinstance(exc, TimeoutError):
        what = "timed out"
    elif isinstance(exc, OSError) and exc.strerror:
        what = exc.strerror
    else:
        what = f"{type(exc).__name__}: {exc}"
    return header_text(f"{where}: {what}", 300)


class Report(Counter):
    """`send_due`'s counts by outcome (sent, retry, failed, superseded), and what went wrong."""

    def __init__(self):
        super().__init__()
        self.problems: list[str] = []  # one line per distinct failure, in order


def send_due(cfg: Config, ledger, now: datetime, *, password: str | None = None, batch: int = 50,
             turn=None, clock=None) -> Report:
    """Deliver every notification due at `now`; counts by outcome (sent, retry, failed,
    superseded: the lead changed hands before it was told). `turn()`, if given, is held
    around each ledger transaction (a server's writers' turn). `clock()` is the time as the
    run goes on (default: `now` plus the time elapsed): a sender renews its claims every
    RENEW, so a slow server never lets another sender take rows it still holds."""
    import time

    turn = turn or nullcontext
    started = time.monotonic()
    clock = clock or (lambda: now + timedelta(seconds=time.monotonic() - started))
    n = cfg.notify
    names = {u.id: u.name or u.id for u in cfg.users}
    counts = Report()
    mailer = Mailer(n, password)
    try:
        while True:
            at = clock()
            stamp, until = _utc(at), _utc(at + LEASE)
            with turn(), ledger.write():
                if gone := ledger.supersede_notifications(stamp):
                    counts["superseded"] += gone
                rows = ledger.claim_notifications(stamp, until, batch)
            if not rows:
                return counts
            renewed = at
            for i, row in enumerate(rows):
                moment = clock()
                if moment - renewed >= RENEW:  # still ours? hold what is left for another LEASE
                    fresh = _utc(moment + LEASE)
                    with turn(), ledger.write():
                        ours = ledger.renew_claims([r["id"] for r in rows[i:]], until, fresh)
                    until, renewed = fresh, moment
                    if row["id"] not in ours:
                        continue  # taken by another sender while this one was slow
                try:
                    link = None
                    if cfg.base_url and row["channel"] == "email" and row.get("method") != ALERT:
                        with turn():  # a one-time sign-in link to the lead's page, for this rep only
                            link = _sign_in_link(ledger, cfg.base_url, row, moment)
                    deliver(mailer, row, moment, names.get(row["user_id"], row["user_id"]), cfg.base_url, link)
                    error = None
                except Exception as exc:  # a refused address, a server that is down, a timeout
                    error = describe(exc, row, n)
                with turn(), ledger.write():
                    if error is None:
                        ledger.notification_done(row["id"], _utc(datetime.now(timezone.utc)))
                        counts["sent"] += 1
                        continue
                    attempts = row["attempts"] + 1
                    if attempts >= n.max_attempts:
                        ledger.notification_failed(row["id"], error, None)
                        counts["failed"] += 1
                        problem = f"{error}; gave up after {attempts} attempt(s)"
                    else:
                        wait = min(n.retry_seconds * 2 ** (attempts - 1), MAX_WAIT)
                        ledger.notification_failed(row["id"], error, _utc(moment + timedelta(seconds=wait)))
                        counts["retry"] += 1
                        problem = f"{error}; retry in {wait} s"
                    if not any(p.startswith(error) for p in counts.problems):
                        counts.problems.append(problem)
    finally:
        mailer.close()
