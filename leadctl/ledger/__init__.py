"""The ledger: every lead, every assignment event, rotations and usage, the outbox, tokens and
the config's history, in one SQLite file (the default) or on a PostgreSQL server.

    store.py        `Ledger`, the interface the rest of leadctl uses, made of rooms by concern:
    leads.py          leads and their history (ids, routed batches, duplicate keys, owners, listings)
    usage.py          rotations and cap usage
    outbox.py         notifications owed to reps
    credentials.py    tokens for `serve`
    history.py        the config's history
    schema.py       the tables' columns and SQLite's migrations
    sqlite.py       the SQLite store (the default)
    postgres.py     the PostgreSQL store (psycopg, imported only for a postgresql:// target)
    copy.py         `ledger copy`: every table from one store to another, counted and hashed
    errors.py       the ledger's failures, and what a `--db` names

`Ledger.open(target)` opens whichever store the target names.
"""

from __future__ import annotations

from . import store
from .errors import URL_SCHEMES, DuplicateKey, LedgerBusy, LedgerError, LedgerRetry, target
from .schema import EVENT_COLUMNS, COUNTED_METHODS, LEAD_COLUMNS, LEAD_SELECT, MIGRATIONS, _migrations
from .sqlite import SQLITE_SIDE_FILES, SqliteLedger, remove_new_file
from .store import Ledger

__all__ = ["URL_SCHEMES", "DuplicateKey", "LedgerBusy", "LedgerError", "LedgerRetry", "target",
           "EVENT_COLUMNS", "COUNTED_METHODS", "LEAD_COLUMNS", "LEAD_SELECT", "MIGRATIONS", "_migrations",
           "SQLITE_SIDE_FILES", "SqliteLedger", "remove_new_file", "Ledger"]


def _open_postgresql(url: str, *, create: bool, readonly: bool, busy_timeout: float | None) -> Ledger:
    from .postgres import PgLedger  # psycopg and the PostgreSQL store only for a postgresql:// target

    return PgLedger.connect(url, create=create, busy_timeout=busy_timeout)


store.OPENERS.update(sqlite=SqliteLedger.open_path, postgresql=_open_postgresql)
