"""Who may do what: every row of the README's "Who may do what" table, on both ledgers."""

from __future__ import annotations

import getpass
import re

import pytest

from tests.conftest import REPO
from tests.test_serve import server  # noqa: F401  (a fixture: servers started here are always stopped)

STORES = ("sqlite", "postgresql")

ROLES = ("owner", "admin", "manager", "trusted", "standard")


def staff(lc) -> None:
    """A team (a, b), and one user per role: ada-owner, ada-admin, ..."""
    lc.team(users=("a", "b"))
    for role in ROLES:
        lc("user", "add", f"u-{role}", "--role", role)


def unchanged(lc):
    """What must be the same after a refused command: the config's bytes and every ledger row."""
    return lc.config.read_bytes(), lc.snapshot()


def test_only_owners_and_admins_change_the_config_and_a_refusal_names_actor_and_right(lc):
    staff(lc)
    for daily, role in enumerate(ROLES, 1):
        before = unchanged(lc)
        result = lc("--as", f"u-{role}", "group", "member", "edit", "tele-sales", "a", "--daily", str(daily), ok=None)
        if role in ("owner", "admin"):
            assert result.exit_code == 0
            assert lc.json("config", "history")[-1]["actor"] == f"u-{role}"
        else:
            assert result.exit_code == 2 and unchanged(lc) == before, role
            assert result.stderr.count("\n") == 1 and f"u-{role}" in result.stderr and "owner or admin" in result.stderr


CONFIG_CHANGES = [
    ["settings", "--isolate"], ["user", "add", "zed"], ["user", "edit", "a", "--role", "owner"],
    ["user", "remove", "b", "--yes"], ["group", "add", "inbound"], ["group", "remove", "tele-sales", "--yes"],
    ["rule", "add", "--group", "tele-sales", "--when", "source=web"], ["rule", "default", "tele-sales"],
    ["token", "add", "web"], ["token", "revoke", "web"], ["notify", "setup", "--webhook-url", "https://chat.example.com/hook"],
    ["intake", "map", "add", "fb", "--map", "Full Name=name"], ["config", "restore", "1", "--yes"],
    ["config", "revert", "1", "--yes"], ["init", "--force", "--yes"],
]


def test_every_config_change_is_refused_to_a_manager(lc):
    staff(lc)
    lc("token", "add", "web")
    before = unchanged(lc)
    for command in CONFIG_CHANGES:
        result = lc("--as", "u-manager", *command, ok=None)
        assert result.exit_code == 2 and "may not change the config" in result.stderr, (command, result.stderr)
        assert unchanged(lc) == before, command


@pytest.mark.any_store
def test_a_trusted_rep_cannot_demote_a_manager_but_an_admin_can(lc):
    staff(lc)
    assert lc("--as", "u-trusted", "user", "edit", "u-manager", "--role", "standard", ok=None).exit_code == 2
    assert lc.json("user", "list")[-3]["roles"] == ["manager"]
    lc("--as", "u-admin", "user", "edit", "u-manager", "--role", "standard")
    assert next(u for u in lc.json("user", "list") if u["id"] == "u-manager")["roles"] == ["standard"]


@pytest.mark.any_store
def test_an_unknown_as_is_a_usage_error_and_changes_nothing(lc):
    staff(lc)
    before = unchanged(lc)
    result = lc("--as", "nobody-at-all", "group", "member", "edit", "tele-sales", "a", "--daily", "0", ok=None)
    assert result.exit_code == 2 and "'nobody-at-all' is not a leadctl user" in result.stderr
    assert unchanged(lc) == before
    assert lc("--as", "U-ADMIN", "user", "add", "zed").exit_code == 0  # any case names the user


@pytest.mark.parametrize("who, may", [("u-owner", True), ("u-admin", True), ("u-manager", True), ("u-trusted", False),
                                      ("u-standard", False), ("rep-with-reassign", True)])
def test_reassign_and_release_need_the_permission_or_manager_and_above(lc, who, may):
    staff(lc)
    lc("user", "add", "rep-with-reassign", "--reassign")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "R1"}\n{"id": "R2"}\n')
    before = unchanged(lc)
    moved = lc("--as", who, "reassign", "R1", "--to", "b", ok=None)
    released = lc("--as", who, "release", "R2", ok=None)
    if may:
        assert moved.exit_code == released.exit_code == 0
        assert [lead["assigned_to"] for lead in lc.json("leads", "list")] == ["b", None]
    else:
        assert moved.exit_code == released.exit_code == 1 and unchanged(lc) == before
        assert f"user '{who}' may not reassign or release" in moved.stderr and "reassign permission" in released.stderr


def test_pick_up_is_for_oneself_unless_a_manager(lc):
    lc("user", "add", "a", "--pickup")
    lc("user", "add", "b", "--pickup")
    lc("user", "add", "boss", "--role", "manager")
    lc("group", "add", "pool", "--pickup-status", "new")
    for u in ("a", "b"):
        lc("group", "member", "add", "pool", u)
    lc("user", "edit", "a", "--inactive")
    lc("user", "edit", "b", "--inactive")  # nobody active: the leads stay unassigned, to be picked up
    lc.jsonl("route", "--group", "pool", "--format", "jsonl", input='{"id": "P1", "status": "New"}\n'
                                                                     '{"id": "P2", "status": "new"}\n')
    lc("user", "edit", "a", "--active")
    lc("user", "edit", "b", "--active")
    refused = lc("--as", "a", "pickup", "P1", "--user", "b", ok=None)
    assert refused.exit_code == 1 and "only for themselves" in refused.stderr
    assert lc("--as", "a", "pickup", "P1").exit_code == 0  # --user defaults to the acting user
    assert lc("--as", "boss", "pickup", "P2", "--user", "b").exit_code == 0
    history = lc.json("leads", "show", "P2")["history"]
    assert (history[-1]["assigned_to"], history[-1]["method"], history[-1]["actor"]) == ("b", "pickup", "boss")


def test_abc_a_manager_who_is_also_trusted_sees_everything_a_trusted_rep_only_their_own(lc):
    """Seed 004: roles add up; with isolation on, trusted employees see only their own leads,
    managers and owners everything, also a Manager + Trusted Employee."""
    lc("user", "add", "mia", "--role", "manager", "--role", "trusted")
    lc("user", "add", "tess", "--role", "trusted")
    lc("user", "add", "sam")
    lc.team(users=("mia", "tess", "sam"))
    lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "L{i}"}}\n' for i in range(1, 7)))
    lc("settings", "--isolate")
    ids = lambda who: [lead["id"] for lead in lc.json("leads", "list", "--as", who)]  # noqa: E731
    assert lc.json("user", "list")[0]["roles"] == ["manager", "trusted"]
    assert ids("mia") == ids("sam") == [f"L{i}" for i in range(1, 7)]
    assert ids("tess") == ["L2", "L5"]
    assert lc("--as", "tess", "leads", "show", "L1", ok=None).exit_code == 1  # not hers: unknown to her


def test_the_os_account_acts_as_the_user_it_is_tied_to(lc, monkeypatch):
    monkeypatch.delenv("LEADCTL_USER", raising=False)
    staff(lc)
    account = getpass.getuser()
    lc("user", "edit", "u-standard", "--os-user", account)
    refused = lc("group", "member", "edit", "tele-sales", "a", "--daily", "3", ok=None)  # no --as: the OS account
    assert refused.exit_code == 2 and "u-standard" in refused.stderr
    monkeypatch.setenv("LEADCTL_USER", "u-admin")  # the variable comes before the account
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "3")
    assert lc.json("config", "history")[-1]["actor"] == "u-admin"


@pytest.mark.any_store
def test_roles_are_kept_in_the_file_and_a_bad_role_is_refused(lc):
    lc("user", "add", "mia", "--role", "trusted", "--role", "manager", "--role", "trusted")
    assert 'roles = ["manager", "trusted"]' in lc.config.read_text()
    lc("user", "edit", "mia", "--role", "admin")  # replaces the set
    assert lc.json("user", "list")[0]["roles"] == ["admin"] and 'role = "admin"' in lc.config.read_text()
    before = unchanged(lc)
    bad = lc("user", "edit", "mia", "--role", "boss", ok=None)
    assert bad.exit_code == 2 and "unknown role 'boss'" in bad.stderr and unchanged(lc) == before


def test_no_right_is_decided_outside_rights_py():
    """Rights are decided in one function per question (leadctl/domain/rights.py): no other module
    reads a user's roles or permissions (the config keeps them; `user list` shows them)."""
    offenders = []
    for path in sorted((REPO / "leadctl").rglob("*.py")):
        if path.name == "rights.py" or path.parent.name == "config" or path.name == "users.py":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\.roles\b", r"\.role\b", r"(user|u)\.reassign\b", r"\buser\.pickup\b",
                        r"\"(manager|admin|owner|trusted)\" in"):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(REPO)}: {pattern}")
    assert offenders == [], offenders


def test_serve_a_users_token_has_that_users_rights_and_view(lc, server):
    """Through `serve`: a token bound to a user acts as that user (rights.py decides, as on the
    command line); it cannot post leads; every user sees the pools."""
    import json

    from tests.test_serve import token

    staff(lc)
    lc("user", "add", "tess", "--role", "trusted", "--reassign")
    lc("user", "add", "rr", "--reassign")
    lc("group", "member", "add", "tele-sales", "tess")
    lc("settings", "--isolate")
    intake = token(lc, "web")
    keys = {u: token(lc, f"t-{u}", "--user", u) for u in ("u-manager", "u-standard", "tess", "rr")}
    s = server()
    status, answer, _ = s.post("".join(json.dumps({"id": f"L{i}"}) + "\n" for i in range(1, 5)),
                               "application/x-ndjson", intake)
    assert status == 200 and [o["assigned_to"] for o in answer["outcomes"]] == ["a", "b", "tess", "a"]
    status, answer, _ = s.post('{"id": "X1"}', token=keys["u-standard"])
    assert status == 403 and "cannot post leads" in answer["error"]

    def call(method: str, path: str, who: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        return s.request(method, path, data, {"Authorization": f"Bearer {keys[who]}", "Content-Type": "application/json"})

    status, answer, _ = call("GET", "/pools", "tess")
    assert status == 200 and answer["pools"] == [{"name": "tele-sales", "record_type": "lead", "method": "sequential",
                                                  "members": ["a", "b", "tess"]}]
    assert call("GET", "/leads/L1", "tess")[0] == 404  # isolation: not hers, as if it were not there
    status, answer, _ = call("GET", "/leads/L3", "tess")
    assert status == 200 and answer["assigned_to"] == "tess" and answer["history"][0]["method"] == "sequential"
    assert call("GET", "/leads/L1", "u-manager")[0] == 200

    status, answer, _ = call("POST", "/leads/L1/reassign", "u-standard", {"to": "b"})
    assert status == 403 and "may not reassign or release" in answer["error"]
    assert call("POST", "/leads/L1/reassign", "tess", {"to": "b"})[0] == 404  # may reassign, may not see it
    status, answer, _ = call("POST", "/leads/L1/reassign", "rr", {"to": "b", "note": "speaks German"})
    assert status == 200 and (answer["assigned_to"], answer["method"]) == ("b", "manual")
    status, answer, _ = call("POST", "/leads/L4/reassign", "u-manager", {"to": "tele-sales"})  # a pool
    assert status == 200 and (answer["assigned_to"], answer["method"]) == ("b", "sequential")
    assert call("POST", "/leads/L2/release", "u-standard", {})[0] == 403
    status, answer, _ = call("POST", "/leads/L2/release", "u-manager", {"note": "wrong region"})
    assert status == 200 and answer["assigned_to"] is None
    assert call("POST", "/leads/L2/reassign", "u-manager", {"to": 5})[0] == 400
    history = lc.json("leads", "show", "L1")["history"]
    assert [(h["assigned_to"], h["method"], h["actor"], h["via"], h["note"]) for h in history] == [
        ("a", "sequential", "token:web", "api, token web", None),
        ("b", "manual", "user:rr", "api, token t-rr", "speaks German")]
    code, log = s.stop()
    assert code == 0 and "Traceback" not in log


def test_the_history_says_through_what_each_change_was_made(lc, monkeypatch):
    monkeypatch.delenv("LEADCTL_USER", raising=False)
    staff(lc)
    account = getpass.getuser()
    lc("user", "add", "own", "--role", "manager", "--os-user", account)
    lc.jsonl("route", "--format", "jsonl", input='{"id": "V1"}\n')
    lc("--as", "u-manager", "reassign", "V1", "--to", "b")  # an --as that is not this account's own user
    lc("release", "V1")  # no --as: the user tied to the account
    events = lc.json("leads", "show", "V1")["history"]
    assert [(e["actor"], e["via"]) for e in events] == [
        ("own", f"cli, os {account}"), ("u-manager", f"cli, os {account}"), ("own", f"cli, os {account}")]
    lc("--as", "u-admin", "rule", "default", "tele-sales", ok=None)
    lc("--as", "u-admin", "group", "add", "inbound")
    last = lc.json("config", "history")[-1]
    assert (last["actor"], last["via"]) == ("u-admin", f"cli, os {account}")
