"""`leadctl serve` as a real server in a subprocess on a free loopback port, spoken to over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import tempfile
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from leadctl.ledger import Ledger
from tests.clients import Posters
from tests.conftest import run_cli
from tests.ports import free_port

STORES = ("sqlite", "postgresql")  # every test taking `lc` runs on both ledgers


class Server:
    def __init__(self, lc, *extra: str, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The log goes to a file, not a pipe: a pipe nobody reads fills (64 KiB of 503 lines in
        # an outage) and the server's next log line would wait for it.
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db), "serve",
             "--port", str(self.port), *extra],
            stdout=subprocess.DEVNULL, stderr=self.log, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the server did not start: " + self.stop()[1])

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null"), dict(exc.headers)

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, body: bytes | str, content_type: str = "application/json", token: str | None = None,
             path: str = "/leads", headers: dict | None = None):
        h = {"Content-Type": content_type, **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        return self.request("POST", path, body.encode() if isinstance(body, str) else body, h)

    def stop(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.seek(0)
        return self.proc.returncode, self.log.read().decode()


@pytest.fixture
def server(lc):
    started: list[Server] = []

    def start(*extra: str, env: dict | None = None) -> Server:
        started.append(Server(lc, *extra, env=env))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def token(lc, name: str = "web", *extra: str) -> str:
    result = lc("token", "add", name, *extra)
    return result.stdout.strip()


def test_token_add_prints_it_once_and_the_ledger_keeps_only_a_hash(lc):
    lc.team(users=("a",))
    secret = token(lc)
    assert secret.startswith("lct_") and len(secret) > 30
    assert lc.json("token", "list") == [{"name": "web", "kind": "bearer", "user": None,
                                         "created_at": lc.json("token", "list")[0]["created_at"], "revoked_at": None}]
    stored = repr(lc.snapshot()).encode() + (lc.db.read_bytes() if not isinstance(lc.db, str) else b"")
    assert secret.encode() not in stored and secret not in lc.config.read_text()
    again = lc("token", "add", "web", ok=None)
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_each_body_type_is_routed_and_answered_with_routes_fields(lc, server):
    lc.team(users=("a", "b"))
    secret = token(lc)
    s = server()
    fields = ["line", "lead_id", "status", "assigned_to", "group", "method", "reason"]
    cases = [
        ('{"id": "J1", "email": "j1@example.com"}', "application/json", ["J1"]),
        ('[{"id": "A1"}, {"id": "A2"}]', "application/json", ["A1", "A2"]),
        ('{"id": "N1"}\n{"id": "N2"}\n', "application/x-ndjson", ["N1", "N2"]),
        ("id,email\nC1,c1@example.com\n", "text/csv", ["C1"]),
        ("id=F1&email=f1%40example.com", "application/x-www-form-urlencoded", ["F1"]),
    ]
    for body, kind, ids in cases:
        status, answer, _ = s.post(body, kind, secret)
        assert status == 200, (kind, answer)
        assert [o["lead_id"] for o in answer["outcomes"]] == ids
        assert all(list(o) == fields and o["status"] == "assigned" for o in answer["outcomes"])
    assert lc.json("leads", "show", "F1")["email"] == "f1@example.com"
    assert lc.json("leads", "show", "J1")["history"][0]["actor"] == "token:web"  # which token brought it


def test_status_codes(lc, server):
    lc.team(users=("a",))
    secret = token(lc)
    s = server("--max-body", "200")
    assert s.post('[{"id": "S1"}, {"id": "S2", "type": "spaceship"}]', token=secret)[0] == 422
    status, answer, _ = s.post('{"id": "S3"', token=secret)
    assert status == 400 and "not JSON" in answer["error"]
    assert s.post('{"id": "S4"}')[0] == 401
    assert s.post('{"id": "S4"}', token="lct_wrong")[0] == 401
    assert s.post(json.dumps([{"id": f"B{i}"} for i in range(20)]), token=secret)[0] == 413
    assert s.post('{"id": "S5"}', token=secret, path="/leads?group=nosuch")[0] == 400
    assert [x["id"] for x in lc.json("leads", "list")] == ["S1"]  # the rest of a 422 body is routed; nothing else


def test_a_repeated_delivery_is_skipped_and_never_assigned_twice(lc, server):
    lc.team(users=("a", "b"))
    secret = token(lc)
    s = server()
    first = s.post('{"id": "R1"}', token=secret)
    again = s.post('{"id": "R1"}', token=secret)
    assert first[0] == again[0] == 200
    assert again[1]["outcomes"][0]["status"] == "skipped"
    assert len(lc.json("leads", "show", "R1")["history"]) == 1


def test_signed_requests_and_a_revoked_token(lc, server):
    lc.team(users=("a",))
    secret = token(lc, "fb", "--hmac")
    bearer = token(lc, "web")
    s = server()
    body = b'{"id": "H1"}'
    good = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert s.post(body, headers={"X-Hub-Signature-256": good})[0] == 200
    bad = "sha256=" + hmac.new(b"not the secret", body, hashlib.sha256).hexdigest()
    assert s.post(b'{"id": "H2"}', headers={"X-Hub-Signature-256": bad})[0] == 401
    assert s.post(b'{"id": "H3"}', headers={"X-Hub-Signature-256": good})[0] == 401  # signed another body
    assert s.post(b'{"id": "H5"}', headers={"X-Hub-Signature-256": "sha256=\xe9\xff"})[0] == 401  # not a 500
    assert s.post(b'{"id": "H6"}', headers={"Authorization": "Bearer \xe9"})[0] == 401
    lc("token", "revoke", "web")
    assert s.post('{"id": "H4"}', token=bearer)[0] == 401  # from the next request on, no restart


def test_a_google_ads_webhook_authenticates_with_its_key_in_the_body(lc, server):
    from pathlib import Path

    lc.team(users=("a",))
    secret = token(lc, "google-ads")
    s = server()
    payload = json.loads((Path(__file__).parent / "data" / "google-ads.jsonl").read_text())
    assert s.post(json.dumps(payload))[0] == 401  # the sample's own key is not a token here
    payload["google_key"] = secret
    status, answer, _ = s.post(json.dumps(payload))
    assert status == 200 and answer["outcomes"][0]["lead_id"] == "GA-TeSter-123ABC"
    assert "google_key" not in lc.json("leads", "show", "GA-TeSter-123ABC")


def test_a_locked_ledger_answers_503_with_retry_after(lc, server):
    lc.team(users=("a",))
    secret = token(lc)
    s = server(env={"LEADCTL_BUSY_TIMEOUT": "0.3"})
    holder = Ledger.open(lc.db)  # another writer holds the ledger
    held = holder.write()
    held.__enter__()
    try:
        status, _, headers = s.post('{"id": "L1"}', token=secret)
    finally:
        held.__exit__(None, None, None)
        holder.close()
    assert status == 503 and {k.lower(): v for k, v in headers.items()}.get("retry-after") == "2"
    assert s.post('{"id": "L1"}', token=secret)[0] == 200  # the sender's retry goes through


@pytest.mark.sqlite_only
def test_while_another_writer_holds_the_ledger_a_lead_waits_and_everything_else_is_answered(lc, server):
    """Rounds are routed on the event loop when the file is free; while another writer holds
    it, a lead waits its turn in the intake thread and the server goes on answering."""
    lc.team(users=("a",))
    secret = token(lc)
    s = server(env={"LEADCTL_BUSY_TIMEOUT": "20"})
    assert s.post('{"id": "L0"}', token=secret)[0] == 200  # (the event loop's own connection is open)
    holder = Ledger.open(lc.db)  # another writer (a `route`, another node) holds the ledger
    held = holder.write()
    held.__enter__()
    answer: list = []
    waiting = threading.Thread(target=lambda: answer.append(s.post('{"id": "L1", "email": "x@y.z"}', token=secret)))
    try:
        waiting.start()
        time.sleep(0.5)
        started = time.monotonic()
        assert s.get("/healthz")[0] == 200
        assert s.post('{"id": "L2"}', token="not-a-token")[0] == 401  # refused at once, nothing to wait for
        assert time.monotonic() - started < 2 and not answer  # L1 still waits for the file
    finally:
        held.__exit__(None, None, None)
        holder.close()
    waiting.join(30)
    status, body, _ = answer[0]
    assert status == 200 and body["outcomes"][0]["assigned_to"] == "a"
    assert [r["id"] for r in lc.json("leads", "list")].count("L1") == 1


def test_serve_and_route_share_one_rotation_and_admin_edits_apply_without_restart(lc, server):
    lc.team(users=("a", "b"))
    lc("user", "add", "c")
    secret = token(lc)
    s = server()
    assert lc.jsonl("route", "--format", "jsonl", input='{"id": "X1"}\n')[0]["assigned_to"] == "a"
    assert s.post('{"id": "X2"}', token=secret)[1]["outcomes"][0]["assigned_to"] == "b"
    lc("group", "member", "add", "tele-sales", "c")
    assert s.post('{"id": "X3"}', token=secret)[1]["outcomes"][0]["assigned_to"] == "c"
    assert lc.jsonl("route", "--format", "jsonl", input='{"id": "X4"}\n')[0]["assigned_to"] == "a"


def test_two_servers_and_a_router_on_one_ledger_share_one_rotation_and_exact_caps(lc, server):
    """Two `serve` processes taking single leads from ten clients while a `route` imports a
    file into the same ledger: every lead recorded once, every post answered 200, the capped
    member stopped at the cap exactly, and one rotation across all three processes (the two
    uncapped members end within one lead of each other). On SQLite the servers' rounds run on
    their event loops and go to their intake threads while another process holds the file."""
    from collections import Counter

    from tests.conftest import leads_csv
    from tests.test_parallel import events, finish, router

    lc.team(users=("a", "b", "c"))
    lc("group", "member", "edit", "tele-sales", "a", "--monthly", "300")  # (the servers' clock: now)
    secret = token(lc)
    servers = [server(), server()]
    answered: list[tuple[str, int]] = []

    def client(n: int) -> None:
        srv = servers[n % 2]
        for i in range(100):
            lead = f"S{n}-{i}"
            answered.append((lead, srv.post(json.dumps({"id": lead}), token=secret)[0]))

    routing = router(lc, lc.write("R.csv", leads_csv(3000, prefix="R")), "--clock", "now")
    clients = [threading.Thread(target=client, args=(n,)) for n in range(10)]
    for t in clients:
        t.start()
    outcomes = finish([routing])
    for t in clients:
        t.join(timeout=120)
    assert len(outcomes) == 3000 and sorted({status for _, status in answered}) == [200] and len(answered) == 1000
    got = events(lc)
    ids = [lead for lead, _ in got]
    assert len(ids) == len(set(ids)) == 4000 and {lead for lead, _ in answered} <= set(ids)
    held = Counter(user for _, user in got)
    assert held["a"] == 300 and abs(held["b"] - held["c"]) <= 1 and held["b"] + held["c"] == 3700
    assert lc("ledger", "check").exit_code == 0


def test_sigterm_during_a_stream_of_requests_loses_no_acknowledged_lead(lc, server):
    lc.team(users=("a", "b"))
    secret = token(lc)
    s = server()
    posters = Posters([s], secret, "T", 4, most=2000)
    posters.wait_for(40, 30)  # the stream is flowing: stop it
    code, log = s.stop()
    posters.stop()
    acknowledged = posters.acknowledged
    assert acknowledged, log
    assert code == 0 and "stopped" in log and "Traceback" not in log
    stored = dict(lc.query("SELECT lead_id, count(*) FROM events GROUP BY lead_id"))
    assert all(stored.get(lead) == 1 for lead in acknowledged)  # every 200 is in the ledger, once


def test_healthz_says_when_the_config_cannot_be_used(lc, server):
    lc.team(users=("a",))
    s = server()
    assert s.get("/healthz")[:2] == (200, {"ok": True})
    lc.config.write_text(lc.config.read_text() + "\n[broken\n")
    status, answer, _ = s.get("/healthz")
    assert status == 503 and answer["ok"] is False


@pytest.mark.any_store
def test_run_cli_help_names_serve(lc):
    assert b"serve" in run_cli("--help").stdout


def test_a_reps_token_sees_what_isolation_allows_and_picks_up_by_the_rules(lc, server):
    lc.team(users=("trusty", "boss"))
    lc("settings", "--isolate")
    lc("user", "edit", "trusty", "--role", "trusted", "--pickup")
    lc("user", "edit", "boss", "--role", "manager")
    lc("group", "edit", "tele-sales", "--pickup-status", "new")
    intake = token(lc, "web")
    rep = token(lc, "trusty-phone", "--user", "trusty")
    manager = token(lc, "boss-laptop", "--user", "boss")
    s = server()
    s.post('[{"id": "M1"}, {"id": "M2"}, {"id": "M3"}]', token=intake)  # trusty, boss, trusty
    lc("release", "M3")
    seen = lambda tok: [x["id"] for x in s.request("GET", "/me/leads", headers={"Authorization": f"Bearer {tok}"})[1]["leads"]]  # noqa: E731
    assert seen(rep) == ["M1"]  # a trusted rep sees only their own
    assert seen(manager) == ["M1", "M2", "M3"]  # a manager sees all
    status, _, _ = s.request("GET", "/me/leads", headers={"Authorization": f"Bearer {intake}"})
    assert status == 403  # an intake-only token cannot read leads
    quota = s.request("GET", "/me/quota", headers={"Authorization": f"Bearer {rep}"})[1]["quota"]
    assert [(q["group"], q["user"], q["daily_used"]) for q in quota] == [("tele-sales", "trusty", 2)]
    took = s.request("POST", "/leads/M3/pickup", headers={"Authorization": f"Bearer {rep}"})
    assert took[0] == 200 and took[1]["assigned_to"] == "trusty"
    refused = s.request("POST", "/leads/M2/pickup", headers={"Authorization": f"Bearer {rep}"})
    assert refused[:2] == (404, {"error": "unknown lead 'M2'"})  # boss's lead: as if it were not there
    assert s.request("POST", "/leads/NOPE/pickup", headers={"Authorization": f"Bearer {rep}"})[0] == 404
    assert seen(rep) == ["M1", "M3"]
    lc("settings", "--no-isolate")  # a rep who may see it is told it is taken, not by whom
    refused = s.request("POST", "/leads/M2/pickup", headers={"Authorization": f"Bearer {rep}"})
    assert refused[0] == 409 and "not unassigned" in refused[1]["error"] and "boss" not in refused[1]["error"]


@pytest.mark.any_store
def test_a_port_already_taken_is_one_line_and_exit_2(lc):
    lc.team(users=("a",))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--config", str(lc.config), "--db", str(lc.db), "serve", "--port", str(port), timeout=60)
    assert result.returncode == 2 and result.stderr.decode().startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.any_store
def test_json_sent_as_a_form_is_read_as_json_and_an_empty_body_is_never_a_200(lc, server):
    """`curl -d '{...}'` labels JSON as a form: it is routed as JSON. A body that yields no
    record is a 400 that says what came and what to send, and nothing is kept."""
    lc.team(users=("a",))
    secret = token(lc)
    s = server()
    status, answer, _ = s.post('{"id":"API-9","email":"api9@example.com"}', "application/x-www-form-urlencoded", secret)
    assert status == 200 and [(o["lead_id"], o["assigned_to"]) for o in answer["outcomes"]] == [("API-9", "a")]
    assert lc.json("leads", "show", "API-9")["email"] == "api9@example.com"
    for body, kind in (("id,email\n", "text/csv"), ("", "application/json"), ("[]", "application/json"),
                       ("=", "application/x-www-form-urlencoded")):
        status, answer, _ = s.post(body, kind, secret)
        assert status == 400, (body, kind, answer)
        assert "no record in the request" in answer["error"] and "Content-Type: application/json" in answer["error"]
    assert [x["id"] for x in lc.json("leads", "list")] == ["API-9"]


@pytest.mark.any_store
def test_the_log_has_a_line_per_answer_with_time_client_and_token(lc, server):
    import re

    lc.team(users=("a",))
    secret = token(lc, "website")
    s = server()
    assert s.post('{"id": "G1"}', token=secret)[0] == 200
    assert s.post('{"id": "G2"}', token="lct_wrong")[0] == 401
    assert s.get("/nowhere")[0] == 404
    assert s.get("/leads")[0] == 405
    code, log = s.stop()
    lines = [x for x in log.splitlines() if " /" in x and "listening" not in x]
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d 127\.0\.0\.1"
    assert re.fullmatch(stamp + r" token=website POST /leads 200 [\d.]+ms assigned=1", lines[-4]), lines
    assert re.fullmatch(stamp + r" token=- POST /leads 401 [\d.]+ms", lines[-3]), lines
    assert re.fullmatch(stamp + r" token=- GET /nowhere 404 [\d.]+ms", lines[-2]), lines
    assert re.fullmatch(stamp + r" token=- GET /leads 405 [\d.]+ms", lines[-1]), lines
    assert "G1" not in log and secret not in log
