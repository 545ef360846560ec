"""The ledger: every lead, every assignment event, rotations and usage.

All SQL lives here, written once for both stores: SQLite (this module, the default,
one file) and PostgreSQL (`ledger_pg.py`, a server several machines share), which
overrides only what the two engines spell differently. Tables:

- `leads`: one row per lead; its original fields as a JSON object of text,
  plus the columns leadctl filters on and its current owner.
- `events`: append-only (triggers refuse UPDATE and DELETE); one row per
  assignment, pick-up, reassignment or release: who, when, how and why.
- `rotations`: each group's rotation state (JSON), shared by every intake path.
- `usage`: leads the group's method gave each member per day ("D2026-11-23")
  and month ("M2026-11"), so a cap check is one key look-up, never a scan.

WAL mode and a busy timeout let readers work while a router writes; routers
take `BEGIN IMMEDIATE` per batch, so parallel runs serialise on the write
lock instead of double-assigning. The schema is versioned with sqlite-utils
migrations.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from urllib.parse import quote

from .engine import Rotation
from .errors import LeadctlError

# Binding None makes the sqlite3 module look for a way to adapt it, and the look-up fails with
# a formatted AttributeError raised and cleared: a thousand-odd instructions per NULL, several
# NULLs per lead. An adapter of its own (None stays None) ends that search at once; a C-level
# one (`{}.get(None)` is None), as a Python lambda would cost a Python call per NULL.
sqlite3.register_adapter(type(None), {}.get)

PAGE_SIZE = 8192  # bytes, for a new SQLite ledger
BUSY_TIMEOUT_MS = 120_000  # how long a writer waits for another's batch; LEADCTL_BUSY_TIMEOUT (s) overrides


class LedgerBusy(LeadctlError):
    """Another writer held the ledger past the busy timeout (a later try may succeed)."""


class LedgerError(LeadctlError):
    """The ledger's store failed (a server gone, a disk full); the transaction in flight
    was rolled back, every committed one is kept."""

    code = 1


class LedgerRetry(LedgerError):
    """A failure that trying the same transaction again may not meet: a serialisation
    failure, a deadlock broken by the server, a dropped connection."""


class DuplicateKey(LedgerError):
    """A row with the same key is already there."""


URL_SCHEMES = ("postgresql://", "postgres://")


def target(text: str | Path) -> Path | str:
    """What `--db`, LEADCTL_DB or the config's `ledger` key names: a PostgreSQL URL
    (kept as text), else the path of an SQLite file."""
    if isinstance(text, str) and text.startswith(URL_SCHEMES):
        return text
    return Path(text)


SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def remove_new_file(path: Path) -> None:
    """Take away an SQLite ledger file leadctl itself just made, and the side files SQLite
    made beside it; nothing else in its folder, whatever its name."""
    for leftover in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDE_FILES)):
        leftover.unlink(missing_ok=True)


def _busy_timeout_ms(default: float | None = None) -> int:
    """LEADCTL_BUSY_TIMEOUT (seconds) when set, else `default` seconds, else BUSY_TIMEOUT_MS."""
    raw = os.environ.get("LEADCTL_BUSY_TIMEOUT")
    if not raw:
        return BUSY_TIMEOUT_MS if default is None else int(default * 1000)
    try:
        seconds = float(raw)
    except ValueError:
        raise LeadctlError(f"LEADCTL_BUSY_TIMEOUT '{raw}' is not a number of seconds") from None
    return max(0, int(seconds * 1000))

LEAD_COLUMNS = (
    "id", "type", "status", "email", "phone", "source", "received_at", "fields",
    "email_key", "phone_key", "group_name", "assigned_to", "method", "reason", "assigned_at",
    "passed_over",
)
LEAD_SELECT = ", ".join(LEAD_COLUMNS)  # `SELECT *` would bring PostgreSQL's own row number too
GROUP_METHODS = ("sequential", "random", "weighted")  # the assignments that count towards caps
EVENT_COLUMNS = ("lead_id", "at", "assigned_to", "group_name", "method", "reason", "counted",
                 "actor", "note", "passed_over")
# (at, assigned_to, group_name, method) of a lead row and of an event row: what `report` counts
_LEAD_ASSIGNMENT = itemgetter(*(LEAD_COLUMNS.index(c) for c in ("assigned_at", "assigned_to", "group_name", "method")))
_EVENT_ASSIGNMENT = itemgetter(*(EVENT_COLUMNS.index(c) for c in ("at", "assigned_to", "group_name", "method")))


MIGRATIONS = ("m001_initial", "m002_actors_history_counts", "m003_tokens", "m004_notifications")


# The schema's steps, in order. Each takes something with `execute(sql)`: sqlite-utils'
# Database when it upgrades an older ledger, the connection itself when a new ledger is made.
_STEPS: list[tuple[str, Callable]] = []


def _step(fn: Callable) -> Callable:
    _STEPS.append((fn.__name__, fn))
    return fn


@_step
def m001_initial(db):
    db.execute(
        """CREATE TABLE leads (
            id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            status TEXT,
            email TEXT,
            phone TEXT,
            source TEXT,
            received_at TEXT NOT NULL,
            fields TEXT NOT NULL,
            email_key TEXT,
            phone_key TEXT,
            group_name TEXT,
            assigned_to TEXT,
            method TEXT,
            reason TEXT,
            assigned_at TEXT
        )"""
    )
    db.execute("CREATE INDEX leads_assigned_to ON leads(assigned_to)")
    db.execute(
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            lead_id TEXT NOT NULL,
            at TEXT NOT NULL,
            assigned_to TEXT,
            group_name TEXT,
            method TEXT NOT NULL,
            reason TEXT,
            counted INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute("CREATE INDEX events_lead ON events(lead_id)")
    db.execute(
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
        "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
    )
    db.execute("CREATE TABLE rotations (group_name TEXT PRIMARY KEY, state TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE usage (
            group_name TEXT NOT NULL,
            user_id TEXT NOT NULL,
            period TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (group_name, period, user_id)
        ) WITHOUT ROWID"""
    )


@_step
def m002_actors_history_counts(db):
    # Who made each change and why, and the members a group's method passed over. A
    # passed-over list repeats for lead after lead (the same capped members), so it is
    # kept once in `passed_over_sets`; leads and events refer to it by number.
    db.execute(
        """CREATE TABLE passed_over_sets (
            id INTEGER PRIMARY KEY,
            text TEXT NOT NULL UNIQUE
        )"""
    )
    db.execute("ALTER TABLE events ADD COLUMN actor TEXT")
    db.execute("ALTER TABLE events ADD COLUMN note TEXT")
    db.execute("ALTER TABLE events ADD COLUMN passed_over INTEGER")
    # The current assignment's passed-over list on the lead row, so that a batch's events
    # are copied from its lead rows inside SQLite.
    db.execute("ALTER TABLE leads ADD COLUMN passed_over INTEGER")
    # Every config write keeps the text it replaced, so any change can be undone.
    db.execute(
        """CREATE TABLE config_history (
            n INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT,
            command TEXT NOT NULL,
            previous TEXT NOT NULL
        )"""
    )
    db.execute(
        "CREATE TRIGGER config_history_no_update BEFORE UPDATE ON config_history "
        "BEGIN SELECT RAISE(ABORT, 'config history is append-only'); END"
    )
    # Assignments counted per minute (with its UTC offset), user, group and method, kept
    # as events are written: `report` reads this small table, never a million events.
    db.execute(
        """CREATE TABLE event_counts (
            minute TEXT NOT NULL,
            utc_offset TEXT NOT NULL,
            assigned_to TEXT NOT NULL,
            group_name TEXT NOT NULL DEFAULT '',
            method TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (minute, utc_offset, assigned_to, group_name, method)
        ) WITHOUT ROWID"""
    )
    db.execute(
        "INSERT INTO event_counts SELECT substr(at, 1, 16), substr(at, 20), assigned_to,"
        " coalesce(group_name, ''), method, count(*) FROM events WHERE assigned_to IS NOT NULL"
        " GROUP BY 1, 2, 3, 4, 5"
    )


@_step
def m003_tokens(db):
    # Credentials for `leadctl serve`. A bearer token is kept only as its SHA-256 (it is
    # random and long, so no salt is needed); a signing secret must be kept itself, since
    # the server recomputes each request's HMAC with it.
    db.execute(
        """CREATE TABLE tokens (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            token_hash TEXT,
            secret TEXT,
            user_id TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )"""
    )


@_step
def m004_notifications(db):
    # The outbox: one row per message owed to a rep, written in the same transaction as
    # the assignment, so there is one for every assignment and none for a rolled-back one.
    db.execute(
        """CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            lead_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            method TEXT,
            reason TEXT,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at TEXT NOT NULL,
            claimed_until TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        )"""
    )
    db.execute("CREATE INDEX notifications_due ON notifications(status, next_at)")


# How sqlite-utils keeps its record of applied migrations; a new ledger gets the very same.
_MIGRATIONS_TABLE = (
    'CREATE TABLE "_sqlite_migrations" (\n   "id" INTEGER PRIMARY KEY,\n   "migration_set" TEXT,\n'
    '   "name" TEXT,\n   "applied_at" TEXT\n)',
    'CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"\n'
    '    ON "_sqlite_migrations" ("migration_set", "name")',
)


def _migrations():
    """The steps as a sqlite-utils migration set (what upgrades an older ledger)."""
    from sqlite_utils import Migrations

    migrations = Migrations("leadctl")
    for name, fn in _STEPS:
        migrations(name=name)(fn)
    return migrations


class Ledger:
    """One open ledger. Use `write()` for every change."""

    store = "SQLite"
    savepoints = True  # a write() inside a write() is a savepoint that can be rolled back alone
    transient: tuple[type[BaseException], ...] = ()  # failures a batch is tried again after
    duplicate_key: tuple[type[BaseException], ...] = (sqlite3.IntegrityError,)

    def __init__(self, conn: sqlite3.Connection, path: Path | None):
        self.conn = conn
        self.path = path  # what messages name: the file, or the URL without its password
        self.target: Path | str | None = path  # what it was opened from

    def describe(self) -> str:
        """The store, its version and the schema's, for `config check`."""
        return f"SQLite {sqlite3.sqlite_version} ledger schema {self.schema_version()}"

    def recover(self) -> None:
        """After a transient failure: make the connection usable again (SQLite has none)."""

    # -- opening -------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str, *, create: bool = True, readonly: bool = False,
             busy_timeout: float | None = None) -> Ledger:
        """Open (and if need be create, owner-only) the ledger at `path`, or the
        PostgreSQL ledger a `postgresql://` URL names.

        With create=False a missing ledger reads as an empty one in memory,
        so read-only commands never leave a file behind. With readonly=True a
        ledger that cannot be written (a read-only folder or file) is opened
        for reading only.
        """
        where = target(path)
        if isinstance(where, str):
            from .ledger_pg import PgLedger

            return PgLedger.connect(where, create=create, busy_timeout=busy_timeout)
        path = where
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
    def _connect(cls, target: str, path: Path | None, busy_timeout: float | None = None) -> Ledger:
        where = path or "the ledger"
        try:
            timeout = _busy_timeout_ms(busy_timeout)
            conn = sqlite3.connect(target, timeout=timeout / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={timeout}")
            ledger = cls(conn, path)
            ledger._check_kind()
            if path is not None:
                # A new file only (an existing ledger keeps its page size): 8 KiB pages halve
                # the writes a routed batch makes (-5% wall time at 1,000,000 leads, measured).
                conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            ledger._migrate()
        except sqlite3.DatabaseError as exc:
            raise LeadctlError(f"cannot open ledger {where}: {exc}") from None
        return ledger

    @classmethod
    def _connect_readonly(cls, path: Path) -> Ledger:
        """For reading a ledger nobody here may write. SQLite needs the WAL's shared
        memory file for that; in a read-only folder that has none, and no write-ahead
        log either (so no writer is at work), the file is read as immutable."""
        uri = "file:" + quote(str(path.absolute())) + "?mode=ro"
        if not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists():
            uri += "&immutable=1"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=_busy_timeout_ms() / 1000, isolation_level=None)
            ledger = cls(conn, path)
            ledger._check_kind()
            if ledger._applied() < set(MIGRATIONS):
                raise LeadctlError(
                    f"ledger {path} is read-only and was written by an older leadctl; open it once"
                    " where it can be written to upgrade it"
                )
        except sqlite3.DatabaseError as exc:
            raise LeadctlError(f"cannot open ledger {path}: {exc}") from None
        return ledger

    def _check_kind(self) -> None:
        """Refuse what is not a leadctl ledger, or is one from a newer leadctl, before
        anything is written to it."""
        applied = self._applied()
        newer = sorted(applied - set(MIGRATIONS))
        if newer:
            raise LeadctlError(
                f"ledger {self.path} was written by a newer leadctl (it has migration '{newer[0]}');"
                " upgrade leadctl to use it"
            )
        if not applied:
            self._refuse_foreign()

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
        db = Database(self.conn, execute_plugins=False, recursive_triggers=False)
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
        except sqlite3.OperationalError:  # a new ledger: no migrations table yet
            return set()
        return {name for (name,) in rows}

    def schema_version(self) -> int:
        """How many of leadctl's migrations this ledger has had."""
        return len(self._applied() & set(MIGRATIONS))

    def close(self) -> None:
        self.conn.close()

    # -- transactions --------------------------------------------------------------
    @contextmanager
    def write(self, dry_run: bool = False, groups: Iterable[str] | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front (BEGIN IMMEDIATE) so that two
        routers serialise on the lock instead of reading stale rotations.

        `groups`: a routing batch names the groups whose rotation and usage it
        moves; a store that can lock less than everything (PostgreSQL) lets
        batches for other groups go on meanwhile. None: the whole ledger.

        Inside an open transaction it nests as a savepoint: a dry run wraps the
        whole command in one transaction that is rolled back at the end, and
        every batch inside sees the batches before it.
        """
        if self.conn.in_transaction:
            self.conn.execute("SAVEPOINT nested")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK TO nested")
                self.conn.execute("RELEASE nested")
                raise
            if dry_run:
                self.conn.execute("ROLLBACK TO nested")
            self.conn.execute("RELEASE nested")
            return
        self._begin(groups)
        try:
            yield self.conn
        except BaseException:
            self._rollback()
            raise
        if dry_run:
            self._rollback()
        else:
            self.conn.execute("COMMIT")

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

    def after_copy(self) -> None:
        """After rows were copied in with their own numbers (SQLite numbers on from the largest)."""

    def _begin(self, groups: Iterable[str] | None) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")  # one writer at a time, whatever the groups
        except sqlite3.OperationalError as exc:
            kind = LedgerBusy if "locked" in str(exc) or "busy" in str(exc) else LeadctlError
            raise kind(f"ledger {self.path} is busy or unwritable: {exc}") from None

    def _rollback(self) -> None:
        self.conn.execute("ROLLBACK")

    # -- routing state -------------------------------------------------------------
    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.conn.execute(f"SELECT id FROM leads WHERE id IN ({marks})", chunk))
        return found

    def last_rowid(self) -> int:
        """Where the leads table ends now: leads recorded later have a greater row number."""
        return self.conn.execute("SELECT coalesce(max(rowid), 0) FROM leads").fetchone()[0]

    def recorded_after(self, ids: Iterable[str], rowid: int) -> set[str]:
        """Those of `ids` recorded after row `rowid` (see `last_rowid`)."""
        ids = list(ids)
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.conn.execute(
                f"SELECT id FROM leads WHERE id IN ({marks}) AND rowid > ?", [*chunk, rowid]))
        return found

    def load_usage(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str, str], int]:
        """Usage rows for the given (group, period) pairs."""
        out: dict[tuple[str, str, str], int] = {}
        sql = "SELECT user_id, count FROM usage WHERE group_name = ? AND period = ?"
        for group, period in keys:
            for user, count in self.conn.execute(sql, (group, period)):
                out[(group, user, period)] = count
        return out

    def load_rotations(self, groups: Iterable[str]) -> dict[str, Rotation]:
        out = {}
        for name in groups:
            row = self.conn.execute("SELECT state FROM rotations WHERE group_name = ?", (name,)).fetchone()
            if row:
                out[name] = Rotation.from_dict(json.loads(row[0]))
        return out

    def save_usage(self, usage: Mapping[tuple[str, str, str], int], keys: Iterable[tuple[str, str, str]]) -> None:
        self.conn.executemany(
            "INSERT INTO usage (group_name, user_id, period, count) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (group_name, period, user_id) DO UPDATE SET count = excluded.count",
            [(g, u, p, usage[(g, u, p)]) for g, u, p in keys],
        )

    def save_rotations(self, rotations: Mapping[str, Rotation], names: Iterable[str]) -> None:
        self.conn.executemany(
            "INSERT INTO rotations (group_name, state) VALUES (?, ?) "
            "ON CONFLICT (group_name) DO UPDATE SET state = excluded.state",
            [(n, json.dumps(rotations[n].to_dict())) for n in names],
        )

    def insert_leads(self, rows: list[tuple]) -> None:
        marks = ",".join("?" * len(LEAD_COLUMNS))
        self.conn.executemany(f"INSERT INTO leads ({','.join(LEAD_COLUMNS)}) VALUES ({marks})", rows)

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

    def insert_routed(self, rows: list[tuple], actor: str | None) -> int:
        """A batch of routed leads (rows in LEAD_COLUMNS order), and an assignment event for
        each one that has an owner, copied from the rows just written by SQLite itself:
        no event row crosses from Python (that binding, not the writing, was the cost)."""
        conn = self.conn
        (last,) = conn.execute("SELECT coalesce(max(rowid), 0) FROM leads").fetchone()
        marks = ",".join("?" * len(LEAD_COLUMNS))
        written = conn.executemany(  # an id already there is left alone; the caller counts
            f"INSERT INTO leads ({','.join(LEAD_COLUMNS)}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING", rows
        ).rowcount
        methods = ",".join(f"'{m}'" for m in GROUP_METHODS)
        conn.execute(
            f"INSERT INTO events ({','.join(EVENT_COLUMNS)})"
            f" SELECT id, assigned_at, assigned_to, group_name, method, reason, method IN ({methods}), ?, NULL,"
            " passed_over FROM leads WHERE rowid > ? AND assigned_to IS NOT NULL ORDER BY rowid",
            (actor, last),
        )
        if written == len(rows):  # counted from the rows in hand (a GROUP BY made SQLite sort them)
            self._count_assignments(map(_LEAD_ASSIGNMENT, rows))
        else:  # some ids were there already: count what was written
            self._count_assignments(conn.execute(
                "SELECT assigned_at, assigned_to, group_name, method FROM leads WHERE rowid > ?", (last,)))
        return written

    def insert_events(self, rows: list[tuple]) -> None:
        """Append events, and count the assignments among them for `report`."""
        marks = ",".join("?" * len(EVENT_COLUMNS))
        self.conn.executemany(f"INSERT INTO events ({','.join(EVENT_COLUMNS)}) VALUES ({marks})", rows)
        self._count_assignments(map(_EVENT_ASSIGNMENT, rows))

    def _count_assignments(self, assignments: Iterable[tuple]) -> None:
        """Add (at, assigned_to, group_name, method) tuples to `event_counts`, by the minute
        and UTC offset of `at`; those without an owner are no assignment."""
        counts: dict[tuple, int] = {}
        for (at, user, group, method), n in Counter(assignments).items():  # counted in C first
            if user is not None:
                key = (at[:16], at[19:], user, group or "", method)
                counts[key] = counts.get(key, 0) + n
        if counts:
            self.conn.executemany(
                "INSERT INTO event_counts (minute, utc_offset, assigned_to, group_name, method, n)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (minute, utc_offset, assigned_to, group_name, method) DO UPDATE SET n = event_counts.n + excluded.n",
                [(*k, n) for k, n in counts.items()],
            )

    def index_duplicates(self, fields: Iterable[str]) -> None:
        """Index the normalised email/phone columns for duplicate matching.

        Built the first time duplicates are switched on, over every lead
        already stored (the keys are always kept), and not before: an index
        on random keys is what slows inserts into a large ledger.
        """
        for field in fields:
            column = {"email": "email_key", "phone": "phone_key"}[field]
            if not self._has_index(f"leads_{column}"):  # checked first: no write lock when it is there
                with self.write():
                    self.conn.execute(
                        f"CREATE INDEX IF NOT EXISTS leads_{column} ON leads({column}) WHERE {column} IS NOT NULL"
                    )

    def rekey_phones(self, key) -> int:
        """Every lead's phone match key made again by `key(phone)` (inside the caller's write
        transaction), after the rule that makes it changed; how many changed."""
        changed = [(new, lead_id) for lead_id, phone, old in
                   self.conn.execute("SELECT id, phone, phone_key FROM leads WHERE phone IS NOT NULL").fetchall()
                   if (new := key(phone)) != old]
        for i in range(0, len(changed), 5000):
            self.conn.executemany("UPDATE leads SET phone_key = ? WHERE id = ?", changed[i:i + 5000])
        return len(changed)

    def _has_index(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                                 (name,)).fetchone() is not None

    def earlier_owners(self, field: str, keys: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
        """For duplicate matching: key -> [(lead id, type, owner)] of owned leads,
        oldest first. `field` is "email" or "phone"; an index look-up per key."""
        column = {"email": "email_key", "phone": "phone_key"}[field]
        keys = list(keys)
        out: dict[str, list[tuple[str, str, str]]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for key, lead_id, kind, owner in self.conn.execute(
                f"SELECT {column}, id, type, assigned_to FROM leads"
                f" WHERE {column} IN ({marks}) AND assigned_to IS NOT NULL ORDER BY rowid",
                chunk,
            ):
                out.setdefault(key, []).append((lead_id, kind, owner))
        return out

    def rebuild_usage(self, tz) -> None:
        """Count usage again from the history of counted events, by calendar day and month
        in `tz`: after a time-zone change a day's leads must not be split over two keys."""
        from collections import Counter
        from datetime import date, datetime

        from .engine import day_key, month_key

        totals: Counter = Counter()
        for minute, offset, user, group, n in self.conn.execute(
            "SELECT substr(at, 1, 16), substr(at, 20), assigned_to, group_name, count(*) FROM events"
            " WHERE counted = 1 AND assigned_to IS NOT NULL GROUP BY 1, 2, 3, 4"
        ):
            try:
                day = datetime.fromisoformat(f"{minute}:00{offset}").astimezone(tz).date()
            except (ValueError, OverflowError):  # at the very ends of the calendar
                day = date.fromisoformat(minute[:10])
            iso = day.isoformat()
            totals[(group, user, day_key(iso))] += n
            totals[(group, user, month_key(iso))] += n
        self.conn.execute("DELETE FROM usage")
        self.conn.executemany(
            "INSERT INTO usage (group_name, user_id, period, count) VALUES (?, ?, ?, ?)",
            [(g, u, p, n) for (g, u, p), n in totals.items()],
        )

    def forget_group(self, name: str) -> None:
        """A group made anew under an old name starts with a fresh rotation and no usage
        (its past events stay in the history)."""
        self.conn.execute("DELETE FROM rotations WHERE group_name = ?", (name,))
        self.conn.execute("DELETE FROM usage WHERE group_name = ?", (name,))

    def set_owner(self, lead_id: str, user: str | None, group: str | None, method: str,
                  reason: str | None, at: str, *, counted: bool, actor: str | None = None,
                  note: str | None = None, passed_over: str | None = None) -> None:
        """Give a lead a new owner (None: unassigned) and record the event."""
        if passed_over is not None:
            passed_over = self.passed_over_ids([passed_over])[passed_over]
        self.conn.execute(
            "UPDATE leads SET assigned_to = ?, group_name = ?, method = ?, reason = ?, assigned_at = ?,"
            " passed_over = ? WHERE id = ?",
            (user, group, None if user is None else method, reason, at if user else None, passed_over, lead_id),
        )
        self.insert_events([(lead_id, at, user, group, method, reason, int(counted), actor, note, passed_over)])

    # -- notifications (the outbox) ---------------------------------------------------------
    NOTIFY_COLUMNS = ("key", "lead_id", "user_id", "channel", "address", "method", "reason", "next_at", "created_at")

    def queue_notifications(self, rows: list[tuple]) -> None:
        if rows:
            marks = ",".join("?" * len(self.NOTIFY_COLUMNS))
            self.conn.executemany(
                f"INSERT INTO notifications ({','.join(self.NOTIFY_COLUMNS)}) VALUES ({marks})", rows)

    def claim_notifications(self, now: str, until: str, limit: int) -> list[dict]:
        """Due notifications, claimed for this sender until `until` (inside the caller's write
        transaction, so two senders never claim the same row). A claim that ran out (a
        sender that died before saying how it went) is due again."""
        rows = list(self._rows(
            "SELECT n.*, l.fields, l.source, l.received_at, l.group_name AS \"group\" FROM notifications n"
            " JOIN leads l ON l.id = n.lead_id"
            " WHERE (n.status = 'pending' AND n.next_at <= ?) OR (n.status = 'sending' AND n.claimed_until <= ?)"
            " ORDER BY n.id LIMIT ?",
            (now, now, limit),
        ))
        self.conn.executemany(
            "UPDATE notifications SET status = 'sending', claimed_until = ?, attempts = attempts + 1 WHERE id = ?",
            [(until, r["id"]) for r in rows],
        )
        return rows

    def supersede_notifications(self, now: str) -> int:
        """Due notifications whose assignment no longer holds (the lead was reassigned or
        released since) become `superseded`: never sent to the old holder. How many."""
        cur = self.conn.execute(
            "UPDATE notifications SET status = 'superseded', claimed_until = NULL WHERE id IN ("
            " SELECT n.id FROM notifications n JOIN leads l ON l.id = n.lead_id"
            " WHERE ((n.status = 'pending' AND n.next_at <= ?) OR (n.status = 'sending' AND n.claimed_until <= ?))"
            " AND coalesce(l.assigned_to, '') <> n.user_id)",
            (now, now),
        )
        return cur.rowcount or 0

    def renew_claims(self, ids: list[int], until: str, fresh: str) -> set[int]:
        """Of `ids` claimed until `until` (a sender's claim), those still so claimed now hold
        until `fresh`; the ids that are still this sender's."""
        ours: set[int] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            ours.update(r[0] for r in self.conn.execute(
                f"SELECT id FROM notifications WHERE id IN ({marks}) AND status = 'sending' AND claimed_until = ?",
                [*chunk, until]).fetchall())
            if ours:
                self.conn.executemany("UPDATE notifications SET claimed_until = ? WHERE id = ?",
                                      [(fresh, nid) for nid in chunk if nid in ours])
        return ours

    def notification_done(self, nid: int, at: str) -> None:
        self.conn.execute("UPDATE notifications SET status = 'sent', sent_at = ?, claimed_until = NULL,"
                          " last_error = NULL WHERE id = ?", (at, nid))

    def notification_failed(self, nid: int, error: str, next_at: str | None) -> None:
        """Try again at `next_at`, or (None) give up: status `failed`."""
        self.conn.execute(
            "UPDATE notifications SET status = ?, next_at = coalesce(?, next_at), claimed_until = NULL,"
            " last_error = ? WHERE id = ?",
            ("pending" if next_at else "failed", next_at, error[:500], nid),
        )

    def notifications(self, status: str | None = None, limit: int | None = None) -> list[dict]:
        where, params = _conditions([], [("status", status)])
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        return list(self._rows(
            "SELECT id, lead_id, user_id AS user, channel, address, status, attempts, next_at, last_error,"
            f" created_at, sent_at FROM notifications{where} ORDER BY id{tail}", params))

    def retry_notifications(self, ids: list[int] | None, now: str) -> int:
        """Due again now: the given ones, or (None) every failed one."""
        if ids is None:
            cur = self.conn.execute("UPDATE notifications SET status = 'pending', next_at = ?, attempts = 0"
                                    " WHERE status = 'failed'", (now,))
        else:
            cur = self.conn.executemany("UPDATE notifications SET status = 'pending', next_at = ?, attempts = 0"
                                        " WHERE id = ? AND status != 'sending'", [(now, i) for i in ids])
        return cur.rowcount

    # -- tokens for `serve` ---------------------------------------------------------------
    def add_token(self, name: str, kind: str, token_hash: str | None, secret: str | None,
                  user: str | None, at: str) -> None:
        """A new token. A revoked token of the same name keeps its history under
        'NAME (revoked AT)', so a name can be used again once its token is revoked."""
        self.conn.execute("UPDATE tokens SET name = name || ' (revoked ' || revoked_at || ')'"
                          " WHERE name = ? AND revoked_at IS NOT NULL", (name,))
        try:
            self.conn.execute(
                "INSERT INTO tokens (name, kind, token_hash, secret, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (name, kind, token_hash, secret, user, at),
            )
        except self.duplicate_key:
            raise LeadctlError(f"token '{name}' already exists (revoke it first to reuse the name, or pick"
                               " another)") from None

    def tokens(self) -> list[dict]:
        return list(self._rows(
            "SELECT name, kind, user_id AS user, created_at, revoked_at FROM tokens ORDER BY created_at, name", ()))

    def revoke_token(self, name: str, at: str) -> bool:
        cur = self.conn.execute("UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (at, name))
        return cur.rowcount == 1

    def revoke_user_tokens(self, user: str, at: str) -> int:
        """Revoke every live token bound to `user` (they leave with the user); how many."""
        cur = self.conn.execute("UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                                (at, user))
        return cur.rowcount or 0

    def live_tokens(self) -> list[dict]:
        """Every token not revoked, with what checking a request needs."""
        return list(self._rows(
            "SELECT name, kind, token_hash, secret, user_id FROM tokens WHERE revoked_at IS NULL", ()))

    # -- config history ------------------------------------------------------------
    def record_config(self, at: str, actor: str | None, command: str, previous: str) -> int:
        """Keep the config text a change replaced; returns the change's number."""
        cur = self.conn.execute(
            "INSERT INTO config_history (at, actor, command, previous) VALUES (?, ?, ?, ?)",
            (at, actor, command, previous),
        )
        return cur.lastrowid

    def config_history(self) -> list[dict]:
        return list(self._rows("SELECT n, at, actor, command FROM config_history ORDER BY n", ()))

    def config_changes_from(self, n: int) -> list[dict]:
        """Change n and every later one: n, command and the text each replaced, oldest first."""
        return list(self._rows("SELECT n, command, previous FROM config_history WHERE n >= ? ORDER BY n", (n,)))

    def config_before(self, n: int) -> str | None:
        row = self.conn.execute("SELECT previous FROM config_history WHERE n = ?", (n,)).fetchone()
        return row[0] if row else None

    def pickable(self, statuses: dict[str, set[str]], newest: bool = False) -> Iterator[dict]:
        """Unassigned leads whose (type, status) is in `statuses`, oldest first (or newest)."""
        clauses, params = [], []
        for kind, allowed in sorted(statuses.items()):
            allowed = {s.lower() for s in allowed}
            if allowed:
                clauses.append(f"(type = ? AND lower(status) IN ({','.join('?' * len(allowed))}))")
                params += [kind, *sorted(allowed)]
        if not clauses:
            return
        yield from self._rows(
            f"SELECT {LEAD_SELECT} FROM leads WHERE assigned_to IS NULL AND ({' OR '.join(clauses)})"
            f" ORDER BY rowid{' DESC' if newest else ''}", params
        )

    def _rows(self, sql: str, params) -> Iterator[dict]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row))

    # -- read side -----------------------------------------------------------------
    def leads(
        self,
        *,
        owner: str | None = None,
        unassigned: bool = False,
        status: str | None = None,
        group: str | None = None,
        visible_to: str | None = None,
        limit: int | None = None,
        newest: bool = False,
    ) -> Iterator[dict]:
        """Leads in the order they arrived (`newest`: the other way). `visible_to` restricts
        to one owner (lead isolation); the caller decides when it applies."""
        where, params = _conditions(
            ["assigned_to IS NULL"] if unassigned else [],
            [("assigned_to", visible_to), ("assigned_to", owner), ("lower(status)", status and status.lower()),
             ("group_name", group)],
        )
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        order = " DESC" if newest else ""
        yield from self._rows(f"SELECT {LEAD_SELECT} FROM leads{where} ORDER BY rowid{order}{tail}", params)

    def count_leads(self) -> int:
        return self.conn.execute("SELECT count(*) FROM leads").fetchone()[0]

    def lead(self, lead_id: str) -> dict | None:
        return next(self._rows(f"SELECT {LEAD_SELECT} FROM leads WHERE id = ?", (lead_id,)), None)

    def history(self, lead_id: str) -> list[dict]:
        return list(self._rows(
            "SELECT e.at, e.assigned_to, e.group_name, e.method, e.reason, e.counted, e.actor, e.note,"
            " p.text AS passed_over FROM events e LEFT JOIN passed_over_sets p ON p.id = e.passed_over"
            " WHERE e.lead_id = ? ORDER BY e.id",
            (lead_id,),
        ))

    def usage_counts(self, period: str) -> dict[tuple[str, str], int]:
        """(group, user) -> count for one period."""
        return {
            (g, u): c
            for g, u, c in self.conn.execute(
                "SELECT group_name, user_id, count FROM usage WHERE period = ?", (period,)
            )
        }

    def event_buckets(self, *, group: str | None = None, user: str | None = None) -> Iterator[tuple]:
        """Assignment events (not releases) counted per minute and UTC offset:
        (YYYY-MM-DDTHH:MM, +HH:MM, assigned_to, group_name, method, count)."""
        where, params = _conditions([], [("group_name", group), ("assigned_to", user)])
        for minute, offset, assigned_to, group_name, method, n in self.conn.execute(
            f"SELECT minute, utc_offset, assigned_to, group_name, method, n FROM event_counts{where}", params
        ):
            yield minute, offset, assigned_to, group_name or None, method, n


def _conditions(fixed: list[str], equal: list[tuple[str, str | None]]) -> tuple[str, list[str]]:
    """A WHERE clause: the fixed conditions, and `column = ?` for each value that is given."""
    where = list(fixed)
    params = []
    for column, value in equal:
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(where) if where else ""), params


class Rehearsal:
    """The ledger as a dry run sees it: every read goes to the real ledger, every
    write stays in memory, so later batches of the run see earlier ones (ids to
    skip, caps used, the rotation moved) while the file is never written or locked
    for writing: other routers go on undisturbed.

    It offers the routing side of `Ledger`; nothing else needs a rehearsal.
    """

    def __init__(self, real: Ledger):
        self.real = real
        self.path = real.path
        self.ids: set[str] = set()
        self.usage: dict[tuple[str, str, str], int] = {}
        self.rotations: dict[str, str] = {}  # group -> state JSON, as the ledger keeps it
        self.owners: dict[str, dict[str, list[tuple[str, str, str]]]] = {"email": {}, "phone": {}}

    transient: tuple[type[BaseException], ...] = ()

    @contextmanager
    def write(self, dry_run: bool = False, groups: Iterable[str] | None = None) -> Iterator[None]:
        conn = self.real.conn
        conn.execute("BEGIN")  # deferred: a read snapshot, no write lock
        try:
            yield None
        finally:
            conn.execute("ROLLBACK")

    def recover(self) -> None:
        """Nothing to reconnect: reads go to the real ledger, which a failure ends."""

    def close(self) -> None:
        self.real.close()

    def index_duplicates(self, fields: Iterable[str]) -> None:
        """Nothing to build: look-ups work without the index, only slower."""

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        ids = set(ids)
        return self.real.existing_ids(ids) | (ids & self.ids)

    def last_rowid(self) -> int:
        return self.real.last_rowid()

    def recorded_after(self, ids: Iterable[str], rowid: int) -> set[str]:
        ids = set(ids)
        return self.real.recorded_after(ids, rowid) | (ids & self.ids)  # this run's, kept in memory

    def load_usage(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str, str], int]:
        keys = set(keys)
        out = self.real.load_usage(keys)
        out.update({k: n for k, n in self.usage.items() if (k[0], k[2]) in keys})
        return out

    def load_rotations(self, groups: Iterable[str]) -> dict[str, Rotation]:
        groups = set(groups)
        out = self.real.load_rotations(groups - set(self.rotations))
        for name in groups & set(self.rotations):
            out[name] = Rotation.from_dict(json.loads(self.rotations[name]))
        return out

    def save_usage(self, usage: Mapping[tuple[str, str, str], int], keys: Iterable[tuple[str, str, str]]) -> None:
        for k in keys:
            self.usage[k] = usage[k]

    def save_rotations(self, rotations: Mapping[str, Rotation], names: Iterable[str]) -> None:
        for n in names:
            self.rotations[n] = json.dumps(rotations[n].to_dict())

    def insert_leads(self, rows: list[tuple]) -> None:
        at = {c: LEAD_COLUMNS.index(c) for c in ("id", "type", "email_key", "phone_key", "assigned_to")}
        for row in rows:
            self.ids.add(row[at["id"]])
            owner = row[at["assigned_to"]]
            if owner is None:
                continue
            for field in ("email", "phone"):
                key = row[at[f"{field}_key"]]
                if key:
                    self.owners[field].setdefault(key, []).append((row[at["id"]], row[at["type"]], owner))

    savepoints = False  # a rehearsal decides every batch with the ids checked first

    def queue_notifications(self, rows: list[tuple]) -> None:
        """A rehearsal tells nobody."""

    def insert_routed(self, rows: list[tuple], actor: str | None) -> int:
        self.insert_leads(rows)
        return len(rows)

    def passed_over_ids(self, texts: Iterable[str]) -> dict[str, int]:
        return {t: -i for i, t in enumerate(texts, 1)}  # nothing reads them back

    def earlier_owners(self, field: str, keys: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
        keys = list(keys)
        out = self.real.earlier_owners(field, keys)
        for key in keys:
            if key in self.owners[field]:
                out.setdefault(key, []).extend(self.owners[field][key])
        return out
