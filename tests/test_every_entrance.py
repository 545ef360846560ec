"""One situation, every entrance, the same member: routing from the command line, over `serve`,
from `watch`, a dry run, a simulation, a drain, an SLA re-route, a reassign to a group, a
conversion to a pool, and "who is next" all ask `Policy.turn` the same question with the same
facts (working hours, leave with a backup, a user's own caps over every group).

The situation, on Monday 23 November 2026 at 12:00 UTC, in a sequential group of a, b, c, d:
a works Saturdays only (off hours), b is away with e as backup (e: no member, a cap of their
own not reached), c has a cap of their own (1 a day) already used in another group, d is last
in turn. The next lead is e's, for b.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import Leadctl
from tests.test_lifecycle import at

NOON = "2026-11-23T12:00:00"
LEAD = '{"id": "N1", "email": "new@example.com"}\n'


def situation(tmp_path, *, group: str = "g", first: tuple[str, ...] = (), record_type: str = "lead") -> Leadctl:
    """The situation above in a new folder (its group `group`, with `first` members before a)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    lc = Leadctl(tmp_path)
    lc("init")
    users = (*first, "a", "b", "c", "d")
    lc.team(users=users, group="g")
    if group != "g":
        lc("group", "add", group, "--record-type", record_type)
        for u in users:
            lc("group", "member", "add", group, u)
    lc("user", "add", "e", "--daily", "5")
    lc("user", "edit", "a", "--hours", "sat 10:00-11:00")
    lc("user", "edit", "c", "--daily", "1")
    lc("group", "add", "other")
    lc("group", "member", "add", "other", "c")
    lc("rule", "add", "--group", "other", "--when", "source=fair")
    with at("2026-11-23T11:00:00"):
        lc("away", "add", "b", "--from", "2026-11-23", "--to", "2026-11-25", "--backup", "e")
        out = lc.jsonl("route", "--format", "jsonl", input='{"id": "O1", "source": "fair"}\n')
    assert out[0]["assigned_to"] == "c"  # c's own cap is used up for the day
    return lc


def test_route_dry_run_watch_and_serve_give_the_lead_to_the_backup(tmp_path):
    from leadctl.serve.intake import route_request
    from leadctl.serve.service import Service

    for entrance in ("route", "dry-run", "watch", "serve"):
        lc = situation(tmp_path / entrance)
        with at(NOON):
            if entrance == "route":
                out = lc.jsonl("route", "--format", "jsonl", input=LEAD)[0]
            elif entrance == "dry-run":
                out = lc.jsonl("route", "--format", "jsonl", "--dry-run", input=LEAD)[0]
            elif entrance == "watch":
                path = lc.write("form.jsonl", LEAD)
                out = lc.jsonl("watch", str(path), "--once", "--format", "jsonl")[0]
            else:
                secret = lc("token", "add", "web").stdout.strip()
                answer = route_request(Service(lc.config, lc.db), LEAD.encode(),
                                       {"authorization": f"Bearer {secret}", "content-type": "application/json"}, {})
                assert answer.status == 200, answer.body
                out = answer.body["outcomes"][0]
        assert (entrance, out["assigned_to"], out["group"], out["reason"]) == (
            entrance, "e", "g", "backup for b, away until 25 Nov 2026")


def test_who_is_next_says_the_backup_in_group_show_quota_and_the_team_page(tmp_path):
    from leadctl.audit import group_view
    from leadctl.config import load
    from leadctl.ledger import Ledger

    lc = situation(tmp_path)
    with at(NOON):
        assert lc.json("group", "show", "g")["next"] == "e"
        assert [r["user"] for r in lc.json("quota") if r["next"]] == []  # e is no member of g: no row of theirs
        cfg = load(lc.config)
        ledger = Ledger.open(lc.db)
        try:
            from datetime import datetime, timezone

            assert group_view(cfg, ledger, cfg.group("g"), datetime.now(timezone.utc))["next"] == "e"  # /team
        finally:
            ledger.close()


def test_a_drain_gives_the_waiting_lead_to_the_backup(tmp_path):
    lc = situation(tmp_path)
    lc("group", "edit", "g", "--queue")
    for u in ("a", "b", "c", "d"):
        lc("user", "edit", u, "--inactive")
    with at("2026-11-23T11:30:00"):
        assert lc.jsonl("route", "--format", "jsonl", input=LEAD)[0]["status"] == "queued"
    for u in ("a", "b", "c", "d"):
        lc("user", "edit", u, "--active")
    with at(NOON):
        (out,) = [json.loads(x) for x in lc("drain", "-o", "jsonl").stdout.splitlines()]
    assert (out["lead_id"], out["assigned_to"]) == ("N1", "e")


def test_an_sla_re_route_gives_the_missed_lead_to_the_backup(tmp_path):
    lc = situation(tmp_path, group="sla-desk", first=("z",))
    lc("rule", "add", "--group", "sla-desk", "--when", "source=ads")
    with at("2026-11-23T11:10:00"):
        lc("group", "edit", "sla-desk", "--contact-within", "15m")
        assert lc.jsonl("route", "--format", "jsonl", input='{"id": "S1", "source": "ads"}\n')[0]["assigned_to"] == "z"
    with at(NOON):
        (moved,) = [json.loads(x) for x in lc("tick", "-o", "jsonl").stdout.splitlines()]
    assert (moved["lead_id"], moved["previous"], moved["assigned_to"]) == ("S1", "z", "e")


@pytest.mark.parametrize("how", ["reassign", "convert"])
def test_a_reassign_to_the_group_and_a_conversion_to_the_pool_give_it_to_the_backup(tmp_path, how):
    lc = situation(tmp_path, group="am" if how == "convert" else "g", record_type="contact")
    with at("2026-11-23T11:30:00"):
        lc.jsonl("route", "--format", "jsonl", input='{"id": "R1", "owner": "d"}\n')  # outside the rules
    with at(NOON):
        if how == "reassign":
            lc("reassign", "R1", "--to-group", "g")
            shown = lc.json("leads", "show", "R1")
        else:
            lc("leads", "convert", "R1", "--to", "contact", "--owner", "am")
            shown = lc.json("leads", "show", "R1:contact")
    assert (shown["assigned_to"], shown["history"][-1]["backup_for"]) == ("e", "b")


def test_a_simulation_of_the_same_config_gives_the_lead_to_the_backup(tmp_path):
    lc = situation(tmp_path)
    with at(NOON):
        lc.jsonl("route", "--format", "jsonl", input=LEAD)
        proposed = lc.folder / "proposed.toml"
        shutil.copy(lc.config, proposed)
        out = json.loads(lc("simulate", "--proposed", str(proposed), "--since", "2026-11-23", "--until",
                            "2026-11-23", "-o", "json").stdout)
    assert out["moved"] == 0
    assert {u["user"]: u["simulated"] for u in out["users"]} == {"c": 1, "e": 1}
