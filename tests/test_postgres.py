"""The ledger on PostgreSQL: routers on several machines share one rotation and one set of
caps, lose nothing to a dropped connection, and a ledger moves between the two stores.

Each router here is its own process with its own connection, as a router on another
machine would be. (The routing, outside-the-rules, read-side, parallel and kill tests
also run on PostgreSQL: see STORES in those files.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

import pytest

from leadctl.errors import LeadctlError
from leadctl.ledger import Ledger
from tests.conftest import Leadctl, leads_csv, run_cli


@pytest.fixture
def pg(tmp_path, postgres) -> Leadctl:
    tool = Leadctl(tmp_path, postgres.new_database())
    tool("init")
    return tool


def router(lc: Leadctl, path, *extra, env: dict | None = None) -> subprocess.Popen:
    import os

    return subprocess.Popen([sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", str(lc.db),
                             "route", "--output", "jsonl", str(path), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def finish(proc: subprocess.Popen) -> tuple[int, list[dict], str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, [json.loads(line) for line in out.splitlines()], err.decode()


def waiting_routers(lc: Leadctl) -> list[int]:
    """Server processes of leadctl connections waiting for an advisory (group) lock."""
    return [pid for (pid,) in lc.query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'leadctl'"
        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'")]


def wait_for(check, timeout: float = 30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_four_routers_as_four_machines_give_every_lead_once_with_exact_caps(pg):
    pg.team(users=("a", "b", "c", "d", "e"), daily="3500")
    n = 5000
    procs = [router(pg, pg.write(f"{p}.csv", leads_csv(n, prefix=p)), "--clock", "received") for p in "WXYZ"]
    outcomes = []
    for proc in procs:
        code, out, err = finish(proc)
        assert code == 0, err
        outcomes += out
    assert len(outcomes) == 4 * n
    statuses = Counter(o["status"] for o in outcomes)
    assert statuses == {"assigned": 5 * 3500, "unassigned": 4 * n - 5 * 3500}
    assert pg.query("SELECT count(*), count(DISTINCT id) FROM leads") == [(4 * n, 4 * n)]  # none lost
    got = pg.query("SELECT lead_id, assigned_to FROM events ORDER BY id")
    assert len(got) == 5 * 3500 and len({lead for lead, _ in got}) == 5 * 3500  # each at most once
    assert Counter(user for _, user in got) == {u: 3500 for u in "abcde"}  # caps exact, spread 0
    # One rotation across the four processes: strict a..e while everyone had room.
    assert [u for _, u in got] == list("abcde") * 3500
    quota = {r["user"]: (r["daily_used"], r["capped"]) for r in pg.json("quota", "--date", "2026-11-23")}
    assert quota == {u: (3500, True) for u in "abcde"}


def test_routers_for_groups_without_shared_members_do_not_wait_for_each_other(pg):
    for u in "abcd":
        pg("user", "add", u)
    pg("group", "add", "east")
    pg("group", "add", "west")
    for g, members in (("east", "ab"), ("west", "cd")):
        for u in members:
            pg("group", "member", "add", g, u)
    east, west = pg.write("east.csv", leads_csv(50, prefix="E")), pg.write("west.csv", leads_csv(50, prefix="V"))
    held = Ledger.open(pg.db)
    batch = held.write(groups={"east"})  # a router on another machine, mid-batch for east
    batch.__enter__()
    try:
        code, out, err = finish(router(pg, west, "--group", "west", env={"LEADCTL_BUSY_TIMEOUT": "5"}))
        assert code == 0, err
        assert Counter(o["assigned_to"] for o in out) == {"c": 25, "d": 25}
        code, out, err = finish(router(pg, east, "--group", "east", env={"LEADCTL_BUSY_TIMEOUT": "1"}))
        assert code == 2 and "busy" in err and out == []  # east waits for east, then gives up
    finally:
        batch.__exit__(None, None, None)
        held.close()
    assert pg.query("SELECT count(*) FROM leads WHERE group_name = 'east'") == [(0,)]
    code, out, err = finish(router(pg, east, "--group", "east"))
    assert code == 0 and Counter(o["assigned_to"] for o in out) == {"a": 25, "b": 25}


def hold_the_group(pg, n: int):
    """A team of a and b, its group held by a transaction of another connection, and a router
    of n leads that waits for it: (the held ledger, its open batch, the path routed)."""
    pg.team(users=("a", "b"))
    path = pg.write("a.csv", leads_csv(n))
    held = Ledger.open(pg.db)
    batch = held.write(groups={"tele-sales"})
    batch.__enter__()
    return held, batch, path


def test_a_dropped_connection_is_retried_and_every_lead_is_kept_once(pg):
    n = 3000
    held, batch, path = hold_the_group(pg, n)
    try:
        proc = router(pg, path)
        (pid,) = wait_for(lambda: waiting_routers(pg))  # the router waits for the group
        pg.query("SELECT pg_terminate_backend(?)", (pid,))  # its connection drops (a server restart, a network cut)
        wait_for(lambda: waiting_routers(pg) and waiting_routers(pg) != [pid])  # it came back and waits again
    finally:
        batch.__exit__(None, None, None)
        held.close()
    code, out, err = finish(proc)
    assert code == 0, err
    assert Counter(o["status"] for o in out) == {"assigned": n}
    got = pg.query("SELECT lead_id, assigned_to FROM events ORDER BY id")
    assert len(got) == n and len({lead for lead, _ in got}) == n
    assert [u for _, u in got] == ["a", "b"] * (n // 2)


def test_a_ledger_copied_to_postgresql_and_back_answers_every_question_the_same(tmp_path, postgres):
    url = postgres.new_database()
    lite = Leadctl(tmp_path)
    lite("init")
    lite.team(users=("tom", "stephanie", "lewis", "denise"), daily="2")
    lite("settings", "--duplicates", "email")
    lite("route", str(lite.write("a.csv", leads_csv(10) + "D1,Dup,lead3@example.com,,2026-11-23T10:00:00\n")),
         "--clock", "received")
    lite("reassign", "L1", "--to", "denise", "--note", "asked for her")
    lite("release", "L2")
    lite("token", "add", "web")

    def answers(lc: Leadctl) -> list:
        return [lc.json("leads", "list"), lc.json("report", "--by", "user"), lc.json("leads", "show", "D1"),
                lc.json("quota", "--date", "2026-11-23"), lc.json("config", "history"),
                lc.json("token", "list"), lc.json("leads", "show", "L1")]

    before = answers(lite)
    copied = json.loads(lite("ledger", "copy", "--to", url, "--format", "json").stdout)
    assert copied["store"] == "PostgreSQL" and copied["tables"]["leads"] == 11 and copied["tables"]["events"] == 11
    on_pg = Leadctl(tmp_path, url)
    assert answers(on_pg) == before
    # Routing goes on from the same rotation and caps: the next lead goes where it would have.
    more = lite.write("b.csv", leads_csv(3, start=20, day="2026-11-24"))
    assert on_pg.jsonl("route", str(more), "--clock", "received") == lite.jsonl(
        "route", str(more), "--clock", "received")
    # And back into a new file: the same content hash as the PostgreSQL ledger it came from.
    back = tmp_path / "back.db"
    again = json.loads(on_pg("ledger", "copy", "--to", str(back), "--format", "json").stdout)
    lite_again = json.loads(lite("ledger", "copy", "--to", str(tmp_path / "twin.db"), "--format", "json").stdout)
    assert again["sha256"] == lite_again["sha256"] and again["tables"] == lite_again["tables"]
    assert answers(Leadctl(tmp_path, back)) == answers(lite)


def test_copy_refuses_a_ledger_that_is_not_empty_and_changes_nothing(pg, tmp_path):
    pg.team(users=("a",))
    pg("route", str(pg.write("a.csv", leads_csv(3))))
    (tmp_path / "lite").mkdir()
    lite = Leadctl(tmp_path / "lite")
    lite("init")
    lite.team(users=("a",))
    lite("route", str(lite.write("b.csv", leads_csv(2, prefix="B"))))
    before = pg.snapshot()
    out = lite("ledger", "copy", "--to", pg.db, ok=None)
    assert out.exit_code == 2 and "not empty" in out.stderr
    assert pg.snapshot() == before
    same = lite("ledger", "copy", "--to", str(lite.db), ok=None)
    assert same.exit_code == 2 and "names the ledger being copied" in same.stderr


def test_config_check_names_the_store_and_its_schema(pg):
    from leadctl.ledger import MIGRATIONS

    out = pg("config", "check").stdout
    assert "PostgreSQL 15" in out and f"ledger schema {len(MIGRATIONS)}" in out and "0 lead(s)" in out


def test_a_password_in_the_url_is_never_printed(tmp_path, postgres):
    url = f"postgresql://leadctl:s3cret-word@127.0.0.1:{postgres.port}/no_such_db"
    done = run_cli("--config", str(tmp_path / "x.toml"), "--db", url, "init")
    assert done.returncode == 2 and not (tmp_path / "x.toml").exists()  # no ledger, so no config either
    err = done.stderr.decode()
    assert "s3cret" not in err and "leadctl:***@127.0.0.1" in err and "Traceback" not in err


def test_a_database_with_someone_elses_leads_table_is_left_alone(tmp_path, postgres):
    url = postgres.new_database()
    lc = Leadctl(tmp_path, url)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE leads (x int)")
    out = lc("init", ok=None)
    assert out.exit_code == 2 and "give leadctl a database of its own" in out.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        made = conn.execute("SELECT to_regclass('leadctl_migrations') IS NULL, to_regclass('events') IS NULL")
        assert made.fetchall() == [(True, True)]


def test_a_nul_character_is_a_rejected_row_not_a_failed_batch(pg):
    pg.team(users=("a",))
    out = pg.jsonl("route", str(pg.write("a.jsonl", '{"id": "N1", "email": "x\\u0000@example.com"}\n'
                                                    '{"id": "N2", "email": "ok@example.com"}\n')), ok=None)
    assert [(o["line"], o["status"]) for o in out] == [(1, "rejected"), (2, "assigned")]
    assert "NUL" in out[0]["reason"]


def test_without_psycopg_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    with pytest.raises(LeadctlError, match=r"pip install 'leadctl\[postgres\]'"):
        Ledger.open("postgresql://leadctl@127.0.0.1:1/none")


def test_both_stores_have_the_same_tables_and_columns(tmp_path, postgres):
    """The PostgreSQL migrations are the SQLite ones' twins: a column added to one only fails here."""
    from leadctl.ledger.copy import TABLES

    lite = Ledger.open(tmp_path / "l.db")
    pg = Ledger.open(postgres.new_database())
    try:
        tables = {r[0] for r in lite.sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables - {"_sqlite_migrations"} == set(TABLES)  # `ledger copy` copies every table
        for table in TABLES:
            sqlite_cols = [r[1] for r in lite.sql(f"PRAGMA table_info({table})")]
            pg_cols = [r[0] for r in pg.sql(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = current_schema()"
                " ORDER BY ordinal_position",
                (table,))]
            assert [c for c in pg_cols if c != "rowid"] == sqlite_cols, table
            assert set(TABLES[table][0]) == set(sqlite_cols), table  # `ledger copy` copies every column
    finally:
        lite.close()
        pg.close()


def test_serve_keeps_answering_after_the_database_drops_its_connections(pg):
    from tests.test_serve import Server

    pg.team(users=("a", "b"))
    secret = pg("token", "add", "web").stdout.strip()
    s = Server(pg)
    try:
        assert s.post('{"id": "S1"}', token=secret)[0] == 200
        pg.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                 " WHERE application_name = 'leadctl' AND pid <> pg_backend_pid()")  # a server restart
        status, answer, _ = s.post('{"id": "S2"}', token=secret)
        assert status == 200 and answer["outcomes"][0]["assigned_to"] == "b"
        assert s.get("/healthz")[0] == 200
    finally:
        code, log = s.stop()
    assert "Traceback" not in log


def test_two_web_servers_behind_a_load_balancer_share_one_rotation(pg):
    from tests.test_serve import Server

    pg.team(users=("a", "b", "c"), daily="4")
    secret = pg("token", "add", "web").stdout.strip()
    one, two = Server(pg), Server(pg)
    try:
        owners = [(one if i % 2 == 0 else two).post(json.dumps({"id": f"W{i}"}), token=secret)[1]["outcomes"][0]
                  ["assigned_to"] for i in range(14)]
    finally:
        one.stop()
        two.stop()
    assert owners == ["a", "b", "c"] * 4 + [None, None]  # one rotation, one set of caps across both


@pytest.mark.parametrize("url", ["postgresql://leadctl:s3cret-word@[::1", "postgresql://leadctl:s3cret-word@host:99999/x"])
def test_a_malformed_url_is_one_line_without_its_password(tmp_path, url):
    done = run_cli("--config", str(tmp_path / "x.toml"), "--db", url, "init")
    err = done.stderr.decode()
    assert done.returncode == 2 and err.startswith("error: cannot reach the ledger") and err.count("\n") == 1
    assert "s3cret" not in err and "Traceback" not in err and not (tmp_path / "x.toml").exists()


def test_a_password_in_any_form_is_never_printed_on_success_or_failure(tmp_path, postgres):
    """The cluster trusts local connections, so a password in the URL is ignored by the
    server but still is a password: init, config check and ledger copy never show it."""
    good = postgres.new_database() + "&password=hunter2-q"
    lc = Leadctl(tmp_path, good)
    shown = [lc("init"), lc("config", "check"), lc("ledger", "copy", "--to", str(tmp_path / "copy.db"))]
    shown.append(Leadctl(tmp_path, tmp_path / "copy.db")("ledger", "copy", "--to", postgres.new_database()
                                                         + "&password=hunter2-q"))
    for result in shown:
        assert "hunter2" not in result.stdout + result.stderr
    for bad in (f"postgresql://leadctl:hun%zzter2@127.0.0.1:{postgres.port}/x",
                f"postgresql://leadctl:hunter2 x@127.0.0.1:{postgres.port}/x",
                f"postgresql://leadctl@127.0.0.1:{postgres.port}/nodb?password=hunter2",
                f"postgresql://leadctl:hunter2/x@127.0.0.1:{postgres.port}/nodb"):
        done = run_cli("--config", str(tmp_path / "y.toml"), "--db", bad, "init")
        err = done.stderr.decode()
        assert done.returncode == 2 and "hunter2" not in err and "zzter" not in err and "Traceback" not in err, err


def test_a_server_that_refuses_connections_for_a_while_is_waited_out(pg, postgres):
    """A restart: the router's connection drops and new ones are refused for a second; the
    reconnect itself is retried with the back-off, and the route finishes with every lead."""
    import threading

    import psycopg

    n = 3000
    held, batch, path = hold_the_group(pg, n)
    admin = psycopg.connect(postgres.url("template1"), autocommit=True)
    try:
        proc = router(pg, path)
        (pid,) = wait_for(lambda: waiting_routers(pg))
        admin.execute("ALTER DATABASE postgres WITH ALLOW_CONNECTIONS false")
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        batch.__exit__(None, None, None)
        reopen = threading.Timer(1.0, lambda: admin.execute("ALTER DATABASE postgres WITH ALLOW_CONNECTIONS true"))
        reopen.start()
        code, out, err = finish(proc)
        reopen.join()
    finally:
        admin.execute("ALTER DATABASE postgres WITH ALLOW_CONNECTIONS true")
        admin.close()
        held.close()
    assert code == 0, err
    assert Counter(o["status"] for o in out) == {"assigned": n}
    assert pg.query("SELECT count(*), count(DISTINCT lead_id) FROM events") == [(n, n)]


def test_serve_answers_503_with_retry_after_while_the_database_is_down(pg, postgres):
    """An outage under serve: every request is 503 with Retry-After (the token look-up too), no
    traceback, and the first request after it comes back is served."""
    from urllib.parse import urlsplit

    import psycopg

    from tests.test_serve import Server

    pg.team(users=("a", "b"))
    secret = pg("token", "add", "web").stdout.strip()
    name = urlsplit(pg.db).path.lstrip("/")
    s = Server(pg)
    admin = psycopg.connect(postgres.url("template1"), autocommit=True)
    try:
        assert s.post('{"id": "O1"}', token=secret)[0] == 200
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'leadctl'")
        status, answer, headers = s.post('{"id": "O2"}', token=secret)
        assert status == 503 and headers.get("retry-after") and "Traceback" not in json.dumps(answer)
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        assert s.post('{"id": "O2"}', token=secret)[0] == 200
    finally:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        admin.close()
        code, log = s.stop()
    assert "Traceback" not in log
