"""A distribution pool wherever an owner can stand (seed 003, Zendesk Sell): a payload's owner,
`reassign --to`, and the group then takes the record by its own method, counting and rotating."""

from __future__ import annotations

STORES = ("sqlite", "postgresql")


def sell_team(lc) -> None:
    for u in ("A", "B", "C", "x"):
        lc("user", "add", u)
    lc("group", "add", "pool")
    for u in ("A", "B", "C"):
        lc("group", "member", "add", "pool", u)
    lc("rule", "default", "pool")


def test_sell_the_pool_gives_a_b_c_a_then_an_existing_lead_set_to_the_pool_goes_to_b(lc):
    sell_team(lc)
    first = lc.jsonl("route", "--format", "jsonl", input='{"id": "OLD", "owner": "x"}\n')
    assert (first[0]["assigned_to"], first[0]["method"]) == ("x", "owner")  # outside the rules: no turn used
    routed = lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "S{i}"}}\n' for i in range(1, 5)))
    assert [o["assigned_to"] for o in routed] == ["A", "B", "C", "A"]
    lc("reassign", "OLD", "--to", "pool")  # the owner field edited to name the pool
    history = lc.json("leads", "show", "OLD")["history"]
    assert (history[-1]["assigned_to"], history[-1]["method"], history[-1]["group"]) == ("B", "sequential", "pool")
    assert history[-1]["counted"] is True
    assert lc.jsonl("route", "--format", "jsonl", input='{"id": "S5"}\n')[0]["assigned_to"] == "C"  # it moved on
    assert {r["user"]: r["daily_used"] for r in lc.json("quota")} == {"A": 2, "B": 2, "C": 2}  # OLD counted for B


def test_a_payload_owner_naming_a_pool_is_routed_by_it_counted_and_rotated(lc):
    sell_team(lc)
    lc("group", "add", "inbound")
    lc("group", "member", "add", "inbound", "x")
    lc("group", "member", "add", "inbound", "C", "--daily", "1")
    out = lc.jsonl("route", "--clock", "received", "--format", "jsonl", input=(
        '{"id": "P1", "owner": "inbound", "received_at": "2026-11-23T09:00:00"}\n'
        '{"id": "P2", "owner": "INBOUND", "received_at": "2026-11-23T09:01:00"}\n'
        '{"id": "P3", "owner": "inbound", "received_at": "2026-11-23T09:02:00"}\n'
        '{"id": "P4", "received_at": "2026-11-23T09:03:00"}\n'))
    assert [(o["assigned_to"], o["group"], o["method"]) for o in out] == [
        ("x", "inbound", "sequential"), ("C", "inbound", "sequential"), ("x", "inbound", "sequential"),
        ("A", "pool", "sequential")]
    assert "owner is the group 'inbound'" in out[0]["reason"]
    used = {(r["group"], r["user"]): r["daily_used"] for r in lc.json("quota", "--date", "2026-11-23")}
    assert used[("inbound", "x")] == 2 and used[("inbound", "C")] == 1 and used[("pool", "A")] == 1


def test_a_pool_of_another_record_type_is_not_an_owner_and_the_lead_goes_by_the_rules(lc):
    sell_team(lc)
    lc("group", "add", "deals", "--record-type", "deal")
    lc("group", "member", "add", "deals", "x")
    out = lc.jsonl("route", "--format", "jsonl", input='{"id": "T1", "owner": "deals"}\n')
    assert (out[0]["assigned_to"], out[0]["group"]) == ("A", "pool")
    assert "owner 'deals' is a group of deals" in out[0]["reason"]
    moved = lc("reassign", "T1", "--to", "deals", ok=None)
    assert moved.exit_code == 1 and "a lead cannot go to group 'deals'" in moved.stderr


def test_a_name_that_is_both_a_user_and_a_group_means_the_user_and_config_check_warns(lc):
    sell_team(lc)
    lc("user", "add", "team-b")
    lc("group", "add", "team-b")
    lc("group", "member", "add", "team-b", "C")
    assert "'team-b' is both a user and a group" in lc("config", "check").stderr
    out = lc.jsonl("route", "--format", "jsonl", input='{"id": "U1", "owner": "team-b"}\n')
    assert (out[0]["assigned_to"], out[0]["method"]) == ("team-b", "owner")
    lc("reassign", "U1", "--to", "A")
    lc("reassign", "U1", "--to", "TEAM-B")
    assert [(h["assigned_to"], h["method"]) for h in lc.json("leads", "show", "U1")["history"]][-1] == ("team-b", "manual")


def test_a_converted_lead_links_both_ways_keeps_its_owner_and_cannot_be_converted_twice(lc):
    sell_team(lc)
    lc.jsonl("route", "--format", "jsonl", input='{"id": "L1", "name": "Ada", "email": "ada@example.com"}\n')
    out = lc("leads", "convert", "L1", "--to", "contact", "--note", "qualified", "--format", "json")
    made = __import__("json").loads(out.stdout)
    assert (made["record_id"], made["type"], made["assigned_to"], made["method"]) == ("L1:contact", "contact", "A", "owner")
    lead, contact = lc.json("leads", "show", "L1"), lc.json("leads", "show", "L1:contact")
    assert lead["converted_to"] == ["L1:contact"] and lead["status"] == "converted" and lead["assigned_to"] == "A"
    assert contact["converted_from"] == "L1" and contact["type"] == "contact" and contact["name"] == "Ada"
    assert [h["method"] for h in lead["history"]] == ["sequential", "convert"]
    assert "converted to contact L1:contact" in lead["history"][-1]["reason"]
    assert [(h["assigned_to"], h["method"], h["note"]) for h in contact["history"]] == [("A", "owner", "qualified")]
    assert "converted from lead L1" in contact["history"][0]["reason"]
    before = (lc.config.read_bytes(), lc.snapshot())
    again = lc("leads", "convert", "L1", "--to", "contact", ok=None)
    assert again.exit_code == 1 and "converted to contact 'L1:contact' already" in again.stderr
    taken = lc("leads", "convert", "L1", "--to", "deal", "--id", "L1:contact", ok=None)
    assert taken.exit_code == 1 and "exists already" in taken.stderr
    assert (lc.config.read_bytes(), lc.snapshot()) == before
    assert {r["user"]: r["daily_used"] for r in lc.json("quota")}["A"] == 1  # a conversion is no assignment
    by_method = {r["method"]: r["count"] for r in lc.json("report", "--by", "method")}
    assert by_method == {"sequential": 1, "owner": 1}  # the contact's owner; the conversion itself is none


def test_a_conversion_to_a_pool_rotates_and_counts_and_the_owner_needs_the_right(lc):
    sell_team(lc)
    lc("group", "add", "closers", "--record-type", "deal")
    for u in ("B", "C"):
        lc("group", "member", "add", "closers", u)
    lc("user", "add", "rep")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "D1"}\n{"id": "D2"}\n{"id": "D3"}\n')
    firsts = [lc.json("leads", "show", f"D{i}")["assigned_to"] for i in (1, 2, 3)]
    assert firsts == ["A", "B", "C"]
    refused = lc("--as", "A", "leads", "convert", "D1", "--to", "deal", "--owner", "closers", ok=None)  # hers
    assert refused.exit_code == 1 and "may not reassign" in refused.stderr
    for i in (1, 2, 3):
        lc("leads", "convert", f"D{i}", "--to", "deal", "--owner", "closers")
    deals = [lc.json("leads", "show", f"D{i}:deal") for i in (1, 2, 3)]
    assert [(d["assigned_to"], d["group"], d["history"][0]["method"]) for d in deals] == [
        ("B", "closers", "sequential"), ("C", "closers", "sequential"), ("B", "closers", "sequential")]
    used = {(r["group"], r["user"]): r["daily_used"] for r in lc.json("quota")}
    assert used[("closers", "B")] == 2 and used[("closers", "C")] == 1
    wrong = lc("leads", "convert", "D1", "--to", "contact", "--owner", "closers", ok=None)
    assert wrong.exit_code == 2 and "takes deals" in wrong.stderr
