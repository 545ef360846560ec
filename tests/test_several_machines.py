"""Several machines on one PostgreSQL ledger, proven: processes that start together on a new,
empty database all come up with one schema."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys

import pytest

from tests.test_serve import Server

ROUNDS = 20
AT_ONCE = 8


def _open(url: str, ready, out) -> None:
    from leadctl.errors import LeadctlError
    from leadctl.ledger import Ledger

    ready.wait()
    try:
        Ledger.open(url).close()
        out.put("ok")
    except LeadctlError as exc:
        out.put(str(exc))


def test_eight_processes_opening_a_new_database_at_once_all_succeed_with_one_schema_20_times(postgres):
    """The first start of a multi-machine deployment: before the fix, one or two of six
    processes in 2 of 20 starts refused the database ("already has a table 'leads' that
    leadctl did not make"), having looked before another leadctl finished building it."""
    import psycopg

    from leadctl.ledger import MIGRATIONS
    from leadctl.ledger.copy import TABLES

    context = multiprocessing.get_context("fork")
    for _ in range(ROUNDS):
        url = postgres.new_database()
        ready, out = context.Barrier(AT_ONCE), context.Queue()
        workers = [context.Process(target=_open, args=(url, ready, out)) for _ in range(AT_ONCE)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert [out.get(timeout=5) for _ in workers] == ["ok"] * AT_ONCE
        schema = url.rsplit("%3D", 1)[1]
        with psycopg.connect(url, autocommit=True) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM leadctl_migrations ORDER BY name")]
            (tables,) = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)).fetchone()
        assert names == sorted(MIGRATIONS)  # each step once
        assert tables == len(TABLES) + 1  # every table of the ledger, and the migrations' own


def test_routers_and_a_serve_started_together_on_a_new_database_share_it(postgres, tmp_path):
    """The same with the real commands: seven `route`s and a `serve`, started at once."""
    from tests.conftest import Leadctl

    url = postgres.new_database()
    lc = Leadctl(tmp_path, url)
    lc.config.write_text(
        '[users.a]\nname = "a"\n[users.b]\nname = "b"\n[groups.sales]\nmethod = "sequential"\n'
        '[[groups.sales.members]]\nuser = "a"\n[[groups.sales.members]]\nuser = "b"\n'
        '[routing]\ndefault_group = "sales"\n')
    base = [sys.executable, "-m", "leadctl", "--config", str(lc.config), "--db", url]
    routers = [subprocess.Popen([*base, "route", "-", "-o", "jsonl"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(7)]
    srv = Server(lc)
    try:
        results = [r.communicate(f"id\nR{i}\n", timeout=120) for i, r in enumerate(routers)]
        assert [r.returncode for r in routers] == [0] * 7, [e for _, e in results]
        assert srv.get("/healthz")[0] == 200
    finally:
        srv.stop()
    held = sorted(row["assigned_to"] for row in lc.json("leads", "list"))
    assert held == ["a"] * 4 + ["b"] * 3  # one rotation, shared
