"""Set-up commands and the config file: validation, refusals, atomic writes."""

from __future__ import annotations

import json
import os
import stat
import tomllib

import pytest

from leadctl import config as cfgmod
from leadctl.errors import ConfigError


def test_init_writes_a_starter_config_and_ledger_readable_by_owner_only(lc):
    assert lc.config.exists() and lc.db.exists()
    assert stat.S_IMODE(lc.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(lc.db.stat().st_mode) == 0o600
    data = tomllib.loads(lc.config.read_text())
    assert data["settings"]["timezone"] == "UTC" and "users" not in data


def test_init_refuses_to_overwrite_without_force(lc):
    lc("user", "add", "tom")
    before = lc.config.read_bytes()
    result = lc("init", ok=False)
    assert result.exit_code == 2 and "--force" in result.stderr
    assert lc.config.read_bytes() == before
    lc("init", "--force", "--yes")
    assert "users" not in tomllib.loads(lc.config.read_text())


def test_init_that_cannot_make_the_ledger_writes_no_config(tmp_path):
    from tests.conftest import Leadctl

    tool = Leadctl(tmp_path)
    tool.db = tmp_path / "missing-folder" / "x.db"
    result = tool("init", ok=False)
    assert result.exit_code == 2 and "cannot create ledger" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_users_and_groups_round_trip_through_the_file(lc):
    lc("user", "add", "tom", "--name", "Tom", "--email", "tom@example.com", "--role", "trusted", "--pickup")
    lc("group", "add", "tele-sales", "--method", "weighted", "--record-type", "lead", "--pickup-status", "new",
       "--pickup-status", "no-answer")
    lc("group", "member", "add", "tele-sales", "tom", "--daily", "10", "--monthly", "200", "--weight", "5")
    users = lc.json("user", "list")
    assert users == [{"id": "tom", "name": "Tom", "email": "tom@example.com", "role": "trusted", "roles": ["trusted"],
                      "pickup": True, "reassign": False, "os_user": "tom", "active": True, "groups": ["tele-sales"],
                      "timezone": "UTC", "hours": None, "daily": 0, "monthly": 0, "tags": []}]
    show = lc.json("group", "show", "tele-sales")
    assert show["method"] == "weighted" and show["pickup_statuses"] == ["new", "no-answer"]
    assert show["members"][0]["daily_limit"] == 10 and show["members"][0]["weight"] == 5
    lc("group", "member", "edit", "tele-sales", "tom", "--daily", "0")
    assert lc.json("group", "show", "tele-sales")["members"][0]["daily_limit"] == 0
    lc("user", "edit", "tom", "--inactive")
    assert lc.json("user", "list")[0]["active"] is False


def test_the_tests_team_is_what_the_admins_commands_make(lc, tmp_path):
    """Most tests set their team up in one library write (conftest `team`): it must be the
    very config that the commands make one by one, and route the same."""
    from dataclasses import replace

    from tests.conftest import Leadctl, leads_csv

    by_commands = Leadctl(tmp_path / "cli")
    by_commands.folder.mkdir()
    by_commands("init")
    lc("user", "add", "tom", "--email", "tom@example.com")
    by_commands("user", "add", "tom", "--email", "tom@example.com")
    lc.team(users=("tom", "stephanie", "lewis"), method="weighted", daily="2", weight="3")
    by_commands.team_by_commands(users=("tom", "stephanie", "lewis"), method="weighted", daily="2", weight="3")
    assert cfgmod.load(lc.config) == replace(cfgmod.load(by_commands.config), path=lc.config)
    routed = [[r["assigned_to"] for r in tool.jsonl("route", "--clock", "received", input=leads_csv(9))]
              for tool in (lc, by_commands)]
    assert routed[0] == routed[1] and set(routed[0]) == {"tom", "stephanie", "lewis", None}


def test_defaults_are_as_the_contract_says(lc):
    lc("user", "add", "ann")
    lc("group", "add", "g")
    lc("group", "member", "add", "g", "ann")
    assert lc.json("user", "list")[0]["role"] == "standard"
    assert lc.json("user", "list")[0]["pickup"] is False
    group = lc.json("group", "list")[0]
    assert group["method"] == "sequential" and group["record_type"] == "lead"
    member = lc.json("group", "show", "g")["members"][0]
    assert (member["daily_limit"], member["monthly_limit"], member["weight"]) == (0, 0, 1)


def test_new_member_joins_at_the_end(lc):
    lc.team(users=("a", "b"))
    lc("user", "add", "c")
    lc("group", "member", "add", "tele-sales", "c")
    assert [m["user"] for m in lc.json("group", "show", "tele-sales")["members"]] == ["a", "b", "c"]


@pytest.mark.parametrize("args, message", [
    (["group", "member", "add", "g", "tom", "--daily", "-1"], "--daily must be a whole number from 0 to 1,000,000,000"),
    (["group", "member", "add", "g", "tom", "--weight", "-3"], "--weight must be a whole number"),
    (["group", "member", "add", "g", "tom", "--monthly", "2.5"], "Invalid value for '--monthly'"),
    (["group", "member", "add", "g", "nobody"], "unknown user 'nobody'"),
    (["group", "member", "add", "nogroup", "tom"], "unknown group 'nogroup'"),
    (["group", "member", "add", "g", "ann"], "already a member"),
    (["group", "member", "edit", "g", "ann", "--daily", "-5"], "--daily must be a whole number"),
    (["group", "member", "edit", "g", "tom", "--daily", "5"], "'tom' is not a member of group 'g'"),
    (["user", "add", "ann"], "user 'ann' already exists"),
    (["user", "add", "bad name"], "not a valid name"),
    (["user", "add", "x", "--role", "boss"], "unknown role 'boss'"),
    (["user", "edit", "ghost", "--inactive"], "unknown user 'ghost'"),
    (["group", "add", "g"], "group 'g' already exists"),
    (["group", "add", "h", "--method", "fastest"], "Invalid value for '--method'"),
    (["group", "edit", "nope", "--method", "random"], "unknown group 'nope'"),
    (["settings", "--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["settings", "--duplicates", "email,fax"], "unknown field 'fax'"),
    (["rule", "add", "--group", "nope", "--when", "source=x"], "unknown group 'nope'"),
    (["rule", "add", "--group", "g", "--when", "source"], "must look like FIELD=VALUE"),
    (["rule", "remove", "7"], "there is no rule 7"),
    (["rule", "default", "nope"], "unknown group 'nope'"),
    (["group", "remove", "g"], "used by rule 1"),
])
def test_bad_commands_exit_2_with_one_line_and_change_nothing(lc, args, message):
    lc("user", "add", "ann")
    lc("user", "add", "tom")
    lc("group", "add", "g")
    lc("group", "member", "add", "g", "ann")
    lc("rule", "add", "--group", "g", "--when", "source=facebook")
    config_before, db_before = lc.config.read_bytes(), lc.db.read_bytes()
    result = lc(*args, ok=False)
    assert result.exit_code == 2
    if message:
        assert message in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert lc.config.read_bytes() == config_before
    assert lc.db.read_bytes() == db_before


def test_removing_a_user_takes_them_out_of_every_group(lc):
    lc.team(users=("a", "b"))
    lc("group", "add", "other")
    lc("group", "member", "add", "other", "a")
    lc("user", "remove", "a", "--yes")
    assert [u["id"] for u in lc.json("user", "list")] == ["b"]
    assert [g["members"] for g in lc.json("group", "list")] == [["b"], []]


def test_rules_list_in_order_and_remove_by_number(lc):
    lc.team(users=("a",))
    lc("group", "add", "ads")
    lc("rule", "add", "--group", "ads", "--when", "source=google-ads", "--when", "type=lead")
    lc("rule", "add", "--group", "tele-sales", "--when", "source=facebook")
    assert lc.json("rule", "list") == [
        {"number": 1, "group": "ads", "when": {"source": "google-ads", "type": "lead"}, "default": False,
         "require_tags": [], "strict_tags": False, "territories": False},
        {"number": 2, "group": "tele-sales", "when": {"source": "facebook"}, "default": False,
         "require_tags": [], "strict_tags": False, "territories": False},
        {"number": None, "group": "tele-sales", "when": None, "default": True, "require_tags": [], "strict_tags": False, "territories": False},
    ]
    lc("rule", "remove", "1")
    assert [r["group"] for r in lc.json("rule", "list")] == ["tele-sales", "tele-sales"]


def test_rules_go_in_at_a_position_move_and_match_any_of_several_values(lc):
    lc.team(users=("a", "b"))
    for g, u in (("partners", "a"), ("ads", "b")):
        lc("group", "add", g)
        lc("group", "member", "add", g, u)
    lc("rule", "add", "--group", "ads", "--when", "source=google-ads")
    lc("rule", "add", "--group", "partners", "--when", "source = Partner | referral", "--at", "1")
    assert [(r["number"], r["group"], r["when"]) for r in lc.json("rule", "list")] == [
        (1, "partners", {"source": "Partner|referral"}), (2, "ads", {"source": "google-ads"}),
        (None, "tele-sales", None)]
    out = lc.jsonl("route", input="id,source\nR1,referral\nR2,partner\nR3,google-ads\nR4,web\n")
    assert [o["group"] for o in out] == ["partners", "partners", "ads", "tele-sales"]
    lc("rule", "move", "2", "--to", "1")
    assert [r["group"] for r in lc.json("rule", "list")] == ["ads", "partners", "tele-sales"]
    for bad in (["rule", "move", "3", "--to", "1"], ["rule", "move", "1", "--to", "0"],
                ["rule", "add", "--group", "ads", "--when", "source=x", "--at", "4"],
                ["rule", "add", "--group", "ads", "--when", "source=x|"]):
        before = lc.config.read_text()
        result = lc(*bad, ok=None)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, (bad, result.stderr)
        assert lc.config.read_text() == before
    csv_out = lc("rule", "list", "--format", "csv").stdout.splitlines()
    assert csv_out[0] == "number,group,when,default,require_tags,strict_tags,territories"
    assert csv_out[-1] == "default,tele-sales,(no rule matches),true,,false,false"


def test_a_rule_whose_group_takes_another_type_is_passed_over_for_the_next_that_fits(lc):
    lc.team(users=("a", "b"))
    lc("group", "add", "accounts", "--record-type", "contact")
    lc("group", "member", "add", "accounts", "b")
    lc("rule", "add", "--group", "tele-sales", "--when", "source=web")
    lc("rule", "add", "--group", "accounts", "--when", "type=contact")
    out = lc.jsonl("route", input="id,type,source\nC1,contact,web\nL1,lead,web\nD1,deal,web\n", ok=None)
    assert [(o["lead_id"], o["status"], o["group"]) for o in out] == [
        ("C1", "assigned", "accounts"), ("L1", "assigned", "tele-sales"), ("D1", "rejected", "tele-sales")]
    assert "a deal cannot go to group 'tele-sales', which takes leads" in out[2]["reason"]


def test_settings_show_and_change(lc):
    lc("settings", "--timezone", "Europe/London", "--duplicates", "email,phone", "--isolate",
       "--assign-to-creator")
    got = json.loads(lc("settings", "--format", "json").stdout)
    assert got == {"timezone": "Europe/London", "duplicates": ["email", "phone"], "isolate": True,
                   "assign_to_creator": True, "phone_region": None,
                   "closed_statuses": ["won", "lost", "converted", "closed", "junk"], "date_format": None,
                   "match_domains": False, "retain_days": 0}
    lc("settings", "--no-duplicates", "--no-isolate")
    got = json.loads(lc("settings", "--format", "json").stdout)
    assert got["duplicates"] == [] and got["isolate"] is False and got["assign_to_creator"] is True


def test_config_check_warns_when_every_member_has_a_cap(lc):
    lc.team(users=("a", "b"), daily="5")
    result = lc("config", "check")
    assert "every active member of group 'tele-sales' has a cap" in result.stderr
    lc("group", "member", "edit", "tele-sales", "b", "--daily", "0")
    assert "has a cap" not in lc("config", "check").stderr


@pytest.mark.parametrize("text, message", [
    ("[settings]\ntimezone = 'Nowhere/Land'\n", "unknown time zone"),
    ("[users.tom]\nrole = 'boss'\n", "unknown role 'boss'"),
    ("[users.tom]\n[groups.g]\nmembers = [{user = 'tom', daily = -1}]\n", "daily must be a whole number"),
    ("[users.tom]\n[groups.g]\nmembers = [{user = 'tom', daily = 1.5}]\n", "'daily' must be a whole number"),
    ("[users.tom]\n[groups.g]\nmembers = [{user = 'tom', dayly = 1}]\n", "unknown key 'dayly'"),
    ("[groups.g]\nmembers = [{user = 'ghost'}]\n", "member 'ghost' is not a user"),
    ("[groups.g]\nmethod = 'psychic'\n", "unknown method 'psychic'"),
    ("[routing]\ndefault_group = 'nope'\n", "unknown group 'nope'"),
    ("users = 3\n", "must be a table"),
    ("this is not toml", "invalid TOML"),
])
def test_a_broken_config_file_is_named_with_its_fault(lc, text, message):
    lc.config.write_text(text)
    result = lc("config", "check", ok=False)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_missing_config_says_how_to_make_one(tmp_path):
    from tests.conftest import Leadctl

    result = Leadctl(tmp_path)("user", "list", ok=False)
    assert result.exit_code == 2 and "leadctl init" in result.stderr


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    cfgmod.write_atomic(path, "old = 1\n")

    def boom(*_a):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        cfgmod.write_atomic(path, "new = 2\n")
    assert path.read_text() == "old = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.toml"]  # no temp file left behind


def test_save_refuses_an_invalid_config_before_touching_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[users.a]\n")
    cfg = cfgmod.load(path)
    bad = cfgmod.Config(path=path, users=cfg.users, groups=(cfgmod.Group("g", members=(cfgmod.Member("zed"),)),))
    with pytest.raises(ConfigError, match="'zed' is not a user"):
        cfgmod.save(bad)
    assert path.read_text() == "[users.a]\n"


def test_config_and_ledger_from_environment_and_the_ledger_key(tmp_path):
    from typer.testing import CliRunner

    from leadctl.cli import app

    runner = CliRunner()
    team = tmp_path / "team"
    team.mkdir()
    env = {"LEADCTL_CONFIG": str(team / "sales.toml"), "LEADCTL_DB": ""}
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    assert (team / "sales.toml").exists() and (team / "leadctl.db").exists()  # beside the config
    text = (team / "sales.toml").read_text().replace('# ledger = "leadctl.db"', 'ledger = "data/ledger.db"')
    (team / "data").mkdir()
    (team / "sales.toml").write_text(text)
    assert runner.invoke(app, ["user", "add", "ann"], env=env).exit_code == 0
    runner.invoke(app, ["group", "add", "g"], env=env)
    runner.invoke(app, ["group", "member", "add", "g", "ann"], env=env)
    result = runner.invoke(app, ["route", "--group", "g", "--output", "jsonl"], input="id\nE1\n", env=env)
    assert result.exit_code == 0, result.stderr
    assert (team / "data" / "ledger.db").exists()  # the config's ledger key, relative to the config
    other = tmp_path / "other.db"
    result = runner.invoke(app, ["route", "--group", "g", "--output", "jsonl"], input="id\nE2\n",
                           env={**env, "LEADCTL_DB": str(other)})
    assert result.exit_code == 0 and other.exists()  # LEADCTL_DB wins over the ledger key


def test_an_edit_that_changes_nothing_writes_nothing_and_says_so(lc):
    lc.team(users=("a",))
    before = lc.config.read_bytes()
    mtime = lc.config.stat().st_mtime_ns
    for args in (["group", "edit", "tele-sales"], ["user", "edit", "a"], ["settings", "--timezone", "UTC"],
                 ["group", "member", "edit", "tele-sales", "a", "--daily", "0"]):
        result = lc(*args)
        assert "nothing to change" in result.stderr and "updated" not in result.stderr
    assert lc.config.read_bytes() == before and lc.config.stat().st_mtime_ns == mtime


def test_an_unknown_user_in_a_filter_is_a_usage_error(lc):
    lc.team(users=("tom",))
    for args in (["leads", "list", "--owner", "tomm"], ["report", "--user", "tomm"]):
        result = lc(*args, ok=None)
        assert result.exit_code == 2 and "unknown user 'tomm'" in result.stderr
    assert lc.json("leads", "list", "--owner", "TOM") == []  # any case names the user


def test_config_check_warns_when_there_is_no_group_at_all(lc):
    result = lc("config", "check")
    assert "no group yet" in result.stderr


def test_group_show_names_who_is_next_off_a_terminal_too(lc):
    lc.team(users=("a", "b"))
    lc.jsonl("route", input="id\nX1\n")
    lines = lc("group", "show", "tele-sales").stdout.splitlines()
    assert lines[0].split("\t")[-1] == "next"
    assert [line.split("\t")[1::5] for line in lines[1:]] == [["a", ""], ["b", "next"]]


@pytest.mark.parametrize("bad", ["tom", "tom@", "@example.com", "tom@example", "tom at example.com",
                                 "a@b@example.com", "Tom <tom@example.com>"])
def test_an_email_that_is_no_address_is_refused_and_changes_nothing(lc, bad):
    lc("user", "add", "ann", "--email", "ann@example.com")
    before = lc.config.read_text()
    for args in (["user", "add", "tom", "--email", bad], ["user", "edit", "ann", "--email", bad]):
        result = lc(*args, ok=None)
        assert result.exit_code == 2 and "does not look like an email address" in result.stderr, args
    assert lc.config.read_text() == before


def test_a_weight_in_a_group_that_does_not_use_weights_is_a_warning(lc):
    lc.team(users=("a", "b"))
    result = lc("group", "member", "edit", "tele-sales", "a", "--weight", "10")
    assert "warning: group 'tele-sales' is sequential: the weight is kept" in result.stderr
    assert "the weights of a count only in a weighted group" in lc("config", "check").stderr
    lc("group", "edit", "tele-sales", "--method", "weighted")
    assert "weight" not in lc("group", "member", "edit", "tele-sales", "b", "--weight", "5").stderr
