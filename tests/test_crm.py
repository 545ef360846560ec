"""The CRM the team works in: configured, who is who there, and every change of a lead's holder
owed to each CRM in the same transaction as the change (issue 34, first part: the writing
itself, `crm push`, comes next)."""

from __future__ import annotations

import pytest

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
                             "secret_env": None, "mapped_users": 0}
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


def test_every_change_of_holder_is_owed_to_each_crm_in_order(crm_team):
    lc = crm_team
    lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "L{i}"}}\n' for i in range(1000)))
    lc("reassign", "L0", "--to", "ann")
    lc("release", "L1")
    writes = lc.query("SELECT crm, lead_id, owner, status FROM crm_writes ORDER BY n")
    assert len(writes) == 2 * 1000 + 2 * 2
    per_lead = {}
    for crm, lead, owner, status in writes:
        per_lead.setdefault((crm, lead), []).append(owner)
        assert status == "pending"
    assert per_lead[("hub", "L0")] == per_lead[("pipe", "L0")] == ["tom", "ann"]  # in order
    assert per_lead[("hub", "L1")] == ["ann", None]  # released: no owner
    assert all(len(v) == 1 for (_, lead), v in per_lead.items() if lead not in ("L0", "L1"))
    status = {r["crm"]: r for r in lc.json("crm", "status")}
    assert status["hub"]["pending"] == 1002 and status["pipe"]["sent"] == 0


def test_without_a_crm_nothing_is_owed(lc):
    lc.team(users=("tom",))
    lc.jsonl("route", "--format", "jsonl", input='{"id": "N1"}\n')
    assert lc.query("SELECT count(*) FROM crm_writes") == [(0,)]
