"""The ledger in one SQLite file (the default): its connection, transactions, migrations,
and the few statements SQLite spells its own way.

WAL mode and a busy timeout let readers work while a router writes; routers take
`BEGIN IMMEDIATE` per batch, so parallel runs serialise on the write lock instead of
double-assigning. A new ledger is made by leadctl's own steps (schema.py), recorded as
sqlite-utils records them; sqlite-utils upgrades an older one.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from ..errors import LeadctlError
from .errors import DuplicateKey, LedgerBusy, LedgerError, busy_timeout_ms
from .schema import (
    _LEAD_ASSIGNMENT, _MIGRATIONS_TABLE, _STEPS, EVENT_COLUMNS, COUNTED_METHODS, LEAD_COLUMNS, MIGRATIONS, _migrations,
)
from .store import Ledger

# Binding None makes the sqlite3 module look for a way to adapt it, and the look-up fails with
# a formatted AttributeError raised and cleared: a thousand-odd instructions per NULL, several
# NULLs per lead. An adapter of its own (None stays None) ends that search at once; a C-level
# one (`{}.get(None)` is None), as a Python lambda would cost a Python call per NULL.
sqlite3.register_adapter(type(None), {}.get)

PAGE_SIZE = 8192  # bytes, for a new SQLite ledger
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _cause(exc: BaseException) -> str:
    """What the store said, without the advice a failure inside a command adds."""
    return str(exc).removeprefix("the ledger failed: ").removesuffix("; committed work is kept, run the command again")


def remove_new_file(path: Path) -> None:
    """Take away an SQLite ledger file leadctl itself just made, and the side files SQLite
    made beside it; nothing else in its folder, whatever its name."""
    for leftover in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        leftover.unlink(missing_ok=True)


class _Connection:
    """sqlite3's connection, whose failures come out as the ledger's own, as PostgreSQL's do
    (nothing above `ledger/` knows sqlite3): a lock held past the busy timeout is LedgerBusy,
    a key already there DuplicateKey, any other failure (a full disk, a damaged file, a
    trigger's refusal) LedgerError. The rest of the connection is sqlite3's own."""

    __slots__ = ("raw", "where")

    def __init__(self, raw: sqlite3.Connection, where: object):
        self.raw = raw
        self.where = where

    def execute(self, sql: str, params=()):
        try:
            return self.raw.execute(sql, params)
        except sqlite3.Error as exc:
            raise self.failure(exc) from None

    def executemany(self, sql: str, rows):
        try:
            return self.raw.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self.failure(exc) from None

    def failure(self, exc: sqlite3.Error) -> LeadctlError:
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return LedgerBusy(f"ledger {self.where} is busy: another writer held it past the busy timeout ({text})")
        if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in text:
            return DuplicateKey(text)
        return LedgerError(f"the ledger failed: {text}; committed work is kept, run the command again")

    def __getattr__(self, name: str):
        return getattr(self.raw, name)


class SqliteLedger(Ledger):
    """A ledger in an SQLite file (or in memory, for a ledger that does not exist yet)."""

    store = "SQLite"
    duplicate_key: tuple[type[BaseException], ...] = (DuplicateKey,)

    def describe(self) -> str:
        """The store, its version and the schema's, for `config check`."""
        return f"SQLite {sqlite3.sqlite_version} ledger schema {self.schema_version()}"

    def never_wait(self) -> bool:
        self.conn.execute("PRAGMA busy_timeout=0")  # (LEADCTL_BUSY_TIMEOUT does not apply here)
        return True

    @classmethod
    def open_path(cls, path: Path, *, create: bool = True, readonly: bool = False,
                  busy_timeout: float | None = None) -> SqliteLedger:
        """`Ledger.open` for a file (see there)."""
        if not path.exists():
            if not create:
                return cls._connect(":memory:", None)
            try:
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise LeadctlError(f"cannot create ledger {path}: {exc.strerror}") from None
        if readonly and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            return cls._connect_readonly(path)
        return cls._connect(str(path), path, busy_timeout)

    @classmethod
    def _connect(cls, target: str, path: Path | None, busy_timeout: float | None = None) -> SqliteLedger:
        where = path or "the ledger"
        try:
            timeout = busy_timeout_ms(busy_timeout)
            conn = _Connection(sqlite3.connect(target, timeout=timeout / 1000, isolation_level=None), where)
            conn.execute(f"PRAGMA busy_timeout={timeout}")
            ledger = cls(conn, path)
            ledger._check_kind()
            if path is not None:
                # A new file only (an existing ledger keeps its page size): 8 KiB pages halve
                # the writes a routed batch makes (-5% wall time at 1,000,000 leads, measured).
                conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                # Deleted and overwritten cells are zeroed where that costs no extra I/O, so an
                # updated row leaves no stale copy of a lead behind in a page (`leads forget`).
                conn.execute("PRAGMA secure_delete=FAST")
            ledger._migrate()
        except (sqlite3.DatabaseError, LedgerError) as exc:
            raise LeadctlError(f"cannot open ledger {where}: {_cause(exc)}") from None
        return ledger

    @classmethod
    def _connect_readonly(cls, path: Path) -> SqliteLedger:
        """For reading a ledger nobody here may write. SQLite needs the WAL's shared
        memory file for that; in a read-only folder that has none, and no write-ahead
        log either (so no writer is at work), the file is read as immutable."""
        uri = "file:" + quote(str(path.absolute())) + "?mode=ro"
        if not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists():
            uri += "&immutable=1"
        try:
            conn = _Connection(sqlite3.connect(uri, uri=True, timeout=busy_timeout_ms() / 1000,
                                               isolation_level=None), path)
            ledger = cls(conn, path)
            ledger._check_kind()
            if ledger._applied() < set(MIGRATIONS):
                raise LeadctlError(
                    f"ledger {path} is read-only and was written by an older leadctl; open it once"
                    " where it can be written to upgrade it"
                )
        except (sqlite3.DatabaseError, LedgerError) as exc:
            raise LeadctlError(f"cannot open ledger {path}: {_cause(exc)}") from None
        return ledger

    def _refuse_foreign(self) -> None:
        """A store without leadctl's migrations must hold nothing else."""
        tables = [name for (name,) in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        if tables:
            raise LeadctlError(
                f"{self.path} is an SQLite database but not a leadctl ledger (it has a table"
                f" '{tables[0]}'); pass another --db"
            )

    def _migrate(self) -> None:
        applied = self._applied()
        if applied >= set(MIGRATIONS):
            return  # the usual case, answered without importing sqlite-utils
        if not applied and self._create():
            return
        from sqlite_utils import Database

        migrations = _migrations()
        db = Database(self.conn.raw, execute_plugins=False, recursive_triggers=False)
        if not migrations.pending(db):
            return
        with self.write():
            migrations.apply(db)  # inside our IMMEDIATE transaction: savepoints

    def _create(self) -> bool:
        """A new ledger: every step at once, recorded as sqlite-utils records them, without
        importing sqlite-utils (a tenth of a new ledger's first route). False if another
        process made it meanwhile (then it is upgraded, if need be, the usual way)."""
        from datetime import datetime, timezone

        with self.write():
            if self._applied():
                return False
            for sql in _MIGRATIONS_TABLE:
                self.conn.execute(sql)
            for name, step in _STEPS:
                step(self.conn)
                self.conn.execute(
                    "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('leadctl', ?, ?)",
                    (name, str(datetime.now(timezone.utc))),
                )
        return True

    def _applied(self) -> set[str]:
        try:
            rows = self.conn.execute("SELECT name FROM _sqlite_migrations WHERE migration_set = 'leadctl'")
        except LedgerError:  # a new ledger: no migrations table yet
            return set()
        return {name for (name,) in rows}

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that all see the ledger as it was at their first: a copy never takes half a
        batch. Writers go on meanwhile (WAL)."""
        self.conn.execute("BEGIN")  # deferred: a read snapshot, no write lock
        try:
            yield
        finally:
            self.conn.execute("ROLLBACK")

    def stream(self, sql: str) -> Iterable[tuple]:
        """The rows of a big query, fetched as they are read."""
        return self.conn.execute(sql)

    def _begin(self, groups: Iterable[str] | None) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")  # one writer at a time, whatever the groups
        except LedgerBusy:
            raise
        except LedgerError as exc:  # e.g. a read-only file
            raise LeadctlError(f"ledger {self.path} is unwritable: {_cause(exc)}") from None

    def _rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    def backup_to(self, to: Path) -> tuple[int, int]:
        """An online copy of the whole ledger into the new file `to` (SQLite's backup API, all
        pages in one step: one read transaction, so one consistent moment while others write),
        checked, synced and then renamed into place; (leads, events) in it."""
        partial = to.with_name(to.name + ".partial")
        try:
            os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # owner-only, as the ledger
            copy = sqlite3.connect(partial)
            try:
                self.conn.raw.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                problems = [r[0] for r in copy.execute("PRAGMA quick_check")]
                leads = copy.execute("SELECT count(*) FROM leads").fetchone()[0]
                events = copy.execute("SELECT count(*) FROM events").fetchone()[0]
            finally:
                copy.close()
            if problems != ["ok"]:
                raise LeadctlError(f"the copy failed its check ({problems[0][:100]}); nothing was kept")
            with open(partial, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(partial, to)
        except OSError as exc:
            raise LeadctlError(f"cannot write {to}: {exc.strerror}") from None
        except sqlite3.Error as exc:
            raise LeadctlError(f"cannot back up to {to}: {exc}") from None
        finally:
            partial.unlink(missing_ok=True)
        return leads, events

    def integrity_problems(self) -> list[str]:
        """SQLite's `PRAGMA integrity_check`: every page, index and record of the file."""
        found = [r[0] for r in self.conn.execute("PRAGMA integrity_check(100)")]
        return [] if found == ["ok"] else found

    def erase_leads(self, erased) -> None:
        self.conn.execute("PRAGMA secure_delete=ON")  # the pages freed now are zeroed too
        super().erase_leads(erased)

    def scrub(self) -> str | None:
        """The erased bytes are zeroed in the file already (secure_delete); the write-ahead log
        still holds the pages as they were until it is checkpointed and emptied."""
        if self.path is None:
            return None
        busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            return ("another process is reading the ledger, so its write-ahead log keeps the erased"
                    " pages until the next checkpoint that finds no reader (`leadctl leads forget` again empties it)")
        return None

    def _has_index(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                                 (name,)).fetchone() is not None

    def passed_over_ids(self, texts: Iterable[str]) -> dict[str, int]:
        """The number of each passed-over list, added the first time it is seen."""
        texts = list(texts)
        if not texts:
            return {}
        self.conn.executemany("INSERT OR IGNORE INTO passed_over_sets (text) VALUES (?)", [(t,) for t in texts])
        return dict(self.conn.execute(
            "SELECT text, id FROM passed_over_sets WHERE text IN (SELECT value FROM json_each(?))",
            (json.dumps(texts),),
        ))

    def insert_routed(self, rows: list[tuple], actor: str | None, via: str | None = None,
                      owed_at: str | None = None) -> int:
        """A batch of routed leads (rows in LEAD_COLUMNS order), and an assignment event for
        each one that has an owner (and, at `owed_at`, an owner write owed to the CRMs), copied from the
        rows just written by SQLite itself: no event row crosses from Python (that binding, not
        the writing, was the cost)."""
        conn = self.conn
        (last,) = conn.execute("SELECT coalesce(max(rowid), 0) FROM leads").fetchone()
        marks = ",".join("?" * len(LEAD_COLUMNS))
        written = conn.executemany(  # an id already there is left alone; the caller counts
            f"INSERT INTO leads ({','.join(LEAD_COLUMNS)}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING", rows
        ).rowcount
        methods = ",".join(f"'{m}'" for m in COUNTED_METHODS)
        conn.execute(
            f"INSERT INTO events ({','.join(EVENT_COLUMNS)})"
            f" SELECT id, assigned_at, assigned_to, group_name, method, reason, method IN ({methods}), ?, NULL,"
            " passed_over, ?, backup_for FROM leads WHERE rowid > ? AND assigned_to IS NOT NULL ORDER BY rowid",
            (actor, via, last),
        )
        if owed_at is not None:  # one owner write owed to every CRM (outbox.py fans it out)
            conn.execute("INSERT INTO crm_writes (crm, lead_id, owner, status, attempts, next_at, created_at)"
                         " SELECT '*', id, assigned_to, 'pending', 0, ?, ? FROM leads"
                         " WHERE rowid > ? AND assigned_to IS NOT NULL ORDER BY rowid", (owed_at, owed_at, last))
        if written == len(rows):  # counted from the rows in hand (a GROUP BY made SQLite sort them)
            self._count_assignments(map(_LEAD_ASSIGNMENT, rows))
        else:  # some ids were there already: count what was written
            self._count_assignments(conn.execute(
                "SELECT assigned_at, assigned_to, group_name, method FROM leads WHERE rowid > ?", (last,)))
        return written

    def record_config(self, at: str, actor: str | None, command: str, previous: str, via: str | None = None,
                      file: str | None = None) -> int:
        """Keep the config text a change replaced (and which file it was); returns the change's number."""
        cur = self.conn.execute(
            "INSERT INTO config_history (at, actor, command, previous, via, file) VALUES (?, ?, ?, ?, ?, ?)",
            (at, actor, command, previous, via, file),
        )
        return cur.lastrowid

