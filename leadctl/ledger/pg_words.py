"""The ledger's migrations (`migrations.py`, written once in SQLite's words) said in
PostgreSQL's: types, row numbers and the append-only triggers translated statement by
statement (tests/test_postgres.py checks that both stores end with the same tables and columns).
"""

from __future__ import annotations

import re

from .migrations import _STEPS

# -- the same steps in PostgreSQL's words -------------------------------------------------
# SQLite's row numbers are 64-bit INTEGER; PostgreSQL's BIGINT, BIGSERIAL where SQLite
# numbers rows itself. SQLite's implicit rowid is read only for leads (their arrival order):
# PostgreSQL gets it as a column. Append-only triggers call one PostgreSQL function.
_ROWID_READ = {"leads"}
_PG_FUNCTION = (
    "CREATE OR REPLACE FUNCTION leadctl_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
)
_TRIGGER = re.compile(
    r"CREATE TRIGGER (\w+) BEFORE (UPDATE|DELETE) ON (\w+)(?: WHEN (.+?))? BEGIN SELECT RAISE\(ABORT, '[^']*'\); END")
_DROP_TRIGGER = re.compile(r"DROP TRIGGER ((\w+)_no_\w+)")  # a trigger is named for its table
_TABLE = re.compile(r"CREATE TABLE (\w+) \(")


class _Recorder:
    """Something with `execute(sql)` that keeps the statements instead of running them."""

    def __init__(self):
        self.statements: list[str] = []

    def execute(self, sql: str) -> None:
        self.statements.append(sql)


def postgres_sql(sql: str) -> list[str]:
    """One SQLite schema statement in PostgreSQL's words (none, one, or two statements)."""
    trigger = _TRIGGER.fullmatch(sql)
    if trigger:
        name, operation, table, when = trigger.groups()
        when = f" WHEN ({when.replace(' IS NOT OLD.', ' IS DISTINCT FROM OLD.')})" if when else ""
        return [_PG_FUNCTION, f"CREATE TRIGGER {name} BEFORE {operation} ON {table}"
                              f" FOR EACH ROW{when} EXECUTE FUNCTION leadctl_append_only()"]
    drop = _DROP_TRIGGER.fullmatch(sql)
    if drop:
        return [f"DROP TRIGGER {drop.group(1)} ON {drop.group(2)}"]
    sql = sql.replace(" WITHOUT ROWID", "")
    sql = sql.replace("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY")
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql)
    table = _TABLE.match(sql)
    if table and table.group(1) in _ROWID_READ:
        sql = sql[:table.end()] + "rowid BIGSERIAL UNIQUE, " + sql[table.end():]
    return [sql]


def postgres_steps() -> list[tuple[str, list[str]]]:
    """Each migration's name and its statements for PostgreSQL."""
    steps = []
    for name, fn in _STEPS:
        recorder = _Recorder()
        fn(recorder)
        steps.append((name, [pg for sql in recorder.statements for pg in postgres_sql(sql)]))
    return steps
