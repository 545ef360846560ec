"""Telling the reps: a real SMTP server (aiosmtpd) and a real HTTP receiver on loopback ports."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.ports import free_port

STORES = ("sqlite", "postgresql")  # every test taking `lc` runs on both ledgers


class Mailbox:
    """A real SMTP server; addresses in `refuse` are answered 550 for good."""

    def __init__(self, port: int, refuse: set[str] = frozenset()):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.refuse = set(refuse)
        box = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address in box.refuse:
                    return "550 5.1.1 no such mailbox"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                box.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


class Hook:
    """A real HTTP receiver recording each POST."""

    def __init__(self):
        self.posts: list = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append((self.path, dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()  # stops within 20 ms

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers():
    started = []

    def mailbox(port: int, refuse=frozenset()) -> Mailbox:
        started.append(Mailbox(port, refuse))
        return started[-1]

    def hook() -> Hook:
        started.append(Hook())
        return started[-1]

    yield mailbox, hook
    for s in started:
        s.stop()


def team(lc, smtp_port: int, hook_url: str | None = None, **extra: str):
    lc("user", "add", "tom", "--email", "tom@example.com")
    lc("user", "add", "ann", "--email", "ann@example.com")
    lc.team(users=("tom", "ann"))
    options = ["--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port), "--smtp-from", "leads@example.com",
               "--smtp-security", "none", "--retry-seconds", "0"]
    if hook_url:
        options += ["--webhook-url", hook_url]
    for key, value in extra.items():
        options += [f"--{key.replace('_', '-')}", value]
    lc("notify", "setup", *options)


LEAD = '{"id": "N-1", "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 7700 900123", "source": "web"}\n'


def test_a_routed_lead_gives_one_email_to_the_right_address_and_one_webhook_post(lc, servers):
    mailbox, hook = servers
    port = free_port()
    box, chat = mailbox(port), hook()
    team(lc, port, chat.url)
    lc.jsonl("route", "--format", "jsonl", input=LEAD + '{"id": "N-2", "name": "Other Person"}\n')
    lc("notify", "send")
    to_tom = [m for rcpt, m in box.messages if rcpt == ["tom@example.com"]]
    assert len(box.messages) == 2 and len(to_tom) == 1  # N-1 to tom, N-2 to ann
    text = to_tom[0].get_content()
    assert "N-1" in text and "Ada Lovelace" in text and "ada@example.com" in text and "web" in text
    assert "round robin" in text and "N-2" not in text and "Other Person" not in text  # no other lead's data
    assert to_tom[0]["Message-ID"].startswith("<") and to_tom[0]["Message-ID"].endswith("@leadctl>")
    assert len(chat.posts) == 2 and all(p[1].get("Idempotency-Key") for p in chat.posts)
    assert any("N-1" in p[2]["text"] for p in chat.posts)
    assert {n["status"] for n in lc.json("notify", "list")} == {"sent"}
    lc("notify", "send")
    assert len(box.messages) == 2  # nothing twice


def test_smtp_down_stays_pending_then_is_delivered_when_it_is_back(lc, servers):
    mailbox, _ = servers
    port = free_port()
    team(lc, port)
    lc.jsonl("route", "--format", "jsonl", "--no-notify", input='{"id": "QUIET"}\n')
    lc("notify", "setup", "--retry-seconds", "3600")
    lc.jsonl("route", "--format", "jsonl", input=LEAD)
    result = lc("notify", "send", ok=None)  # nobody listens on the port yet
    assert result.exit_code == 75  # a temporary failure: cron may try again
    assert result.stderr == f"sent 0, to retry 1, failed 0: 127.0.0.1:{port}: Connection refused; retry in 3600 s\n"
    (pending,) = lc.json("notify", "list")
    assert pending["status"] == "pending" and pending["attempts"] == 1 and "Connection refused" in pending["last_error"]
    box = mailbox(port)
    lc("notify", "retry", str(pending["id"]))
    lc("notify", "send")
    assert [rcpt for rcpt, _ in box.messages] == [["ann@example.com"]]  # tom had QUIET, told to nobody
    assert lc.json("notify", "list")[0]["status"] == "sent"


def test_a_sender_killed_between_sending_and_marking_sends_again_with_the_same_key(lc, servers, monkeypatch):
    from leadctl.config import load
    from leadctl.ledger import Ledger
    from leadctl.notify import LEASE, send_due

    mailbox, _ = servers
    port = free_port()
    box = mailbox(port)
    team(lc, port)
    lc.jsonl("route", "--format", "jsonl", input=LEAD)
    cfg = load(lc.config)
    now = datetime.now().astimezone()

    def died(*args, **kwargs):
        raise SystemExit("killed")  # the process ends after the message left, before it is marked

    ledger = Ledger.open(lc.db)
    monkeypatch.setattr(Ledger, "notification_done", died)
    with pytest.raises(SystemExit):
        send_due(cfg, ledger, now)
    monkeypatch.undo()
    ledger.close()
    ledger = Ledger.open(lc.db)
    assert send_due(cfg, ledger, now)["sent"] == 0  # still claimed by the dead sender
    assert send_due(cfg, ledger, now + LEASE + timedelta(seconds=1))["sent"] == 1  # the claim ran out
    ledger.close()
    first, second = (m for _, m in box.messages)
    assert first["Message-ID"] == second["Message-ID"]  # the receiver can drop the repeat


def test_a_permanently_failing_address_ends_failed_after_the_retry_limit(lc, servers):
    mailbox, _ = servers
    port = free_port()
    mailbox(port, refuse={"tom@example.com"})
    team(lc, port, max_attempts="3")
    lc.jsonl("route", "--format", "jsonl", input=LEAD)
    result = lc("notify", "send", ok=None)
    assert result.exit_code == 1 and "failed 1" in result.stderr
    (failed,) = lc.json("notify", "list", "--status", "failed")
    assert failed["attempts"] == 3 and "550" in failed["last_error"]
    lc("notify", "retry", "--failed")
    assert lc.json("notify", "list")[0]["status"] == "pending"


def test_no_notify_and_opted_out_users_get_nothing(lc, servers):
    mailbox, _ = servers
    port = free_port()
    box = mailbox(port)
    team(lc, port)
    lc.jsonl("route", "--format", "jsonl", "--no-notify", input='{"id": "B-1"}\n{"id": "B-2"}\n')
    lc("user", "edit", "tom", "--no-notify")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "B-3"}\n{"id": "B-4"}\n')  # tom, ann
    lc("notify", "send")
    assert [rcpt for rcpt, _ in box.messages] == [["ann@example.com"]]


def test_manual_moves_tell_the_new_owner_and_a_rolled_back_batch_tells_nobody(lc, servers):
    mailbox, _ = servers
    port = free_port()
    box = mailbox(port)
    team(lc, port)
    lc.jsonl("route", "--format", "jsonl", input='{"id": "M-1"}\n')  # tom
    lc.jsonl("route", "--format", "jsonl", input='{"id": "M-2"}\n{"id": "M-1"}\n')  # ann; M-1 collides: redone
    lc("reassign", "M-1", "--to", "ann", "--note", "speaks German")
    lc("notify", "send")
    # tom's M-1 was reassigned before it was sent: superseded, never sent to him
    assert sorted(r[0] for r, _ in box.messages) == ["ann@example.com", "ann@example.com"]
    moved = [m.get_content() for r, m in box.messages if "reassigned" in m.get_content()]
    assert len(moved) == 1 and "speaks German" in moved[0]


def test_serve_tells_the_rep_in_the_background(lc, servers):
    import time

    from tests.test_serve import Server

    mailbox, _ = servers
    port = free_port()
    box = mailbox(port)
    team(lc, port)
    secret = lc("token", "add", "web").stdout.strip()
    server = Server(lc)
    try:
        assert server.post(LEAD, token=secret)[0] == 200
        deadline = time.monotonic() + 20
        while not box.messages and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        code, log = server.stop()
    assert [rcpt for rcpt, _ in box.messages] == [["tom@example.com"]] and code == 0
    assert "notifications: sent=1" in log


def test_two_senders_at_once_never_send_the_same_notification_twice(lc, servers):
    import subprocess
    import sys
    from collections import Counter

    mailbox, _ = servers
    port = free_port()
    box = mailbox(port)
    team(lc, port)
    lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "P-{i}"}}\n' for i in range(300)))
    senders = [subprocess.Popen([sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db),
                                 "notify", "send"], stderr=subprocess.PIPE) for _ in range(2)]
    logs = [p.communicate(timeout=120)[1].decode() for p in senders]
    assert [p.returncode for p in senders] == [0, 0], logs
    keys = Counter(m["Message-ID"] for _, m in box.messages)
    assert len(keys) == 300 and set(keys.values()) == {1}
    assert {n["status"] for n in lc.json("notify", "list")} == {"sent"}


def test_config_check_warns_about_reps_who_cannot_be_told(lc):
    lc("user", "add", "nomail")
    lc("notify", "setup", "--smtp-host", "127.0.0.1", "--smtp-from", "leads@example.com")
    assert "nomail has no email address" in lc("config", "check").stderr


def test_a_notification_whose_lead_changed_hands_first_is_superseded_not_sent(lc, servers):
    mailbox, hook = servers
    port = free_port()
    box, chat = mailbox(port), hook()
    team(lc, port, chat.url)
    lc.jsonl("route", "--format", "jsonl", input='{"id": "S-1"}\n{"id": "S-2"}\n{"id": "S-3"}\n')  # tom, ann, tom
    lc("reassign", "S-1", "--to", "ann")
    lc("release", "S-3")
    result = lc("notify", "send")
    assert "superseded 4" in result.stderr  # S-1 and S-3 to tom, by email and by webhook
    assert sorted(r[0] for r, _ in box.messages) == ["ann@example.com", "ann@example.com"]
    assert all("S-3" not in p[2]["text"] for p in chat.posts) and len(chat.posts) == 2
    rows = lc.json("notify", "list", "--status", "superseded")
    assert sorted((r["lead_id"], r["user"]) for r in rows) == [("S-1", "tom")] * 2 + [("S-3", "tom")] * 2


def test_the_message_has_the_leads_name_source_every_field_and_a_date(lc, servers):
    mailbox, hook = servers
    port = free_port()
    box, chat = mailbox(port), hook()
    team(lc, port, chat.url)
    lc("user", "edit", "tom", "--name", "Tom Jones")
    lead = {"id": "F-1", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "source": "facebook",
            "company": "Analytical Engines", "message": "Call me after 5", "campaign": "Winter 2026",
            "received_at": "2026-11-23T13:10:00"}
    lc.jsonl("route", "--format", "jsonl", "--clock", "received", input=json.dumps(lead) + "\n")
    lc("notify", "send")
    ((rcpt, mail),) = box.messages
    assert rcpt == ["tom@example.com"] and mail["Subject"] == "New lead: Ada Lovelace from facebook"
    assert mail["Date"] and mail["Date"].datetime is not None
    text = mail.get_content()
    for part in ("Lead F-1 is yours", "Name: Ada Lovelace", "Email: ada@example.com", "Source: facebook",
                 "company: Analytical Engines", "message: Call me after 5", "campaign: Winter 2026",
                 "Received: 2026-11-23T13:10:00+00:00", "round robin"):
        assert part in text, (part, text)
    (post,) = chat.posts
    assert post[2]["text"].startswith("Lead F-1 is for Tom Jones: your turn in the round robin")


def test_send_names_the_failure_and_a_lead_id_with_a_line_break_is_still_mailed(lc, servers):
    mailbox, _ = servers
    port = free_port()
    box = mailbox(port)
    team(lc, port, smtp_security="starttls", retry_seconds="60")  # the test server offers no STARTTLS
    lc.jsonl("route", "--format", "jsonl", input='{"id": "T-1", "name": "Eve\\r\\nBcc: x@evil.example"}\n')
    result = lc("notify", "send", ok=None)
    assert result.exit_code == 75 and len(result.stderr.splitlines()) == 1
    assert f"127.0.0.1:{port}: STARTTLS not supported by the server" in result.stderr
    assert result.stderr.rstrip().endswith("; retry in 60 s")
    lc("notify", "setup", "--smtp-security", "none")
    lc("notify", "retry", str(lc.json("notify", "list")[0]["id"]))
    assert lc("notify", "send").exit_code == 0
    ((rcpt, mail),) = box.messages
    assert rcpt == ["tom@example.com"] and mail["Subject"] == "New lead: Eve Bcc: x@evil.example"
    assert mail["Bcc"] is None


def test_notify_setup_help_names_the_table_and_the_default_security(lc):
    text = " ".join(lc("notify", "setup", "--help").stdout.replace("│", " ").split())  # the boxes' wrapping undone
    assert "[notify] table" in text and "starttls (the default" in text


def test_with_a_serve_base_url_the_message_links_to_the_lead(lc, servers):
    mailbox, hook = servers
    port = free_port()
    box, chat = mailbox(port), hook()
    team(lc, port, chat.url)
    lc.jsonl("route", "--format", "jsonl", input='{"id": "L 1/2"}\n')
    lc("notify", "send")
    assert "Open it:" not in box.messages[0][1].get_content()  # no base_url: no link
    lc.config.write_text(lc.config.read_text() + '\n[serve]\nbase_url = "https://leads.example.com/"\n')
    lc.jsonl("route", "--format", "jsonl", input='{"id": "L 3"}\n')
    lc("notify", "send")
    # the rep's email signs them in once, on the lead's page; the team channel links the page only
    mail = box.messages[1][1].get_content()
    link = re.search(r"Open it \(the link signs you in, once, within 24 hours\): (https://leads\.example\.com/signin/lcl_\S+)",
                     mail)
    assert link is not None
    (user, where), = lc.query("SELECT user_id, next_path FROM sign_ins")
    assert where == "/leads/L%203" and user == lc.json("leads", "show", "L 3")["assigned_to"]
    assert "https://leads.example.com/leads/L%203" in chat.posts[-1][2]["text"] and "signin" not in chat.posts[-1][2]["text"]
    lc.config.write_text(lc.config.read_text().replace("https://leads", "ftp://leads"))
    assert lc("config", "check", ok=None).exit_code == 2


def test_managers_hear_once_an_hour_per_group_of_leads_nobody_could_take(lc, servers):
    mailbox, _ = servers
    port = free_port()
    box = mailbox(port)
    team(lc, port)  # tom and ann in tele-sales
    lc("user", "add", "boss", "--role", "manager", "--email", "boss@example.com")
    lc("user", "add", "root-admin", "--role", "admin", "--email", "admin@example.com")
    lc("group", "member", "add", "tele-sales", "boss", "--daily", "1")
    for u in ("tom", "ann"):
        lc("group", "member", "edit", "tele-sales", u, "--daily", "1")
    lc("group", "edit", "tele-sales", "--queue")
    lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "H{i}"}}\n' for i in range(1, 6)))
    lc.jsonl("route", "--format", "jsonl", input='{"id": "H6"}\n')  # the same hour: no second alert
    lc("notify", "send")
    alerts = [m for rcpt, m in box.messages if "nobody could take" in m["Subject"]]
    assert [rcpt for rcpt, m in box.messages if "nobody could take" in m["Subject"]] == [["boss@example.com"]]
    assert "group 'tele-sales': 2 lead(s) nobody could take" in alerts[0]["Subject"]
    assert "H4" in alerts[0].get_content() and "leadctl drain" in alerts[0].get_content()
    assert [n["status"] for n in lc.json("notify", "list") if n["method"] == "alert"] == ["sent"]
