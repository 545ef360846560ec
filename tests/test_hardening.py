"""What an attacker tried (issue 20): credentials, what a rep may see, bodies and numbers
that crashed or made junk, and notifications that went wrong. Each test failed before."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests.test_serve import server, token  # noqa: F401  (the fixture, and the token helper)

STORES = ("sqlite", "postgresql")


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


# -- credentials and what a rep may see -------------------------------------------------------


def test_a_credential_field_is_never_kept_whatever_the_shape(lc, server):  # noqa: F811
    lc.team(users=("rep",))
    intake = token(lc, "web")
    rep = token(lc, "rep-phone", "--user", "rep")
    s = server()
    body = json.dumps({"id": "GK1", "google_key": intake, "api_key": "k-123", "Access-Token": "t-9", "name": "Ann"})
    assert s.post(body, token=intake)[0] == 200
    csv = "id,name,API Key,password\nGK2,Bob,k-456,hunter2\n"
    assert s.post(csv, "text/csv", intake)[0] == 200
    leads = s.request("GET", "/me/leads", headers=bearer(rep))[1]["leads"]
    assert [(x["id"], x.get("name")) for x in leads] == [("GK1", "Ann"), ("GK2", "Bob")]
    kept = json.dumps(lc.snapshot())
    for secret in (intake, "k-123", "t-9", "k-456", "hunter2"):
        assert secret not in kept and all(secret not in json.dumps(x) for x in leads)


def test_a_signature_proves_a_body_never_a_user_and_a_stale_timestamp_is_refused(lc, server):  # noqa: F401,F811
    lc("settings", "--isolate")
    lc.team(users=("rep",))
    lc("user", "edit", "rep", "--pickup")
    lc("group", "edit", "tele-sales", "--pickup-status", "new")
    signing = token(lc, "relay", "--hmac")
    token(lc, "rep-phone", "--user", "rep")
    s = server()
    empty = "sha256=" + hmac.new(signing.encode(), b"", hashlib.sha256).hexdigest()
    for method, path in (("GET", "/me/quota"), ("GET", "/me/leads"), ("POST", "/leads/L1/pickup")):
        assert s.request(method, path, headers={"X-Hub-Signature-256": empty})[0] == 401, path
    assert s.post(b"", headers={"X-Hub-Signature-256": empty})[0] == 401
    body = b'{"id": "TS1"}'

    def signed(ts: int) -> dict:
        mac = hmac.new(signing.encode(), str(ts).encode() + b"." + body, hashlib.sha256).hexdigest()
        return {"X-Hub-Signature-256": "sha256=" + mac, "X-Leadctl-Timestamp": str(ts)}

    assert s.post(body, headers=signed(int(time.time()) - 400))[0] == 401  # older than 5 minutes
    assert s.post(body, headers=signed(int(time.time())))[0] == 200
    plain = "sha256=" + hmac.new(signing.encode(), body, hashlib.sha256).hexdigest()
    assert s.post(body, headers={"X-Hub-Signature-256": plain, "X-Leadctl-Timestamp": str(int(time.time()))})[0] == 401


def test_a_token_dies_with_its_user_inactive_or_removed_and_a_namesake_does_not_inherit_it(lc, server):  # noqa: F811
    lc.team(users=("ann", "bob"))
    ann = token(lc, "ann-phone", "--user", "ann")
    s = server()
    assert s.request("GET", "/me/leads", headers=bearer(ann))[0] == 200
    lc("user", "edit", "ann", "--inactive")
    assert s.request("GET", "/me/leads", headers=bearer(ann))[0] == 401
    lc("user", "edit", "ann", "--active")
    assert s.request("GET", "/me/leads", headers=bearer(ann))[0] == 200
    removed = lc("user", "remove", "ann", "--yes")
    assert "revoked 1 token(s) of 'ann'" in removed.stderr
    lc("user", "add", "ann")  # somebody else called ann
    assert s.request("GET", "/me/leads", headers=bearer(ann))[0] == 401
    assert [t["revoked_at"] is not None for t in lc.json("token", "list")] == [True]


def test_a_revoked_tokens_name_can_be_used_again(lc):
    token(lc, "web")
    assert lc("token", "add", "web", ok=None).exit_code == 2
    lc("token", "revoke", "web")
    fresh = token(lc, "web")
    live = {t["name"]: t["revoked_at"] is None for t in lc.json("token", "list")}
    assert live.pop("web") is True
    ((old, alive),) = live.items()
    assert old.startswith("web (revoked ") and not alive
    assert fresh.startswith("lct_")


def test_an_unusable_ledger_is_a_503_that_names_no_url_and_no_password(lc, tmp_path):
    from leadctl.serve import Service, health, route_request
    from tests.ports import free_port

    url = f"postgresql://leadctl:pa%2Fs@s@127.0.0.1:{free_port()}/db?password=hunter2&sslmode=disable"
    service = Service(lc.config, url)
    for answer in (route_request(service, b'{"id": "X"}', {"content-type": "application/json"}, {}),
                   health(service)):
        assert answer.status == 503
        text = json.dumps(answer.body)
        assert "postgresql" not in text and "hunter2" not in text and "pa%2Fs" not in text and "127.0.0.1" not in text


@pytest.mark.parametrize("url, shown", [
    ("postgresql://u:pa/ss@host/db", "postgresql://u:***@host/db"),
    ("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db"),
    ("postgresql://u:a%zzb@host:5432/db", "postgresql://u:***@host:5432/db"),
    ("postgresql://u:with space@host/db", "postgresql://u:***@host/db"),
    ("postgresql://u@host/db?password=s3cret&sslmode=require", "postgresql://u@host/db?password=***&sslmode=require"),
    ("postgresql://u@host/db?sslmode=require&PASSWORD=s3cret", "postgresql://u@host/db?sslmode=require&PASSWORD=***"),
    ("postgresql://leadctl:s3cret-word@[::1", "postgresql://leadctl:***@[::1"),
    ("postgresql://host/db", "postgresql://host/db"),
])
def test_every_form_of_a_password_is_masked_in_the_url_and_in_what_quotes_it(url, shown):
    from urllib.parse import unquote

    from leadctl.redact import display, scrub, secrets_in

    assert display(url) == shown
    for secret in secrets_in(url):
        quoted = f'invalid dsn: "{secret}" near "{unquote(secret)}" in {url}'
        assert all(s not in scrub(quoted, url) for s in secrets_in(url))


@pytest.mark.sqlite_only
def test_a_failed_copy_removes_only_the_files_it_made(lc, tmp_path, monkeypatch):
    import leadctl.ledger.copy
    from leadctl.errors import LeadctlError

    lc.team(users=("a",))
    folder = tmp_path / "dir"
    folder.mkdir()
    mine = [folder / "new.db-backup-2025", folder / "new.db-notes.txt", folder / "new.dbx"]
    for f in mine:
        f.write_text("keep me")

    def interrupted(source, new):
        new.sql("CREATE TABLE scratch (x)")  # the new file exists, with SQLite's side files
        raise LeadctlError("interrupted", 1)

    monkeypatch.setattr(leadctl.ledger.copy, "copy", interrupted)
    assert lc("ledger", "copy", "--to", str(folder / "new.db"), ok=None).exit_code == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted(f.name for f in mine)
    assert all(f.read_text() == "keep me" for f in mine)


# -- bodies and parameters that crashed or made junk -------------------------------------------


def test_the_ledgers_own_columns_win_over_payload_fields_of_the_same_name(lc, server):  # noqa: F811
    lc.team(users=("tom", "ann"))
    lc("group", "add", "vip")
    intake = token(lc, "web")
    tom = token(lc, "tom-phone", "--user", "tom")
    s = server()
    assert s.post('{"id": "SP-1", "assigned_to": "ann", "group": "vip", "status": "won"}', token=intake)[0] == 200
    (lead,) = s.request("GET", "/me/leads", headers=bearer(tom))[1]["leads"]
    assert (lead["assigned_to"], lead["group"], lead["status"]) == ("tom", "tele-sales", "won")
    assert lead["fields"]["assigned_to"] == "ann" and lead["fields"]["group"] == "vip"  # kept under their names


def test_a_json_array_with_a_bad_record_routes_the_good_ones_and_a_lone_surrogate_is_a_422(lc, server):  # noqa: F811
    lc.team(users=("a",))
    intake = token(lc, "web")
    s = server()
    status, answer, _ = s.post('[{"id":"M1"},{"id":"M2","n":"\\udc00"}]', token=intake)
    assert status == 422
    assert [(o["lead_id"], o["status"]) for o in answer["outcomes"]] == [("M1", "assigned"), (None, "rejected")]
    status, answer, _ = s.post('{"name":"\\ud800"}', token=intake)
    assert status == 422 and "surrogate" in answer["outcomes"][0]["reason"]
    assert [x["id"] for x in lc.json("leads", "list")] == ["M1"]


@pytest.mark.any_store
def test_a_bad_query_value_is_a_400_naming_it(lc, server):  # noqa: F811
    from urllib.parse import quote

    lc.team(users=("a",))
    rep = token(lc, "a-phone", "--user", "a")
    s = server()  # one server for every value
    for limit in ["²", "9" * 30, "-1", "0", "abc", "1.5", ""]:
        status, answer, _ = s.request("GET", f"/me/leads?limit={quote(limit)}", headers=bearer(rep))
        assert status == 400 and "?limit must be a whole number" in answer["error"], limit
    assert s.request("GET", "/me/leads?mine=maybe", headers=bearer(rep))[0] == 400
    assert s.request("GET", "/me/leads?limit=2&mine=1", headers=bearer(rep))[0] == 200


UNSUPPORTED = [
    ("multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nP1\r\n--XX--\r\n"),
    ("application/xml", "<lead><id>P2</id></lead>"),
    ("text/xml", "<lead><id>P3</id></lead>"),
    ("text/plain", "id,email\nP4,p4@example.com\n"),
]


@pytest.mark.any_store
def test_an_unsupported_content_type_is_a_415_listing_what_is_read(lc, server):  # noqa: F811
    lc.team(users=("a",))
    intake = token(lc, "web")
    s = server()
    for kind, body in UNSUPPORTED:
        status, answer, _ = s.post(body, kind, intake)
        assert status == 415 and "application/json" in answer["error"] and "text/csv" in answer["error"], kind
    assert lc.json("leads", "list") == []


@pytest.mark.any_store
def test_a_client_that_goes_away_mid_body_is_one_log_line(lc, server):  # noqa: F811
    import socket

    lc.team(users=("a",))
    intake = token(lc, "web")
    s = server()
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", s.port)) as sock:
            sock.sendall(b"POST /leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Authorization: Bearer " + intake.encode() + b"\r\nContent-Length: 1000\r\n\r\n{\"id\":")
            time.sleep(0.2)
    time.sleep(0.5)
    assert s.get("/healthz")[0] == 200
    code, log = s.stop()
    assert "Traceback" not in log and log.count("client went away") == 3, log
    assert lc.json("leads", "list") == []


# -- notifications -----------------------------------------------------------------------------


def _notify_team(lc, smtp_port: int, *extra: str) -> None:
    lc("user", "add", "tom", "--email", "tom@example.com")
    lc.team(users=("tom",))
    lc("notify", "setup", "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp_port), "--smtp-from",
       "leads@example.com", "--smtp-security", "none", *extra)


def test_a_slow_sender_keeps_its_claims_and_a_second_sender_sends_nothing_twice(lc, monkeypatch):
    from collections import Counter
    from datetime import datetime, timedelta, timezone

    import leadctl.notify as notify
    from leadctl.config import load
    from leadctl.ledger import Ledger
    from tests.ports import free_port
    from tests.test_notify import Mailbox

    port = free_port()
    box = Mailbox(port)
    try:
        _notify_team(lc, port)
        lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "S-{i}"}}\n' for i in range(5)))
        cfg = load(lc.config)
        start = datetime.now(timezone.utc)  # the notifications were queued just now: due from here on
        ticks = iter(range(1000))
        slow_clock = lambda: start + timedelta(minutes=2 * next(ticks))  # noqa: E731  each look: 2 minutes on
        real = notify.deliver
        second: list = []

        def deliver(mailer, row, moment, rep, base_url="", sign_in=None):
            real(mailer, row, moment, rep, base_url, sign_in)
            if not second:  # while the first is slow, a second sender starts 6 minutes in
                other = Ledger.open(lc.db)
                second.append(notify.send_due(cfg, other, start + timedelta(minutes=6)))
                other.close()

        monkeypatch.setattr(notify, "deliver", deliver)
        ledger = Ledger.open(lc.db)
        first = notify.send_due(cfg, ledger, start, clock=slow_clock)
        ledger.close()
    finally:
        box.stop()
    assert first["sent"] + second[0]["sent"] == 5
    assert set(Counter(m["Message-ID"] for _, m in box.messages).values()) == {1}  # none twice


def test_a_webhook_that_redirects_is_not_counted_as_sent(lc):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    posts = []

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self):
            posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()

        def do_GET(self):  # where urllib would have gone, without the text
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=hook.serve_forever, args=(0.02,), daemon=True).start()
    try:
        lc.team(users=("tom",))
        lc("notify", "setup", "--webhook-url", f"http://127.0.0.1:{hook.server_address[1]}/hook", "--retry-seconds", "60")
        lc.jsonl("route", "--format", "jsonl", input='{"id": "R-1"}\n')
        result = lc("notify", "send", ok=None)
    finally:
        hook.shutdown()
        hook.server_close()
    assert result.exit_code == 75 and "HTTP 302" in result.stderr and "final URL" in result.stderr
    assert len(posts) == 1 and lc.json("notify", "list")[0]["status"] == "pending"


def test_a_lead_id_with_a_line_break_is_still_mailed_with_its_id_exact_in_the_text(lc):
    from tests.ports import free_port
    from tests.test_notify import Mailbox

    port = free_port()
    box = Mailbox(port)
    try:
        _notify_team(lc, port)
        for lead_id in ("ID\r\nBcc: x@evil.example", "ID\u2028two"):
            lc("route", "--format", "jsonl", "-o", "jsonl", input=json.dumps({"id": lead_id}) + "\n")
        assert lc("notify", "send").exit_code == 0
    finally:
        box.stop()
    subjects = sorted(m["Subject"] for _, m in box.messages)
    assert subjects == ["New lead: ID Bcc: x@evil.example", "New lead: ID two"]
    assert all(m["Bcc"] is None for _, m in box.messages)
    texts = sorted(m.get_content() for _, m in box.messages)
    assert "Bcc: x@evil.example is yours" in texts[0] and "Lead ID\u2028two is yours" in texts[1]  # the id, exact


# -- the admin's commands ------------------------------------------------------------------------


HUGE = [
    ["config", "restore", "--", "9" * 20], ["config", "revert", "9" * 20], ["notify", "retry", "9" * 20],
    ["leads", "list", "--limit", "9" * 20], ["notify", "list", "--limit", "9" * 20],
    ["notify", "setup", "--retry-seconds", "9" * 20], ["notify", "setup", "--max-attempts", "1000"],
    ["notify", "setup", "--smtp-port", "70000"], ["group", "member", "edit", "tele-sales", "a", "--daily", "9" * 20],
    ["group", "member", "add", "tele-sales", "b", "--weight", "9" * 12],
]


@pytest.mark.any_store
def test_a_huge_number_is_one_line_exit_2_and_changes_nothing(lc):
    lc.team(users=("a",))
    lc("user", "add", "b")
    before = (lc.config.read_text(), lc.snapshot())
    for args in HUGE:
        result = lc(*args, ok=None)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr and (lc.config.read_text(), lc.snapshot()) == before, args


def test_init_force_over_a_broken_config_keeps_its_promise_the_text_comes_back(lc):
    lc.team(users=("a",))
    broken = lc.config.read_text() + "\n[users.b\nname = 'half an edit'\n"
    lc.config.write_text(broken)
    result = lc("init", "--force", "--yes")
    assert "`leadctl config history` can bring the old one back" in result.stderr
    n = lc.json("config", "history")[-1]["n"]
    restored = lc("config", "restore", str(n), "--yes")
    assert lc.config.read_text() == broken  # exactly the text that was there, to fix in an editor
    assert "it is not a valid config" in restored.stderr and len(restored.stderr.splitlines()) == 1


@pytest.mark.any_store
def test_a_mapping_names_a_column_once_in_any_case(lc):
    before = lc.config.read_text()
    result = lc("intake", "map", "add", "m", "--map", "Record ID=id", "--map", "record id=email", ok=None)
    assert result.exit_code == 2 and "column 'record id' is named twice" in result.stderr
    assert lc.config.read_text() == before
    lc.config.write_text(before + '\n[intake.mappings.hand]\n"Record ID" = "id"\n"RECORD ID" = "email"\n')
    assert lc("config", "check", ok=None).exit_code == 2


@pytest.mark.sqlite_only
@pytest.mark.any_store
def test_a_lock_file_that_is_a_symlink_is_refused_and_its_target_never_made(lc, tmp_path):
    target = tmp_path / "elsewhere" / "planted"
    target.parent.mkdir()
    (lc.folder / ".leadctl.toml.lock").symlink_to(target)
    before = lc.config.read_text()
    result = lc("user", "add", "x", ok=None)
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not target.exists() and lc.config.read_text() == before


@pytest.mark.sqlite_only
@pytest.mark.any_store
def test_any_readable_path_is_input_a_process_substitution_and_dev_stdin(lc):
    import subprocess
    import sys

    lc.team(users=("a",))
    base = f"{sys.executable} -m leadctl --config {lc.config} --db {lc.db} route -o jsonl"
    done = subprocess.run(["bash", "-c", base + " <(printf 'id\\nP1\\n')"], capture_output=True, timeout=60)
    assert done.returncode == 0 and json.loads(done.stdout)["lead_id"] == "P1", done.stderr
    done = subprocess.run(["bash", "-c", base + " /dev/stdin"], input=b"id\nP2\n", capture_output=True, timeout=60)
    assert done.returncode == 0 and json.loads(done.stdout)["lead_id"] == "P2", done.stderr
    folder = lc("route", str(lc.folder), ok=None)
    assert folder.exit_code == 2 and "is a folder" in folder.stderr


@pytest.mark.sqlite_only
def test_a_copy_stopped_by_sigterm_leaves_no_target_behind_and_can_be_run_again(lc, tmp_path):
    import os
    import subprocess
    import sys

    lc.team(users=("a",))
    lc.jsonl("route", "--format", "jsonl", input='{"id": "C1"}\n')
    target = tmp_path / "copy.db"
    script = (  # the copy is stopped half way: the new file exists, nothing committed yet
        "import os, signal, sys, time\n"
        "import leadctl.ledger.copy as c\n"
        "real = c.copy\n"
        "def stopped(source, new):\n"
        "    new.sql('CREATE TABLE scratch (x)')\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(5)\n"
        "    return real(source, new)\n"
        "c.copy = stopped\n"
        f"sys.argv = ['leadctl', '--config', {str(lc.config)!r}, '--db', {str(lc.db)!r}, 'ledger', 'copy',"
        f" '--to', {str(target)!r}]\n"
        "from leadctl.cli import main\n"
        "main()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ})
    assert done.returncode == 1 and "SIGTERM" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not target.exists() and not any(tmp_path.glob("copy.db-*"))
    lc("ledger", "copy", "--to", str(target))  # the retry is not blocked by a half target
