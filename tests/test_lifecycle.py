"""The lead's life after routing: its status, the holder's first contact, closed statuses."""

from __future__ import annotations

import json

import pytest

from tests.test_serve import server  # noqa: F401  (a fixture: servers are always stopped)

STORES = ("sqlite", "postgresql")


def test_the_first_status_change_after_an_assignment_is_the_holders_first_contact(lc):
    lc.team(users=("a", "b"))
    lc("user", "add", "boss", "--role", "manager")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "F1"}\n{"id": "F2"}\n')
    assert lc.json("leads", "show", "F1")["first_contact_at"] is None
    lc("--as", "a", "leads", "status", "F1", "Contacted", "--note", "left a voicemail")
    first = lc.json("leads", "show", "F1")
    assert first["status"] == "Contacted" and first["first_contact_at"] == first["history"][-1]["at"]
    assert (first["history"][-1]["method"], first["history"][-1]["actor"], first["history"][-1]["note"]) == (
        "status", "a", "left a voicemail")
    lc("--as", "a", "leads", "status", "F1", "qualified")
    assert lc.json("leads", "show", "F1")["first_contact_at"] == first["first_contact_at"]  # the first one counts
    lc("reassign", "F1", "--to", "b")
    assert lc.json("leads", "show", "F1")["first_contact_at"] is None  # a new holder: their clock starts
    assert lc.json("leads", "list", "--status", "QUALIFIED")[0]["id"] == "F1"  # statuses in any case
    assert "its status changed: status Contacted -> qualified" in lc("leads", "explain", "F1").stdout
    by_method = {r["method"]: r["count"] for r in lc.json("report", "--by", "method")}
    assert by_method == {"sequential": 2, "manual": 1}  # a status change is no assignment


def test_a_rep_sets_the_status_of_their_own_leads_only_and_nothing_changes_on_a_refusal(lc):
    lc.team(users=("a", "b"))
    lc("user", "add", "boss", "--role", "manager")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "G1"}\n{"id": "G2"}\n')
    before = lc.snapshot()
    refused = lc("--as", "a", "leads", "status", "G2", "won", ok=None)  # b's lead
    assert refused.exit_code == 1 and "their own leads only" in refused.stderr and lc.snapshot() == before
    unknown = lc("leads", "status", "NOPE", "won", ok=None)
    assert unknown.exit_code == 1 and "unknown lead 'NOPE'" in unknown.stderr and lc.snapshot() == before
    assert lc("leads", "status", "G1", ok=None).exit_code == 2  # no status given
    lc("--as", "boss", "leads", "status", "G1", "G2", "won")
    assert [x["status"] for x in lc.json("leads", "list")] == ["won", "won"]


@pytest.mark.any_store
def test_closed_statuses_are_a_setting(lc):
    assert lc.json("settings")["closed_statuses"] == ["won", "lost", "converted", "closed", "junk"]
    lc("settings", "--closed-statuses", "won,lost,Dead")
    assert lc.json("settings")["closed_statuses"] == ["won", "lost", "Dead"]
    assert lc("settings", "--closed-statuses", " , ", ok=None).exit_code == 2


def test_serve_a_rep_sets_the_status_of_their_own_lead(lc, server):  # noqa: F811
    from tests.test_serve import token

    lc.team(users=("a", "b"))
    lc.jsonl("route", "--format", "jsonl", input='{"id": "H1"}\n{"id": "H2"}\n')
    key = token(lc, "a-phone", "--user", "a")
    s = server()

    def post(path: str, body: dict):
        return s.request("POST", path, json.dumps(body).encode(),
                         {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})

    status, answer, _ = post("/leads/H1/status", {"status": "contacted", "note": "called"})
    assert status == 200 and answer["reason"] == "contacted"
    status, answer, _ = post("/leads/H2/status", {"status": "won"})
    assert status == 403 and "their own leads only" in answer["error"]
    assert post("/leads/H1/status", {})[0] == 400
    code, _ = s.stop()
    shown = lc.json("leads", "show", "H1")
    assert shown["status"] == "contacted" and shown["first_contact_at"] and shown["history"][-1]["via"] == "api, token a-phone"


def test_report_counts_assignments_by_source_or_by_any_field_of_the_lead(lc):
    lc.team(users=("a", "b"))
    lc.jsonl("route", "--format", "jsonl", input=(
        '{"id": "R1", "source": "facebook", "Campaign": "winter"}\n'
        '{"id": "R2", "source": "facebook", "Campaign": "summer"}\n'
        '{"id": "R3", "source": "web", "campaign": "winter"}\n'
        '{"id": "R4"}\n'))
    lc("leads", "status", "R1", "contacted")  # no assignment: not counted
    by_source = lc.json("report", "--by", "source")
    assert [(r["source"], r["count"]) for r in by_source] == [("facebook", 2), ("web", 1), (None, 1)]
    assert by_source[0]["by_method"] == {"sequential": 2}
    by_campaign = {r["campaign"]: r["count"] for r in lc.json("report", "--by", "field:campaign")}
    assert by_campaign == {"winter": 2, "summer": 1, None: 1}  # the name in any case; R4 has none
    bad = lc("report", "--by", "colour", ok=None)
    assert bad.exit_code == 2 and "field:NAME" in bad.stderr
