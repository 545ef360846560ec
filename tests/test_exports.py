"""Real exports as they come (tests/data/): each is read right, or refused with a line that says what to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def team(lc):
    """web leads (source=web) go to web-team; everything else to general. tom has an email."""
    lc("user", "add", "tom", "--email", "tom@example.com")
    for u in ("wendy", "walt", "gina", "gus"):
        lc("user", "add", u)
    lc("group", "add", "web-team")
    lc("group", "add", "general")
    for u in ("wendy", "walt"):
        lc("group", "member", "add", "web-team", u)
    for u in ("gina", "gus"):
        lc("group", "member", "add", "general", u)
    lc("rule", "add", "--group", "web-team", "--when", "source=web")
    lc("rule", "default", "general")
    return lc


def routed(lc, name: str, *extra: str, ok: bool | None = True) -> dict[str, dict]:
    out = lc.jsonl("route", str(DATA / name), *extra, ok=ok)
    return {o["lead_id"]: o for o in out}


def test_excel_semicolon_csv_with_bom_and_crlf(team):
    out = routed(team, "excel-semicolon.csv")
    assert {k: o["group"] for k, o in out.items()} == {"XL-001": "web-team", "XL-002": "general", "XL-003": "web-team"}
    lead = team.json("leads", "show", "XL-001")
    assert (lead["email"], lead["name"], lead["Budget"]) == ("j.gross@example.de", "Jürgen Groß", "1.234,50")


def test_excel_unicode_text_utf16_tab_separated(team):
    out = routed(team, "excel-unicode.txt")
    assert {k: o["group"] for k, o in out.items()} == {"UT-1": "web-team", "UT-2": "general"}
    lead = team.json("leads", "show", "UT-2")
    assert (lead["email"], lead["name"], lead["Notes"]) == ("lukasz@example.pl", "Łukasz Żak", "met at stand 12; wants demo")


def test_pipe_separated_file(team):
    out = routed(team, "pipe.csv")
    assert {k: o["group"] for k, o in out.items()} == {"PP-1": "web-team", "PP-2": "general"}
    assert team.json("leads", "show", "PP-2")["email"] == "eli@example.com"


def test_google_sheets_trailing_blank_rows_are_not_leads(team):
    result = team("route", str(DATA / "google-sheets.csv"), "-o", "table")
    assert result.stdout.splitlines()[0].split("\t")[:2] == ["user", "assigned"]  # plain rows in a pipe
    assert sum(int(x.split("\t")[1]) for x in result.stdout.splitlines()[1:-1]) == 3
    assert "blank rows ignored: 4" in result.stdout.splitlines()[-1]
    assert [x["id"] for x in team.json("leads", "list")] == ["GS-1", "GS-2", "GS-3"]
    lead = team.json("leads", "show", "GS-2")
    assert (lead["name"], lead["phone"]) == ('Bob "Bobby" Ray', "07700 900002")
    jsonl = team.jsonl("route", str(DATA / "google-sheets.csv"))
    assert [o["line"] for o in jsonl] == [2, 3, 4]  # no outcome for a blank row


def test_hubspot_export_with_a_saved_mapping_is_recognised_when_exported_again(team):
    team("intake", "map", "add", "hubspot", "--map", "Record ID=id", "--map", "Contact owner=owner")
    assert "Record ID" in team.config.read_text()
    first = routed(team, "hubspot-contacts.csv", "--mapping", "hubspot")
    assert first["51234001"]["assigned_to"] == "tom" and first["51234001"]["method"] == "owner"  # owner by email
    assert first["51234002"]["method"] == "sequential" and first["51234002"]["group"] == "general"
    assert team.json("leads", "show", "51234001")["email"] == "fay@example.com"
    again = routed(team, "hubspot-contacts-next-day.csv", "--mapping", "hubspot")  # a status changed
    assert {o["status"] for o in again.values()} == {"skipped"}


def test_map_on_the_command_line_in_any_case(team):
    out = routed(team, "hubspot-contacts.csv", "--map", "record id=id", "--map", "CONTACT OWNER=owner")
    assert set(out) == {"51234001", "51234002"} and out["51234001"]["assigned_to"] == "tom"


def test_hubspots_record_id_is_the_id_so_a_changed_row_next_day_is_the_same_lead(team):
    result = team("route", str(DATA / "hubspot-contacts.csv"), "-o", "jsonl")
    assert "warning" not in result.stderr  # "Record ID", "Email", "Phone Number", "Lead Status" are known
    lead = team.json("leads", "show", "51234001")
    assert (lead["email"], lead["phone"], lead["status"], lead["first_name"]) == (
        "fay@example.com", "+1 415 555 0101", "NEW", "Fay")
    again = team("route", str(DATA / "hubspot-contacts-next-day.csv"), "-o", "jsonl")
    statuses = [json.loads(x)["status"] for x in again.stdout.splitlines()]
    assert statuses[0] == "skipped"  # the changed row keeps its Record ID: not a new lead


def test_without_an_id_column_route_warns_once_and_suggests_map(team):
    data = team.write("no-id.csv", "Full Name,E-Mail\nAda,ada@example.com\nBob,bob@example.com\n")
    result = team("route", str(data), "-o", "jsonl")
    warnings = [x for x in result.stderr.splitlines() if "warning" in x]
    assert len(warnings) == 1 and "--map" in warnings[0] and "re-export" in warnings[0]
    changed = team.write("no-id-2.csv", "Full Name,E-Mail\nAda,ada@example.org\n")
    statuses = [json.loads(x)["status"] for x in team("route", str(changed), "-o", "jsonl").stdout.splitlines()]
    assert statuses == ["assigned"]  # the changed row is a new lead: what the warning said


def test_google_ads_lead_form_payload(team):
    out = routed(team, "google-ads.jsonl")
    assert out["GA-TeSter-123ABC"]["group"] == "general"
    lead = team.json("leads", "show", "GA-TeSter-123ABC")
    assert (lead["email"], lead["phone"], lead["source"], lead["budget"]) == (
        "hana@example.jp", "+81 3 1234 5678", "google-ads", "10k-50k")
    assert "google_key" not in lead and "secret-key-from-the-form" not in json.dumps(lead)


def test_typeform_payload(team):
    out = routed(team, "typeform.jsonl")
    token = "a3a12ec67a1365927098a606107fac15"
    assert out[token]["group"] == "web-team"  # hidden field source=web
    lead = team.json("leads", "show", token)
    assert (lead["email"], lead["phone"], lead["received_at"]) == (
        "ines@example.ch", "+41441234567", "2026-11-21T10:00:00+00:00")
    assert (lead["What is your name?"], lead["Team size"], lead["utm_campaign"]) == ("Ines Roth", "11-50", "winter")


def test_facebook_lead_retrieval_payload(team):
    out = routed(team, "facebook.jsonl")
    assert out["1234567890123456"]["group"] == "general"
    lead = team.json("leads", "show", "1234567890123456")
    assert (lead["email"], lead["phone"], lead["source"], lead["received_at"]) == (
        "jon@example.com", "+447700900123", "facebook", "2026-11-22T13:10:00+00:00")
    assert lead["when_can_we_call?"] == "mornings"


def test_a_forced_shape_refuses_other_payloads(team):
    result = team("route", str(DATA / "facebook.jsonl"), "--shape", "typeform", "-o", "jsonl", ok=None)
    assert result.exit_code == 1 and "is not a typeform record" in result.stderr
    assert team.json("leads", "list") == []


@pytest.mark.parametrize("name, says", [
    ("facebook-leadgen-notification.jsonl", "Facebook leadgen notification"),
    ("hubspot-events.jsonl", "HubSpot webhook events"),
])
def test_envelopes_without_lead_data_are_refused_with_a_reason(team, name, says):
    result = team("route", str(DATA / name), "-o", "jsonl", ok=None)
    assert result.exit_code == 1 and says in result.stderr and len(result.stderr.splitlines()) == 1
    assert team.json("leads", "list") == []


def test_json_lines_in_utf16_are_json_lines(team):
    out = routed(team, "utf16.jsonl")
    assert out["U16-1"]["group"] == "web-team"
    assert team.json("leads", "show", "U16-1")["name"] == "Çağla"


def test_two_csvs_joined_reject_the_second_header_with_its_line(team):
    joined = (DATA / "pipe.csv").read_bytes() + (DATA / "pipe.csv").read_bytes().replace(b"PP-", b"QQ-")
    result = team("route", "--format", "csv", "-o", "jsonl", input=joined, ok=None)
    assert result.exit_code == 1 and "stdin: line 4: repeats the header" in result.stderr
    assert [x["id"] for x in team.json("leads", "list")] == ["PP-1", "PP-2", "QQ-1", "QQ-2"]


def test_a_wrong_forced_delimiter_is_refused_with_a_hint(team):
    result = team("route", str(DATA / "excel-semicolon.csv"), "--delimiter", ",", "-o", "jsonl", ok=None)
    assert result.exit_code == 1 and "--delimiter ';'" in result.stderr
    assert team.json("leads", "list") == []


def test_a_forced_tab_delimiter(team):
    out = routed(team, "excel-unicode.txt", "--delimiter", "tab")
    assert set(out) == {"UT-1", "UT-2"}


def test_saved_mappings_are_listed_and_removed(team):
    team("intake", "map", "add", "hubspot", "--map", "Record ID=id")
    assert team.json("intake", "map", "list") == [{"mapping": "hubspot", "source": "Record ID", "field": "id"}]
    again = team("intake", "map", "add", "hubspot", "--map", "x=id", ok=None)
    assert again.exit_code == 2 and "already exists" in again.stderr
    team("intake", "map", "remove", "hubspot")
    result = team("route", str(DATA / "pipe.csv"), "--mapping", "hubspot", ok=None)
    assert result.exit_code == 2 and "unknown mapping 'hubspot'" in result.stderr


def test_a_malformed_map_is_a_usage_error(team):
    result = team("route", str(DATA / "pipe.csv"), "--map", "Record ID", ok=None)
    assert result.exit_code == 2 and "must look like SOURCE=FIELD" in result.stderr
