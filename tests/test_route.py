"""`leadctl route` end to end: outcomes, rejections, idempotence, caps, rules, clock."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest

from tests.conftest import leads_csv

STORES = ("sqlite", "postgresql")  # every test taking `lc` runs on both ledgers

FIELDS = ["line", "lead_id", "status", "assigned_to", "group", "method", "reason"]
SEED_TIMES = ["13:10", "13:13", "13:20", "13:29", "13:35", "13:40", "13:43", "13:47"]


def seed_file(lc):
    rows = ["id,name,received_at"] + [f"S{i},Lead {i},2026-11-23T{t}:00" for i, t in enumerate(SEED_TIMES, 1)]
    return lc.write("seed.csv", "\n".join(rows) + "\n")


def test_seed_example_four_users_eight_leads_two_each_and_tom_next(lc):
    lc.team()
    out = lc.jsonl("route", str(seed_file(lc)), "--clock", "received")
    assert [o["assigned_to"] for o in out] == ["tom", "stephanie", "lewis", "denise"] * 2
    assert {o["method"] for o in out} == {"sequential"}
    assert lc.json("group", "show", "tele-sales")["next"] == "tom"
    history = lc.json("leads", "show", "S5")["history"]
    assert [(h["at"], h["assigned_to"]) for h in history] == [("2026-11-23T13:35:00+00:00", "tom")]


def test_each_record_gets_exactly_the_contract_fields_in_input_order(lc):
    lc.team()
    out = lc.jsonl("route", str(lc.write("a.csv", leads_csv(3))))
    assert [list(o) for o in out] == [FIELDS] * 3
    assert [o["line"] for o in out] == [2, 3, 4]  # the header is line 1
    assert out[0] == {"line": 2, "lead_id": "L1", "status": "assigned", "assigned_to": "tom",
                      "group": "tele-sales", "method": "sequential", "reason": None}


def test_csv_output_has_the_same_fields_as_jsonl(lc):
    lc.team()
    result = lc("route", str(lc.write("a.csv", leads_csv(2))), "--output", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == FIELDS
    assert [(r["lead_id"], r["assigned_to"], r["reason"]) for r in rows] == [("L1", "tom", ""), ("L2", "stephanie", "")]


def test_bad_rows_are_reported_with_their_line_and_the_rest_routed(lc):
    lc.team(users=("a", "b"))
    data = ("id,name,received_at,type\n"
            "L1,Ann,2026-11-23T09:00:00,lead\n"
            "L2,Bob\n"
            "L3,Cy,yesterday at noon,lead\n"
            "L4,Di,2026-11-23T09:05:00,spaceship\n"
            "L5,Ed,2026-11-23T09:06:00,\n")
    result = lc("route", str(lc.write("in.csv", data)), "--output", "jsonl", ok=False)
    assert result.exit_code == 1
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["status"] for o in out] == ["assigned", "rejected", "rejected", "rejected", "assigned"]
    assert [o["assigned_to"] for o in out if o["status"] == "assigned"] == ["a", "b"]
    assert out[1] == {"line": 3, "lead_id": None, "status": "rejected", "assigned_to": None, "group": None,
                      "method": None, "reason": "has 2 fields, the header has 4"}
    errors = result.stderr.splitlines()
    assert errors[0] == "in.csv: line 3: has 2 fields, the header has 4" or errors[0].endswith(
        "in.csv: line 3: has 2 fields, the header has 4")
    assert any("line 4: received_at is not an ISO 8601" in e for e in errors)
    assert any("line 5: unknown type 'spaceship'" in e for e in errors)
    assert len(lc.json("leads", "list")) == 2


@pytest.mark.parametrize("dry", [False, True])
def test_an_id_repeated_in_one_input_says_so_in_its_batch_and_in_a_later_one(lc, dry):
    lc.team(users=("a", "b"))
    lc("route", str(lc.write("old.csv", "id\nOLD\n")))
    rows = "id\n" + "R1\nR2\nR1\nOLD\n" + "".join(f"F{i}\n" for i in range(2100)) + "R2\n"  # R2 again, batch 2
    out = lc.jsonl("route", str(lc.write("in.csv", rows)), *(["--dry-run"] if dry else []))
    why = {o["line"]: o["reason"] for o in out if o["status"] == "skipped"}
    assert why == {4: "lead id repeated earlier in this input", 5: "lead id already in the ledger",
                   2106: "lead id repeated earlier in this input"}


def test_rerun_skips_every_lead_and_moves_nothing(lc):
    lc.team(users=("a", "b", "c"))
    path = lc.write("a.csv", leads_csv(4))
    first = lc.jsonl("route", str(path))
    again = lc.jsonl("route", str(path))
    assert [o["status"] for o in again] == ["skipped"] * 4
    assert all(o["assigned_to"] is None and o["reason"] == "lead id already in the ledger" for o in again)
    assert lc.json("group", "show", "tele-sales")["next"] == "b"
    assert sum(r["count"] for r in lc.json("report")) == 4
    assert [o["assigned_to"] for o in first] == ["a", "b", "c", "a"]


def test_same_id_twice_in_one_file_is_routed_once(lc):
    lc.team(users=("a", "b"))
    out = lc.jsonl("route", str(lc.write("a.csv", "id,name\nX,1\nX,2\nY,3\n")))
    assert [(o["lead_id"], o["status"], o["assigned_to"]) for o in out] == [
        ("X", "assigned", "a"), ("X", "skipped", None), ("Y", "assigned", "b")]


def test_records_without_id_get_a_stable_id_from_their_content(lc):
    lc.team(users=("a", "b"))
    path = lc.write("a.csv", "name,email\nAnn,ann@example.com\nBob,bob@example.com\n")
    first = lc.jsonl("route", str(path))
    assert all(o["lead_id"].startswith("auto-") for o in first)
    assert first[0]["lead_id"] != first[1]["lead_id"]
    again = lc.jsonl("route", str(path))
    assert [o["lead_id"] for o in again] == [o["lead_id"] for o in first]
    assert {o["status"] for o in again} == {"skipped"}


def test_dry_run_prints_what_would_happen_and_changes_nothing(lc):
    lc.team(users=("a", "b"), daily="2")
    path = lc.write("a.csv", leads_csv(5))
    before = lc.snapshot()
    dry = lc.jsonl("route", str(path), "--dry-run")
    assert [o["assigned_to"] for o in dry] == ["a", "b", "a", "b", None]
    assert lc.snapshot() == before
    assert lc.json("leads", "list") == []
    real = lc.jsonl("route", str(path))
    assert real == dry


def test_dry_run_spanning_batches_keeps_rotation_and_caps(lc, monkeypatch):
    import leadctl.assign.route

    monkeypatch.setattr(leadctl.assign.route, "BATCH_SIZE", 3)
    lc.team(users=("a", "b"), daily="3")
    out = lc.jsonl("route", str(lc.write("a.csv", leads_csv(8))), "--dry-run")
    assert [o["assigned_to"] for o in out] == ["a", "b", "a", "b", "a", "b", None, None]


@pytest.mark.sqlite_only
def test_dry_run_without_a_ledger_creates_none(lc):
    lc.team(users=("a",))
    lc.db.unlink()
    lc.jsonl("route", str(lc.write("a.csv", leads_csv(2))), "--dry-run")
    assert not lc.db.exists()


def test_everyone_capped_leaves_the_lead_unassigned_but_recorded(lc):
    lc.team(users=("a", "b"), daily="1")
    out = lc.jsonl("route", str(lc.write("a.csv", leads_csv(3))))
    assert [o["status"] for o in out] == ["assigned", "assigned", "unassigned"]
    assert out[2]["group"] == "tele-sales" and "capped" in out[2]["reason"]
    unassigned = lc.json("leads", "list", "--unassigned")
    assert [x["id"] for x in unassigned] == ["L3"]


def test_caps_count_calendar_days_in_the_configured_timezone(lc):
    lc("settings", "--timezone", "America/New_York")
    lc.team(users=("a", "b"), daily="1")
    data = ("id,received_at\n"
            "L1,2026-11-24T03:00:00+00:00\n"   # 22:00 on the 23rd in New York
            "L2,2026-11-24T03:30:00+00:00\n"   # also the 23rd: b
            "L3,2026-11-24T04:30:00+00:00\n"   # still the 23rd: everyone capped
            "L4,2026-11-24T09:00:00\n")        # no offset: read as New York, the 24th
    out = lc.jsonl("route", str(lc.write("a.csv", data)), "--clock", "received")
    assert [o["assigned_to"] for o in out] == ["a", "b", None, "a"]
    quota = {q["user"]: q["daily_used"] for q in lc.json("quota", "--date", "2026-11-23")}
    assert quota == {"a": 1, "b": 1}
    assert lc.json("leads", "show", "L4")["history"][0]["at"] == "2026-11-24T09:00:00-05:00"


def test_monthly_cap_spans_days_and_resets_with_the_month(lc):
    lc.team(users=("a", "b"), monthly="2")
    lc("group", "member", "edit", "tele-sales", "b", "--monthly", "0")
    data = "id,received_at\n" + "".join(f"N{i},2026-11-{20 + i}T10:00:00\n" for i in range(6)) + "D1,2026-12-01T10:00:00\n"
    out = lc.jsonl("route", str(lc.write("a.csv", data)), "--clock", "received")
    assert [o["assigned_to"] for o in out] == ["a", "b", "a", "b", "b", "b", "a"]


def test_rules_choose_the_group_first_match_wins_else_default(lc):
    lc.team(users=("a",))
    lc("user", "add", "z")
    lc("group", "add", "ads")
    lc("group", "member", "add", "ads", "z")
    lc("rule", "add", "--group", "ads", "--when", "source=Google-Ads")
    data = "id,source\nR1,google-ads\nR2,facebook\nR3, GOOGLE-ADS \n"
    out = lc.jsonl("route", str(lc.write("a.csv", data)))
    assert [(o["group"], o["assigned_to"]) for o in out] == [("ads", "z"), ("tele-sales", "a"), ("ads", "z")]
    forced = lc.jsonl("route", str(lc.write("b.csv", "id,source\nR4,google-ads\n")), "--group", "tele-sales")
    assert forced[0]["group"] == "tele-sales"


def test_record_type_must_match_the_groups_record_type(lc):
    lc.team(users=("a",))
    lc("group", "add", "deals", "--record-type", "deal")
    lc("group", "member", "add", "deals", "a")
    lc("rule", "add", "--group", "deals", "--when", "type=deal")
    data = "id,type\nT1,lead\nT2,deal\nT3,contact\n"
    result = lc("route", str(lc.write("a.csv", data)), "--output", "jsonl", ok=False)
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [(o["status"], o["group"]) for o in out] == [
        ("assigned", "tele-sales"), ("assigned", "deals"), ("rejected", "tele-sales")]
    assert "a contact cannot go to group 'tele-sales', which takes leads" in result.stderr


def test_no_group_at_all_is_a_usage_error(lc):
    result = lc("route", str(lc.write("a.csv", leads_csv(1))), ok=False)
    assert result.exit_code == 2 and "no group to route to" in result.stderr
    assert lc.json("leads", "list") == []


def test_unknown_group_option_and_missing_file_change_nothing(lc):
    lc.team(users=("a",))
    assert lc("route", str(lc.write("a.csv", leads_csv(1))), "--group", "nope", ok=False).exit_code == 2
    result = lc("route", str(lc.write("b.csv", leads_csv(1))), "missing.csv", ok=False)
    assert result.exit_code == 2 and "missing.csv not found" in result.stderr
    assert lc.json("leads", "list") == []


@pytest.mark.parametrize("fmt_args", [[], ["--format", "jsonl"]])
def test_stdin_jsonl_is_the_same_as_a_file(lc, fmt_args):
    lc.team(users=("a", "b"))
    data = '{"id": "J1", "email": "x@example.com"}\n{"id": "J2", "received_at": "2026-11-23T10:00:00Z"}\n'
    out = lc.jsonl("route", *fmt_args, input=data)
    assert [(o["line"], o["lead_id"], o["assigned_to"]) for o in out] == [(1, "J1", "a"), (2, "J2", "b")]


def test_dash_reads_stdin_and_csv_is_sniffed(lc):
    lc.team(users=("a", "b"))
    out = lc.jsonl("route", "-", input=leads_csv(2))
    assert [o["lead_id"] for o in out] == ["L1", "L2"]


def test_several_files_share_one_rotation(lc):
    lc.team(users=("a", "b", "c"))
    one = lc.write("one.csv", leads_csv(2))
    two = lc.write("two.jsonl", '{"id": "W1"}\n{"id": "W2"}\n')
    out = lc.jsonl("route", str(one), str(two))
    assert [o["assigned_to"] for o in out] == ["a", "b", "c", "a"]


def test_random_with_a_seed_repeats(lc, tmp_path):
    lc.team(users=("a", "b", "c", "d"), method="random")
    path = lc.write("a.csv", leads_csv(30))
    first = lc.jsonl("route", str(path), "--seed", "7", "--dry-run")
    second = lc.jsonl("route", str(path), "--seed", "7", "--dry-run")
    assert first == second
    assert len({o["assigned_to"] for o in first}) > 1


def test_weighted_group_gives_the_senior_two_of_every_three(lc):
    lc.team(group="advisors", users=("senior", "junior"), method="weighted")
    lc("group", "member", "edit", "advisors", "senior", "--weight", "10")
    lc("group", "member", "edit", "advisors", "junior", "--weight", "5")
    out = lc.jsonl("route", str(lc.write("a.csv", leads_csv(30))))
    got = [o["assigned_to"] for o in out]
    assert all(got[i:i + 3].count("senior") == 2 for i in range(len(got) - 2))


def test_inactive_member_is_skipped(lc):
    lc.team(users=("a", "b", "c"))
    lc("user", "edit", "b", "--inactive")
    out = lc.jsonl("route", str(lc.write("a.csv", leads_csv(4))))
    assert [o["assigned_to"] for o in out] == ["a", "c", "a", "c"]


def test_owner_in_the_payload_gets_the_lead_outside_the_rotation(lc):
    lc.team(users=("a", "b"), daily="1")
    data = "id,owner\nO1,\nO2,b\nO3,ghost\nO4,\n"
    out = lc.jsonl("route", str(lc.write("a.csv", data)))
    assert [(o["assigned_to"], o["method"]) for o in out] == [
        ("a", "sequential"), ("b", "owner"), ("b", "sequential"), (None, None)]
    assert "owner 'ghost' is not an active user" in out[2]["reason"]


def test_table_output_summarises_per_user(lc, monkeypatch):
    monkeypatch.setenv("LEADCTL_TABLES", "rich")  # as on a terminal
    lc.team(users=("a", "b"), daily="1")
    result = lc("route", str(lc.write("a.csv", leads_csv(3) + "bad\n")), "--output", "table", ok=False)
    assert result.exit_code == 1
    assert "unassigned: 1" in result.stdout and "rejected: 1" in result.stdout
    assert '"lead_id"' not in result.stdout
    counts = Counter(line.split()[1] for line in result.stdout.splitlines() if line.startswith("│"))
    assert counts == {"a": 1, "b": 1}


def test_a_json_file_holding_an_array_is_refused_with_a_hint(lc):
    lc.team(users=("a",))
    result = lc("route", str(lc.write("export.json", '[\n  {"id": "A"}\n]\n')), ok=False)
    assert result.exit_code == 1 and "JSON Lines" in result.stderr


def test_json_array_input_is_refused_with_a_hint(lc):
    lc.team(users=("a",))
    result = lc("route", "--output", "jsonl", input='[{"id": 1}]', ok=False)
    assert result.exit_code == 1 and "JSON Lines" in result.stderr


def test_rejections_do_not_echo_personal_data(lc):
    lc.team(users=("a",))
    data = "id,email,phone,received_at\nP1,secret.person@example.com,+44 7700 900999,not-a-date\n"
    result = lc("route", str(lc.write("a.csv", data)), ok=False)
    assert "secret.person" not in result.stderr and "900999" not in result.stderr


def test_jsonl_line_is_exactly_the_json_of_the_outcome():
    from leadctl.outcome import Outcome

    for o in (Outcome(3, 'L"1\\', "assigned", "tom", "g", "sequential", None),
              Outcome(4, None, "rejected", reason="bad \u00e9\n\"line\""),
              Outcome(5, "x", "unassigned", None, "g", None, "every member of group 'g' is capped")):
        assert json.loads(o.json()) == o.as_dict()


def test_a_batch_meeting_an_id_already_in_the_ledger_is_decided_again_without_a_trace(lc):
    """Batches are written first and checked after while no id has repeated; a collision
    rolls the whole attempt back (rotation and caps included) and decides the batch again."""
    lc.team(users=("a", "b", "c"))
    lc.jsonl("route", str(lc.write("one.csv", "id\nL1\nL2\nL3\n")))
    out = lc.jsonl("route", str(lc.write("two.csv", "id\nL4\nL2\nL5\n")))
    assert [(o["lead_id"], o["status"], o["assigned_to"]) for o in out] == [
        ("L4", "assigned", "a"), ("L2", "skipped", None), ("L5", "assigned", "b")]
    assert len(lc.json("leads", "show", "L2")["history"]) == 1
    assert {q["user"]: q["daily_used"] for q in lc.json("quota")} == {"a": 2, "b": 2, "c": 1}
    assert lc.json("group", "show", "tele-sales")["next"] == "c"


def test_phone_keys_without_a_region_are_the_digits_of_a_national_number_whatever_the_text():
    """keys.phone_key's plain-replace path claims exactly the digits of the text, as the \\D
    regex gives them, for any text that is not international (+ or 00): separators,
    letters, non-ASCII digits, a + in the middle."""
    import re

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from leadctl.domain.keys import MIN_PHONE_DIGITS, phone_key

    def reference(value):
        text = (value or "").strip()
        digits = re.sub(r"\D", "", text)
        return digits if len(digits) >= MIN_PHONE_DIGITS else None

    phones = st.one_of(st.text(alphabet="0123456789 +-().x/", max_size=24), st.text(max_size=24),
                       st.sampled_from(["0044-7700", "(020) 7946-0018", "٠١٢٣٤٥٦٧", "12+34 56", "", "n/a"]))

    @settings(max_examples=500, deadline=None)
    @given(st.one_of(st.none(), phones).filter(lambda v: not (v or "").strip().startswith(("+", "00"))))
    def check(value):
        assert phone_key(value) == reference(value)

    check()
    assert phone_key("(020) 7946-0018") == "02079460018" and phone_key("n/a") is None


def test_phone_keys_are_e164_as_phonenumbers_reads_every_regions_example_numbers():
    """The plain international form is taken without a parse: for every region's example
    fixed-line and mobile numbers it gives what phonenumbers gives, written internationally,
    nationally (in the region) and, for Germany, with the 00 prefix and a (0)."""
    import phonenumbers as pn

    from leadctl.domain.keys import phone_key

    checked = 0
    for region in sorted(pn.SUPPORTED_REGIONS):
        for kind in (pn.PhoneNumberType.FIXED_LINE, pn.PhoneNumberType.MOBILE):
            number = pn.example_number_for_type(region, kind)
            if number is None:
                continue
            e164 = pn.format_number(number, pn.PhoneNumberFormat.E164)
            international = pn.format_number(number, pn.PhoneNumberFormat.INTERNATIONAL)
            national = pn.format_number(number, pn.PhoneNumberFormat.NATIONAL)
            assert phone_key(international) == e164, (region, international)
            if sum(c.isdigit() for c in national) >= 6:  # shorter is no key (MIN_PHONE_DIGITS)
                assert phone_key(national, region) == e164, (region, national)
            checked += 1
    assert checked > 400
    german = ["+49 170 1234567", "0049 170 1234567", "0170 1234567", "+49 (0)170 123 45 67", "+49 0170/1234567"]
    assert {phone_key(p, "DE") for p in german} == {"+491701234567"}
    assert phone_key("0170 1234567") == "01701234567"  # no region: a national number keeps its digits
    assert phone_key("+44 7700 900123") == "+447700900123" and phone_key("N/A", "DE") is None


def test_received_at_offsets_cached_per_minute_equal_parsing_each_one():
    """routing.LocalTimes claims exactly `parse_when(...).isoformat(timespec="seconds")` and
    its local day, in zones with DST gaps and folds, at the calendar's ends, for bad text too."""
    from zoneinfo import ZoneInfo

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from leadctl.dates import LocalTimes, parse_when

    zones = [ZoneInfo(z) for z in ("Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
                                   "Pacific/Kiritimati", "UTC")]
    texts = st.one_of(
        st.datetimes().map(lambda d: d.isoformat(timespec="seconds")),
        st.datetimes(timezones=st.sampled_from(zones)).map(lambda d: d.isoformat(timespec="seconds")),  # as the ledger keeps them
        st.sampled_from(["2026-11-23T10:00:60+00:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
                         "2026-11-23T10:00:00+24:00", "2026-11-23T10:00:00+05:30", "2026-03-29T01:30:00+01:00"]),
        st.sampled_from(["2026-03-29T01:30:00", "2026-10-25T01:30:00", "2026-02-30T10:00:00",
                         "2026-11-23T10:00:60", "2026-11-23T24:00:00", "2026-11-23T10:00:0x", "0001-01-01T00:00:00",
                         "9999-12-31T23:59:59", "２０２６-11-23T10:00:00"]))

    @settings(max_examples=400, deadline=None)
    @given(st.sampled_from(zones), texts)
    def check(tz, text):
        fast = LocalTimes(tz).convert
        try:
            expected = parse_when(text, tz)
        except (ValueError, OverflowError):
            with pytest.raises((ValueError, OverflowError)):
                fast(text)
            return
        assert fast(text) == (expected.isoformat(timespec="seconds"), expected.date().isoformat())
        assert fast(text) == (expected.isoformat(timespec="seconds"), expected.date().isoformat())  # cached

    check()


def test_a_derived_id_is_the_hash_of_the_sorted_json_as_it_always_was():
    """Ids made from content must never change between versions (a re-export would route again):
    the fast encoder gives exactly `json.dumps(sort_keys=True, ensure_ascii=False)`."""
    import hashlib
    import json

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from leadctl.outcome import derived_id

    text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)

    @settings(max_examples=300, deadline=None)
    @given(st.dictionaries(text, text, max_size=6))
    def check(fields):
        blob = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
        assert derived_id(fields) == "auto-" + hashlib.sha256(blob).hexdigest()[:20]

    check()
    assert derived_id({"name": "Ann", "email": "ann@x.com"}) == "auto-" + hashlib.sha256(
        b'{"email": "ann@x.com", "name": "Ann"}').hexdigest()[:20]
