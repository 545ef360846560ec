"""The ledger as the rest of leadctl sees it: `Ledger`, one open ledger, whatever the store.

Its operations come in rooms by concern (leads and history; rotation and usage; the outbox;
credentials; the config's history; the queue; what `watch` knows of its sources; the
SLA's log; snapshots of figures; erasure), written once in SQL both stores understand; a store
(`sqlite.py`, `postgres.py`) adds its connection, transactions and migrations, and what its
engine spells differently. `Ledger.open` picks the store a target names, from the openers
the package registers (this module imports neither store).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import LeadctlError
from .credentials import Credentials
from .erasure import Erasure
from .errors import target
from .history import ConfigHistory
from .leads import Leads
from .outbox import Outbox
from .schema import LEAD_COLUMNS, MIGRATIONS
from .usage import Usage
from .sla_log import SlaLog
from .snapshots import Snapshots
from .waiting import Queue
from .watches import Watches

# kind ("sqlite", "postgresql") -> opener(target, create=, readonly=, busy_timeout=); see __init__
OPENERS: dict[str, Callable[..., "Ledger"]] = {}
_PASSED = LEAD_COLUMNS.index("passed_over")


class Ledger(Leads, Usage, Outbox, Credentials, ConfigHistory, Queue, Watches, SlaLog, Snapshots, Erasure):
    """One open ledger. Use `write()` for every change."""

    store = "?"
    savepoints = True  # a write() inside a write() is a savepoint that can be rolled back alone
    transient: tuple[type[BaseException], ...] = ()  # failures a batch is tried again after
    duplicate_key: tuple[type[BaseException], ...] = ()  # what the store raises for a key already there

    def __init__(self, conn, path: Path | None):
        self.conn = conn
        self.path = path  # what messages name: the file, or the URL without its password
        self.target: Path | str | None = path  # what it was opened from

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
        opener = OPENERS["postgresql" if isinstance(where, str) else "sqlite"]
        return opener(where, create=create, readonly=readonly, busy_timeout=busy_timeout)

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

    def schema_version(self) -> int:
        """How many of leadctl's migrations this ledger has had."""
        return len(self._applied() & set(MIGRATIONS))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def broken(self) -> bool:
        """Whether the connection is gone (a PostgreSQL server that dropped it): open anew."""
        return bool(getattr(self.conn, "broken", False))

    def sql(self, sql: str, params=()) -> list[tuple]:
        """Any one statement and its rows, with the store's failures translated: for tools and
        tests that look at (or deliberately damage) what the named methods do not show.
        leadctl itself goes through the named methods."""
        cur = self.conn.execute(sql, params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []

    # -- what each store does its own way ----------------------------------------------------
    def describe(self) -> str:
        """The store, its version and the schema's, for `config check`."""
        raise NotImplementedError

    def recover(self) -> None:
        """After a transient failure: make the connection usable again."""

    def never_wait(self) -> bool:
        """Make this connection give up at once (LedgerBusy) where it would wait for another
        writer's lock; whether this store can. A local file can: serve then routes a round on
        its event loop, and hands it to a thread that waits when the file is busy. A server
        cannot (every statement waits on the network)."""
        return False

    def _applied(self) -> set[str]:
        """The names of the migrations this ledger has had."""
        raise NotImplementedError

    def _refuse_foreign(self) -> None:
        """A store without leadctl's migrations must hold nothing else."""
        raise NotImplementedError

    def _begin(self, groups: Iterable[str] | None) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _has_index(self, name: str) -> bool:
        raise NotImplementedError

    def snapshot(self):
        """Reads that all see the ledger as it was at their first (a context manager)."""
        raise NotImplementedError

    def stream(self, sql: str) -> Iterable[tuple]:
        """The rows of a big query, fetched as they are read."""
        raise NotImplementedError

    def after_copy(self) -> None:
        """After rows were copied in with their own numbers."""

    def passed_over_ids(self, texts: Iterable[str]) -> dict[str, int]:
        """The number of each passed-over list, added the first time it is seen."""
        raise NotImplementedError

    def insert_routed(self, rows: list[tuple], actor: str | None, via: str | None = None,
                      owed_at: str | None = None) -> int:
        """A batch of routed leads and their assignment events (and for each with a holder, when
        `owed_at` is given, an owner write owed to the CRMs); how many were new."""
        raise NotImplementedError

    def record_config(self, at: str, actor: str | None, command: str, previous: str, via: str | None = None,
                      file: str | None = None) -> int:
        """Keep the config text a change replaced (and which file it was); returns the change's number."""
        raise NotImplementedError

    # -- the one write path -----------------------------------------------------------
    def apply(self, changes) -> int:
        """Write what a decision changed (an `assign.changes.Changes`) in the open transaction,
        in this order: new lead rows (their assignment events copied from them by the store; a
        passed-over list kept once, by number), the queue's newcomers, owner moves with their
        events, the queue's leavers, conversions, other events, erasures, statuses, the outbox (notifications,
        alerts, owner writes owed to CRMs), and the allocator's usage and rotations. Returns how many new lead rows were written."""
        written = 0
        if changes.leads:
            written = self.insert_routed(self._numbered(changes.leads), changes.actor, changes.via,
                                         changes.owed_at)
        if changes.queued:
            self.enqueue(changes.queued)
        if changes.moves:
            self.set_owners(changes.moves)
        if changes.dequeued:
            self.dequeue(changes.dequeued)
        for conversion in changes.conversions:
            self.add_conversion(*conversion)
        if changes.events:
            self.insert_events(changes.events)
        if changes.erased:
            self.erase_leads(changes.erased)
        for lead_id, status, first_contact in changes.statuses:
            self.set_status(lead_id, status, first_contact)
        if changes.sla_steps:
            self.record_sla_steps(changes.sla_steps)
        if changes.offers:
            self.add_offers(changes.offers)
        if changes.notifications:
            self.queue_notifications(changes.notifications)
        if changes.alerts:
            self.queue_alerts(changes.alerts)
        if changes.crm_writes:
            self.queue_crm_writes(changes.crm_writes)
        alloc = changes.alloc
        if alloc is not None:
            self.save_usage(alloc.usage, alloc.dirty_usage)
            self.save_rotations(alloc.rotations, alloc.dirty_rotations)
        return written

    def backup_to(self, to: Path) -> tuple[int, int]:
        raise LeadctlError(f"{self.store} ledgers are backed up with the server's own tools (PostgreSQL: pg_dump -Fc;"
                           " see docs/deploy.md)")

    def integrity_problems(self) -> list[str]:
        """What the store's own integrity check finds wrong (none it cannot check)."""
        return []

    def _numbered(self, rows: list[tuple]) -> list[tuple]:
        """Lead rows with each passed-over list (text) as its number in `passed_over_sets`."""
        texts = list(dict.fromkeys(r[_PASSED] for r in rows if r[_PASSED] is not None))  # numbered as first met
        if not texts:
            return rows
        ids = self.passed_over_ids(texts)
        return [r if r[_PASSED] is None else (*r[:_PASSED], ids[r[_PASSED]], *r[_PASSED + 1:]) for r in rows]

    # -- transactions --------------------------------------------------------------
    @contextmanager
    def write(self, groups: Iterable[str] | None = None) -> Iterator[None]:
        """One write transaction, taken up front (BEGIN IMMEDIATE) so that two
        routers serialise on the lock instead of reading stale rotations.

        `groups`: a routing batch names the groups whose rotation and usage it
        moves; a store that can lock less than everything (PostgreSQL) lets
        batches for other groups go on meanwhile. None: the whole ledger.

        Inside an open transaction it nests as a savepoint, rolled back alone on a
        failure: a routing batch writes optimistically inside one, and decides again
        when an id collides (assign/route.py).
        """
        if self.conn.in_transaction:
            self.conn.execute("SAVEPOINT nested")
            try:
                yield None
            except BaseException:
                self.conn.execute("ROLLBACK TO nested")
                self.conn.execute("RELEASE nested")
                raise
            self.conn.execute("RELEASE nested")
            return
        self._begin(groups)
        try:
            yield None
        except BaseException:
            self._rollback()
            raise
        self.conn.execute("COMMIT")

    def _rows(self, sql: str, params) -> Iterator[dict]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(names, row))

