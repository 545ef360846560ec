"""One rule for every way a lead changes hands (the contract's section of that name): the SLA
touches only what a group's method handed out after it was switched on; every path that picks
a member asks who is away; closing a lead needs the status right; the actor is a user or an
error; listings never name a lead the actor may not see; the history keeps each file apart."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.test_lifecycle import at
from tests.test_serve import server  # noqa: F401  (a fixture: servers are always stopped)

STORES = ("sqlite", "postgresql")


def ticked(lc) -> list[dict]:
    return [json.loads(x) for x in lc("tick", "-o", "jsonl").stdout.splitlines()]


def test_the_sla_moves_only_leads_a_groups_method_handed_out(lc):
    lc.team(users=("a", "b", "c"))
    lc("settings", "--duplicates", "email")
    lc("user", "edit", "c", "--pickup")
    lc("group", "edit", "tele-sales", "--pickup-status", "new")
    with at("2026-11-23T08:00:00"):
        lc("group", "edit", "tele-sales", "--contact-within", "15m")
    with at("2026-11-23T09:00:00"):
        out = lc.jsonl("route", "--format", "jsonl", input=(
            '{"id": "R1", "email": "x@example.com"}\n{"id": "O1", "owner": "b"}\n'
            '{"id": "D1", "email": "X@example.com"}\n{"id": "P1", "status": "new"}\n'))
        assert [(o["assigned_to"], o["method"]) for o in out] == [
            ("a", "sequential"), ("b", "owner"), ("a", "duplicate"), ("b", "sequential")]
        lc("release", "P1")
        lc("pickup", "P1", "--user", "c")  # she picked it up herself
    with at("2026-11-23T09:30:00"):
        moved = ticked(lc)
    assert [(m["lead_id"], m["previous"]) for m in moved] == [("R1", "a")]  # only the round robin's lead
    assert lc.json("leads", "show", "P1")["assigned_to"] == "c"


def test_switching_an_sla_on_leaves_the_backlog_alone_and_says_so(lc):
    lc.team(users=("a", "b"))
    lc("route", "-", "--clock", "received", "-o", "jsonl", input=(
        "id,received_at\nS1,2026-09-01T10:00:00\nS2,2026-09-01T11:00:00\n"))
    with at("2026-12-01T09:00:00"):
        edit = lc("group", "edit", "tele-sales", "--contact-within", "1d")
        assert "2 open lead(s)" in edit.stderr and "not covered" in edit.stderr
    with at("2026-12-01T10:00:00"):
        lc.jsonl("route", "--format", "jsonl", input='{"id": "S3"}\n')  # after it was switched on: covered
    with at("2026-12-03T09:00:00"):
        moved = ticked(lc)
    assert [m["lead_id"] for m in moved] == ["S3"]
    assert {r["user"]: r["daily_used"] for r in lc.json("quota", "--date", "2026-12-03")} == {"a": 0, "b": 1}
    assert [lc.json("leads", "show", x)["assigned_to"] for x in ("S1", "S2")] == ["a", "b"]


def test_closing_a_lead_by_conversion_needs_the_status_right(lc):
    lc.team(users=("anna", "ben"))
    lc("user", "add", "boss", "--role", "manager")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "B-1"}\n{"id": "B-2"}\n')  # anna, ben
    before = lc.snapshot()
    refused = lc("--as", "anna", "leads", "convert", "B-2", "--to", "deal", ok=None)
    assert refused.exit_code == 1 and "their own leads only" in refused.stderr
    assert lc.snapshot() == before
    lc("--as", "anna", "leads", "convert", "B-1", "--to", "deal")  # her own
    lc("--as", "boss", "leads", "convert", "B-2", "--to", "deal")  # a manager
    assert [lc.json("leads", "show", x)["status"] for x in ("B-1", "B-2")] == ["converted", "converted"]


def test_converting_to_a_pool_never_hands_the_record_to_someone_on_leave(lc):
    lc.team(users=("a", "b"))
    lc("group", "add", "am", "--record-type", "contact")
    lc("group", "member", "add", "am", "a")
    lc("group", "member", "add", "am", "b")
    with at("2026-11-23T09:00:00"):
        lc("away", "add", "a", "--from", "2026-11-23", "--to", "2026-11-26")
        out = lc.jsonl("route", "--format", "jsonl", input='{"id": "L1"}\n{"id": "L2"}\n{"id": "L3"}\n')
        assert [o["assigned_to"] for o in out] == ["b", "b", "b"]
        assert lc.json("group", "show", "am")["next"] == "b"
        for lead in ("L1", "L2", "L3"):
            lc("leads", "convert", lead, "--to", "contact", "--owner", "am")
    assert [lc.json("leads", "show", f"L{i}:contact")["assigned_to"] for i in (1, 2, 3)] == ["b", "b", "b"]


def test_group_show_names_the_backup_who_would_take_an_absent_members_turn(lc):
    lc.team(users=("a", "b", "c"))
    with at("2026-11-23T09:00:00"):
        lc("away", "add", "a", "--from", "2026-11-23", "--to", "2026-11-26", "--backup", "c")
        shown = lc.json("group", "show", "tele-sales")
        quota = [r["user"] for r in lc.json("quota") if r["next"]]
        out = lc.jsonl("route", "--format", "jsonl", input='{"id": "N1"}\n')
    assert out[0]["assigned_to"] == "c" and shown["next"] == "c" and quota == ["c"]


@pytest.mark.any_store
def test_config_revert_and_restore_refuse_a_change_made_to_another_file(lc):
    lc.team(users=("a", "b"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "5")  # a live change
    proposed = lc.folder / "proposed.toml"
    shutil.copy(lc.config, proposed)
    lc("--config", str(proposed), "group", "member", "edit", "tele-sales", "a", "--daily", "9")
    history = lc.json("config", "history")
    assert history[-1]["file"] == str(proposed.resolve()) and history[-2]["file"] == str(lc.config.resolve())
    live = lc.config.read_bytes()
    for command in ("revert", "restore"):
        refused = lc("config", command, str(history[-1]["n"]), "--yes", ok=None)
        assert refused.exit_code == 2 and "proposed.toml" in refused.stderr, refused.stderr
        assert lc.config.read_bytes() == live
    lc("config", "revert", str(history[-2]["n"]), "--yes")  # this file's own change: undone
    assert {m["user"]: m["daily_limit"] for m in lc.json("group", "show", "tele-sales")["members"]}["a"] == 0


@pytest.mark.any_store
def test_an_unknown_leadctl_user_is_exit_2_and_the_history_keeps_the_os_account(lc, monkeypatch):
    import getpass

    lc.team(users=("tom",))
    lc("user", "add", "rep")
    before, text = lc.snapshot(), lc.config.read_bytes()
    monkeypatch.setenv("LEADCTL_USER", "nobody-here")
    refused = lc("user", "edit", "tom", "--role", "owner", ok=None)
    assert refused.exit_code == 2 and "LEADCTL_USER 'nobody-here' is not a leadctl user" in refused.stderr
    assert lc("quota", ok=None).exit_code == 2  # every command, reading ones too
    assert lc.snapshot() == before and lc.config.read_bytes() == text
    monkeypatch.delenv("LEADCTL_USER")
    assert lc("--as", "ghost", "quota", ok=None).exit_code == 2
    lc("user", "edit", "tom", "--name", "Tom")
    assert lc.json("config", "history")[-1]["via"] == f"cli, os {getpass.getuser()}"


def test_reassign_from_leaves_out_the_leads_the_actor_may_not_see(lc):
    lc.team(users=("tom", "ann"))
    lc("user", "edit", "ann", "--role", "trusted", "--reassign")
    lc("settings", "--isolate")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "L1"}\n{"id": "L2"}\n{"id": "L3"}\n')  # tom, ann, tom
    before = lc.snapshot()
    out = lc("--as", "ann", "reassign", "--from", "tom", "--to", "ann", "--yes", ok=None)
    assert "L1" not in out.stdout + out.stderr and "L3" not in out.stdout + out.stderr
    assert lc.snapshot() == before


def test_isolation_holds_in_reports_by_field_and_simulated_lead_lists(lc):
    lc.team(users=("e1", "e3"))
    lc("user", "edit", "e3", "--role", "trusted")
    lc("settings", "--isolate")
    lc("route", "-", "--clock", "received", "-o", "jsonl", input=(
        "id,Name,received_at\nL1,Alice Secret,2026-11-20T09:00:00\nL2,Bob Mine,2026-11-20T09:01:00\n"))
    names = {r["Name"] for r in lc.json("--as", "e3", "report", "--by", "field:Name", "--user", "e1")}
    assert "Alice Secret" not in names
    names = {r["Name"] for r in lc.json("--as", "e3", "report", "--by", "field:Name")}
    assert names == {"Bob Mine"}
    proposed = lc.folder / "proposed.toml"
    shutil.copy(lc.config, proposed)
    lc("--config", str(proposed), "group", "member", "remove", "tele-sales", "e1")  # e3 would get both
    out = json.loads(lc("--as", "e3", "simulate", "--proposed", str(proposed), "--since", "2026-11-01",
                        "--until", "2026-11-30", "--leads", "-o", "json").stdout)
    assert out["moved"] == 1 and out["leads"] == []  # L1 moved, but it is e1's: not named to e3


def test_a_rep_chooses_a_backup_from_their_own_groups_and_leave_for_others_needs_their_manager(lc):
    lc.team(users=("tom", "sue"))
    lc("user", "add", "boss")
    lc("user", "add", "other-manager", "--role", "manager")
    lc("user", "add", "lead-manager", "--role", "manager")
    lc("group", "member", "add", "tele-sales", "lead-manager")
    text = lc.config.read_bytes()
    refused = lc("--as", "tom", "away", "add", "tom", "--from", "2026-12-20", "--to", "2026-12-20",
                 "--backup", "boss", ok=None)
    assert refused.exit_code == 2 and "'boss' is in none of the groups of 'tom'" in refused.stderr
    refused = lc("--as", "other-manager", "away", "add", "tom", "--from", "2026-12-20", "--to", "2026-12-20",
                 ok=None)
    assert refused.exit_code == 2 and "a manager of their group" in refused.stderr
    assert lc.config.read_bytes() == text
    lc("--as", "tom", "away", "add", "tom", "--from", "2026-12-20", "--to", "2026-12-20", "--backup", "sue")
    lc("--as", "lead-manager", "away", "add", "tom", "--from", "2026-12-24", "--to", "2026-12-24",
       "--backup", "boss")
    assert [a["backup"] for a in lc.json("away", "list")] == ["sue", "boss"]


def test_the_leads_own_group_decides_who_may_pick_it_up(lc):
    lc.team(users=("a", "b"), group="g")
    lc("group", "add", "other")
    lc("user", "add", "c", "--pickup")
    lc("group", "member", "add", "other", "c")
    lc("group", "edit", "other", "--pickup-status", "callback")
    lc("group", "edit", "g", "--pickup-status", "new")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "P1", "status": "callback"}\n')
    lc("release", "P1")
    refused = lc("pickup", "P1", "--user", "c", ok=None)
    assert refused.exit_code == 1 and "not a member of group 'g'" in refused.stderr
    assert lc.json("leads", "show", "P1")["assigned_to"] is None
    lc("user", "edit", "b", "--pickup")
    refused = lc("pickup", "P1", "--user", "b", ok=None)  # a member, but 'callback' is not g's status
    assert refused.exit_code == 1 and "not a pick-up status of group 'g'" in refused.stderr
    lc("group", "edit", "g", "--pickup-status", "callback")
    lc("pickup", "P1", "--user", "b")
    assert lc.json("leads", "show", "P1")["assigned_to"] == "b"


def test_pages_an_isolated_rep_opens_what_pickup_lists_and_sees_no_convert_button_on_others_leads(lc, server):  # noqa: F811
    from tests.test_pages import csrf, signed_in

    lc.team(users=("tom", "stephanie"))
    lc("user", "edit", "tom", "--role", "trusted", "--pickup")
    lc("user", "edit", "stephanie", "--reassign")
    lc("group", "edit", "tele-sales", "--pickup-status", "new")
    lc("settings", "--isolate")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "L1", "status": "new"}\n{"id": "L2", "status": "new"}\n')
    lc("release", "L2")
    srv = server()
    tom = signed_in(lc, srv, "tom")
    _, _, listing = tom.get("/pickup")
    assert 'href="/leads/L2"' in listing
    status, _, page = tom.get("/leads/L2")
    assert status == 200 and "Pick up" in page and "Convert" not in page  # not his to close
    status, _, _ = tom.post("/leads/L2/convert", {"csrf": csrf(page), "to": "contact"})
    assert status == 403 and lc.json("leads", "show", "L2")["status"] == "new"
    assert "Convert" in tom.get("/leads/L1")[2]  # his own


def test_pages_sessions_end_at_sign_out_removal_and_deactivation_and_a_head_uses_no_link(lc, server):  # noqa: F811
    from tests.test_pages import Browser, csrf, link, signed_in

    lc.team(users=("sam", "tom"))
    srv = server()
    sam = signed_in(lc, srv, "sam")
    stolen = dict(sam.cookies)
    _, _, html = sam.get("/inbox")
    assert sam.post("/signout", {"csrf": csrf(html)})[0] == 303
    replay = Browser(srv.url)
    replay.cookies = dict(stolen)
    assert replay.get("/inbox")[0] == 401  # the old cookie, replayed after sign-out
    tom = signed_in(lc, srv, "tom")
    kept = dict(tom.cookies)
    lc("user", "edit", "tom", "--inactive")
    lc("user", "edit", "tom", "--active")
    assert tom.get("/inbox")[0] == 401  # deactivation ended it; reactivation does not bring it back
    sam = signed_in(lc, srv, "sam")
    old = dict(sam.cookies)
    lc("user", "remove", "sam", "--yes")
    lc("user", "add", "sam")
    replay.cookies = old
    assert replay.get("/inbox")[0] == 401  # not the new sam's inbox
    url = link(lc, "tom", "--port", str(srv.port))
    scanner = Browser(srv.url)
    status, _, _ = scanner.request("HEAD", url[url.index("/signin/"):])
    assert status == 200 and not scanner.cookies
    fresh = Browser(srv.url)
    status, headers, _ = fresh.sign_in(url)
    assert status == 303 and fresh.get("/inbox")[0] == 200  # the rep's own click still works
    assert kept != fresh.cookies


def test_credentials_in_a_lead_are_dropped_whatever_their_name_is_spelt(lc):
    lc.team(users=("tom",))
    sent = {"id": "K1", "email": "k@example.com", "x-api-key": "s1", "auth_token": "s2", "api_secret": "s3",
            "passwd": "s4", "refresh_token": "s5", "private_key": "s6", "refreshToken": "s7", "Company": "Keyes Ltd",
            "keywords": "crm", "monkey": "yes"}
    lc.jsonl("route", "--format", "jsonl", input=json.dumps(sent) + "\n")
    shown = lc("leads", "show", "K1", "--format", "json").stdout
    assert all(f'"s{i}"' not in shown for i in range(1, 8))
    kept = json.loads(shown)["fields"]
    assert (kept["company"], kept["keywords"], kept["monkey"]) == ("Keyes Ltd", "crm", "yes")  # not credentials


@pytest.mark.any_store
def test_durations_and_dates_are_bounded_at_the_door(lc):
    lc.team(users=("a",))
    text = lc.config.read_bytes()
    for args, words in ((["group", "edit", "tele-sales", "--contact-within", "99999999d"], "the most is 365d"),
                        (["watch", "x.csv", "--every", "0s"], "the least is 1s"),
                        (["simulate", "--proposed", str(lc.config), "--since", "0001-01-01", "--until", "9999-12-31"],
                         "dates from 1900-01-01 to 2999-12-31"),
                        (["report", "--since", "0001-01-01"], "out of range"),
                        (["away", "add", "a", "--from", "9999-12-31", "--to", "9999-12-31"], "out of range")):
        result = lc(*args, ok=None)
        assert result.exit_code == 2 and words in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    assert lc.config.read_bytes() == text
    lc.config.write_text(lc.config.read_text().replace('method = "sequential"', 'method = "sequential"\n'
                                                       'contact_within = "99999999d"', 1))
    result = lc("tick", ok=None)  # a hand-made file with such a value: one line, exit 2, not an OverflowError
    assert result.exit_code == 2 and "contact_within" in result.stderr and "365d" in result.stderr


@pytest.mark.any_store
def test_tables_on_an_80_column_terminal_wrap_between_words_never_inside_one(lc, monkeypatch):
    lc.team(users=("stephanie", "tom", "lewis", "denise"), group="tele-sales-inbound-europe")
    lc("user", "add", "sam")
    lc("route", "-", "--clock", "received", "-o", "jsonl", input="id,owner,received_at\n" + "".join(
        f"R{i},{'sam' if i % 3 == 0 else ''},2026-11-20T09:{i:02d}:00\n" for i in range(30)))
    monkeypatch.setenv("LEADCTL_TABLES", "rich")
    monkeypatch.setenv("COLUMNS", "80")
    for args in (["report", "--since", "2026-11-01"], ["quota", "--date", "2026-11-20"],
                 ["group", "show", "tele-sales-inbound-europe"], ["user", "list"]):
        out = lc(*args).stdout
        assert max(len(line) for line in out.splitlines()) <= 80, (args, out)
        words = {w for line in out.splitlines() for w in line.replace("│", " ").split()}
        if args[0] == "report":
            assert {"sequential=5", "owner=10", "33.3%"} <= words, out  # split by method, whole
        assert "tele-sales-inbound-europe" in out or args[0] == "report", out


def test_user_caps_and_the_queue_are_visible_where_an_admin_looks(lc, monkeypatch):
    lc.team(users=("felix", "gina"))
    lc("user", "edit", "felix", "--daily", "2")
    lc("group", "edit", "tele-sales", "--queue")
    lc("group", "member", "edit", "tele-sales", "gina", "--daily", "1")
    out = lc("route", "-", "--clock", "received", "-o", "jsonl", input="id,received_at\n" + "".join(
        f"Q{i},2026-11-20T09:0{i}:00\n" for i in range(1, 6)))
    assert [json.loads(x)["status"] for x in out.stdout.splitlines()].count("queued") == 2
    felix = next(r for r in lc.json("quota", "--date", "2026-11-20") if r["user"] == "felix")
    assert (felix["capped"], felix["capped_by"], felix["user_daily_used"], felix["user_daily_limit"]) == (
        True, "user daily cap", 2, 2)
    assert "CAPPED (user daily cap)" in lc("quota", "--date", "2026-11-20").stdout
    assert next(u for u in lc.json("user", "list") if u["id"] == "felix")["daily"] == 2
    assert "2/day" in lc("user", "list").stdout
    assert [r["id"] for r in lc.json("leads", "list", "--status", "queued")] == ["Q4", "Q5"]
    assert lc.json("group", "show", "tele-sales")["queued"] == 2
    monkeypatch.setenv("LEADCTL_TABLES", "rich")
    assert "queued: 2" in lc("group", "show", "tele-sales").stdout


@pytest.mark.any_store
def test_config_check_says_where_leads_go_when_nobody_can_take_them(lc):
    lc.team(users=("a",), daily="5")
    lc("group", "add", "night")
    lc("group", "member", "add", "night", "a")
    assert "stay unassigned" in lc("config", "check").stderr  # every member capped, nowhere else to go
    lc("group", "edit", "tele-sales", "--overflow", "night", "--queue")
    said = lc("config", "check").stderr
    assert "'tele-sales'" not in said or "stay unassigned" not in said, said


@pytest.mark.any_store
def test_report_by_source_shows_shares_as_the_other_reports_do(lc, monkeypatch):
    lc.team(users=("a", "b"))
    lc("route", "-", "--clock", "received", "-o", "jsonl", input="id,source,received_at\n"
       "S1,ads,2026-11-20T09:00:00\nS2,ads,2026-11-20T09:01:00\nS3,web,2026-11-20T09:02:00\n")
    monkeypatch.setenv("LEADCTL_TABLES", "rich")
    table = lc("report", "--by", "source", "--since", "2026-11-01").stdout
    assert "66.7%" in table and "0.6667" not in table
    assert {r["source"]: r["share"] for r in lc.json("report", "--by", "source", "--since", "2026-11-01")} == {
        "ads": 0.6667, "web": 0.3333}  # JSON keeps the fraction


def test_real_exports_hubspot_facebook_csv_and_german_dates_are_read(lc):
    lc.team(users=("tom", "stephanie"))
    hubspot = ('"Record ID","First Name","Email","Original Source","Create Date"\n'
               '"51","Fay","fay@example.com","Paid Social","2026-12-06 10:15"\n')
    lc("route", "-", "--format", "csv", "--clock", "received", "-o", "jsonl", input=hubspot)
    fay = lc.json("leads", "show", "51")
    assert (fay["source"], fay["received_at"]) == ("Paid Social", "2026-12-06T10:15:00+00:00")
    facebook = ("id,created_time,ad_name,campaign_name,form_name,is_organic,platform,full_name,email\n"
                "l:998,2026-12-06T10:15:30+0000,Ad 1,Winter Sale,Form A,false,ig,Gus Hale,gus@example.com\n")
    lc("route", "-", "--format", "csv", "-o", "jsonl", input=facebook)
    gus = lc.json("leads", "show", "l:998")
    assert (gus["source"], gus["received_at"], gus["fields"]["campaign_name"]) == (
        "ig", "2026-12-06T10:15:30+00:00", "Winter Sale")
    lc("settings", "--timezone", "Europe/Berlin")
    german = "id,Erstellt am,E-Mail\nDE1,06.12.2026 10:15,de1@example.com\n"
    lc("route", "-", "--format", "csv", "-o", "jsonl", input=german)
    assert lc.json("leads", "show", "DE1")["received_at"] == "2026-12-06T10:15:00+01:00"  # day.month.year
    slashes = "id,received_at\nUS1,06/12/2026 10:15\nUS2,13/12/2026 09:00\n"
    out = lc.jsonl("route", "-", "--format", "csv", input=slashes, ok=None)
    assert out[0]["status"] == "rejected" and "--date-format" in out[0]["reason"]  # ambiguous: said how to fix
    assert out[1]["status"] == "assigned"  # 13 can only be a day
    lc("settings", "--date-format", "mm/dd/yyyy")
    assert lc.jsonl("route", "-", "--format", "csv", input="id,received_at\nUS1,06/12/2026 10:15\n")[0][
        "status"] == "assigned"
    assert lc.json("leads", "show", "US1")["received_at"] == "2026-06-12T10:15:00+02:00"  # June 12th
    assert lc("settings", "--date-format", "yy.mm", ok=None).exit_code == 2
    assert lc.jsonl("route", "-", "--format", "csv", input="id,received_at\nX1,yesterday\n",
                    ok=None)[0]["status"] == "rejected"
