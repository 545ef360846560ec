"""Assignments outside the group rules: owner, creator, duplicates, pick-up, reassignment,
release; pools per record type; lead isolation; history."""

from __future__ import annotations

import json

import pytest

from tests.conftest import leads_csv

STORES = ("sqlite", "postgresql")  # every test taking `lc` runs on both ledgers


def route(lc, data: str, *args, name="in.csv", ok=True):
    return lc.jsonl("route", str(lc.write(name, data)), *args, ok=ok)


def owners(out):
    return [(o["assigned_to"], o["method"]) for o in out]


def usage(lc):
    """Today's use per member (the records here carry no received_at, so they are routed now)."""
    return {q["user"]: q["daily_used"] for q in lc.json("quota")}


# -- creator and duplicates ------------------------------------------------------------


def test_creator_gets_the_lead_only_when_the_setting_is_on(lc):
    lc.team(users=("a", "b"))
    assert owners(route(lc, "id,created_by\nC1,b\n")) == [("a", "sequential")]
    lc("settings", "--assign-to-creator")
    assert owners(route(lc, "id,created_by\nC2,b\nC3,ghost\n")) == [("b", "creator"), ("b", "sequential")]


def test_duplicate_email_goes_to_the_earlier_owner_normalised(lc):
    lc.team(users=("a", "b", "c"))
    lc("settings", "--duplicates", "email")
    route(lc, "id,email\nD1,Ann@Example.com\nD2,bob@example.com\n")  # a, b
    out = route(lc, "id,email\nD3,  ann@EXAMPLE.com \nD4,new@example.com\n", name="b.csv")
    assert owners(out) == [("a", "duplicate"), ("c", "sequential")]
    assert out[0]["reason"] == "duplicate of lead D1 (same email)"


def test_duplicate_phone_compares_digits_and_keeps_the_plus(lc):
    lc.team(users=("a", "b", "c"))
    lc("settings", "--duplicates", "phone")
    route(lc, "id,phone\nP1,+44 7700 900123\nP2,07700 900123\n")  # a, b
    out = route(lc, "id,phone\nP3,+447700900123\nP4,(07700) 900-123\nP5,447700900123\n", name="b.csv")
    assert owners(out) == [("a", "duplicate"), ("b", "duplicate"), ("c", "sequential")]


def test_with_a_phone_region_every_way_of_writing_a_german_number_is_one_customer(lc):
    lc.team(users=("a", "b", "c"))
    lc("settings", "--duplicates", "phone")
    route(lc, "id,Telefon\nG1,0170 1234567\nG2,030 1234567\n")  # a, b: national numbers, no region yet
    lc("settings", "--phone-region", "de")  # earlier leads are keyed again, in E.164
    assert lc.json("settings")["phone_region"] == "DE"
    out = route(lc, "id,Mobile\nG3,+49 170 1234567\nG4,0049 30 1234567\nG5,+49 (0)170 123 45 67\n"
                    "G6,+43 170 1234567\n", name="b.csv")
    assert owners(out) == [("a", "duplicate"), ("b", "duplicate"), ("a", "duplicate"), ("c", "sequential")]
    bad = lc("settings", "--phone-region", "XX", ok=None)
    assert bad.exit_code == 2 and "unknown phone region 'XX'" in bad.stderr
    assert lc.json("settings")["phone_region"] == "DE"


def test_duplicate_within_one_file_and_only_with_an_active_owner(lc):
    lc.team(users=("a", "b"))
    lc("settings", "--duplicates", "email,phone")
    out = route(lc, "id,email\nE1,x@example.com\nE2,x@example.com\n")
    assert owners(out) == [("a", "sequential"), ("a", "duplicate")]
    lc("user", "edit", "a", "--inactive")
    out = route(lc, "id,email\nE3,x@example.com\n", name="b.csv")
    assert owners(out) == [("b", "sequential")]


def test_duplicate_index_is_built_when_duplicates_are_switched_on(lc):
    lc.team(users=("a",))
    route(lc, "id,email\nI1,x@example.com\n")
    indexes = lc.indexes
    assert "leads_email_key" not in indexes()
    lc("settings", "--duplicates", "email")
    assert owners(route(lc, "id,email\nI2,X@example.com\n", name="b.csv")) == [("a", "duplicate")]
    assert "leads_email_key" in indexes() and "leads_phone_key" not in indexes()


def test_duplicates_off_means_group_method(lc):
    lc.team(users=("a", "b"))
    out = route(lc, "id,email\nE1,x@example.com\nE2,x@example.com\n")
    assert owners(out) == [("a", "sequential"), ("b", "sequential")]


def test_precedence_owner_then_creator_then_duplicate_then_group(lc):
    lc.team(users=("a", "b", "c", "d"))
    lc("settings", "--duplicates", "email", "--assign-to-creator")
    route(lc, "id,email\nX0,dup@example.com\n")  # a owns dup@
    data = ("id,email,owner,created_by\n"
            "X1,dup@example.com,d,c\n"
            "X2,dup@example.com,,c\n"
            "X3,dup@example.com,,\n"
            "X4,other@example.com,,\n")
    # X3 matches X0 (a), X1 (d) and X2 (c): the most recent earlier owner wins.
    assert owners(route(lc, data, name="b.csv")) == [
        ("d", "owner"), ("c", "creator"), ("c", "duplicate"), ("b", "sequential")]


def test_outside_assignments_leave_caps_and_rotation_untouched(lc):
    lc.team(users=("a", "b", "c"), daily="5")
    lc("settings", "--duplicates", "email")
    route(lc, "id,email\nU1,one@example.com\n")  # a by rotation: next is b
    before = usage(lc)
    out = route(lc, "id,email,owner\nU2,one@example.com,\nU3,x@example.com,c\n", name="b.csv")
    assert owners(out) == [("a", "duplicate"), ("c", "owner")]
    lc("reassign", "U1", "--to", "c")
    assert usage(lc) == before == {"a": 1, "b": 0, "c": 0}
    assert lc.json("group", "show", "tele-sales")["next"] == "b"
    assert owners(route(lc, "id\nU4\n", name="c.csv")) == [("b", "sequential")]


def test_outside_assignment_reaches_a_capped_member(lc):
    lc.team(users=("a", "b"), daily="1")
    route(lc, leads_csv(2))
    out = route(lc, "id,owner\nO1,a\n", name="b.csv")
    assert owners(out) == [("a", "owner")]


# -- pick-up ---------------------------------------------------------------------------


@pytest.fixture
def pool(lc):
    """a and b (b may pick up) in tele-sales, pick-up status 'new'; capped so leads stay unassigned."""
    lc.team(users=("a", "b"), daily="1")
    lc("user", "edit", "b", "--pickup")
    lc("group", "edit", "tele-sales", "--pickup-status", "new")
    out = route(lc, "id,status\nK1,new\nK2,new\nK3,new\nK4,callback\n")
    assert [o["status"] for o in out] == ["assigned", "assigned", "unassigned", "unassigned"]
    return lc


def test_pickup_assigns_without_counting_caps(pool):
    result = pool("pickup", "K3", "--user", "b")
    assert result.stdout.strip() == "K3: unassigned -> b (pickup)"
    lead = pool.json("leads", "show", "K3")
    assert lead["assigned_to"] == "b" and lead["history"][-1]["method"] == "pickup"
    assert usage(pool)["b"] == 1  # still only the routed lead


@pytest.mark.parametrize("setup, lead, user, message", [
    ([], "K3", "a", "user 'a' has no pick-up permission"),
    ([["user", "edit", "b", "--inactive"]], "K3", "b", "user 'b' is not active"),
    ([], "K1", "b", "lead 'K1' is not unassigned"),
    ([], "K4", "b", "status 'callback' of lead 'K4' is not a pick-up status"),
    ([["group", "edit", "tele-sales", "--no-pickup-statuses"]], "K3", "b", "status 'new' of lead 'K3' is not a pick-up status"),
    ([["group", "member", "remove", "tele-sales", "b"]], "K3", "b", "user 'b' is not a member of group 'tele-sales', the group of lead 'K3'"),
    ([], "NOPE", "b", "unknown lead 'NOPE'"),
])
def test_every_pickup_refusal_names_its_condition(pool, setup, lead, user, message):
    for command in setup:
        pool(*command)
    before = pool.json("leads", "list")
    result = pool("pickup", lead, "--user", user, ok=False)
    assert result.exit_code == 1 and message in result.stderr
    assert pool.json("leads", "list") == before


def test_pickup_by_unknown_user_is_a_usage_error(pool):
    assert pool("pickup", "K3", "--user", "ghost", ok=False).exit_code == 2


def test_pickable_by_lists_what_the_user_could_pick_up(pool):
    ids = lambda user: [x["id"] for x in pool.json("leads", "list", "--pickable-by", user)]  # noqa: E731
    assert ids("b") == ["K3"]
    assert ids("a") == []  # no permission
    pool("group", "edit", "tele-sales", "--pickup-status", "new", "--pickup-status", "callback")
    assert ids("b") == ["K3", "K4"]


def test_pickup_respects_record_type_of_the_group(lc):
    lc.team(users=("a",), daily="1")
    lc("user", "edit", "a", "--pickup")
    lc("group", "add", "contacts", "--record-type", "contact", "--pickup-status", "new")
    lc("group", "member", "add", "contacts", "a", "--daily", "1")
    lc("rule", "add", "--group", "contacts", "--when", "type=contact")
    route(lc, "id,type\nT0,lead\nT1,lead\nT2,contact\nT3,contact\n")
    assert [x["id"] for x in lc.json("leads", "list", "--pickable-by", "a")] == ["T3"]
    assert lc("pickup", "T1", "--user", "a", ok=False).exit_code == 1


# -- reassignment and release ------------------------------------------------------------


def test_seed_003_pool_a_b_c_a_then_an_existing_lead_moved_to_the_pool_goes_to_b(lc):
    lc.team(group="pool", users=("A", "B", "C"))
    lc("user", "add", "outsider")
    out = route(lc, "id,owner\nR1,\nR2,\nR3,\nR4,\nOLD,outsider\n")
    assert [o["assigned_to"] for o in out] == ["A", "B", "C", "A", "outsider"]
    result = lc("reassign", "OLD", "--to-group", "pool")
    assert result.stdout.strip() == "OLD: outsider -> B (sequential)"
    assert lc.json("group", "show", "pool")["next"] == "C"
    assert lc.json("leads", "show", "OLD")["history"][-1]["method"] == "sequential"


def test_reassign_to_group_counts_towards_caps_and_skips_capped(lc):
    lc.team(users=("a", "b"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "1")
    lc("user", "add", "z")
    route(lc, "id,owner\nM1,z\nM2,z\nM3,z\n")
    lc("reassign", "M1", "M2", "M3", "--to-group", "tele-sales")
    got = [lc.json("leads", "show", i)["assigned_to"] for i in ("M1", "M2", "M3")]
    assert got == ["a", "b", "b"]
    today = lc.json("quota")
    assert {q["user"]: q["daily_used"] for q in today} == {"a": 1, "b": 2}


def test_reassign_from_a_leaving_user_and_release(lc):
    lc.team(users=("a", "b", "c"))
    route(lc, leads_csv(6))  # a: L1 L4, b: L2 L5, c: L3 L6
    lc("reassign", "--from", "a", "--to", "c", "--yes")
    assert [x["id"] for x in lc.json("leads", "list", "--owner", "c")] == ["L1", "L3", "L4", "L6"]
    lc("release", "L1")
    lead = lc.json("leads", "show", "L1")
    assert lead["assigned_to"] is None
    assert [(h["assigned_to"], h["method"]) for h in lead["history"]] == [
        ("a", "sequential"), ("c", "manual"), (None, "release")]
    assert lc("release", "L1", ok=False).exit_code == 1


def test_reassign_refusals(lc):
    lc.team(users=("a", "b"))
    lc("user", "add", "idle")
    lc("user", "edit", "idle", "--inactive")
    lc("group", "add", "deals", "--record-type", "deal")
    route(lc, leads_csv(2))
    assert lc("reassign", "L1", "--to", "idle", ok=False).exit_code == 2
    assert lc("reassign", "L1", "--to", "a", "--to-group", "deals", ok=False).exit_code == 2
    assert lc("reassign", "L1", ok=False).exit_code == 2
    result = lc("reassign", "L1", "NOPE", "--to", "b", ok=False)
    assert result.exit_code == 1 and "unknown lead 'NOPE'" in result.stderr
    assert lc.json("leads", "show", "L1")["assigned_to"] == "b"  # the known lead still moved
    result = lc("reassign", "L2", "--to-group", "deals", ok=False)
    assert result.exit_code == 1 and "cannot go to group 'deals'" in result.stderr


def test_reassign_json_output(lc):
    lc.team(users=("a", "b"))
    route(lc, leads_csv(1))
    moves = json.loads(lc("reassign", "L1", "--to", "b", "--format", "json").stdout)
    assert moves == [{"lead_id": "L1", "done": True, "previous": "a", "assigned_to": "b", "group": "tele-sales",
                      "method": "manual", "reason": None}]


def test_reassign_from_a_member_never_hands_their_leads_back_to_them(lc):
    lc.team(users=("a", "b", "c"))
    route(lc, leads_csv(6))  # a: L1 L4
    lc("reassign", "--from", "a", "--to-group", "tele-sales", "--yes")
    assert [x["assigned_to"] for x in lc.json("leads", "list")] == ["b", "b", "c", "c", "b", "c"]


def test_reassign_to_the_current_owner_is_a_no_op(lc):
    lc.team(users=("a", "b"))
    route(lc, leads_csv(1))
    result = lc("reassign", "L1", "--to", "a")
    assert result.stdout.strip() == "L1: already assigned to 'a'"
    assert len(lc.json("leads", "show", "L1")["history"]) == 1


def test_user_remove_explains_open_leads(lc):
    lc.team(users=("a", "b"))
    route(lc, leads_csv(3))
    result = lc("user", "remove", "a", "--yes")
    assert "'a' still owns 2 lead(s)" in result.stderr and "reassign --from a" in result.stderr
    lc("reassign", "--from", "a", "--to-group", "tele-sales", "--yes")
    assert [x["assigned_to"] for x in lc.json("leads", "list")] == ["b", "b", "b"]


# -- lead isolation ----------------------------------------------------------------------


@pytest.fixture
def isolated(lc):
    lc.team(users=("trusty", "std", "boss"))
    lc("user", "edit", "trusty", "--role", "trusted")
    lc("user", "edit", "boss", "--role", "manager")
    route(lc, leads_csv(6))
    return lc


def test_isolation_trusted_user_sees_only_own_leads(isolated):
    ids = lambda *a: [x["id"] for x in isolated.json("leads", "list", *a)]  # noqa: E731
    assert ids("--as", "trusty") == ids()  # isolation off: everyone sees all
    isolated("settings", "--isolate")
    assert ids("--as", "trusty") == ["L1", "L4"]
    assert ids("--as", "trusty", "--unassigned") == []
    assert ids("--as", "boss") == ids("--as", "std") == ["L1", "L2", "L3", "L4", "L5", "L6"]
    assert isolated("leads", "show", "L2", "--as", "trusty", ok=False).exit_code == 1
    assert isolated("leads", "show", "L1", "--as", "trusty").exit_code == 0
    csv_out = isolated("leads", "list", "--as", "trusty", "--format", "csv").stdout
    assert "L2" not in csv_out and "L1" in csv_out
