"""The routing clock at the edges that break date code: the last minute of a month, a
daylight-saving change in the configured zone, 29 February.

Each test freezes the clock (time-machine) at a written moment and routes with the
assignment clock (`--clock now`, the default), so caps, `quota` (no --date: today) and
`report` are read exactly as an admin would read them at that moment, on any real date.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import time_machine

STORES = ("sqlite", "postgresql")
BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str):
    """A frozen clock at a local Berlin time (ISO 8601 without offset)."""
    return time_machine.travel(datetime.fromisoformat(text).replace(tzinfo=BERLIN), tick=False)


def csv_of(*ids: str) -> str:
    return "id\n" + "".join(f"{i}\n" for i in ids)


def route(lc, name: str, *ids: str) -> list[tuple[str, str | None]]:
    out = lc.jsonl("route", str(lc.write(name, csv_of(*ids))))
    return [(o["lead_id"], o["assigned_to"]) for o in out]


def used(lc, *args: str) -> dict[str, tuple[int, int, bool]]:
    return {q["user"]: (q["daily_used"], q["monthly_used"], q["capped"]) for q in lc.json("quota", *args)}


def berlin_team(lc, **caps: str) -> None:
    lc("settings", "--timezone", "Europe/Berlin")
    lc.team(users=("a", "b"), **caps)


def test_the_last_minute_of_a_month_and_the_first_of_the_next(lc):
    berlin_team(lc, daily="1", monthly="2")
    with at("2027-01-31T23:59:30"):
        assert route(lc, "1.csv", "J1", "J2", "J3") == [("J1", "a"), ("J2", "b"), ("J3", None)]
        assert used(lc) == {"a": (1, 1, True), "b": (1, 1, True)}
    with at("2027-02-01T00:00:30"):  # a new day and month here; 23:00:30 on 31 January in UTC
        assert used(lc) == {"a": (0, 0, False), "b": (0, 0, False)}
        assert used(lc, "--date", "2027-01-31") == {"a": (1, 1, True), "b": (1, 1, True)}
        assert route(lc, "2.csv", "F1", "F2", "F3") == [("F1", "a"), ("F2", "b"), ("F3", None)]
        by_day = lc.json("report", "--by", "day")
        assert [(r["day"], r["count"]) for r in by_day] == [("2027-01-31", 2), ("2027-02-01", 2)]
        by_month = lc.json("report", "--by", "month")
        assert [(r["month"], r["count"]) for r in by_month] == [("2027-01", 2), ("2027-02", 2)]
        window = lc.json("report", "--since", "2027-02-01", "--until", "2027-02-01")
        assert {r["user"]: r["count"] for r in window} == {"a": 1, "b": 1}


def test_a_daylight_saving_change_keeps_the_local_day(lc):
    """Berlin springs forward on 2027-03-28 (02:00 -> 03:00): 01:59 and 03:00 are one day;
    23:59:30 that evening is 21:59:30 UTC and 00:00:30 the next day 22:00:30 UTC, the same
    UTC day: a cap counted in UTC would wrongly hold over."""
    berlin_team(lc, daily="2")
    with at("2027-03-28T01:59:30"):
        assert route(lc, "1.csv", "S1") == [("S1", "a")]
    with at("2027-03-28T03:00:30"):
        assert route(lc, "2.csv", "S2", "S3", "S4") == [("S2", "b"), ("S3", "a"), ("S4", "b")]
    with at("2027-03-28T23:59:30"):
        assert route(lc, "3.csv", "S5") == [("S5", None)]  # both at 2 today
        assert used(lc) == {"a": (2, 2, True), "b": (2, 2, True)}
    with at("2027-03-29T00:00:30"):
        assert used(lc) == {"a": (0, 2, False), "b": (0, 2, False)}
        assert route(lc, "4.csv", "S6") == [("S6", "a")]
        by_day = lc.json("report", "--by", "day")
        assert [(r["day"], r["count"]) for r in by_day] == [("2027-03-28", 4), ("2027-03-29", 1)]
    history = lc.json("leads", "show", "S2")["history"]
    assert history[0]["at"].startswith("2027-03-28T03:00:30+02:00")  # summer time, in the zone


def test_29_february_is_a_day_of_its_own(lc):
    berlin_team(lc, daily="1", monthly="3")
    with at("2028-02-28T12:00:00"):
        assert route(lc, "1.csv", "P1", "P2") == [("P1", "a"), ("P2", "b")]
    with at("2028-02-29T23:59:30"):
        assert used(lc) == {"a": (0, 1, False), "b": (0, 1, False)}
        assert route(lc, "2.csv", "P3", "P4", "P5") == [("P3", "a"), ("P4", "b"), ("P5", None)]
        assert used(lc, "--date", "2028-02-29") == {"a": (1, 2, True), "b": (1, 2, True)}
    with at("2028-03-01T00:00:30"):
        assert used(lc) == {"a": (0, 0, False), "b": (0, 0, False)}
        assert route(lc, "3.csv", "P6") == [("P6", "a")]
        by_day = lc.json("report", "--by", "day", "--since", "2028-02-29")
        assert [(r["day"], r["count"]) for r in by_day] == [("2028-02-29", 2), ("2028-03-01", 1)]
        by_month = lc.json("report", "--by", "month")
        assert [(r["month"], r["count"]) for r in by_month] == [("2028-02", 4), ("2028-03", 1)]
    with at("2028-03-31T23:59:30"):  # the last minute of March: a new day, the same month
        assert route(lc, "4.csv", "P7", "P8", "P9") == [("P7", "b"), ("P8", "a"), ("P9", None)]
        assert used(lc) == {"a": (1, 2, True), "b": (1, 1, True)}
