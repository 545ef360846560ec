"""The admin's day: edits that keep comments, changes that can be undone, who did what and why."""

from __future__ import annotations

import difflib
import json
import shutil

from tests.conftest import REPO


def hand_written(lc):
    """The shipped, hand-commented sample config as this test's config."""
    shutil.copy(REPO / "sample-config.toml", lc.config)
    text = lc.config.read_text().replace('ledger = "sample-ledger.db"', 'ledger = "leadctl.db"')
    lc.config.write_text(text)
    return text


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_five_commands_on_a_hand_commented_config_change_only_their_lines(lc):
    before = hand_written(lc)
    lc("settings", "--timezone", "Europe/Paris")
    lc("user", "edit", "lewis", "--name", "Lewis G.")
    lc("group", "edit", "advisors", "--method", "sequential")
    lc("group", "member", "edit", "tele-sales", "stephanie", "--daily", "6")
    lc("rule", "default", "advisors")
    after = lc.config.read_text()
    assert changed_lines(before, after) == [
        '-timezone = "Europe/London"           # IANA zone: daily/monthly caps count calendar days here',
        '+timezone = "Europe/Paris"           # IANA zone: daily/monthly caps count calendar days here',
        '-name = "Lewis Grant"',
        '+name = "Lewis G."',
        '-daily = 4',
        '+daily = 6',
        '-method = "weighted"                  # seniority: weight 10 gets twice the leads of weight 5',
        '+method = "sequential"                  # seniority: weight 10 gets twice the leads of weight 5',
        '-default_group = "tele-sales"         # where records that match no rule go',
        '+default_group = "advisors"         # where records that match no rule go',
    ]
    assert [x for x in before.splitlines() if x.lstrip().startswith("#")] == \
        [x for x in after.splitlines() if x.lstrip().startswith("#")]  # every comment line kept


def test_adding_and_removing_keeps_the_rest_of_the_file(lc):
    before = hand_written(lc)
    lc("user", "add", "zoe", "--name", "Zoë")
    lc("group", "member", "add", "tele-sales", "zoe", "--daily", "2")
    lc("group", "member", "remove", "tele-sales", "zoe")
    lc("user", "remove", "zoe", "--yes")
    after = lc.config.read_text()
    assert all(line in after.splitlines() for line in before.splitlines() if line.strip())
    assert "zoe" not in after


def test_config_history_lists_every_change_and_restore_brings_back_a_removed_group(lc):
    hand_written(lc)
    lc("user", "add", "sam", "--role", "admin")
    lc("rule", "remove", "1")
    lc("--as", "sam", "group", "remove", "advisors", "--yes")
    history = lc.json("config", "history")
    assert [(h["actor"], h["command"]) for h in history][-2:] == [
        (history[-2]["actor"], "leadctl rule remove 1"), ("sam", "leadctl group remove advisors --yes")]
    assert "advisors" not in [g["name"] for g in lc.json("group", "list")]
    n = history[-1]["n"]
    refused = lc("config", "restore", str(n), ok=None)  # off a terminal it needs --yes
    assert refused.exit_code == 2 and "--yes" in refused.stderr
    lc("config", "restore", str(n), "--yes")
    groups = {g["name"]: g for g in lc.json("group", "list")}
    assert groups["advisors"]["members"] == ["priya", "marco"]
    assert "# senior" in lc.config.read_text()  # the very text that was there, comments and all
    assert lc.json("config", "history")[-1]["command"] == f"leadctl config restore {n} --yes"


def test_config_revert_undoes_one_change_alone_and_keeps_the_later_ones(lc):
    lc.team(users=("a", "b"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "5")          # change N
    n = lc.json("config", "history")[-1]["n"]
    lc("user", "add", "c", "--email", "c@example.com")                        # later, elsewhere
    lc("group", "member", "add", "tele-sales", "c")                            # later, the member order
    lc("group", "member", "edit", "tele-sales", "b", "--monthly", "40")       # later, b's cap
    lc("config", "revert", str(n), "--yes")
    members = {m["user"]: (m["daily_limit"], m["monthly_limit"]) for m in lc.json("group", "show", "tele-sales")["members"]}
    assert members == {"a": (0, 0), "b": (0, 40), "c": (0, 0)}  # only a's cap undone
    assert [m["user"] for m in lc.json("group", "show", "tele-sales")["members"]] == ["a", "b", "c"]
    assert lc.json("config", "history")[-1]["command"] == f"leadctl config revert {n} --yes"
    # undoing the revert is a revert too
    lc("config", "revert", str(lc.json("config", "history")[-1]["n"]), "--yes")
    assert lc.json("group", "show", "tele-sales")["members"][0]["daily_limit"] == 5


def test_config_revert_names_the_later_change_in_the_way_and_changes_nothing(lc):
    lc.team(users=("a", "b"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "5")
    n = lc.json("config", "history")[-1]["n"]
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "7")
    m = lc.json("config", "history")[-1]["n"]
    before = lc.config.read_text()
    result = lc("config", "revert", str(n), "--yes", ok=None)
    assert result.exit_code == 2
    assert result.stderr == (f"error: change {m} (`leadctl group member edit tele-sales a --daily 7`) also changed"
                             f" groups.tele-sales.members.a.daily: revert it first, or rewind both with"
                             f" `leadctl config restore {n}`\n")
    assert lc.config.read_text() == before
    lc("user", "add", "z")
    z = lc.json("config", "history")[-1]["n"]
    lc("group", "member", "add", "tele-sales", "z")
    gone = lc("config", "revert", str(z), "--yes", ok=None)  # z is a member now: z cannot go alone
    assert gone.exit_code == 2 and lc.json("user", "list")[-1]["id"] == "z"
    assert gone.stderr == f"error: change {z} cannot be undone alone: leadctl.toml: group 'tele-sales': member 'z' is not a user\n"


def test_restoring_an_unknown_change_is_a_usage_error(lc):
    result = lc("config", "restore", "99", "--yes", ok=None)
    assert result.exit_code == 2 and "no change 99" in result.stderr


def test_every_event_records_its_actor_and_note(lc, monkeypatch):
    lc.team(users=("a", "b"))
    lc("user", "add", "ann", "--role", "manager")
    lc("user", "add", "router-bot")
    monkeypatch.setenv("LEADCTL_USER", "router-bot")  # a leadctl user the cron job acts as
    lc("route", "--format", "jsonl", "-o", "jsonl", input='{"id": "N1"}\n')
    monkeypatch.delenv("LEADCTL_USER")
    lc("--as", "ann", "reassign", "N1", "--to", "b", "--note", "b speaks German")
    lc("release", "N1", "--note", "wrong region", input=None)
    history = lc.json("leads", "show", "N1")["history"]
    assert [(h["actor"], h["note"]) for h in history[:2]] == [("router-bot", None), ("ann", "b speaks German")]
    assert history[2]["note"] == "wrong region" and history[2]["actor"]  # the OS user when no --as


def test_the_actor_comes_from_leadctl_user(lc, monkeypatch):
    lc.team_by_commands(users=("a", "ops-cron"))
    monkeypatch.setenv("LEADCTL_USER", "ops-cron")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "E1"}\n')
    assert lc.json("leads", "show", "E1")["history"][0]["actor"] == "ops-cron"
    assert lc.json("config", "history")[-1]["actor"] != "ops-cron"  # set before the variable


def test_why_denise_got_it_capped_members_are_passed_over(lc):
    lc.team()
    for u in ("tom", "stephanie", "lewis"):
        lc("group", "member", "edit", "tele-sales", u, "--daily", "1")
    data = "".join(json.dumps({"id": f"FB-{i:04d}"}) + "\n" for i in range(1, 6))
    out = lc.jsonl("route", "--format", "jsonl", input=data)
    assert out[4]["assigned_to"] == "denise"
    shown = lc.json("leads", "show", "FB-0005")
    assert "passed_over" not in shown and "passed_over" not in lc.json("leads", "list", "--all-fields")[4]
    event = shown["history"][0]
    assert event["passed_over"] == [{"user": "tom", "why": "daily cap"}, {"user": "stephanie", "why": "daily cap"},
                                    {"user": "lewis", "why": "daily cap"}]
    words = lc("leads", "explain", "FB-0005").stdout
    assert "denise" in words and "tom (daily cap), stephanie (daily cap), lewis (daily cap)" in words
    lc("user", "edit", "tom", "--inactive")
    lc("reassign", "FB-0005", "--to-group", "tele-sales", "--note", "rebalance")
    last = lc.json("leads", "show", "FB-0005")["history"][-1]
    assert {"user": "tom", "why": "inactive"} in last["passed_over"] and last["note"] == "rebalance"
    assert "rebalance" in lc("leads", "explain", "FB-0005").stdout


def test_explain_an_unassigned_lead_and_an_unknown_one(lc):
    lc.team(users=("a",), daily="1")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "X1"}\n{"id": "X2"}\n')
    assert "Nobody has it" in lc("leads", "explain", "X2").stdout
    result = lc("leads", "explain", "nope", ok=None)
    assert result.exit_code == 1 and "unknown lead 'nope'" in result.stderr


def test_init_force_keeps_the_replaced_config_in_the_history(lc):
    lc.team(users=("a",))
    before = lc.config.read_text()
    lc("init", "--force", "--yes")
    assert lc.json("user", "list") == []
    n = lc.json("config", "history")[-1]["n"]
    lc("config", "restore", str(n), "--yes")
    assert lc.config.read_text() == before


def test_listings_off_a_terminal_are_tab_separated_and_grep_finds_a_group(lc):
    lc.team(users=("tom", "ann"))
    lc("user", "edit", "ann", "--name", "Ann Example-With-A-Very-Long-Name That Would Wrap In A Box Table")
    out = lc("user", "list").stdout.splitlines()
    assert out[0].split("\t") == ["id", "name", "email", "roles", "permissions", "active", "groups"]
    ann = next(x for x in out if x.startswith("ann\t"))
    assert "Would Wrap In A Box Table" in ann and "tele-sales" in ann  # one line per row, no wrapping
    assert not any(ch in "\n".join(out) for ch in "┃│┏")


def test_csv_list_values_are_joined_with_semicolons(lc):
    lc.team(users=("tom",))
    lc("group", "add", "second")
    lc("group", "member", "add", "second", "tom")
    import csv as csvmod
    import io

    rows = list(csvmod.DictReader(io.StringIO(lc("user", "list", "--format", "csv").stdout)))
    assert rows[0]["groups"] == "tele-sales;second"


def test_every_listing_takes_limit_and_jsonl(lc):
    lc.team(users=("a", "b", "c"))
    lc.jsonl("route", str(lc.write("a.csv", "id\n" + "".join(f"L{i}\n" for i in range(10)))))
    for command in (["leads", "list"], ["user", "list"], ["group", "list"], ["quota"], ["report"],
                    ["config", "history"], ["rule", "list"]):
        lines = lc(*command, "--limit", "2", "-o", "jsonl").stdout.splitlines()
        assert len(lines) <= 2 and all(isinstance(json.loads(x), dict) for x in lines), command
    assert [json.loads(x)["id"] for x in lc("leads", "list", "--limit", "3", "-o", "jsonl").stdout.splitlines()] == \
        ["L0", "L1", "L2"]


def test_leads_list_with_the_leads_own_fields(lc):
    lc.team(users=("tom",))
    lc.jsonl("route", "--format", "jsonl",
             input='{"id": "F1", "name": "Ann", "email": "ann@example.com", "phone": "07700 900001", "zip": "01234"}\n')
    (row,) = lc.json("leads", "list", "--fields", "id,name,email,phone,zip")
    assert row == {"id": "F1", "name": "Ann", "email": "ann@example.com", "phone": "07700 900001", "zip": "01234"}
    (full,) = lc.json("leads", "list", "--all-fields")
    assert full["zip"] == "01234" and full["assigned_to"] == "tom" and full["name"] == "Ann"
    import csv as csvmod
    import io

    (csv_row,) = csvmod.DictReader(io.StringIO(lc("leads", "list", "--fields", "id,zip", "-o", "csv").stdout))
    assert csv_row == {"id": "F1", "zip": "01234"}


def test_user_ids_match_in_any_case_and_cannot_be_added_twice_in_another_case(lc):
    lc.team(users=("tom",))
    lc("user", "edit", "TOM", "--name", "Tom H.")
    lc("group", "member", "edit", "tele-sales", "Tom", "--daily", "3")
    assert lc.json("user", "list")[0]["name"] == "Tom H."
    assert lc.json("group", "show", "tele-sales")["members"][0]["daily_limit"] == 3
    again = lc("user", "add", "Tom", ok=None)
    assert again.exit_code == 2 and "user 'tom' already exists" in again.stderr
    lc.jsonl("route", "--format", "jsonl", input='{"id": "C1"}\n')
    lc("reassign", "C1", "--to", "TOM")
    assert lc.json("leads", "show", "C1")["assigned_to"] == "tom"


import pytest  # noqa: E402


@pytest.mark.parametrize("command", [
    ["init", "--force"],
    ["group", "remove", "tele-sales"],
    ["user", "remove", "a"],
    ["reassign", "--from", "a", "--to", "b"],
])
def test_destructive_commands_need_yes_off_a_terminal(lc, command):
    lc.team(users=("a", "b"))
    lc.jsonl("route", "--format", "jsonl", input='{"id": "Y1"}\n')
    config, ledger = lc.config.read_bytes(), lc.json("leads", "list")
    result = lc(*command, ok=None)
    assert result.exit_code == 2 and "--yes" in result.stderr and len(result.stderr.splitlines()) == 1
    assert lc.config.read_bytes() == config and lc.json("leads", "list") == ledger


def test_on_a_terminal_a_destructive_command_asks_and_no_keeps_everything(lc):
    import os
    import pty
    import subprocess
    import sys

    lc.team(users=("a",))
    before = lc.config.read_bytes()

    def ask(answer: bytes) -> tuple[int, bytes]:
        main, child = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db),
                                 "group", "remove", "tele-sales"], stdin=child, stdout=subprocess.PIPE,
                                stderr=child)
        os.close(child)
        seen = b""
        while b"[y/N]" not in seen:
            seen += os.read(main, 1024)
        os.write(main, answer + b"\n")
        code = proc.wait(timeout=60)
        os.close(main)
        return code, seen

    code, prompt = ask(b"n")
    assert code == 1 and b"Remove group 'tele-sales'" in prompt and lc.config.read_bytes() == before
    code, _ = ask(b"y")
    assert code == 0 and lc.json("group", "list") == []


def test_as_may_follow_the_command_of_a_change(lc):
    lc.team(users=("a", "b"))
    lc("user", "add", "carol", "--role", "admin")
    lc("user", "add", "dave", "--reassign")
    lc("user", "add", "zed", "--as", "carol")
    assert lc.json("config", "history")[-1]["actor"] == "carol"
    lc.jsonl("route", "--format", "jsonl", input='{"id": "Q1"}\n')
    lc("reassign", "Q1", "--to", "b", "--as", "dave")
    assert lc.json("leads", "show", "Q1")["history"][-1]["actor"] == "dave"
    lc("settings", "--isolate")
    lc("user", "edit", "a", "--role", "trusted")
    assert lc.json("leads", "list", "--as", "a") == []  # a listing's --as is still whose view it is


def test_reverting_every_setting_a_change_touched_gives_back_the_config_before_it():
    """config_revert over the sample config and a string of edits of every kind: undoing all
    that changed between any two versions gives exactly the earlier one back."""
    from pathlib import Path

    from leadctl import config as c
    from leadctl.config.revert import revert, touched

    start = c.load(Path(__file__).resolve().parent.parent / "sample-config.toml")
    group = start.groups[0].name
    steps = [lambda x: c.add_user(x, c.User("zed", email="zed@example.com")),
             lambda x: c.add_member(x, group, c.Member("zed", daily=3)),
             lambda x: c.edit_member(x, group, x.groups[0].members[0].user, monthly=9),
             lambda x: c.add_rule(x, group, ["source=partner|referral"], at=1),
             lambda x: c.edit_group(x, group, method="random"),
             lambda x: c.remove_member(x, group, x.groups[0].members[0].user)]
    versions = [start]
    for step in steps:
        versions.append(step(versions[-1]))
    for i, old in enumerate(versions):
        for new in versions[i + 1:]:
            before, after = c.to_dict(old), c.to_dict(new)
            assert c.from_dict(revert(after, before, touched(before, after)), old.path) == old
