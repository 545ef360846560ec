"""Speed to lead you can see: `report --sla` (met, missed, attainment, time to first contact),
the skip counts and shares on `report --by user`, `--by hour`, and `--chart`. Counted by hand
on a seeded scenario, on a frozen clock."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

from tests.test_lifecycle import at

SVG = "{http://www.w3.org/2000/svg}"


def _scenario(lc):
    """a (daily cap 1), b, c; SLA deadline 1h (its first moving step). At 09:00 five leads...
    no: four, then one at 10:45 — L1 a, L2 b, L3 c, L4 b (a passed over for her cap), L5 c."""
    lc.team(users=("a", "b", "c"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "1")
    with at("2026-11-23T08:59:00"):
        lc("group", "sla", "tele-sales", "--step", "15m:remind", "--step", "1h:reroute")
    with at("2026-11-23T09:00:00"):
        out = lc.jsonl("route", "--format", "jsonl", input="".join(f'{{"id": "L{i}"}}\n' for i in range(1, 5)))
        assert [o["assigned_to"] for o in out] == ["a", "b", "c", "b"]
    with at("2026-11-23T09:10:00"):
        lc("leads", "status", "L1", "contacted")  # a: 10 minutes, met
    with at("2026-11-23T09:30:00"):
        lc("leads", "status", "L2", "contacted")  # b: 30 minutes, met
    with at("2026-11-23T10:30:00"):
        lc("leads", "status", "L3", "contacted")  # c: 90 minutes, missed
    with at("2026-11-23T10:45:00"):
        (out,) = lc.jsonl("route", "--format", "jsonl", input='{"id": "L5"}\n')
        assert out["assigned_to"] == "c"  # due at 11:45: neither met nor missed at 11:00
    # L4: b never called, and the hour is over at 10:00: missed


def test_report_sla_counts_met_missed_and_first_contact_as_a_person_would(lc):
    _scenario(lc)
    with at("2026-11-23T11:00:00"):
        rows = lc.json("report", "--sla", "--since", "2026-11-23")
    assert rows == [
        {"user": "a", "sla_met": 1, "sla_missed": 0, "attainment": 1.0, "first_contact_median_s": 600,
         "first_contact_p90_s": 600},
        {"user": "b", "sla_met": 1, "sla_missed": 1, "attainment": 0.5, "first_contact_median_s": 1800,
         "first_contact_p90_s": 1800},
        {"user": "c", "sla_met": 0, "sla_missed": 1, "attainment": 0.0, "first_contact_median_s": 5400,
         "first_contact_p90_s": 5400},
    ]
    with at("2026-11-23T11:00:00"):
        (group,) = lc.json("report", "--sla", "--by", "group")
        assert (group["group"], group["sla_met"], group["sla_missed"], group["attainment"]) == ("tele-sales", 2, 2, 0.5)
        assert "a\t1\t0\t100%\t600\t600" in lc("report", "--sla").stdout  # (tab-separated off a terminal)
        (day,) = lc.json("report", "--sla", "--by", "day")
        assert (day["day"], day["sla_met"], day["sla_missed"]) == ("2026-11-23", 2, 2)
        result = lc("report", "--sla", "--by", "source", ok=None)
        assert result.exit_code == 2 and "--sla counts by user, group" in result.stderr


def test_report_sla_counts_an_offered_lead_from_its_acceptance_and_an_offer_let_lapse_not_at_all(lc):
    """With --accept-within the SLA clock starts at the acceptance, in the report as on the
    ladder: a accepts at 09:04 and calls at 09:18 — 14 minutes, met, though 18 passed since the
    offer; b lets O2 lapse (neither met nor missed: b's SLA never started); c gets it at 09:05,
    accepts at 09:07 and has not called by 09:30 (due 09:22): missed. O3, offered to c at 09:06
    and not accepted yet, counts for nobody."""
    lc.team(users=("a", "b", "c"))
    with at("2026-11-23T08:59:00"):
        lc("group", "sla", "tele-sales", "--accept-within", "5m", "--step", "15m:reroute")
    with at("2026-11-23T09:00:00"):
        out = lc.jsonl("route", "--format", "jsonl", input='{"id": "O1"}\n{"id": "O2"}\n')
        assert [o["assigned_to"] for o in out] == ["a", "b"]
    with at("2026-11-23T09:04:00"):
        lc("leads", "accept", "O1", "--as", "a")
    with at("2026-11-23T09:05:00"):
        ticked = [json.loads(line) for line in lc("tick", "-o", "jsonl").stdout.splitlines()]
        assert [(t["lead_id"], t["assigned_to"]) for t in ticked] == [("O2", "c")]
    with at("2026-11-23T09:06:00"):
        (out,) = lc.jsonl("route", "--format", "jsonl", input='{"id": "O3"}\n')
        assert out["assigned_to"] == "a"
    with at("2026-11-23T09:07:00"):
        lc("leads", "accept", "O2", "--as", "c")
    with at("2026-11-23T09:18:00"):
        lc("leads", "status", "O1", "contacted")
    with at("2026-11-23T09:30:00"):
        rows = lc.json("report", "--sla", "--since", "2026-11-23")
    assert rows == [
        {"user": "a", "sla_met": 1, "sla_missed": 0, "attainment": 1.0, "first_contact_median_s": 840,
         "first_contact_p90_s": 840},
        {"user": "c", "sla_met": 0, "sla_missed": 1, "attainment": 0.0, "first_contact_median_s": None,
         "first_contact_p90_s": None},
    ]


def test_report_by_user_says_who_was_passed_over_and_why_and_the_shares(lc):
    _scenario(lc)
    lc("away", "add", "b", "--from", "2026-11-24", "--to", "2026-11-24")
    with at("2026-11-24T09:00:00"):
        out = lc.jsonl("route", "--format", "jsonl", input='{"id": "M1"}\n{"id": "M2"}\n')
        assert [o["assigned_to"] for o in out] == ["a", "c"]  # (after c: a, then b away -> c)
    with at("2026-11-24T12:00:00"):
        rows = {r["user"]: r for r in lc.json("report", "--since", "2026-11-23")}
        skips = {u: (r["skipped_capped"], r["skipped_away"], r["skipped_off_hours"], r["skipped_inactive"])
                 for u, r in rows.items()}
        assert skips == {"a": (1, 0, 0, 0), "b": (0, 1, 0, 0), "c": (0, 0, 0, 0)}
        # 7 leads by the method: a 2, b 2, c 3; each was asked a third
        assert {u: (r["target_share"], r["actual_share"]) for u, r in rows.items()} == {
            "a": (0.3333, 0.2857), "b": (0.3333, 0.2857), "c": (0.3333, 0.4286)}
        said = lc("report", "--since", "2026-11-23").stderr
    assert "a got 29% of the group, asked 33%; passed over 1 time(s) for a cap" in said


def test_report_by_hour_counts_by_the_hour_the_leads_came_in_the_configured_zone(lc):
    lc.team(users=("a", "b"))
    lc("settings", "--timezone", "Europe/Berlin")
    received = ["2026-11-23T08:05:00+00:00", "2026-11-23T08:55:00+00:00", "2026-11-23T13:30:00+00:00"]
    lc.jsonl("route", "--clock", "received", "--format", "jsonl",
             input="".join(json.dumps({"id": f"H{i}", "received_at": r}) + "\n" for i, r in enumerate(received)))
    rows = lc.json("report", "--by", "hour")
    assert [(r["hour"], r["count"]) for r in rows] == [("09", 2), ("14", 1)]  # Berlin is UTC+1 in November


def test_report_chart_is_a_valid_svg_of_the_reports_rows(lc):
    _scenario(lc)
    chart = lc.folder / "report.svg"
    with at("2026-11-23T11:00:00"):
        result = lc("report", "--since", "2026-11-23", "--chart", str(chart))
    assert "chart written" in result.stderr
    svg = ElementTree.parse(chart).getroot()
    assert svg.tag == f"{SVG}svg" and svg.get("role") == "img"
    bars = svg.findall(f"{SVG}rect")
    assert len(bars) == 3 and [b.find(f"{SVG}title").text for b in bars] == ["b: 2", "c: 2", "a: 1"]
    assert {"a", "b", "c"} <= {t.text for t in svg.findall(f"{SVG}text")}
    with at("2026-11-23T11:00:00"):
        lc("report", "--sla", "--chart", str(chart))
    titles = [b.find(f"{SVG}title").text for b in ElementTree.parse(chart).getroot().findall(f"{SVG}rect")]
    assert titles == ["a: 100%", "b: 50%", "c: 0%"]
    result = lc("report", "--chart", str(lc.folder / "no" / "such" / "dir.svg"), ok=None)
    assert result.exit_code == 2 and "cannot write the chart" in result.stderr


def test_a_chart_escapes_what_it_draws():
    from leadctl.charts import bar_chart

    svg = bar_chart([("<script>alert(1)</script>", 3), ("a&b", 1)], 'Leads "by" source')
    root = ElementTree.fromstring(svg)
    assert "<script>" not in svg and [t.text for t in root.findall(f"{SVG}text")][0].startswith("<script>")


def test_the_reports_page_draws_each_chart_with_its_numbers_for_managers_only(lc):
    from tests.test_pages import signed_in
    from tests.test_serve import Server

    lc.team(users=("a", "b"))
    lc("user", "add", "mia", "--role", "manager")
    lc("group", "member", "add", "tele-sales", "mia")
    lc("group", "sla", "tele-sales", "--step", "1h:reroute")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "R1"}\n{"id": "R2"}\n{"id": "R3"}\n')  # a, b, mia
    lc("leads", "status", "R1", "contacted")
    srv = Server(lc)
    try:
        mia = signed_in(lc, srv, "mia")
        status, _, page = mia.get("/reports?days=30")
        assert status == 200 and "last 30 days" in page and 'aria-current="page">Reports' in page
        svgs = [ElementTree.fromstring(s) for s in re.findall(r"<svg.*?</svg>", page, re.S)]
        assert [s.get("aria-label") for s in svgs] == [
            "Leads per member, last 30 days",
            "Median minutes to first contact, last 30 days (mark: 90th percentile)",
            "SLA attainment, last 30 days"]
        assert "<caption>Leads per member</caption>" in page and "<td>a</td><td class=\"num\">1</td>" in page
        assert "<caption>SLA met and missed</caption>" in page and ">100%</td>" in page  # a called at once
        assert mia.get("/reports?days=abc")[0] == 200  # a window it does not offer: the default
        a = signed_in(lc, srv, "a")
        status, _, page = a.get("/reports")
        assert status == 403 and "<svg" not in page
        assert 'href="/reports"' not in a.get("/inbox")[2]
    finally:
        srv.stop()


def test_a_manager_hands_a_queued_lead_to_a_member_from_the_queue_page(lc):
    from tests.test_pages import csrf, signed_in
    from tests.test_serve import Server

    lc.team(users=("a", "b"), daily="1")  # each takes one a day: the rest wait, even as serve drains
    lc("user", "add", "mia", "--role", "manager")
    lc("group", "edit", "tele-sales", "--queue")
    out = lc.jsonl("route", "--format", "jsonl",
                   input='{"id": "L1"}\n{"id": "L2"}\n{"id": "Q1", "name": "Ada Lovelace"}\n{"id": "Q2"}\n')
    assert [o["status"] for o in out] == ["assigned", "assigned", "queued", "queued"]
    srv = Server(lc)
    try:
        mia = signed_in(lc, srv, "mia")
        status, _, page = mia.get("/queue")
        assert status == 200 and "Q1" in page and "Ada Lovelace" in page
        assert "<caption>Waiting in tele-sales</caption>" in page and "<option>b</option>" in page
        assert 'name="back" value="queue"' in page
        status, headers, _ = mia.post("/leads/Q1/reassign", {"csrf": csrf(page), "to": "b", "back": "queue"})
        assert status == 303 and headers["location"].startswith("/queue?done=")
        page = mia.get(headers["location"])[2]
        assert "Q1: Reassigned to b." in page and "Ada Lovelace" not in page  # handed out: no longer waiting
        a = signed_in(lc, srv, "a")
        assert a.get("/queue")[0] == 403
        status, _, _ = a.post("/leads/Q2/reassign", {"csrf": csrf(a.get("/inbox")[2]), "to": "b"})
        assert status == 403
    finally:
        srv.stop()
    q1 = lc.json("leads", "show", "Q1")
    assert q1["assigned_to"] == "b" and q1["history"][-1]["via"] == "web"
    assert q1["history"][-1]["actor"] == "user:mia"


def test_managers_add_and_end_leave_and_admins_change_caps_from_the_team_page_as_the_cli_would(lc):
    from tests.test_pages import csrf, signed_in
    from tests.test_serve import Server

    lc.team(users=("a", "b"))
    lc("user", "add", "mia", "--role", "manager")
    lc("group", "member", "add", "tele-sales", "mia")
    lc("user", "add", "ola", "--role", "admin")
    srv = Server(lc)
    try:
        mia, a, ola = signed_in(lc, srv, "mia"), signed_in(lc, srv, "a"), signed_in(lc, srv, "ola")
        page = mia.get("/team")[2]
        before = lc.config.read_bytes()
        for who, form in ((a, {"user": "b", "from": "2026-12-20", "to": "2026-12-31"}),  # a rep: not for others
                          (mia, {"user": "b", "from": "2026-12-31", "to": "2026-12-20"}),  # backwards
                          (mia, {"user": "b", "from": "soon", "to": "2026-12-20"})):
            status, _, html = who.post("/team/away", {"csrf": csrf(who.get("/inbox")[2]), **form})
            assert status in (400, 403) and lc.config.read_bytes() == before, (form, status)
        assert a.post("/team/away", {"csrf": csrf(a.get("/inbox")[2]), "user": "b", "from": "2026-12-20",
                                     "to": "2026-12-31"})[0] == 403
        status, headers, _ = mia.post("/team/away", {"csrf": csrf(page), "user": "b", "from": "2030-12-20",
                                                     "to": "2030-12-31", "backup": "a"})
        assert status == 303 and headers["location"].startswith("/team?done=")
        (entry,) = lc.json("away", "list")
        assert (entry["user"], entry["from"], entry["to"], entry["backup"]) == ("b", "2030-12-20", "2030-12-31", "a")
        status, _, _ = mia.post(f"/team/away/{entry['id']}/end", {"csrf": csrf(page)})
        assert status == 303 and lc.json("away", "list") == []  # not begun yet: gone
        assert mia.post("/team/member", {"csrf": csrf(page), "group": "tele-sales", "user": "a",
                                         "daily": "3"})[0] == 403  # caps: admins and owners
        status, _, _ = ola.post("/team/member", {"csrf": csrf(ola.get("/team")[2]), "group": "tele-sales",
                                                 "user": "a", "daily": "3", "weight": "2"})
        assert status == 303
        assert ola.post("/team/member", {"csrf": "wrong", "group": "tele-sales", "user": "a", "daily": "9"})[0] == 403
    finally:
        srv.stop()
    member = next(m for m in lc.json("group", "show", "tele-sales")["members"] if m["user"] == "a")
    assert (member["daily_limit"], member["weight"]) == (3, 2)
    history = lc.json("config", "history")
    assert [(h["actor"], h["via"]) for h in history if h["via"] == "web"] == [  # leave added, ended; a cap
        ("user:mia", "web"), ("user:mia", "web"), ("user:ola", "web")]


def test_the_lead_page_reads_like_a_page_not_a_row(lc):
    from tests.test_pages import csrf, signed_in
    from tests.test_serve import Server

    lc.team(users=("a", "b"))
    lc("user", "add", "mia", "--role", "manager")
    lc.jsonl("route", "--format", "jsonl", input=json.dumps({
        "id": "V1", "first_name": "Ada", "email": "ada@example.com", "phone": "+44 20 7946 0000",
        "utm_campaign": "winter", "Lead-Score": "7"}) + "\n")
    srv = Server(lc)
    try:
        mia = signed_in(lc, srv, "mia")
        status, _, page = mia.get("/leads/V1")
        assert status == 200
        assert "<dt>First name</dt>" in page and "<dt>UTM campaign</dt>" in page and "<dt>Lead score</dt>" in page
        assert '<a href="mailto:ada@example.com">ada@example.com</a>' in page
        assert '<a href="tel:+442079460000">+44 20 7946 0000</a>' in page
        assert re.search(r'<time datetime="[^"]+" title="[^"]+">today \d\d:\d\d</time>', page)
        assert '<optgroup label="People">' in page and '<option value="" selected disabled>choose…</option>' in page
        assert 'class="skip" href="#main"' in page and 'rel="icon" href="data:image/svg+xml' in page
        status, headers, _ = mia.post("/leads/V1/status", {"csrf": csrf(page), "status": "other", "other": "callback"})
        assert status == 303 and headers["location"] == "/leads/V1?done=Status%20set%20to%20callback"
        page = mia.get(headers["location"])[2]
        assert "Status set to callback." in page and "<strong>a</strong> · round robin" in page
    finally:
        srv.stop()
    assert lc.json("leads", "show", "V1")["status"] == "callback"


def test_the_reports_figures_are_kept_a_while_tick_refreshes_them_and_a_new_day_or_config_recomputes(lc):
    """The /reports figures read the whole trail, so they are kept as a dashboard keeps its
    last refresh: a lead routed since is not in them until `tick` (older than 5 minutes), 15
    minutes pass, the day turns, or the config changes."""
    from datetime import datetime, timezone

    from leadctl.config.load import load
    from leadctl.ledger import Ledger
    from leadctl.reports_figures import figures

    def given(when: str) -> tuple[list, str]:
        ledger = Ledger.open(lc.db)
        try:
            f = figures(load(lc.config), ledger, 7, datetime.fromisoformat(when).replace(tzinfo=timezone.utc))
        finally:
            ledger.close()
        return f["given"], f["as_of"][11:16]

    lc.team(users=("a", "b"))
    route = lambda lead: lc.jsonl("route", "--format", "jsonl", input=f'{{"id": "{lead}"}}\n')  # noqa: E731
    with at("2026-11-23T09:00:00"):
        route("R1")
    assert given("2026-11-23T09:01:00") == ([["a", 1]], "09:01")
    with at("2026-11-23T09:02:00"):
        route("R2")
    assert given("2026-11-23T09:03:00") == ([["a", 1]], "09:01")  # kept: R2 not in yet
    with at("2026-11-23T09:05:30"):
        lc("tick")  # 4.5 minutes old: left alone
    assert given("2026-11-23T09:06:00") == ([["a", 1]], "09:01")
    with at("2026-11-23T09:07:00"):
        lc("tick")  # over 5 minutes: computed again
    assert given("2026-11-23T09:08:00") == ([["a", 1], ["b", 1]], "09:07")
    with at("2026-11-23T09:09:00"):
        route("R3")
    assert given("2026-11-23T09:22:00")[1] == "09:07"  # 15 minutes: still the same...
    assert given("2026-11-23T09:22:01") == ([["a", 2], ["b", 1]], "09:22")  # ...over 15: recomputed
    with at("2026-11-23T09:24:00"):
        route("R4")
        lc("group", "member", "edit", "tele-sales", "a", "--daily", "5")  # another config
    assert given("2026-11-23T09:25:00") == ([["a", 2], ["b", 2]], "09:25")
    with at("2026-11-23T23:59:00"):
        route("R5")
    assert given("2026-11-24T00:00:30") == ([["a", 3], ["b", 2]], "00:00")  # a new day, a new window


def test_a_manager_refreshes_the_reports_page_and_sees_when_its_figures_are_from(lc):
    from tests.test_pages import csrf, signed_in
    from tests.test_serve import Server

    lc.team(users=("a", "b"))
    lc("user", "add", "mia", "--role", "manager")
    lc.jsonl("route", "--format", "jsonl", input='{"id": "R1"}\n')
    srv = Server(lc)
    try:
        mia = signed_in(lc, srv, "mia")
        page = mia.get("/reports")[2]
        assert "Figures as of <time" in page and '<td>a</td><td class="num">1</td>' in page
        lc.jsonl("route", "--format", "jsonl", input='{"id": "R2"}\n{"id": "R3"}\n')
        assert '<td>a</td><td class="num">1</td>' in mia.get("/reports")[2]  # kept
        a = signed_in(lc, srv, "a")
        assert a.post("/reports", {"csrf": csrf(a.get("/inbox")[2]), "days": "7"})[0] == 403
        assert mia.post("/reports", {"csrf": "forged", "days": "7"})[0] == 403
        status, _, page = mia.post("/reports", {"csrf": csrf(page), "days": "30"})
        assert status == 200 and "last 30 days" in page and '<td>a</td><td class="num">2</td>' in page
        assert '<td>a</td><td class="num">2</td>' in mia.get("/reports?days=30")[2]  # kept from the refresh
    finally:
        srv.stop()
