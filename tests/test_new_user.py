"""What a new user trips over, each small: said once, said plainly, in the place they look."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import run_cli
from tests.test_serve import server  # noqa: F401  (a fixture: servers are always stopped)


@pytest.mark.any_store
def test_small_things_a_new_user_meets_on_the_command_line(lc, monkeypatch):
    lc.team(users=("tom", "ann"), group="inbound")
    csv = lc.write("fb.csv", "id,full_name,email\nF1,Fay,fay@example.com\n")
    shaped = lc("route", str(csv), "--shape", "facebook", ok=None)
    assert shaped.exit_code == 2 and "--shape facebook applies to JSON" in shaped.stderr
    typo = lc("group", "member", "add", "inbond", "tom", ok=None)
    assert typo.exit_code == 2 and "did you mean 'inbound'?" in typo.stderr
    assert run_cli().returncode == 0  # bare `leadctl`: its help, and no error
    monkeypatch.setenv("LEADCTL_TABLES", "rich")  # as on a terminal
    added = lc("away", "add", "tom", "--from", "2026-12-20", "--to", "2026-12-21")
    assert added.stdout.startswith("away entry 1: 'tom' is away from 2026-12-20 to 2026-12-21")
    monkeypatch.delenv("LEADCTL_TABLES")
    assert lc("away", "add", "ann", "--from", "2026-12-20", "--to", "2026-12-21").stdout.strip() == "2"  # a script


@pytest.mark.any_store
def test_the_starter_config_names_every_role_and_method_and_new_settings_land_in_their_table(tmp_path):
    from tests.conftest import Leadctl

    lc = Leadctl(tmp_path)
    lc("init")
    text = lc.config.read_text()
    assert "admin" in text and "balanced" in text
    lc("settings", "--phone-region", "DE")
    settings = lc.config.read_text().split("[settings]")[1].split("\n\n")[0]  # the table, up to its blank line
    assert 'phone_region = "DE"' in settings
    assert lc.json("settings")["phone_region"] == "DE"


@pytest.mark.any_store
def test_token_link_points_at_the_configured_port(lc):
    lc.team(users=("tom",))
    with lc.config.open("a") as fh:
        fh.write("\n[serve]\nport = 9099\n")
    assert lc("token", "link", "tom").stdout.startswith("http://127.0.0.1:9099/signin/lcl_")
    assert lc("token", "link", "tom", "--port", "9100").stdout.startswith("http://127.0.0.1:9100/")


def test_serve_names_its_pages_logs_in_the_configured_zone_answers_the_favicon_and_says_where_json_breaks(lc, server):  # noqa: F811
    lc.team(users=("tom",))
    lc("settings", "--timezone", "Pacific/Kiritimati")  # +14:00, never UTC's offset
    secret = lc("token", "add", "web").stdout.strip()
    srv = server()
    status, answer, _ = srv.post('{"id": "J1", "email": }', token=secret)
    assert status == 400 and "line 1, column" in answer["error"]
    assert srv.request("GET", "/favicon.ico")[0] == 204
    _, log = srv.stop()
    assert f"http://127.0.0.1:{srv.port}/inbox" in log
    stamps = re.findall(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d) ", log, re.M)
    assert stamps and all(s.endswith("+14:00") for s in stamps)


def test_the_fairness_line_does_not_call_a_member_with_a_cap_capped(lc, monkeypatch):
    lc.team(users=("a", "b"))
    lc("group", "member", "edit", "tele-sales", "a", "--daily", "1")
    lc("route", "-", "--clock", "received", "-o", "jsonl", input="id,received_at\n" + "".join(
        f"F{i},2026-11-20T09:0{i}:00\n" for i in range(4)))
    said = lc("report", "--since", "2026-11-01").stderr
    assert "members with a cap may get fewer by design: a" in said and "capped members" not in said
    assert json.loads(lc("report", "--since", "2026-11-01", "--format", "json").stdout)


@pytest.mark.parametrize("text, date_format, expected", [
    ("06.12.2026 10:15", "", (2026, 12, 6, 10, 15, 0)),  # dots: day first, always
    ("6.1.2026", "MM/DD/YYYY", (2026, 1, 6, 0, 0, 0)),
    ("13/12/2026 09:00:05", "", (2026, 12, 13, 9, 0, 5)),  # 13 is no month
    ("12/13/2026", "", (2026, 12, 13, 0, 0, 0)),
    ("06/12/2026", "DD/MM/YYYY", (2026, 12, 6, 0, 0, 0)),
    ("06/12/2026", "MM/DD/YYYY", (2026, 6, 12, 0, 0, 0)),
    ("2026/12/06 23:59", "", (2026, 12, 6, 23, 59, 0)),  # year first
])
def test_dates_as_exports_write_them(text, date_format, expected):
    from leadctl.dates import read_other

    assert read_other(text, date_format).timetuple()[:6] == expected


@pytest.mark.parametrize("text", ["06/12/2026", "31.02.2026", "06.12.26", "yesterday", "1.2.3.4"])
def test_dates_that_cannot_be_read_one_way_are_refused(text):
    from leadctl.dates import read_other

    with pytest.raises(ValueError):
        read_other(text)
