"""The CRM the team works in: configured, who is who there, every change of a lead's holder
owed to each CRM in the same transaction as the change, and written back by `crm push` (and
`serve`) to a local HubSpot and Pipedrive that speak their vendors' documented calls."""

from __future__ import annotations

import json

import pytest

from tests.test_serve import server  # noqa: F401  (a fixture: servers are always stopped)

STORES = ("sqlite", "postgresql")


@pytest.fixture
def crm_team(lc):
    lc.team(users=("tom", "ann"))
    lc("crm", "add", "hub", "--kind", "hubspot", "--token-env", "HUB_TOKEN")
    lc("crm", "add", "pipe", "--kind", "pipedrive")
    return lc


@pytest.mark.any_store
def test_a_crm_is_configured_by_the_names_of_its_variables_never_its_token(crm_team, monkeypatch):
    lc = crm_team
    monkeypatch.setenv("HUB_TOKEN", "pat-na1-secret-value")
    listed = {c["name"]: c for c in lc.json("crm", "list")}
    assert listed["hub"] == {"name": "hub", "kind": "hubspot", "object": "contacts", "id_field": "id",
                             "base_url": "https://api.hubapi.com", "token_env": "HUB_TOKEN", "token_set": True,
                             "secret_env": None, "placeholder_owners": [], "mapped_users": 0}
    assert listed["pipe"]["token_env"] == "PIPE_TOKEN" and listed["pipe"]["object"] == "leads"
    assert "pat-na1-secret-value" not in lc.config.read_text() + lc("crm", "list").stdout
    text = lc.config.read_bytes()
    for args, words in ((["crm", "add", "sf", "--kind", "salesforce"], "needs --base-url"),
                        (["crm", "add", "x", "--kind", "zoho"], "zoho"),
                        (["crm", "add", "y", "--kind", "hubspot", "--token-env", "my token"], "environment variable"),
                        (["crm", "add", "hub", "--kind", "hubspot"], "exists already"),
                        (["user", "edit", "tom", "--crm", "nope=1"], "unknown crm 'nope'"),
                        (["user", "edit", "tom", "--crm", "hub"], "NAME=OWNER_ID")):
        refused = lc(*args, ok=None)
        assert refused.exit_code == 2 and words in refused.stderr, (args, refused.stderr)
    assert lc.config.read_bytes() == text
    lc("crm", "add", "sf", "--kind", "salesforce", "--base-url", "https://acme.my.salesforce.com")
    assert lc.json("crm", "list")[-1]["object"] == "Lead"


@pytest.mark.any_store
def test_who_is_who_in_each_crm_and_config_check_warns_of_the_unmapped(crm_team):
    lc = crm_team
    assert "crm 'hub': 2 user(s) have no owner id there" in lc("config", "check").stderr
    lc("user", "edit", "tom", "--crm", "hub=51234", "--crm", "pipe=17")
    owners = {r["user"]: r["owner_id"] for r in lc.json("crm", "owners", "hub")}
    assert owners == {"tom": "51234", "ann": None}
    assert "1 active user(s) without an owner id in hub: ann" in lc("crm", "owners", "hub").stderr
    assert "crm 'pipe': 1 user(s)" in lc("config", "check").stderr
    lc("user", "edit", "tom", "--crm", "pipe=")  # forgotten
    assert {r["user"]: r["owner_id"] for r in lc.json("crm", "owners", "pipe")}["tom"] is None
    lc("crm", "remove", "hub")
    assert "hub" not in lc.config.read_text()  # the owner ids there went with it
    assert lc("crm", "owners", "hub", ok=None).exit_code == 2


def test_every_change_of_holder_is_owed_to_each_crm_in_order(crm_team, monkeypatch):
    lc = crm_team
    lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "L{i}"}}\n' for i in range(1000)))
    lc("reassign", "L0", "--to", "ann")
    lc("release", "L1")
    status = {r["crm"]: r for r in lc.json("crm", "status")}
    assert status["hub"]["pending"] == status["pipe"]["pending"] == 1002 and status["pipe"]["sent"] == 0
    lc("reassign", "L2", "--to", "ann")  # overtaken before anything went: only the latest is written
    lc("reassign", "L2", "--to", "tom")
    nowhere = '\nbase_url = "http://127.0.0.1:9"'
    lc.config.write_text(lc.config.read_text().replace("[crm.hub]", "[crm.hub]" + nowhere)
                         .replace("[crm.pipe]", "[crm.pipe]" + nowhere))
    lc("user", "edit", "tom", "--crm", "hub=1", "--crm", "pipe=1")
    lc("user", "edit", "ann", "--crm", "hub=2", "--crm", "pipe=2")
    monkeypatch.setenv("HUB_TOKEN", "t")
    monkeypatch.setenv("PIPE_TOKEN", "t")
    assert lc("crm", "push", "--once", ok=None).exit_code == 75  # nobody answers there: every write waits for a retry
    writes = lc.query("SELECT crm, lead_id, owner, status FROM crm_writes ORDER BY n")
    per_lead = {}
    for crm, lead, owner, state in writes:
        per_lead.setdefault((crm, lead), []).append((owner, state))
    assert {crm for crm, _ in per_lead} == {"hub", "pipe"}  # one write per CRM for each change
    assert per_lead[("hub", "L0")] == per_lead[("pipe", "L0")] == [("tom", "superseded"), ("ann", "pending")]
    assert per_lead[("hub", "L1")] == [("ann", "superseded"), (None, "pending")]  # released: no owner
    assert [o for o, _ in per_lead[("pipe", "L2")]] == ["tom", "ann", "tom"]  # in order
    assert all(len(v) == 1 for (_, lead), v in per_lead.items() if lead not in ("L0", "L1", "L2"))
    status = {r["crm"]: r for r in lc.json("crm", "status")}
    assert (status["hub"]["pending"], status["hub"]["superseded"]) == (1000, 4)


def test_without_a_crm_nothing_is_owed(lc):
    lc.team(users=("tom",))
    lc.jsonl("route", "--format", "jsonl", input='{"id": "N1"}\n')
    assert lc.query("SELECT count(*) FROM crm_writes") == [(0,)]


TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


@pytest.fixture
def hubspot():
    from tests.crm_fakes import HubSpot

    fake = HubSpot(TOKEN, owners={"51234": "tom@example.com", "51235": "ann@example.com"})
    yield fake
    fake.stop()


def add_hubspot(lc, hubspot) -> None:
    """The local HubSpot as the CRM `hub`, with tom's and ann's owner ids there."""
    lc("crm", "add", "hub", "--kind", "hubspot", "--base-url", hubspot.url, "--token-env", "HUB_TOKEN")
    lc("user", "edit", "tom", "--crm", "hub=51234")
    lc("user", "edit", "ann", "--crm", "hub=51235")


def pushed(lc, code: int = 0):
    result = lc("crm", "push", "--once", ok=None)
    assert result.exit_code == code, result.stderr
    return result


def test_hubspot_owners_are_written_read_compare_write_in_order_per_lead(lc, hubspot, monkeypatch):
    import time

    monkeypatch.setenv("HUB_TOKEN", TOKEN)
    lc.team(users=("tom", "ann"))
    add_hubspot(lc, hubspot)
    hubspot.records.update({"101": None, "102": None, "103": None})
    lc.jsonl("route", "--format", "jsonl", input='{"id": "101"}\n{"id": "102"}\n{"id": "103"}\n')  # tom, ann, tom
    outputs = [pushed(lc)]
    assert hubspot.records == {"101": "51234", "102": "51235", "103": "51234"}
    # three due at once: one batch read, then one batch write (read, compare, write)
    assert [(m, p) for m, p, *_ in hubspot.log] == [("POST", "/crm/v3/objects/contacts/batch/read"),
                                                    ("POST", "/crm/v3/objects/contacts/batch/update")]
    lc("reassign", "102", "--to", "tom")
    lc("reassign", "102", "--to", "ann")  # before the first went: it is superseded
    hubspot.records["103"] = "99999"  # someone changed it in HubSpot
    lc("reassign", "103", "--to", "ann")
    outputs.append(pushed(lc))
    assert hubspot.writes("102") == ["51235"] and hubspot.records["103"] == "99999"  # never overwritten
    status = lc.json("crm", "status")[0]
    assert (status["sent"], status["superseded"], status["conflict"], status["pending"]) == (4, 1, 1, 0)
    conflict = lc.query("SELECT lead_id, crm_owner, last_error FROM crm_writes WHERE status = 'conflict'")
    assert conflict == [("103", "99999", "the owner in hub is 99999, set there")]
    hubspot.records["101"] = None  # emptied in HubSpot by hand
    differences = {r["lead_id"]: (r["crm_owner"], r["why"]) for r in lc.json("crm", "reconcile", "hub")}
    assert differences == {"103": ("99999", "conflict: changed in the CRM; not overwritten"),
                           "101": (None, "no owner in the CRM")}
    hubspot.records["101"] = "51234"
    hubspot.fail = [(429, {"Retry-After": "1"})]  # rate limited: waited, then retried
    lc("reassign", "101", "--to", "ann")
    outputs.append(pushed(lc, 75))
    time.sleep(1.1)
    outputs.append(pushed(lc))
    assert hubspot.records["101"] == "51235"
    lc("release", "101")  # cleared, as HubSpot still shows what leadctl wrote
    outputs.append(pushed(lc))
    assert hubspot.records["101"] is None
    monkeypatch.setenv("HUB_TOKEN", "wrong-" + TOKEN)
    lc("reassign", "102", "--to", "tom")
    refused = pushed(lc, 1)
    (error,) = lc.query("SELECT last_error FROM crm_writes WHERE status = 'failed'")[0]
    assert error.startswith("HTTP 401: Authentication credentials not found") and "\n" not in error
    everything = "".join(o.stdout + o.stderr for o in [*outputs, refused]) + repr(lc.snapshot())
    everything += "".join(repr(r) for r in lc.query("SELECT * FROM crm_writes")) + lc.config.read_text()
    assert TOKEN not in everything  # the token is in no output, no ledger row, not in the config


@pytest.mark.any_store
def test_owners_are_read_from_hubspot_and_mapped_by_email(lc, hubspot, monkeypatch):
    monkeypatch.setenv("HUB_TOKEN", TOKEN)
    lc.team(users=("tom", "ann", "zed"))
    lc("user", "edit", "tom", "--email", "Tom@Example.com")
    lc("user", "edit", "ann", "--email", "ann@example.com")
    lc("crm", "add", "hub", "--kind", "hubspot", "--base-url", hubspot.url, "--token-env", "HUB_TOKEN")
    synced = lc("crm", "owners", "hub", "--sync", "--format", "json")
    assert {r["user"]: r["owner_id"] for r in json.loads(synced.stdout)} == {"tom": "51234", "ann": "51235", "zed": None}
    assert "zed" in synced.stderr  # the unmapped are named
    assert [p for _, p, *_ in hubspot.log].count("/crm/v3/owners") == 2  # paged
    monkeypatch.delenv("HUB_TOKEN")
    assert lc("crm", "owners", "hub", "--sync", ok=None).exit_code == 2


@pytest.mark.any_store
def test_a_crm_added_back_is_written_the_holder_of_now_not_of_before(lc, hubspot, monkeypatch):
    monkeypatch.setenv("HUB_TOKEN", TOKEN)
    lc.team(users=("tom", "ann"))

    add_hubspot(lc, hubspot)
    hubspot.records.update({"201": None, "202": None})
    lc.jsonl("route", "--format", "jsonl", input='{"id": "201"}\n')  # tom: owed, not yet written
    lc("crm", "remove", "hub")
    lc("reassign", "201", "--to", "ann")  # no CRM: nothing owed for this change
    lc.jsonl("route", "--format", "jsonl", input='{"id": "202"}\n')
    add_hubspot(lc, hubspot)
    pushed(lc)
    assert hubspot.records == {"201": "51235", "202": None}  # ann, who holds it now; 202 was never owed


PIPEDRIVE_TOKEN = "0123456789abcdef0123456789abcdef01234567"  # a personal API token: in the query


@pytest.fixture
def pipedrive():
    from tests.crm_fakes import Pipedrive

    fake = Pipedrive(PIPEDRIVE_TOKEN, users={17: "tom@example.com", 18: "ann@example.com"})
    yield fake
    fake.stop()


def test_a_thousand_leads_are_written_once_to_hubspot_and_to_pipedrive_in_order(lc, hubspot, pipedrive, monkeypatch):
    monkeypatch.setenv("HUB_TOKEN", TOKEN)
    monkeypatch.setenv("PIPE_TOKEN", PIPEDRIVE_TOKEN)
    lc.team(users=("tom", "ann"))
    lc("crm", "add", "hub", "--kind", "hubspot", "--base-url", hubspot.url, "--token-env", "HUB_TOKEN")
    lc("crm", "add", "pipe", "--kind", "pipedrive", "--base-url", pipedrive.url)
    lc("user", "edit", "tom", "--crm", "hub=51234", "--crm", "pipe=17")
    lc("user", "edit", "ann", "--crm", "hub=51235", "--crm", "pipe=18")
    monkeypatch.setattr("leadctl.ledger.outbox.FAN_OUT", 300)  # made one per CRM in four parts
    ids = [str(1000 + i) for i in range(1000)]
    hubspot.records.update(dict.fromkeys(ids))
    pipedrive.leads.update(dict.fromkeys(ids))
    lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "{i}"}}\n' for i in ids))
    pushed(lc)
    assert all(len(hubspot.writes(i)) == 1 and len(pipedrive.writes(i)) == 1 for i in ids)
    assert hubspot.records["1000"] == "51234" and pipedrive.leads["1001"] == 18
    assert hubspot.calls("/batch/read") == hubspot.calls("/batch/update") == 10  # in batches of 100
    lc("reassign", "1000", "--to", "ann")  # written after the first: two writes, in order
    lc("reassign", "1001", "--to", "tom")  # overtaken before it went: superseded
    lc("reassign", "1001", "--to", "ann")
    pushed(lc)
    assert hubspot.writes("1000") == ["51234", "51235"] and pipedrive.writes("1000") == [17, 18]
    assert pipedrive.writes("1001") == [18]  # ann already: nothing more written
    assert {r["crm"]: r["superseded"] for r in lc.json("crm", "status")} == {"hub": 1, "pipe": 1}
    assert all(PIPEDRIVE_TOKEN not in repr(r) for r in lc.query("SELECT * FROM crm_writes"))


@pytest.mark.any_store
def test_a_record_missing_from_a_batch_fails_alone_and_a_batch_refused_whole_goes_one_by_one(lc, hubspot, monkeypatch):
    monkeypatch.setenv("HUB_TOKEN", TOKEN)
    lc.team(users=("tom", "ann"))
    add_hubspot(lc, hubspot)
    ids = [f"C{i}" for i in range(250)]
    hubspot.records.update({i: None for i in ids if i != "C7"})  # C7 is not in HubSpot
    lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "{i}"}}\n' for i in ids))
    pushed(lc, 1)  # a write failed
    assert all(len(hubspot.writes(i)) == 1 for i in ids if i != "C7")
    sizes = [len(b["inputs"]) for m, p, b, _ in hubspot.log if p.endswith("/batch/update")]
    assert sizes == [99, 100, 50]  # claims of 200, batches of up to 100; C7 was not written
    assert lc.query("SELECT lead_id, last_error FROM crm_writes WHERE status = 'failed'") == [
        ("C7", "no contacts 'C7' in hub")]
    for i in ("C0", "C1", "C2"):
        lc("reassign", i, "--to", "ann" if hubspot.records[i] == "51234" else "tom")
    real = hubspot.batch

    def batch(h, action, body):  # C1 goes between the read and the write: HubSpot refuses the batch whole
        if action == "update":
            hubspot.records.pop("C1", None)
        return real(h, action, body)

    hubspot.batch = batch
    pushed(lc, 1)
    calls = [(m, p.rsplit("/", 2)[-2:]) for m, p, *_ in hubspot.log][-4:]
    assert calls == [("POST", ["batch", "update"]), ("PATCH", ["contacts", "C0"]), ("PATCH", ["contacts", "C1"]),
                     ("PATCH", ["contacts", "C2"])]  # the batch refused whole, then one by one
    assert (hubspot.records["C0"], hubspot.records["C2"]) == ("51235", "51235")
    failed = dict(lc.query("SELECT lead_id, last_error FROM crm_writes WHERE status = 'failed'"))
    assert failed["C1"].startswith("HTTP 404: Object not found") and len(failed) == 2


def test_over_salesforces_api_limit_the_writes_wait_an_hour(lc, monkeypatch):
    from datetime import datetime

    from tests.crm_fakes import Salesforce

    fake = Salesforce("tok-1", users={"0055": "tom@example.com"})
    try:
        monkeypatch.setenv("CRM_TOKEN", "tok-1")
        lc.team(users=("tom",))
        lc("crm", "add", "sf", "--kind", "salesforce", "--base-url", fake.url, "--token-env", "CRM_TOKEN")
        lc("user", "edit", "tom", "--crm", "sf=0055")
        fake.records.update({"1": None, "2": None})
        lc.jsonl("route", "--format", "jsonl", input='{"id": "1"}\n{"id": "2"}\n')
        fake.limit = fake.used + 1  # the read goes; the write is over the org's daily limit
        pushed(lc, 75)
        assert fake.records == {"1": None, "2": None}
        rows = lc.query("SELECT created_at, next_at, last_error FROM crm_writes WHERE crm = 'sf'")
        for created, next_at, error in rows:
            waited = datetime.fromisoformat(next_at) - datetime.fromisoformat(created)
            assert 3590 <= waited.total_seconds() <= 3700 and "REQUEST_LIMIT_EXCEEDED" not in error
            assert error == "over the API limit (HTTP 403): TotalRequests Limit exceeded."
    finally:
        fake.stop()


def test_serve_writes_the_owner_of_a_posted_lead_to_the_crm_on_its_own(lc, hubspot, server):  # noqa: F811
    import time

    lc.team(users=("tom",))
    lc("crm", "add", "hub", "--kind", "hubspot", "--base-url", hubspot.url, "--token-env", "HUB_TOKEN")
    lc("user", "edit", "tom", "--crm", "hub=51234")
    hubspot.records["777"] = None
    secret = lc("token", "add", "web").stdout.strip()
    srv = server(env={"HUB_TOKEN": TOKEN})
    assert srv.post('{"id": "777"}', token=secret)[0] == 200
    deadline = time.monotonic() + 30
    while hubspot.records["777"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hubspot.records["777"] == "51234"
    _, log = srv.stop()
    assert "owner writes: sent=1" in log and TOKEN not in log


def test_a_hubspot_contact_creation_webhook_routes_the_contact_and_writes_its_owner(lc, hubspot, server):  # noqa: F811
    import base64
    import hashlib
    import hmac
    import time

    secret = "hubspot-app-client-secret"
    lc.team(users=("tom",))
    lc("crm", "add", "hub", "--kind", "hubspot", "--base-url", hubspot.url, "--token-env", "HUB_TOKEN",
       "--secret-env", "HUB_SECRET")
    lc("user", "edit", "tom", "--crm", "hub=51234")
    hubspot.records["9001"] = None
    hubspot.properties["9001"] = {"email": "nia@example.com", "firstname": "Nia", "createdate": "2026-12-07T10:00:00Z"}
    srv = server(env={"HUB_TOKEN": TOKEN, "HUB_SECRET": secret})
    uri = f"http://127.0.0.1:{srv.port}/crm/hub/webhook"
    body = json.dumps([{"eventId": 100, "subscriptionId": 25, "portalId": 33, "appId": 1160452, "occurredAt":
                        1796637600000, "subscriptionType": "contact.creation", "attemptNumber": 0,
                        "objectId": 9001, "changeFlag": "CREATED", "changeSource": "CRM"}])

    def signed(at_ms: int, key: str = secret, text: str | None = None) -> dict:
        mac = hmac.new(key.encode(), f"POST{uri}{body if text is None else text}{at_ms}".encode(), hashlib.sha256).digest()
        return {"X-HubSpot-Signature-v3": base64.b64encode(mac).decode(), "X-HubSpot-Request-Timestamp": str(at_ms)}

    now = int(time.time() * 1000)
    for headers in (signed(now - 6 * 60 * 1000), signed(now, "another-secret"), {}):
        status, answer, _ = srv.post(body, path="/crm/hub/webhook", headers=headers)
        assert status == 401, answer
    assert lc.query("SELECT count(*) FROM leads") == [(0,)]  # nothing stored
    status, answer, _ = srv.post(body, path="/crm/hub/webhook", headers=signed(now))
    assert status == 200 and answer["outcomes"][0]["assigned_to"] == "tom", answer
    lead = lc.json("leads", "show", "9001")
    assert (lead["email"], lead["fields"]["firstname"]) == ("nia@example.com", "Nia")
    deadline = time.monotonic() + 30
    while hubspot.records["9001"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert hubspot.records["9001"] == "51234"  # the owner written back
    again = srv.post(body, path="/crm/hub/webhook", headers=signed(int(time.time() * 1000)))
    assert again[0] == 200 and again[1]["outcomes"][0]["status"] == "skipped"  # a repeated event: nothing twice
    status, answer, _ = srv.post("not json", path="/crm/hub/webhook", headers=signed(now, text="not json"))
    assert status == 400 and "not JSON" in answer["error"]  # signed, but not HubSpot's: 400, nothing stored
    _, log = srv.stop()
    assert secret not in log and TOKEN not in log


@pytest.mark.parametrize("kind", ["salesforce", "sell"])
def test_salesforce_and_sell_owners_are_written_as_their_apis_document(lc, kind, monkeypatch):
    from tests.crm_fakes import Salesforce, Sell

    fake = (Salesforce if kind == "salesforce" else Sell)(
        "tok-123", users={"0055": "tom@example.com", "0056": "ann@example.com"} if kind == "salesforce"
        else {55: "tom@example.com", 56: "ann@example.com"})
    try:
        monkeypatch.setenv("CRM_TOKEN", "tok-123")
        lc.team(users=("tom", "ann"))
        lc("user", "edit", "tom", "--email", "tom@example.com")
        lc("user", "edit", "ann", "--email", "ann@example.com")
        placeholder = "005P" if kind == "salesforce" else "97"  # the integration user creating the records
        lc("crm", "add", "c", "--kind", kind, "--base-url", fake.url, "--token-env", "CRM_TOKEN",
           "--placeholder-owner", placeholder)
        assert lc.json("crm", "list")[0]["placeholder_owners"] == [placeholder]
        lc("crm", "owners", "c", "--sync")
        tom, ann = ("0055", "0056") if kind == "salesforce" else ("55", "56")
        assert {r["user"]: r["owner_id"] for r in lc.json("crm", "owners", "c")} == {"tom": tom, "ann": ann}
        start = {"1": "005X", "2": "005X"} if kind == "salesforce" else {"1": 99, "2": 99}
        fake.records.update(start)  # an owner from before (the integration user): not a person's
        lc.jsonl("route", "--format", "jsonl", input='{"id": "1"}\n{"id": "2"}\n')  # tom, ann
        lc("crm", "owners", "c")  # (a listing touches nothing)
        pushed(lc)  # conflicts: someone else owns them in the CRM
        assert fake.writes("1") == [] and {r["crm"]: r["conflict"] for r in lc.json("crm", "status")} == {"c": 2}
        fake.records.update({"1": None, "2": None})  # emptied there
        lc("reassign", "1", "--to", "ann")
        lc("reassign", "2", "--to", "tom")
        pushed(lc)
        if kind == "salesforce":
            assert fake.writes("1") == [{"OwnerId": ann}] and fake.records == {"1": ann, "2": tom}
            assert all(h.get("Sforce-Auto-Assign") == "FALSE" for m, _, _, h in fake.log if m == "PATCH")
        else:
            assert fake.writes("1") == [{"data": {"owner_id": 56}}] and fake.records == {"1": 56, "2": 55}
        lc("release", "1")
        pushed(lc)  # every record has an owner there: nothing cleared
        assert fake.records["1"] == (ann if kind == "salesforce" else 56)
        # owned by the integration user (or, in Salesforce, a queue: 00G…): nobody's yet, so written
        fake.records.update({"3": "005P", "4": "00G5e000001"} if kind == "salesforce" else {"3": 97, "4": 97})
        lc.jsonl("route", "--format", "jsonl", input='{"id": "3"}\n{"id": "4"}\n')
        pushed(lc)
        assert (fake.records["3"], fake.records["4"]) == ((tom, ann) if kind == "salesforce" else (55, 56))
        monkeypatch.setenv("CRM_TOKEN", "expired")
        lc("reassign", "2", "--to", "ann")
        pushed(lc, 1)
        (error,) = lc.query("SELECT last_error FROM crm_writes WHERE status = 'failed'")[0]
        assert error == ("HTTP 401: Session expired or invalid" if kind == "salesforce" else "HTTP 401: Invalid access token")
    finally:
        fake.stop()


def test_a_429_waits_as_long_as_the_crm_says():
    from email.message import Message

    from leadctl.crm.http import _retry_after

    def headers(**items):
        m = Message()
        for k, v in items.items():
            m[k.replace("_", "-")] = v
        return m

    assert _retry_after(headers(Retry_After="3")) == 3.0
    assert _retry_after(headers(X_HubSpot_RateLimit_Interval_Milliseconds="10000")) == 10.0
    assert _retry_after(headers(x_ratelimit_reset="7")) == 7.0
    assert _retry_after(headers(Retry_After="soon")) is None and _retry_after(headers()) is None
    assert _retry_after(headers(Sforce_Limit_Info="api-usage=15000/15000")) == 3600.0  # Salesforce: used up
    assert _retry_after(headers(Sforce_Limit_Info="api-usage=18/15000")) is None


def test_pipedrive_and_salesforce_webhooks_route_the_new_record(lc, server):  # noqa: F811
    import base64

    lc.team(users=("tom", "ann"))
    lc("crm", "add", "pipe", "--kind", "pipedrive", "--base-url", "http://127.0.0.1:9", "--secret-env", "PIPE_SECRET")
    lc("crm", "add", "sf", "--kind", "salesforce", "--base-url", "http://127.0.0.1:9")
    intake = lc("token", "add", "flow").stdout.strip()
    srv = server(env={"PIPE_SECRET": "pipe-secret"})
    basic = {"Authorization": "Basic " + base64.b64encode(b"leadctl:pipe-secret").decode()}
    v1 = {"v": 1, "meta": {"action": "added", "object": "lead", "id": "5c9d6e30", "v": 1},
          "current": {"id": "5c9d6e30", "title": "Acme deal", "owner_id": 17, "source_name": "API"}, "previous": None}
    v2 = {"meta": {"action": "create", "entity": "person", "entity_id": "88", "version": "2.0"},
          "data": {"id": 88, "name": "Ada", "owner_id": 18}, "previous": None}
    wrong = {"Authorization": "Basic " + base64.b64encode(b"leadctl:guess").decode()}
    assert srv.post(json.dumps(v1), path="/crm/pipe/webhook", headers=wrong)[0] == 401
    assert srv.post(json.dumps(v1), path="/crm/pipe/webhook")[0] == 401
    assert lc.query("SELECT count(*) FROM leads") == [(0,)]
    for event, lead in ((v1, "5c9d6e30"), (v2, "88")):
        status, answer, _ = srv.post(json.dumps(event), path="/crm/pipe/webhook", headers=basic)
        assert status == 200 and answer["outcomes"][0]["lead_id"] == lead, answer
    assert lc.json("leads", "show", "88")["fields"]["name"] == "Ada"
    updated = {**v1, "meta": {**v1["meta"], "action": "updated"}}
    assert srv.post(json.dumps(updated), path="/crm/pipe/webhook", headers=basic)[0] == 400  # not a new record
    status, answer, _ = srv.post('{"id": "00Q5g000001", "Company": "Acme"}', path="/crm/sf/webhook", token=intake)
    assert status == 200 and answer["outcomes"][0]["lead_id"] == "00Q5g000001"
    assert srv.post('{"id": "00Q5g000002"}', path="/crm/sf/webhook")[0] == 401  # no credentials
    owed = lc.query("SELECT lead_id FROM crm_writes ORDER BY n")  # one write each, owed to every CRM
    assert sorted(lead for (lead,) in owed) == sorted(["5c9d6e30", "88", "00Q5g000001"])
    assert {r["crm"]: r["pending"] for r in lc.json("crm", "status")} == {"pipe": 3, "sf": 3}
    _, log = srv.stop()
    assert "pipe-secret" not in log
