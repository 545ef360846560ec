"""Routing a stream of records into the ledger, batch by batch: the IO around `decide`.

Records are read into batches (idle-closing on live input); for each batch, inside one
write transaction, the router reads what deciding needs from the ledger (ids already
there, owners of earlier duplicates; rotations and usage through `state.allocator`), calls
`decide`, and hands what it returns to `changes.apply` (leads, events, usage, rotations, the
reps' notifications, owner writes owed to CRMs, together). Rights are asked at its door. A
killed run loses at most the batch in flight, and a re-run skips what was committed.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

from ..actor import Actor, channel_of, label_of
from ..config import Config
from ..config.service import require
from ..domain.rights import INTAKE
from ..outcome import QUEUED, REJECTED, UNASSIGNED, Outcome
from .decide import _DAY, _FIELDS, _GROUP, _ID, REPEATED, Policy, _Lead, decide
from .changes import Changes, apply
from .state import allocator
from ..errors import LeadctlError
from ..intake import BadRecord, Record
from ..domain.keys import domain_of, email_key, phone_key
from ..ledger import LEAD_COLUMNS, Ledger

# Positions in a ledger row (LEAD_COLUMNS order)
_ROW_ID, _ROW_OWNER, _ROW_METHOD, _ROW_REASON = (LEAD_COLUMNS.index(c) for c in ("id", "assigned_to", "method", "reason"))

BATCH_SIZE = 2000
PATIENCE = 60.0  # seconds a batch is tried again for after a transient failure of the store (a server restart)
RETRY_WAIT = 0.05  # seconds before the first retry, doubled each time, up to MAX_RETRY_WAIT
MAX_RETRY_WAIT = 1.0
IDLE = 0.1  # seconds of quiet on live input that close a batch
MAX_WAIT = 0.5  # seconds the first record of a batch may wait on live input




def batches(records: Iterable[Record | BadRecord], size: int, live: bool) -> Iterator[list]:
    """Records in batches of up to `size`.

    A file goes in full batches. Live input (a pipe, a socket, a terminal) may pause:
    a batch then also closes when no record has come for IDLE seconds, or when its
    first record has waited MAX_WAIT, so each record on a slow stream is decided
    and printed within a second while a fast one still fills big batches. The
    reading happens on a helper thread so that a pause can be noticed at all.
    """
    if not live:
        it = iter(records)
        while chunk := list(islice(it, size)):
            yield chunk
        return
    import queue
    import threading
    import time

    q: queue.SimpleQueue = queue.SimpleQueue()
    done = object()

    def read() -> None:
        try:
            for rec in records:
                q.put(rec)
        except BaseException as exc:  # handed to the routing thread, raised there
            q.put(_Failure(exc))
        q.put(done)

    threading.Thread(target=read, name="leadctl-intake", daemon=True).start()
    finished = False
    while not finished:
        item = q.get()
        if item is done:
            return
        chunk = [item]
        deadline = time.monotonic() + MAX_WAIT
        while len(chunk) < size:
            try:
                item = q.get_nowait()
            except queue.Empty:
                wait = min(IDLE, deadline - time.monotonic())
                if wait <= 0:
                    break
                try:
                    item = q.get(timeout=wait)
                except queue.Empty:
                    break
            if item is done:
                finished = True
                break
            chunk.append(item)
        failure = next((x for x in chunk if isinstance(x, _Failure)), None)
        if failure is not None:
            good = chunk[: chunk.index(failure)]
            if good:
                yield good
            raise failure.exc
        yield chunk


class _Collision(Exception):
    """A lead id written optimistically was already in the ledger: decide the batch again."""


@dataclass(slots=True)
class _Failure:
    exc: BaseException


class Router:
    """Routes records through the config's groups into the ledger, batch by batch.

    `clock()` is read once per batch: with `replay` off (`--clock now`) it is the
    moment every lead of the batch is assigned, which caps count by; with `replay`
    on (`--clock received`) each record is assigned at its own `received_at`.
    `config()` is asked once per batch too, so an edit made while a long route
    runs (a cap, a member, a rule) applies from the next batch.
    """

    def __init__(
        self,
        config: Callable[[], Config],
        ledger: Ledger,
        *,
        clock: Callable[[], datetime],
        rng: random.Random,
        replay: bool = False,
        actor: Actor | None = None,
        notify: bool = True,
        group: str | None = None,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
        patience: float = PATIENCE,
    ):
        self.config = config
        cfg = config()
        require(cfg, actor, (INTAKE, None))  # rights at the door: the same for route, watch, serve and a dry run
        self.ledger = ledger
        self.clock = clock
        self.rng = rng
        self.replay = replay
        self.actor = label_of(actor)  # who ran the route, and through what: kept on every assignment event
        self.via = channel_of(actor)
        self.notify = notify  # queue the reps' notifications ([notify] decides which)
        self.group_name = group
        self.batch_size = batch_size or BATCH_SIZE
        self.on_batch = on_batch
        self.patience = patience  # seconds to keep trying a batch the store failed transiently
        self.recorded = 0  # leads written to the ledger (committed) so far
        self.optimistic = True  # no batch has met an id already in the ledger yet
        self.cfg: Config | None = None
        self._use(cfg)
        self.start_row = ledger.last_rowid()  # leads recorded past it came during this run

    def _use(self, cfg: Config) -> None:
        """Take a (new) config: everything derived from it is derived again. What routing keeps
        for the run (the policy: compiled rules, a territory table's index) is then set aside
        from the cyclic collector (`gc.freeze`): a full collection no longer walks it again and
        again as leads come — with a 10,000-row table that was 2% of routing. (Reference
        counting still frees it; a config taken later unfreezes the old first.)"""
        gc.unfreeze()
        self.policy = Policy(cfg, group=self.group_name, replay=self.replay)
        self.cfg = cfg
        self.tz = self.policy.tz
        self.ledger.index_duplicates(cfg.settings.duplicates)
        if cfg.settings.match_domains:
            self.ledger.index_domains()
        gc.freeze()

    def _refresh(self) -> None:
        cfg = self.config()
        if cfg is not self.cfg:
            try:
                self._use(cfg)
            except LeadctlError:
                pass  # e.g. the forced group was removed: keep routing as configured before

    # -- batches ----------------------------------------------------------------------
    def route(self, records: Iterable[Record | BadRecord], *, live: bool = False) -> Iterator[Outcome]:
        """One outcome per record, in order; each batch is committed before its
        outcomes are handed out. `live`: the input may pause (see `batches`)."""
        for outcomes in self.route_batches(records, live=live):
            yield from outcomes

    def route_batches(self, records: Iterable[Record | BadRecord], *, live: bool = False) -> Iterator[list[Outcome]]:
        """The outcomes batch by batch, each list handed out once its batch is committed."""
        prepare = self.policy.prepare
        for chunk in batches(records, self.batch_size, live):
            self._refresh()
            items: list[_Lead | Outcome] = [
                prepare(r) if r.__class__ is Record else Outcome(r.line, None, REJECTED, reason=r.reason)
                for r in chunk
            ]
            yield self._commit(items)
            if self.on_batch:
                self.on_batch(len(chunk))

    def _commit(self, items: list[_Lead | Outcome]) -> list[Outcome]:
        """Decide and write one batch in one transaction; its outcomes, in input order.

        A failure the store calls transient (a PostgreSQL serialisation failure or
        deadlock, a dropped connection, a server that refuses connections while it restarts)
        rolled the whole batch back: it is decided and written again, from the ledger as it is
        then, for up to `patience` seconds (waits of 0.05 s doubling to 1 s)."""
        leads = [x for x in items if x.__class__ is _Lead]  # the rest are rejections' Outcomes
        if not leads:
            return items  # type: ignore[return-value]
        groups = self.policy.locks_for({x[_GROUP].name for x in leads})
        attempt, give_up = 0, None
        while True:
            try:
                self.ledger.recover()  # after a failure: reconnect (which may itself fail, and is retried)
                return self._commit_once(items, leads, groups)
            except self.ledger.transient:
                now = time.monotonic()
                give_up = give_up or now + self.patience
                wait = min(RETRY_WAIT * 2**attempt, MAX_RETRY_WAIT)
                if now + wait > give_up:
                    raise
                time.sleep(wait)
                attempt += 1

    def _commit_once(self, items: list[_Lead | Outcome], leads: list[_Lead], groups: set[str]) -> list[Outcome]:
        """While no batch has met an id the ledger already has (a fresh import), the batch is
        decided and written without asking the ledger which ids it holds, inside a
        savepoint: if a row then collides, the savepoint is rolled back and the batch is
        decided again, this time skipping the ids the ledger has. The same check guards
        against an id another machine writes between the look-up and the insert (PostgreSQL,
        where batches for other groups run at the same time)."""
        ids = {x[_ID] for x in leads}
        with self.ledger.write(groups=groups):
            now = self.clock().astimezone(self.tz)  # read inside the lock: commit order is time order
            if not self.ledger.savepoints:  # a rehearsal: nothing else writes what it sees
                out, written = self._decide_and_write(items, leads, now, self.ledger.existing_ids(ids), strict=False)
            else:
                seen = None if self.optimistic else self.ledger.existing_ids(ids)
                while True:
                    try:
                        with self.ledger.write():  # a savepoint
                            out, written = self._decide_and_write(items, leads, now, set(seen or ()), strict=True)
                        break
                    except _Collision:
                        self.optimistic = False
                        seen = self.ledger.existing_ids(ids)
                if seen is not None:
                    self.optimistic = not seen
        self.recorded += written
        return out

    def _decide_and_write(self, items: list[_Lead | Outcome], leads: list[_Lead], now: datetime,
                          seen: set[str], *, strict: bool) -> tuple[list[Outcome], int]:
        """Decide every lead of the batch (skipping `seen` ids) from the ledger as it is, and
        write what was decided; with `strict` a lead id the ledger holds after all raises
        _Collision (the caller rolls it back)."""
        policy = self.policy
        now_day = now.date().isoformat()
        names = {x[_GROUP].name for x in leads}
        alloc = allocator(policy, self.ledger, names | {policy.overflow[n] for n in names if n in policy.overflow}
                          | set(policy.territory_plans),
                          {x[_DAY] or now_day for x in leads}, self.rng)
        earlier = self._earlier_owners([x[_FIELDS] for x in leads if x[_ID] not in seen])
        done = decide(policy, items, seen, earlier, alloc, now)
        changes = Changes(leads=done.rows, queued=done.queued, alloc=alloc, offers=done.offers)
        if self.notify:  # the reps' notifications and the managers' alerts, in the same transaction
            changes.told = [(r[_ROW_ID], r[_ROW_OWNER], r[_ROW_METHOD], r[_ROW_REASON]) for r in done.rows
                            if r[_ROW_OWNER]]
            for o in done.outcomes:
                if o.status in (QUEUED, UNASSIGNED) and o.group:
                    changes.trouble(o.group, o.lead_id, o.reason or "")
        written = apply(self.ledger, self.cfg, changes, now, notify=self.notify, actor=self.actor, via=self.via)
        if strict and written != len(done.rows):
            raise _Collision()  # (the caller rolls the whole batch back)
        if done.skipped:
            self._say_why_skipped(done.skipped)
        return done.outcomes, len(done.rows)

    def _say_why_skipped(self, skipped: list[Outcome]) -> None:
        """A skipped id recorded during this run was repeated earlier in this input (or came
        from another router meanwhile); any other was in the ledger before the run."""
        asked = {o.lead_id for o in skipped if o.reason is None}
        this_run = self.ledger.recorded_after(asked, self.start_row) if asked else set()
        for o in skipped:
            if o.reason is None:
                o.reason = REPEATED if o.lead_id in this_run else "lead id already in the ledger"

    def _earlier_owners(self, leads: list[dict[str, str]]) -> dict[str, dict[str, list[tuple[str, str, str]]]]:
        """Owned leads that share an email or phone with this batch (duplicates on)."""
        out = {}
        for field in self.policy.duplicates:
            if field == "email":
                keys = {k for fields in leads if (k := email_key(fields.get(field)))}
            else:
                keys = {k for fields in leads if (k := phone_key(fields.get(field), self.policy.region))}
            out[field] = self.ledger.earlier_owners(field, keys) if keys else {}
        if self.policy.match_domains:  # account matching: earlier leads from the same company's domain
            free = self.policy.free_mail
            domains = {d for fields in leads if (k := email_key(fields.get("email"))) and (d := domain_of(k)) not in free}
            out["domain"] = self.ledger.earlier_owners("domain", domains) if domains else {}
        return out
