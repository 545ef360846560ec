"""What a dry run and a simulation route against: the ledger's reads (a dry run: the real
ledger's, and what the run decided so far; a simulation: an empty ledger at the window's
start), and `apply`, which folds what each batch decided into memory instead of writing it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ..domain.engine import Rotation
from ..domain.keys import domain_of
from ..ledger.schema import LEAD_COLUMNS
from ..ledger.store import Ledger


class Rehearsal:
    """The ledger as a dry run sees it: every read goes to the real ledger, and what each
    batch decided is folded into memory (`apply`), so later batches of the run see earlier
    ones (ids to skip, caps used, the rotation moved) while the file is never written or
    locked for writing: other routers go on undisturbed.

    It offers what routing reads of `Ledger` (`assign.state.Reads`) and `apply`; nothing
    else needs a rehearsal.
    """

    def __init__(self, real: Ledger):
        self.real = real
        self.handed_out: list[tuple[str, str | None]] = []  # (owner, status) of the leads decided here
        self.path = real.path
        self.ids: set[str] = set()
        self.usage: dict[tuple[str, str, str], int] = {}
        self.rotations: dict[str, str] = {}  # group -> state JSON, as the ledger keeps it
        self.owners: dict[str, dict[str, list[tuple[str, str, str]]]] = {"email": {}, "phone": {}, "domain": {}}

    transient: tuple[type[BaseException], ...] = ()

    @contextmanager
    def write(self, groups: Iterable[str] | None = None) -> Iterator[None]:
        with self.real.snapshot():  # a consistent read, no write lock
            yield None

    def recover(self) -> None:
        """Nothing to reconnect: reads go to the real ledger, which a failure ends."""

    def close(self) -> None:
        self.real.close()

    def index_duplicates(self, fields: Iterable[str]) -> None:
        """Nothing to build: look-ups work without the index, only slower."""

    def index_domains(self) -> None:
        """Nothing to build (as above)."""

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

    def apply(self, changes) -> int:
        """What a batch decided, folded into memory (a rehearsal writes nothing): its leads (ids
        to skip, owners of duplicates, the open load), and the usage and rotations it moved.
        Nobody is told, nothing is queued."""
        self.insert_leads(changes.leads)
        alloc = changes.alloc
        if alloc is not None:
            for k in alloc.dirty_usage:
                self.usage[k] = alloc.usage[k]
            for n in alloc.dirty_rotations:
                self.rotations[n] = json.dumps(alloc.rotations[n].to_dict())
        return len(changes.leads)

    def open_load(self, closed) -> dict[str, int]:
        """The real ledger's open leads per user, and those this rehearsal has handed out."""
        load = self.real.open_load(closed)
        shut = {s.lower() for s in closed}
        for owner, status in self.handed_out:
            if (status or "").lower() not in shut:
                load[owner] = load.get(owner, 0) + 1
        return load

    def insert_leads(self, rows: list[tuple]) -> None:
        at = {c: LEAD_COLUMNS.index(c) for c in ("id", "type", "email_key", "phone_key", "assigned_to", "status")}
        for row in rows:
            self.ids.add(row[at["id"]])
            owner = row[at["assigned_to"]]
            if owner is None:
                continue
            self.handed_out.append((owner, row[at["status"]]))
            for field in ("email", "phone", "domain"):
                key = row[at["email_key" if field == "domain" else f"{field}_key"]]
                if key:
                    key = domain_of(key) if field == "domain" else key
                    self.owners[field].setdefault(key, []).append((row[at["id"]], row[at["type"]], owner))

    savepoints = False  # a rehearsal decides every batch with the ids checked first

    def earlier_owners(self, field: str, keys: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
        keys = list(keys)
        out = self.real.earlier_owners(field, keys)
        for key in keys:
            if key in self.owners[field]:
                out.setdefault(key, []).extend(self.owners[field][key])
        return out


class Sandbox(Rehearsal):
    """A simulation's ledger: empty at the window's start (no rotation, no usage, no lead),
    with what the replay decides kept in memory, and as little of it as deciding needs: the
    usage and rotations, the owners of the replayed leads by email and phone (duplicates on),
    and, for balanced groups, each member's open leads.

    The real ledger is read for one thing only: the owners of leads received before the
    window, which a duplicate in the window still goes to. It is never written or locked:
    `write()` begins nothing (the caller reads the real ledger in one snapshot).
    """

    def __init__(self, real: Ledger, window_start: str, *, duplicates: Iterable[str] = (), balanced: bool = False,
                 match_domains: bool = False):
        super().__init__(real)
        self.window_start = window_start
        self.duplicates = tuple(duplicates)  # the fields whose owners are kept ("email", "phone")
        self.match_domains = match_domains  # the owners by email domain are kept too (account matching)
        self.balanced = balanced  # open leads are counted
        self.now = 0.0  # the replay's clock (seconds since the epoch): closes up to it are done
        self.closing_at: dict[str, float] = {}  # lead id -> when it actually closed (balanced groups)
        self.closes: list[tuple[float, str]] = []  # (when, owner) of open simulated leads that close
        self.load: dict[str, int] = {}  # owner -> open simulated leads

    @contextmanager
    def write(self, groups: Iterable[str] | None = None) -> Iterator[None]:
        yield None

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        return set()  # the window's leads are the ledger's, each once

    def last_rowid(self) -> int:
        return 0

    def recorded_after(self, ids: Iterable[str], rowid: int) -> set[str]:
        return set()

    def load_usage(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str, str], int]:
        keys = set(keys)
        return {k: n for k, n in self.usage.items() if (k[0], k[2]) in keys}

    def load_rotations(self, groups: Iterable[str]) -> dict[str, Rotation]:
        return {name: Rotation.from_dict(json.loads(self.rotations[name])) for name in groups if name in self.rotations}

    def open_load(self, closed) -> dict[str, int]:
        """Open simulated leads per member: a lead stays open as long as it actually did (until
        its status changed to a closed one), whoever holds it in the simulation."""
        import heapq

        while self.closes and self.closes[0][0] <= self.now:
            _, owner = heapq.heappop(self.closes)
            self.load[owner] -= 1
        return dict(self.load)

    def insert_leads(self, rows: list[tuple]) -> None:
        import heapq

        at = {c: LEAD_COLUMNS.index(c) for c in ("id", "type", "email_key", "phone_key", "assigned_to")}
        i_id, i_owner, i_email, i_phone = at["id"], at["assigned_to"], at["email_key"], at["phone_key"]
        owners, closing = self.owners, self.closing_at
        keys = tuple((field, {"email": i_email, "phone": i_phone}[field]) for field in self.duplicates)
        domains = self.owners.get("domain") if self.match_domains else None
        for row in rows:
            owner = row[i_owner]
            if owner is None:
                continue
            if self.balanced:
                self.load[owner] = self.load.get(owner, 0) + 1
                when = closing.pop(row[i_id], None)
                if when is not None:
                    heapq.heappush(self.closes, (when, owner))
            for field, i in keys:
                key = row[i]
                if key:
                    owners[field].setdefault(key, []).append((row[i_id], row[at["type"]], owner))
            if domains is not None and row[i_email]:
                domains.setdefault(domain_of(row[i_email]), []).append((row[i_id], row[at["type"]], owner))

    def earlier_owners(self, field: str, keys: Iterable[str]) -> dict[str, list[tuple[str, str, str]]]:
        keys = list(keys)
        out = self.real.earlier_owners(field, keys, received_before=self.window_start)
        for key in keys:
            if key in self.owners[field]:
                out.setdefault(key, []).extend(self.owners[field][key])
        return out
