"""Routing a stream of records into the ledger, batch by batch.

For each record: give it an id, a type, a routing clock and a group (checks
that can reject it), then, inside one write transaction per batch, skip ids
the ledger already has, apply the rules outside the group (owner, creator,
duplicate) and else the group's method through the engine's `Allocator`, and
write leads, events, usage and rotations together. A killed run loses at
most the batch in flight, and a re-run skips what was committed.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from itertools import islice

from .config import RECORD_TYPES, Config, Group, condition_values
from .engine import DUPLICATE, Allocator, Decision, GroupPlan, day_key, month_key, outside_rules
from .errors import LeadctlError
from .intake import BadRecord, Record
from .keys import email_key, phone_key
from .ledger import LEAD_COLUMNS, Ledger

# Positions in a ledger row (LEAD_COLUMNS order)
_ROW_ID, _ROW_OWNER, _ROW_METHOD, _ROW_REASON = (LEAD_COLUMNS.index(c) for c in ("id", "assigned_to", "method", "reason"))

ASSIGNED, UNASSIGNED, SKIPPED, REJECTED = "assigned", "unassigned", "skipped", "rejected"
REPEATED = "lead id repeated earlier in this input"
OUTPUT_FIELDS = ("line", "lead_id", "status", "assigned_to", "group", "method", "reason")
MAX_ID = 200
BATCH_SIZE = 2000
RETRIES = 6  # times a batch is tried again after a transient failure of the store
RETRY_WAIT = 0.05  # seconds before the first retry, doubled each time (3.15 s in all: a server restart)
IDLE = 0.1  # seconds of quiet on live input that close a batch
MAX_WAIT = 0.5  # seconds the first record of a batch may wait on live input
DEFAULT_STATUS = "new"  # a lead that arrives without a status is new


def _encoders():
    """JSON for a string and for a lead's fields, exactly as `JSONEncoder(ensure_ascii=False)`
    writes them, but with the C encoder built once instead of once per call."""
    from json import encoder

    text = encoder.encode_basestring  # the C function where there is one
    if encoder.c_make_encoder is None:  # no C accelerator (e.g. PyPy): the plain way
        return text, json.JSONEncoder(ensure_ascii=False).encode
    make = encoder.c_make_encoder(None, None, text, None, ": ", ", ", False, False, True)
    return text, lambda fields: "".join(make(fields, 0))


_json_text, _to_json = _encoders()


def _json_str(value: str | None) -> str:
    return "null" if value is None else _json_text(value)


_TAILS: dict[tuple, str] = {}  # an outcome line's end, by (status, owner, group, method, reason)


@dataclass(slots=True)
class Outcome:
    line: int
    lead_id: str | None
    status: str
    assigned_to: str | None = None
    group: str | None = None
    method: str | None = None
    reason: str | None = None

    def json(self) -> str:
        """The JSON Lines form of `as_dict()`, built directly (it is written once per record);
        the part after the lead id repeats for lead after lead, so it is made once."""
        tail_key = (self.status, self.assigned_to, self.group, self.method, self.reason)
        tail = _TAILS.get(tail_key)
        if tail is None:
            if len(_TAILS) > 10_000:
                _TAILS.clear()
            tail = _TAILS[tail_key] = (
                f', "status": "{self.status}", "assigned_to": {_json_str(self.assigned_to)},'
                f' "group": {_json_str(self.group)}, "method": {_json_str(self.method)},'
                f' "reason": {_json_str(self.reason)}}}'
            )
        lead_id = self.lead_id  # `_json_str`, written out: this runs once per record
        return f'{{"line": {self.line}, "lead_id": {"null" if lead_id is None else _json_text(lead_id)}{tail}'

    def as_dict(self) -> dict:
        return {f: getattr(self, f) for f in OUTPUT_FIELDS}


# A record that passed the checks and waits for its batch: a plain tuple, made and read
# once per lead (a dataclass costs four times as much to make), unpacked where it is read:
#   (line, id, type, fields, received, day, group, cells, layout)
# received: its own received_at, ISO 8601 in the zone; None: the batch's now.
# day: with --clock received, the local day of `received`, which caps count by.
# group: the Group it goes to. cells, layout: a CSV row's values and its header's JSON layout
# (see Record), so that its fields become JSON without a dict walk.
_Lead = tuple
_ID, _FIELDS, _DAY, _GROUP = 1, 3, 5, 6  # positions in a _Lead


def derived_id(fields: dict[str, str]) -> str:
    """A stable id for a record that has none: the same content, the same id."""
    import hashlib  # here: most inputs carry their ids, and importing it costs every run 2 ms

    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return "auto-" + hashlib.sha256(blob).hexdigest()[:20]


def parse_when(text: str, tz: tzinfo) -> datetime:
    """ISO 8601 to an aware datetime in `tz`; without an offset it is read in `tz`."""
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        return dt.replace(tzinfo=tz)
    return dt.astimezone(tz)


class LocalTimes:
    """`received_at` text -> (ISO 8601 with the zone's offset, local calendar day).

    Exactly `parse_when(...).isoformat(timespec="seconds")`, but the common export form
    `YYYY-MM-DDTHH:MM:SS` (no offset: local time) is not parsed per record: the zone's
    offset is looked up once per local minute (every offset change since 1973 falls on
    a whole minute, and the minute is what the cache is keyed by) and appended.
    """

    def __init__(self, tz: tzinfo):
        self.tz = tz
        self.offsets: dict[str, str] = {}

    def convert(self, text: str) -> tuple[str, str]:
        if (len(text) == 19 and text[10] == "T" and text[16] == ":" and text[17] in "012345"
                and text[18] in "0123456789"):
            minute = text[:16]
            offset = self.offsets.get(minute)
            if offset is None:
                if len(self.offsets) > 100_000:
                    self.offsets.clear()
                local = datetime.fromisoformat(minute).replace(tzinfo=self.tz)  # checks the date and time
                offset = self.offsets[minute] = local.isoformat(timespec="seconds")[19:]
            return text + offset, text[:10]
        when = parse_when(text, self.tz)
        return when.isoformat(timespec="seconds"), when.date().isoformat()


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
        actor: str | None = None,
        notify: bool = True,
        group: str | None = None,
        batch_size: int | None = None,
        on_batch: Callable[[int], None] | None = None,
    ):
        self.config = config
        self.ledger = ledger
        self.clock = clock
        self.rng = rng
        self.replay = replay
        self.actor = actor  # who ran the route: kept on every assignment event
        self.notify = notify  # queue the reps' notifications ([notify] decides which)
        self.group_name = group
        self.batch_size = batch_size or BATCH_SIZE
        self.on_batch = on_batch
        self.recorded = 0  # leads written to the ledger (committed) so far
        self.optimistic = True  # no batch has met an id already in the ledger yet
        self.cfg: Config | None = None
        self._use(config())
        self.start_row = ledger.last_rowid()  # leads recorded past it came during this run

    def _use(self, cfg: Config) -> None:
        """Take a (new) config: everything derived from it is derived again."""
        forced = cfg.group(self.group_name) if self.group_name else None
        if forced is None and cfg.default_group is None and not cfg.rules:
            raise LeadctlError(
                "no group to route to: pass --group GROUP, or set one with `leadctl rule default GROUP`"
            )
        self.cfg = cfg
        self.tz = cfg.tz()
        self.local_times = LocalTimes(self.tz).convert
        self.forced = forced
        self.plans = {g.name: GroupPlan(g.name, g.method, cfg.slots(g)) for g in cfg.groups}
        self.rules = [
            (tuple((k.lower(), condition_values(v)) for k, v in r.when), cfg.group(r.group)) for r in cfg.rules
        ]
        self.default = cfg.group(cfg.default_group) if cfg.default_group else None
        self.active = cfg.active_users()
        # `owner` / `created_by` name a user by id in any case, or by the user's email.
        self.who = {u.email.strip().lower(): u.id for u in cfg.users if u.email.strip()}
        self.who.update({u.id.lower(): u.id for u in cfg.users})
        self.assign_to_creator = cfg.settings.assign_to_creator
        self.region = cfg.settings.phone_region or None
        self.ledger.index_duplicates(cfg.settings.duplicates)

    def _refresh(self) -> None:
        cfg = self.config()
        if cfg is not self.cfg:
            try:
                self._use(cfg)
            except LeadctlError:
                pass  # e.g. the forced group was removed: keep routing as configured before

    # -- per record checks ------------------------------------------------------------
    def _group_by_rules(self, fields: dict[str, str], kind: str) -> Group | None:
        """The first rule the fields match whose group takes this record type, else the
        default group (--group is checked first). A matching rule whose group takes another
        type is passed over; when no group fits, the first that matched is returned, for
        the rejection to name."""
        low = {k.lower(): v.strip().lower() for k, v in fields.items()}
        first = None
        for conditions, group in self.rules:
            if all(low.get(k) in values for k, values in conditions):
                if group.record_type == kind:
                    return group
                first = first or group
        if first is None or (self.default is not None and self.default.record_type == kind):
            return self.default
        return first

    def _prepare(self, rec: Record) -> _Lead | Outcome:
        fields = rec.fields
        lead_id = (fields.get("id") or "").strip() or derived_id(fields)
        if len(lead_id) > MAX_ID:
            return Outcome(rec.line, None, REJECTED, reason=f"id is longer than {MAX_ID} characters")
        kind = fields.get("type")
        kind = (kind.strip().lower() or "lead") if kind else "lead"
        if kind not in RECORD_TYPES:
            return Outcome(
                rec.line, lead_id, REJECTED,
                reason=f"unknown type '{kind[:40]}' (use {', '.join(RECORD_TYPES)})",
            )
        raw_when = fields.get("received_at")
        received = day = None
        if raw_when and (raw_when := raw_when.strip()):
            try:
                received, local_day = self.local_times(raw_when)
            except (ValueError, OverflowError):
                return Outcome(
                    rec.line, lead_id, REJECTED,
                    reason="received_at is not an ISO 8601 date and time (e.g. 2026-11-23T13:10:00)",
                )
            if self.replay:
                day = local_day
        group = self.forced
        if group is None:
            group = self._group_by_rules(fields, kind) if self.rules else self.default
        if group is None:
            return Outcome(
                rec.line, lead_id, REJECTED,
                reason="no rule matches and no default group is set (`leadctl rule default GROUP`)",
            )
        if group.record_type != kind:
            return Outcome(
                rec.line, lead_id, REJECTED, group=group.name,
                reason=f"a {kind} cannot go to group '{group.name}', which takes {group.record_type}s",
            )
        return (rec.line, lead_id, kind, fields, received, day, group, rec.cells, rec.layout)

    # -- batches ----------------------------------------------------------------------
    def route(self, records: Iterable[Record | BadRecord], *, live: bool = False) -> Iterator[Outcome]:
        """One outcome per record, in order; each batch is committed before its
        outcomes are handed out. `live`: the input may pause (see `batches`)."""
        for outcomes in self.route_batches(records, live=live):
            yield from outcomes

    def route_batches(self, records: Iterable[Record | BadRecord], *, live: bool = False) -> Iterator[list[Outcome]]:
        """The outcomes batch by batch, each list handed out once its batch is committed."""
        prepare = self._prepare
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
        deadlock, a dropped connection) rolled the whole batch back: it is decided and
        written again, from the ledger as it is then, up to RETRIES times."""
        leads = [x for x in items if x.__class__ is _Lead]  # the rest are rejections' Outcomes
        if not leads:
            return items  # type: ignore[return-value]
        groups = {x[_GROUP].name for x in leads}
        attempt = 0
        while True:
            try:
                self.ledger.recover()  # after a failure: reconnect (which may itself fail, and is retried)
                return self._commit_once(items, leads, groups)
            except self.ledger.transient:
                if attempt == RETRIES:
                    raise
                time.sleep(RETRY_WAIT * 2**attempt)
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
        """Decide every lead of the batch (skipping `seen` ids) and write them; with `strict`
        a lead id the ledger holds after all raises _Collision (the caller rolls it back)."""
        out: list[Outcome] = []
        append = out.append
        lead_rows: list[tuple] = []
        add_lead = lead_rows.append
        passed_ids: dict[str | None, int | None] = {None: None}  # passed-over list -> its number
        plans, creator, region = self.plans, self.assign_to_creator, self.region
        now_at, now_day = now.isoformat(timespec="seconds"), now.date().isoformat()
        periods = set()
        for name, day in {(x[_GROUP].name, x[_DAY] or now_day) for x in leads}:
            periods.add((name, day_key(day)))
            periods.add((name, month_key(day)))
        alloc = Allocator(
            self.ledger.load_usage(periods),
            self.ledger.load_rotations({x[_GROUP].name for x in leads}),
            self.rng,
        )
        earlier = self._earlier_owners([x[_FIELDS] for x in leads if x[_ID] not in seen])
        assign = alloc.assign
        in_batch: set[str] = set()  # ids decided in this batch: a repeat is repeated in the input
        skipped: list[Outcome] = []
        for x in items:
            if x.__class__ is not _Lead:
                append(x)
                continue
            line, lead_id, kind, f, received, x_day, x_group, cells, layout = x
            if lead_id in seen:
                skipped.append(Outcome(line, lead_id, SKIPPED, reason=REPEATED if lead_id in in_batch else None))
                append(skipped[-1])
                continue
            seen.add(lead_id)
            in_batch.add(lead_id)
            email, phone = f.get("email"), f.get("phone")
            ekey, pkey = email_key(email), phone_key(phone, region)
            if x_day is None:
                day, at = now_day, now_at
            else:
                day, at = x_day, received
            group = x_group.name
            duplicate = self._duplicate(kind, {"email": ekey, "phone": pkey}, earlier) if earlier else None
            if duplicate or f.get("owner") or (creator and f.get("created_by")):
                decision = self._decide(f, group, day, alloc, duplicate)
            else:
                decision = assign(plans[group], day)
            user = decision.user
            if user and earlier:  # later leads in this batch match this one
                for field, key in (("email", ekey), ("phone", pkey)):
                    if field in earlier and key:
                        earlier[field].setdefault(key, []).append((lead_id, kind, user))
            passed = decision.passed_over  # kept once in the ledger, by number
            passed_id = passed_ids.get(passed, passed_ids)  # (the dict itself: not there yet)
            if passed_id is passed_ids:
                passed_id = passed_ids[passed] = self.ledger.passed_over_ids([passed])[passed]
            method, reason = decision.method, decision.reason
            # The fields as JSON: a CSV row's through its header's layout, exactly `_to_json(f)`.
            add_lead((
                lead_id, kind, (f.get("status") or "").strip() or DEFAULT_STATUS, email, phone, f.get("source"),
                received or now_at, layout % tuple(map(_json_text, cells)) if cells else _to_json(f),
                ekey, pkey,
                group, user, method, reason, at if user else None, passed_id,
            ))
            append(Outcome(line, lead_id, ASSIGNED if user else UNASSIGNED, user, group, method, reason))
        written = self.ledger.insert_routed(lead_rows, self.actor)  # the assignment events with them
        if strict and written != len(lead_rows):
            raise _Collision()
        if skipped:
            self._say_why_skipped(skipped)
        if self.notify:  # the reps' notifications, in the same transaction as their leads
            from .notify import outbox_rows

            assigned = [(r[_ROW_ID], r[_ROW_OWNER], r[_ROW_METHOD], r[_ROW_REASON]) for r in lead_rows if r[_ROW_OWNER]]
            self.ledger.queue_notifications(outbox_rows(self.cfg, assigned, now))
        self.ledger.save_usage(alloc.usage, alloc.dirty_usage)
        self.ledger.save_rotations(alloc.rotations, alloc.dirty_rotations)
        return out, len(lead_rows)

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
        for field in self.cfg.settings.duplicates:
            if field == "email":
                keys = {k for fields in leads if (k := email_key(fields.get(field)))}
            else:
                keys = {k for fields in leads if (k := phone_key(fields.get(field), self.region))}
            out[field] = self.ledger.earlier_owners(field, keys) if keys else {}
        return out

    def _duplicate(self, kind: str, keys: dict[str, str | None], earlier) -> tuple[str, str] | None:
        """(owner, reason) from the latest earlier lead of the same type with an active owner."""
        for field in self.cfg.settings.duplicates:
            key = keys[field]
            for lead_id, their_kind, owner in reversed(earlier[field].get(key, ()) if key else ()):
                if their_kind == kind and owner in self.active:
                    return owner, f"duplicate of lead {lead_id} (same {field})"
        return None

    def _user(self, name: str) -> str | None:
        """The user id a payload names (an id in any case, or an email); unknown names as given."""
        if not name:
            return None
        return self.who.get(name.lower(), name)

    def _decide(self, f: dict[str, str], group: str, day: str, alloc: Allocator,
                duplicate: tuple[str, str] | None) -> Decision:
        if not (duplicate or f.get("owner") or (self.assign_to_creator and f.get("created_by"))):
            return alloc.assign(self.plans[group], day)
        outside, note = outside_rules(
            owner=self._user((f.get("owner") or "").strip()),
            created_by=self._user((f.get("created_by") or "").strip()),
            duplicate_owner=duplicate[0] if duplicate else None,
            active_users=self.active,
            assign_to_creator=self.assign_to_creator,
        )
        if outside is not None:
            if outside.method == DUPLICATE and duplicate:
                reason = f"{outside.reason}; {duplicate[1]}" if outside.reason else duplicate[1]
                return Decision(outside.user, outside.method, False, reason)
            return outside
        decision = alloc.assign(self.plans[group], day)
        if note:
            reason = f"{note}; {decision.reason}" if decision.reason else f"{note}; routed by group"
            return Decision(decision.user, decision.method, decision.counted, reason, decision.passed_over)
        return decision
