"""Rights at one door: every service function asks `rights` before it does anything, whichever
entrance calls it — config changes (`config.service`, not only the command line), routing
(route, watch, serve, a dry run), drain and tick, simulate — and the admins' own operations
(`notify retry`, `ledger copy`)."""

from __future__ import annotations

import pytest

from leadctl.actor import Actor


@pytest.fixture
def staffed(lc):
    lc.team(users=("tom", "rep"))
    lc("user", "edit", "tom", "--role", "trusted")
    lc("user", "add", "gone")
    lc("user", "edit", "gone", "--inactive")
    lc("settings", "--isolate")
    return lc


@pytest.mark.any_store
def test_a_config_change_asks_rights_in_the_library_itself(staffed):
    from leadctl import config
    from leadctl.config import service
    from leadctl.errors import LeadctlError
    from leadctl.ledger import Ledger

    text = staffed.config.read_bytes()
    with pytest.raises(LeadctlError, match="user 'rep' may not change the config"):
        service.change(staffed.config, Actor("rep", "web", "rep"), lambda m, c: m.edit_user(c, "rep", roles=("owner",)),
                       command="(a page)", open_ledger=lambda cfg: Ledger.open(staffed.db))
    assert staffed.config.read_bytes() == text
    new, changed = service.change(staffed.config, Actor("files", "cli"), lambda m, c: m.edit_user(c, "rep", name="Rep"),
                                  command="(a script)", open_ledger=lambda cfg: Ledger.open(staffed.db))
    assert changed and config.load(staffed.config).user("rep").name == "Rep"
    assert staffed.json("config", "history")[-1]["command"] == "(a script)"


def test_routing_draining_and_ticking_ask_at_their_door(staffed):
    before = staffed.snapshot()
    for args in (["route", "--format", "jsonl"], ["route", "--format", "jsonl", "--dry-run"], ["drain"], ["tick"]):
        refused = staffed("--as", "tom", *args, input='{"id": "X1"}\n', ok=None)
        assert refused.exit_code == 1 and "may not route leads" in refused.stderr, (args, refused.stderr)
    path = staffed.write("form.jsonl", '{"id": "X1"}\n')
    assert "may not route leads" in staffed("--as", "tom", "watch", str(path), "--once", ok=None).stderr
    gone = staffed("--as", "gone", "route", "--format", "jsonl", input='{"id": "X1"}\n', ok=None)
    assert gone.exit_code == 1 and "not active" in gone.stderr
    assert staffed.snapshot() == before
    assert staffed.jsonl("--as", "rep", "route", "--format", "jsonl", input='{"id": "X1"}\n')[0]["status"] == "assigned"


def test_simulate_and_the_admins_operations_ask_too(staffed):
    proposed = staffed.write("proposed.toml", staffed.config.read_text())
    gone = staffed("--as", "gone", "simulate", "--proposed", str(proposed), ok=None)
    assert gone.exit_code == 1 and "not active" in gone.stderr
    for args in (["notify", "retry", "--failed"], ["ledger", "copy", "--to", str(staffed.folder / "copy.db")]):
        refused = staffed("--as", "rep", *args, ok=None)
        assert refused.exit_code == 2 and "may not change the config" in refused.stderr, args
    assert not (staffed.folder / "copy.db").exists()
