"""The ledger on PostgreSQL, for intake that runs on several machines.

The tables, the SQL and every rule are those of `ledger.py`; this module only says
what PostgreSQL spells differently: how to connect, the schema's DDL and its
migrations, how a write transaction locks, and the batch insert. psycopg 3 is
imported here alone, so SQLite users never need it.

Locking: every write transaction takes a transaction-level advisory lock. A
routing batch takes the ledger-wide one *shared* and one *exclusive* lock per
group it routes to, so batches for the same group run one after the other (one
rotation, one set of caps) while batches for other groups go on meanwhile; any
other change (config, reassign, pick-up, a notification claim) takes the
ledger-wide lock exclusively. Lead ids are unique (`ON CONFLICT DO NOTHING`); a
batch that finds one of its ids written meanwhile by another machine is decided
again. Transactions run at READ COMMITTED: each statement after the locks sees
every batch committed before.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress

from ..errors import LeadctlError
from ..redact import display, scrub
from .errors import DuplicateKey, LedgerBusy, LedgerError, LedgerRetry, busy_timeout_ms
from .schema import EVENT_COLUMNS, COUNTED_METHODS, LEAD_COLUMNS, MIGRATIONS, postgres_steps
from .store import Ledger

_LOCK_SPACE = 0x1EAD  # advisory lock keys: (_LOCK_SPACE, 0) the ledger, (_LOCK_SPACE + 1, crc) a group
_MIGRATION_LOCK = (_LOCK_SPACE, 1)
_TABLES = ("leads", "events", "rotations", "usage", "passed_over_sets", "config_history", "event_counts",
           "tokens", "notifications", "conversions", "queue")




@functools.lru_cache(maxsize=512)
def _pg(sql: str) -> str:
    """leadctl's SQL (qmark parameters) as psycopg takes it (format parameters)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise LeadctlError(
            "a PostgreSQL ledger needs psycopg: pip install 'leadctl[postgres]' (or 'psycopg[binary]')"
        ) from None
    return psycopg


class _Connection:
    """A psycopg connection that takes the calls `ledger.py` makes of sqlite3's, and
    turns the server's failures into leadctl's: busy, retry, duplicate key, failed.
    Messages carry the server's primary message only (its DETAIL can quote a lead)."""

    def __init__(self, url: str, timeout_ms: int):
        self.url = url
        self.timeout_ms = timeout_ms
        self.raw = None
        self.open()

    def open(self, again: bool = False) -> None:
        """Connect. `again`: a reconnect after a drop, whose failure is transient (LedgerRetry:
        the server may be restarting), where a first connection's failure is final."""
        psycopg = _psycopg()
        try:
            self.raw = psycopg.connect(self.url, autocommit=True, connect_timeout=10,
                                       application_name="leadctl")
        except psycopg.Error as exc:
            why = scrub(_first_line(exc), self.url)  # a bad URL, or a piece of it, is quoted back
            failure = LedgerRetry if again else LedgerError
            raise failure(f"cannot reach the ledger {display(self.url)}: {why}") from None
        # How long a writer waits for a lock another holds (LEADCTL_BUSY_TIMEOUT, as on SQLite).
        self.raw.execute(f"SET lock_timeout = {int(self.timeout_ms)}")

    @property
    def broken(self) -> bool:
        return self.raw is None or self.raw.closed or self.raw.broken

    @property
    def in_transaction(self) -> bool:
        return not self.broken and self.raw.info.transaction_status != 0  # 0: idle

    def execute(self, sql: str, params=()):
        idle = not self.in_transaction
        try:
            return self._execute(sql, params)
        except Exception as exc:
            failure = self._failure(exc)
        if idle and isinstance(failure, LedgerRetry) and self.broken:
            # The connection dropped while no transaction was open (a server restart between
            # two commands of a kept connection): nothing was half done, so connect again and
            # run the statement once more (a read, or the BEGIN of a new transaction).
            self.close()
            self.open(again=True)
            try:
                return self._execute(sql, params)
            except Exception as exc:
                failure = self._failure(exc)
        raise failure

    def _execute(self, sql: str, params):
        """A psycopg cursor: it has what ledger.py reads of sqlite3's (rows, description, rowcount)."""
        return self.raw.execute(_pg(sql), params) if params else self.raw.execute(sql)

    def executemany(self, sql: str, rows):
        rows = list(rows)
        try:
            cur = self.raw.cursor()
            if rows:
                cur.executemany(_pg(sql), rows)
            return cur
        except Exception as exc:
            raise self._failure(exc) from None

    def close(self) -> None:
        if self.raw is not None:
            with suppress(Exception):
                self.raw.close()

    def _failure(self, exc: Exception) -> Exception:
        psycopg = _psycopg()
        errors = psycopg.errors
        if not isinstance(exc, psycopg.Error):
            return exc
        text = scrub(_first_line(exc), self.url)
        if isinstance(exc, errors.UniqueViolation):
            return DuplicateKey(text)
        if isinstance(exc, errors.LockNotAvailable):
            return LedgerBusy(f"ledger {display(self.url)} is busy: another writer held it past the busy timeout")
        if isinstance(exc, (errors.SerializationFailure, errors.DeadlockDetected)) or (
                isinstance(exc, psycopg.OperationalError) and self.broken):
            return LedgerRetry(f"the ledger {display(self.url)} failed: {text}")
        return LedgerError(f"the ledger {display(self.url)} failed: {text}")


def _first_line(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return (primary or str(exc) or type(exc).__name__).splitlines()[0]


def _group_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8", "surrogatepass")) - 2**31  # an int4, the same on every machine


_LEAD_TYPES = {"passed_over": "bigint", "rule": "bigint"}  # every other lead column is text
# A routing batch's rows on their way into `leads`: one per session, emptied at every commit.
_BATCH_TABLE = ("CREATE TEMP TABLE IF NOT EXISTS leadctl_batch ("
                + ", ".join(f"{c} {_LEAD_TYPES.get(c, 'text')}" for c in LEAD_COLUMNS)
                + ", n SERIAL) ON COMMIT DELETE ROWS")


class PgLedger(Ledger):
    """The ledger in a PostgreSQL database, or a schema, of its own (leadctl owns its tables)."""

    store = "PostgreSQL"
    ASSIGNED_BY = "assigned_at::timestamptz <= ?::timestamptz"
    MOMENT = "{}::timestamptz"
    DOMAIN = "substr(email_key, strpos(email_key, '@') + 1)"
    FIRST_ASSIGNMENT = ("LEFT JOIN LATERAL (SELECT e.assigned_to, e.group_name, e.method FROM events e"
                        " WHERE e.lead_id = l.id AND {first} ORDER BY e.id LIMIT 1) f ON true")
    transient = (LedgerRetry,)
    duplicate_key = (DuplicateKey,)

    @classmethod
    def connect(cls, url: str, *, create: bool = True, busy_timeout: float | None = None) -> PgLedger:
        """Open the ledger at `url`; its tables are made (or upgraded) on first use. `create` is
        there for `Ledger.open`'s sake: a server's database is never "missing" the way a file is."""
        conn = _Connection(url, busy_timeout_ms(busy_timeout))
        ledger = cls(conn, None)  # type: ignore[arg-type]
        ledger.path = display(url)
        ledger.target = url
        ledger._cursors = 0
        try:
            ledger._check_kind()
            ledger._migrate()
        except BaseException:
            conn.close()
            raise
        return ledger

    def describe(self) -> str:
        version = self.conn.execute("SHOW server_version").fetchone()[0].split()[0]
        return f"PostgreSQL {version} ledger schema {self.schema_version()}"

    def recover(self) -> None:
        if self.conn.broken:
            self.conn.close()
            self.conn.open(again=True)  # still down: LedgerRetry, and the caller backs off and tries again

    # -- schema ---------------------------------------------------------------------------
    # Which tables exist is read from pg_class with the statement's own snapshot, never through
    # to_regclass: that answers from the session's catalog cache, which a wait on an advisory
    # lock does not refresh, so it could still say "no leadctl_migrations" after another
    # leadctl had made the ledger and committed (and then see its 'leads' as someone else's).
    _TABLES_HERE = ("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                    " ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = ANY(?)")

    def _applied(self) -> set[str]:
        if not self.conn.execute(self._TABLES_HERE, (["leadctl_migrations"],)).fetchall():
            return set()
        return {name for (name,) in self.conn.execute("SELECT name FROM leadctl_migrations")}

    def _check_kind(self) -> None:
        """Only "is it from a newer leadctl?" here: whether the database is someone else's is
        asked in `_migrate`, under the migration lock. Asked here, before the lock, it could see
        the tables another leadctl had just made and committed, after `_applied` saw none."""
        newer = sorted(self._applied() - set(MIGRATIONS))
        if newer:
            raise LeadctlError(f"ledger {self.path} was written by a newer leadctl (it has migration '{newer[0]}');"
                               " upgrade leadctl to use it")

    def _refuse_foreign(self) -> None:
        for (table,) in self.conn.execute(self._TABLES_HERE, (list(_TABLES),)).fetchall()[:1]:
            if table:
                raise LeadctlError(
                    f"{self.path} already has a table '{table}' that leadctl did not make;"
                    " give leadctl a database of its own"
                )

    def _migrate(self) -> None:
        if self._applied() >= set(MIGRATIONS):
            return
        from datetime import datetime, timezone

        with self.write():  # the ledger-wide lock: two first runs do not both build it
            self.conn.execute("SELECT pg_advisory_xact_lock(?, ?)", _MIGRATION_LOCK)
            applied = self._applied()  # read under the lock: what another leadctl made is committed
            if applied >= set(MIGRATIONS):
                return
            if not applied:
                self._refuse_foreign()  # a database with no migrations must hold none of our tables
            self.conn.execute("CREATE TABLE IF NOT EXISTS leadctl_migrations"
                              " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            for name, statements in postgres_steps():
                if name in applied:
                    continue
                for sql in statements:
                    self.conn.execute(sql)  # DDL as written: no parameters in it
                self.conn.execute("INSERT INTO leadctl_migrations (name, applied_at) VALUES (?, ?)", (name, now))

    # -- transactions -----------------------------------------------------------------
    def _begin(self, groups: Iterable[str] | None) -> None:
        self.conn.execute("BEGIN")
        try:
            if groups is None:
                self.conn.execute("SELECT pg_advisory_xact_lock(?, 0)", (_LOCK_SPACE,))
            else:
                self.conn.execute("SELECT pg_advisory_xact_lock_shared(?, 0)", (_LOCK_SPACE,))
                for key in sorted({_group_key(g) for g in groups}):  # one order everywhere: no deadlock
                    self.conn.execute("SELECT pg_advisory_xact_lock(?, ?)", (_LOCK_SPACE + 1, key))
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.conn.broken:
            return  # the server rolled it back when the connection went
        with suppress(LedgerError):
            self.conn.execute("ROLLBACK")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield
        finally:
            self._rollback()

    def stream(self, sql: str) -> Iterable[tuple]:
        """A server-side cursor: a million leads are not fetched into memory at once."""
        self._cursors += 1
        cur = self.conn.raw.cursor(name=f"leadctl_stream_{self._cursors}")
        cur.itersize = 2000
        try:
            cur.execute(sql)
        except Exception as exc:
            raise self.conn._failure(exc) from None
        return cur

    def after_copy(self) -> None:
        """Rows copied in with their own numbers: each sequence goes on after the largest."""
        for table, column in (("leads", "rowid"), ("events", "id"), ("passed_over_sets", "id"),
                              ("config_history", "n"), ("notifications", "id"), ("queue", "n")):
            self.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                              f" coalesce(max({column}), 0) + 1, false) FROM {table}")

    # -- what PostgreSQL spells differently --------------------------------------------
    def passed_over_ids(self, texts: Iterable[str]) -> dict[str, int]:
        texts = sorted(set(texts))
        if not texts:
            return {}
        self.conn.execute("INSERT INTO passed_over_sets (text) SELECT unnest(?::text[]) ON CONFLICT (text) DO NOTHING",
                          (texts,))
        return dict(self.conn.execute("SELECT text, id FROM passed_over_sets WHERE text = ANY(?)", (texts,)))

    def insert_routed(self, rows: list[tuple], actor: str | None, via: str | None = None,
                      owed_at: str | None = None) -> int:
        """The batch's leads go in by COPY into a session-local table (psycopg formats COPY rows
        in C: binding 16 arrays of 2,000 values as parameters cost 4x more), then one statement
        moves them into `leads` (an id already there is left alone) and writes their assignment
        events and the report's counts from the rows it inserted."""
        if not rows:
            return 0
        conn = self.conn
        columns = ", ".join(LEAD_COLUMNS)
        conn.execute(_BATCH_TABLE)  # each time: a rolled-back savepoint may have taken it away
        try:
            with conn.raw.cursor() as cur, cur.copy(f"COPY leadctl_batch ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        except Exception as exc:
            raise conn._failure(exc) from None
        methods = ",".join(f"'{m}'" for m in COUNTED_METHODS)
        (written,) = conn.execute(
            f"WITH new AS (INSERT INTO leads ({columns}) SELECT {columns} FROM leadctl_batch ORDER BY n"
            "  ON CONFLICT (id) DO NOTHING"
            "  RETURNING rowid, id, assigned_at, assigned_to, group_name, method, reason, passed_over, backup_for),"
            f" ev AS (INSERT INTO events ({', '.join(EVENT_COLUMNS)})"
            f"  SELECT id, assigned_at, assigned_to, group_name, method, reason, (method IN ({methods}))::int, ?,"
            "  NULL, passed_over, ?, backup_for FROM new WHERE assigned_to IS NOT NULL ORDER BY rowid),"
            " counts AS (INSERT INTO event_counts (minute, utc_offset, assigned_to, group_name, method, n)"
            "  SELECT substr(assigned_at, 1, 16), substr(assigned_at, 20), assigned_to, coalesce(group_name, ''),"
            "  method, count(*) FROM new WHERE assigned_to IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
            "  ON CONFLICT (minute, utc_offset, assigned_to, group_name, method)"
            "  DO UPDATE SET n = event_counts.n + excluded.n),"
            " owed AS (INSERT INTO crm_writes (crm, lead_id, owner, status, attempts, next_at, created_at)"
            "  SELECT '*', id, assigned_to, 'pending', 0, ?, ? FROM new"
            "  WHERE assigned_to IS NOT NULL AND ?::text IS NOT NULL ORDER BY rowid)"
            " SELECT count(*) FROM new",
            (actor, via, owed_at, owed_at, owed_at),
        ).fetchone()
        conn.execute("DELETE FROM leadctl_batch")
        return written

    def scrub(self) -> str | None:
        """The erased values' old row versions stay in the tables' pages until a VACUUM
        reclaims them: one now, for the tables an erasure touches."""
        tables = ("leads", "events", "notifications", "crm_writes")
        (not_ours,) = self.conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = ANY(?)"
            " AND NOT pg_has_role(current_user, tableowner, 'USAGE')", (list(tables),)).fetchone()
        if not_ours:  # (PostgreSQL would skip them with a warning nobody sees)
            return ("this role does not own the ledger's tables, so it cannot VACUUM them: autovacuum will"
                    " reclaim the erased rows' old versions, or run VACUUM as their owner")
        try:
            self.conn.execute(f"VACUUM {', '.join(tables)}")
        except Exception as exc:
            return f"VACUUM failed ({str(exc).splitlines()[0][:120]}); autovacuum will reclaim the old rows"
        return None

    def _has_index(self, name: str) -> bool:
        return bool(self.conn.execute(self._TABLES_HERE, ([name],)).fetchall())  # (an index is in pg_class too)

    def record_config(self, at: str, actor: str | None, command: str, previous: str, via: str | None = None,
                      file: str | None = None) -> int:
        (n,) = self.conn.execute(
            "INSERT INTO config_history (at, actor, command, previous, via, file) VALUES (?, ?, ?, ?, ?, ?) RETURNING n",
            (at, actor, command, previous, via, file),
        ).fetchone()
        return n

