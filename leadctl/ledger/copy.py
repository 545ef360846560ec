"""Copying a whole ledger to another store: SQLite to PostgreSQL, back, or to a new file.

The source is read in one snapshot (no router's half batch), the target written in one
transaction and checked before it commits: the same number of rows in every table and
the same content hash, else nothing is kept. Row numbers (events, passed-over lists,
config changes, notifications) are copied as they are, so every reference between
tables still holds and `config restore N` names the same change on both sides.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from itertools import islice

from ..errors import LeadctlError
from .schema import EVENT_COLUMNS, LEAD_COLUMNS
from .store import Ledger

# table -> (columns, the order rows are read in); leads keep their arrival order.
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "passed_over_sets": (("id", "text"), "id"),
    "leads": ((*LEAD_COLUMNS, "first_contact_at"), "rowid"),
    "events": (("id", *EVENT_COLUMNS), "id"),
    "rotations": (("group_name", "state"), "group_name"),
    "usage": (("group_name", "user_id", "period", "count"), "group_name, period, user_id"),
    "event_counts": (("minute", "utc_offset", "assigned_to", "group_name", "method", "n"),
                     "minute, utc_offset, assigned_to, group_name, method"),
    "config_history": (("n", "at", "actor", "command", "previous", "via", "file"), "n"),
    "tokens": (("name", "kind", "token_hash", "secret", "user_id", "created_at", "revoked_at"), "name"),
    "notifications": (("id", "key", "lead_id", "user_id", "channel", "address", "method", "reason", "status",
                       "attempts", "next_at", "claimed_until", "last_error", "created_at", "sent_at"), "id"),
    "conversions": (("lead_id", "record_type", "record_id", "at"), "lead_id, record_type"),
    "queue": (("n", "lead_id", "group_name", "received_at"), "n"),
    "sign_ins": (("token_hash", "user_id", "next_path", "created_at", "expires_at", "used_at"), "token_hash"),
    "keys": (("name", "value"), "name"),
    "crm_writes": (("n", "crm", "lead_id", "owner", "status", "attempts", "next_at", "claimed_until", "last_error",
                    "crm_owner", "written_owner_id", "created_at", "sent_at"), "n"),
    "sessions": (("id_hash", "user_id", "created_at", "expires_at", "ended_at"), "id_hash"),
    "sla_steps": (("lead_id", "assigned_at", "step", "action", "at", "note"), "lead_id, assigned_at, step"),
    "offers": (("lead_id", "assigned_at", "holder", "group_name", "until", "accepted_at"), "lead_id, assigned_at"),
    "snapshots": (("name", "config", "at", "body"), "name"),
    "watches": (("source", "etag", "last_modified", "header", "pending_header", "row_ids", "polled_at"), "source"),
}
CHUNK = 2000
_MOD = 2**256


class TableSum:
    """Rows counted and hashed as a multiset (the sum of each row's SHA-256): the same
    rows give the same sum whatever order two stores hand them out in."""

    def __init__(self) -> None:
        self.rows = 0
        self.total = 0

    def add(self, rows: list[tuple]) -> None:
        for row in rows:
            blob = json.dumps(list(row), ensure_ascii=False).encode("utf-8", "surrogatepass")
            self.total = (self.total + int.from_bytes(hashlib.sha256(blob).digest(), "big")) % _MOD
        self.rows += len(rows)


def digest(sums: dict[str, TableSum]) -> str:
    """One hash for the whole ledger, from each table's."""
    h = hashlib.sha256()
    for table in TABLES:
        h.update(f"{table}:{sums[table].rows}:{sums[table].total:064x};".encode())
    return h.hexdigest()


def _chunks(ledger: Ledger, table: str) -> Iterator[list[tuple]]:
    columns, order = TABLES[table]
    rows = ledger.stream(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
    while chunk := [tuple(r) for r in islice(rows, CHUNK)]:
        yield chunk


def contents(ledger: Ledger) -> dict[str, TableSum]:
    """Every table's count and hash (inside the caller's transaction or snapshot)."""
    sums = {}
    for table in TABLES:
        sums[table] = TableSum()
        for chunk in _chunks(ledger, table):
            sums[table].add(chunk)
    return sums


def copy(source: Ledger, target: Ledger) -> tuple[dict[str, TableSum], str]:
    """Copy every row of `source` into the empty `target`; (per-table sums, ledger hash)."""
    with target.write():
        held = {t: n for t in TABLES if (n := target.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])}
        if held:
            table, n = next(iter(held.items()))
            raise LeadctlError(f"the target ledger {target.path} is not empty ({n} row(s) in {table});"
                               " copy only into a new, empty ledger")
        with source.snapshot():
            sums = {}
            for table, (columns, _) in TABLES.items():
                sums[table] = TableSum()
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                for chunk in _chunks(source, table):
                    target.conn.executemany(sql, chunk)
                    sums[table].add(chunk)
        target.after_copy()
        copied = contents(target)  # read back before it commits: a difference keeps nothing
        for table in TABLES:
            if (copied[table].rows, copied[table].total) != (sums[table].rows, sums[table].total):
                raise LeadctlError(
                    f"the copy of table {table} does not match the source ({copied[table].rows} row(s) written,"
                    f" {sums[table].rows} read); nothing was kept in {target.path}", 1)
    return sums, digest(sums)
