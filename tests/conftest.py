"""Shared fixtures: a team on disk and a way to run leadctl against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import typer.testing
from typer.testing import CliRunner

from leadctl.cli import app
from tests.pg_cluster import NoPostgres, PostgresCluster

REPO = Path(__file__).resolve().parent.parent
# leadctl keeps copies of large configs' TOML in its cache folder: the tests' own, not the home's
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="leadctl-test-cache-")
# Typer's test runner turns the app into a click command on every invoke (~40 ms, more
# than most commands take); the app never changes during the tests, so build it once.
_build_command = typer.testing._get_command
_COMMAND = _build_command(app)
typer.testing._get_command = lambda target: _COMMAND if target is app else _build_command(target)


class Leadctl:
    """Runs leadctl commands on one config and ledger in a temp folder (the ledger: a file
    there, or a PostgreSQL URL)."""

    def __init__(self, folder: Path, db: Path | str | None = None):
        self.folder = folder
        self.config = folder / "leadctl.toml"
        self.db = db if db is not None else folder / "leadctl.db"
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None, ok: bool | None = True):
        argv = ["--config", str(self.config), "--db", str(self.db), *args]
        result = self.runner.invoke(app, argv, input=input, catch_exceptions=False)
        if ok is True:
            assert result.exit_code == 0, (argv, result.stdout, result.stderr)
        return result

    def jsonl(self, *args: str, input: str | bytes | None = None, ok: bool | None = True) -> list[dict]:
        result = self(*args, "--output", "jsonl", input=input, ok=ok)
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def json(self, *args: str) -> object:
        return json.loads(self(*args, "--format", "json").stdout)

    def snapshot(self) -> dict[str, list]:
        """Every row of the ledger's tables, whichever the store: to show a command kept it as it was."""
        from leadctl.ledger import Ledger

        ledger = Ledger.open(self.db)
        try:
            return {table: sorted(map(tuple, ledger.sql(f"SELECT * FROM {table}")), key=repr)
                    for table in ("leads", "events", "usage", "rotations", "passed_over_sets", "event_counts",
                                  "notifications", "config_history", "tokens", "conversions", "queue")}
        finally:
            ledger.close()

    def query(self, sql: str, params=()) -> list[tuple]:
        """Rows of one SQL query on the ledger, whichever the store (qmark parameters)."""
        from leadctl.ledger import Ledger

        ledger = Ledger.open(self.db)
        try:
            return [tuple(r) for r in ledger.sql(sql, params)]
        finally:
            ledger.close()

    def indexes(self) -> set[str]:
        if isinstance(self.db, str):
            return {r[0] for r in self.query(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'leads' AND schemaname = current_schema()")}
        return {r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'index'")}

    def write(self, name: str, text: str | bytes) -> Path:
        path = self.folder / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def team(self, group: str = "tele-sales", users=("tom", "stephanie", "lewis", "denise"),
             method: str = "sequential", **member_options: str) -> None:
        """A group with members in order, as the default group: what `user add`, `group add`,
        `group member add` and `rule default` make (test_setup.py checks it is the same), made
        in one write through the library's own changes (a test's setup, ~8x faster)."""
        from leadctl import config as c

        with c.locked(self.config):
            cfg, _ = c.load_text(self.config)
            new = cfg
            for u in users:
                if not any(known.id == u for known in new.users):
                    new = c.add_user(new, c.User(id=u))
            new = c.add_group(new, c.Group(name=group, method=method))
            for u in users:
                new = c.add_member(new, group, c.Member(user=u, **{k: int(v) for k, v in member_options.items()}))
            c.save(c.set_default(new, group), cfg)

    def team_by_commands(self, group: str = "tele-sales", users=("tom", "stephanie", "lewis", "denise"),
                         method: str = "sequential", **member_options: str) -> None:
        """The same team as `team()`, made command by command as an admin would."""
        known = {u["id"] for u in self.json("user", "list")}
        for u in users:
            if u not in known:
                self("user", "add", u)
        self("group", "add", group, "--method", method)
        for u in users:
            extra = [x for k, v in member_options.items() for x in (f"--{k}", str(v))]
            self("group", "member", "add", group, u, *extra)
        self("rule", "default", group)


# Tests that run leadctl on the real clock (servers, routers in other processes, the default
# `--clock now`) read caps and quotas for "today": a test that straddled midnight in the
# config's zone would count two days. Each test starts clear of the next midnight in every
# zone the tests configure; within MIDNIGHT_MARGIN of one it waits until the day has turned
# (seconds, and only near those moments). The edges themselves are tested on a frozen clock
# (tests/test_clock_edges.py); no test compares the real date with a written one.
TEST_ZONES = ("UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati")
MIDNIGHT_MARGIN = 90  # seconds: longer than any one test runs


def seconds_to_midnight(now, zone: str) -> float:
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(zone))
    midnight = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=local.tzinfo)
    return (midnight - local).total_seconds()


@pytest.fixture(autouse=True)
def clear_of_midnight():
    import time
    from datetime import datetime, timezone

    wait = min(seconds_to_midnight(datetime.now(timezone.utc), z) for z in TEST_ZONES)
    if wait < MIDNIGHT_MARGIN:
        time.sleep(wait + 1)


@pytest.fixture
def lc(tmp_path: Path, ledger_url) -> Leadctl:
    tool = Leadctl(tmp_path, ledger_url)
    tool("init")
    return tool


def leads_csv(n: int, start: int = 1, prefix: str = "L", day: str = "2026-11-23", extra: str = "") -> str:
    """n leads a second apart from 09:00 (same day up to 54,000), with ids prefix+number."""
    lines = ["id,name,email,phone,received_at" + (",source" if extra else "")]
    for i in range(start, start + n):
        s = 9 * 3600 + i - start
        lines.append(
            f"{prefix}{i},Lead {i},lead{i}@example.com,+44 7700 {i:06d},"
            f"{day}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" + (f",{extra}" if extra else "")
        )
    return "\n".join(lines) + "\n"


def run_cli(*args: str, input: bytes | None = None, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """leadctl as a real process (python -m leadctl), for stdin pipes and concurrency."""
    return subprocess.run([sys.executable, "-m", "leadctl", *args], input=input, capture_output=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout)


# -- the ledger on PostgreSQL -----------------------------------------------------------------
# Test modules that set STORES = ("sqlite", "postgresql") run every test taking `lc` against
# both ledgers; a test marked `sqlite_only` (it reads the SQLite file itself) runs once.
# PostgreSQL is a throwaway cluster of the server binaries on the PATH, started once per
# session in a temp folder, listening on a free loopback port only, and always stopped.
# initdb refuses to run as root: as root the cluster runs as `nobody` through setpriv.
# Only where the binaries are missing do the PostgreSQL runs skip, with the reason (shown in
# the summary); with LEADCTL_REQUIRE_POSTGRES=1 they fail even then.


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: reads or damages the SQLite file itself")
    config.addinivalue_line("markers", "any_store: checks the config or the command line only; the ledger's"
                                       " kind plays no part, so it runs on SQLite alone")


def pytest_generate_tests(metafunc):
    if "store" in metafunc.fixturenames:
        everywhere = os.environ.get("LEADCTL_TEST_STORES")  # e.g. sqlite,postgresql: every module on both
        stores = tuple(everywhere.split(",")) if everywhere else getattr(metafunc.module, "STORES", ("sqlite",))
        if metafunc.definition.get_closest_marker("sqlite_only") or (
                metafunc.definition.get_closest_marker("any_store") and not everywhere):
            stores = ("sqlite",)
        metafunc.parametrize("store", stores, scope="function")


@pytest.fixture(scope="session")
def postgres():
    """The session's PostgreSQL cluster (skips, with the reason, where there is none)."""
    try:
        cluster = PostgresCluster(for_tests=True)
    except NoPostgres as exc:
        if os.environ.get("LEADCTL_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required here (LEADCTL_REQUIRE_POSTGRES) but: {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def store(request) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def ledger_url(request, store: str, tmp_path: Path) -> str | Path:
    """Where this test's ledger is: a file in the test's folder, or a new PostgreSQL database."""
    if store == "postgresql":
        return request.getfixturevalue("postgres").new_database()
    return tmp_path / "leadctl.db"
