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
    import leadctl.ledger_copy
    from leadctl.errors import LeadctlError

    lc.team(users=("a",))
    folder = tmp_path / "dir"
    folder.mkdir()
    mine = [folder / "new.db-backup-2025", folder / "new.db-notes.txt", folder / "new.dbx"]
    for f in mine:
        f.write_text("keep me")

    def interrupted(source, new):
        new.conn.execute("CREATE TABLE scratch (x)")  # the new file exists, with SQLite's side files
        raise LeadctlError("interrupted", 1)

    monkeypatch.setattr(leadctl.ledger_copy, "copy", interrupted)
    assert lc("ledger", "copy", "--to", str(folder / "new.db"), ok=None).exit_code == 1
    assert sorted(p.name for p in folder.iterdir()) == sorted(f.name for f in mine)
    assert all(f.read_text() == "keep me" for f in mine)
