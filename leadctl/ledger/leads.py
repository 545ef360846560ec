"""Leads and their history: ids, routed batches and their events, duplicate keys, owners, listings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from ..domain.engine import NOT_ASSIGNMENTS, counts
from .schema import EVENT_COLUMNS, LEAD_COLUMNS, LEAD_SELECT, SLA_METHODS, _EVENT_ASSIGNMENT, _conditions

def _quoted(moment: str) -> str:
    """An ISO 8601 moment as an SQL literal (the streamed queries take no parameters)."""
    if not all(c in "0123456789-:T+. Z" for c in moment):
        raise ValueError(f"not a moment: {moment!r}")
    return f"'{moment}'"


class Leads:
    """The ledger's leads and events (a part of `Ledger`)."""

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

    def insert_leads(self, rows: list[tuple]) -> None:
        marks = ",".join("?" * len(LEAD_COLUMNS))
        self.conn.executemany(f"INSERT INTO leads ({','.join(LEAD_COLUMNS)}) VALUES ({marks})", rows)

    def insert_events(self, rows: list[tuple]) -> None:
        """Append events, and count the assignments among them for `report`."""
        marks = ",".join("?" * len(EVENT_COLUMNS))
        self.conn.executemany(f"INSERT INTO events ({','.join(EVENT_COLUMNS)}) VALUES ({marks})", rows)
        self._count_assignments(map(_EVENT_ASSIGNMENT, rows))

    def _count_assignments(self, assignments: Iterable[tuple]) -> None:
        """Add (at, assigned_to, group_name, method) tuples to `event_counts`, by the minute
        and UTC offset of `at`; those without an owner, conversions and status changes are no
        assignment."""
        counts: dict[tuple, int] = {}
        for (at, user, group, method), n in Counter(assignments).items():  # counted in C first
            if user is not None and method not in NOT_ASSIGNMENTS:
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

    def index_domains(self) -> None:
        """Index the email domain of every lead (account matching), the first time it is on."""
        if not self._has_index("leads_domain"):
            with self.write():
                self.conn.execute(f"CREATE INDEX IF NOT EXISTS leads_domain ON leads(({self.DOMAIN}))"
                                  " WHERE email_key IS NOT NULL")

    def rekey_phones(self, key) -> int:
        """Every lead's phone match key made again by `key(phone)` (inside the caller's write
        transaction), after the rule that makes it changed; how many changed."""
        changed = [(new, lead_id) for lead_id, phone, old in
                   self.conn.execute("SELECT id, phone, phone_key FROM leads WHERE phone IS NOT NULL").fetchall()
                   if (new := key(phone)) != old]
        for i in range(0, len(changed), 5000):
            self.conn.executemany("UPDATE leads SET phone_key = ? WHERE id = ?", changed[i:i + 5000])
        return len(changed)

    def earlier_owners(self, field: str, keys: Iterable[str],
                       received_before: str | None = None) -> dict[str, list[tuple[str, str, str]]]:
        """For duplicate matching: key -> [(lead id, type, owner)] of owned leads,
        oldest first. `field` is "email" or "phone"; an index look-up per key.
        `received_before` (ISO 8601 with an offset): only leads received before that moment.
        "domain": the host of the email (account matching; `index_domains` made its index)."""
        column = {"email": "email_key", "phone": "phone_key", "domain": self.DOMAIN}[field]
        keys = list(keys)
        before = f" AND {self.MOMENT.format('received_at')} < {self.MOMENT.format('?')}" if received_before else ""
        out: dict[str, list[tuple[str, str, str]]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for key, lead_id, kind, owner in self.conn.execute(
                f"SELECT {column}, id, type, assigned_to FROM leads"
                f" WHERE {column} IN ({marks}) AND assigned_to IS NOT NULL{before}"
                + (" AND email_key IS NOT NULL" if field == "domain" else "") + " ORDER BY rowid",
                [*chunk, received_before] if before else chunk,
            ):
                out.setdefault(key, []).append((lead_id, kind, owner))
        return out

    def set_owner(self, lead_id: str, user: str | None, group: str | None, method: str,
                  reason: str | None, at: str, *, actor: str | None = None,
                  note: str | None = None, passed_over: str | None = None, via: str | None = None,
                  backup_for: str | None = None) -> None:
        """Give a lead a new owner (None: unassigned) and record the event: `set_owners` for one."""
        self.set_owners([(lead_id, user, group, method, reason, at, actor, via, passed_over, backup_for, note)])

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
        offset: int = 0,
        queued: bool = False,
    ) -> Iterator[dict]:
        """Leads in the order they arrived (`newest`: the other way). `visible_to` restricts
        to one owner (lead isolation); the caller decides when it applies. `queued`: only the
        leads waiting in a group's queue."""
        where, params = _conditions(
            (["assigned_to IS NULL"] if unassigned else []) + (["id IN (SELECT lead_id FROM queue)"] if queued else []),
            [("assigned_to", visible_to), ("assigned_to", owner), ("lower(status)", status and status.lower()),
             ("group_name", group)],
        )
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        tail += f" OFFSET {int(offset)}" if offset and limit is not None else ""
        order = " DESC" if newest else ""
        yield from self._rows(f"SELECT {LEAD_SELECT} FROM leads{where} ORDER BY rowid{order}{tail}", params)

    def count_leads(self) -> int:
        return self.conn.execute("SELECT count(*) FROM leads").fetchone()[0]

    def lead(self, lead_id: str) -> dict | None:
        return next(self._rows(f"SELECT {LEAD_SELECT} FROM leads WHERE id = ?", (lead_id,)), None)

    def set_owners(self, moves: list[tuple]) -> None:
        """Leads that change hands: (lead id, user or None, group, method, reason, at, actor, via,
        passed-over text, backup_for, note) each (`assign.changes.Move`), written with one
        statement per table; each event counts towards caps when a group's method gave the
        lead (`engine.counts`)."""
        passed = self.passed_over_ids({m[8] for m in moves if m[8]}) if any(m[8] for m in moves) else {}
        self.conn.executemany(
            "UPDATE leads SET assigned_to = ?, group_name = ?, method = ?, reason = ?, assigned_at = ?,"
            " passed_over = ?, backup_for = ?, first_contact_at = NULL WHERE id = ?",
            [(user, group, None if user is None else method, reason, at if user else None, passed.get(po),
              backup_for, lead_id)
             for lead_id, user, group, method, reason, at, _, _, po, backup_for, _ in moves])
        self.insert_events([(lead_id, at, user, group, method, reason, int(user is not None and counts(method)),
                             actor, note, passed.get(po), via, backup_for)
                            for lead_id, user, group, method, reason, at, actor, via, po, backup_for, note in moves])

    def open_load(self, closed: Iterable[str]) -> dict[str, int]:
        """Open leads per user (over every group): those whose status is not one of `closed`."""
        closed = sorted({s.lower() for s in closed})
        marks = ",".join("?" * len(closed)) or "''"
        return dict(self.conn.execute(
            "SELECT assigned_to, count(*) FROM leads WHERE assigned_to IS NOT NULL"
            f" AND lower(coalesce(status, '')) NOT IN ({marks}) GROUP BY assigned_to", closed))

    def set_status(self, lead_id: str, status: str, at: str | None = None) -> None:
        """A new status; `at` (a change by hand) is the holder's first contact if they had none."""
        self.conn.execute("UPDATE leads SET status = ?, first_contact_at = coalesce(first_contact_at, ?)"
                          " WHERE id = ? ", (status, at if at else None, lead_id))

    # `assigned_at <= a moment`, whatever offset each time was written with (store's own words)
    ASSIGNED_BY = "datetime(assigned_at) <= datetime(?)"
    MOMENT = "datetime({})"  # a time written with its offset, as the store compares and orders moments
    DOMAIN = "substr(email_key, instr(email_key, '@') + 1)"  # an email's host, as the store spells it

    def uncontacted(self, groups: Iterable[str], assigned_before: str) -> list[dict]:
        """Leads of `groups` that a group's method (or an SLA re-route) gave their holder, who has
        not contacted them since (SLA candidates), assigned no later than `assigned_before` (ISO
        8601 with its offset): id, holder, group, method, status and when assigned."""
        groups = sorted(set(groups))
        if not groups:
            return []
        marks, methods = ",".join("?" * len(groups)), ",".join("?" * len(SLA_METHODS))
        return list(self._rows(
            "SELECT id, assigned_to, group_name, method, status, assigned_at FROM leads"
            f" WHERE group_name IN ({marks}) AND assigned_to IS NOT NULL AND first_contact_at IS NULL"
            f" AND method IN ({methods}) AND {self.ASSIGNED_BY}", [*groups, *SLA_METHODS, assigned_before]))

    # -- conversions (a lead made into a contact or a deal) ------------------------------------
    def conversions(self, lead_id: str) -> dict[str, str]:
        """Record type -> the id of the record `lead_id` was converted to."""
        return dict(self.conn.execute(
            "SELECT record_type, record_id FROM conversions WHERE lead_id = ? ORDER BY at, record_type", (lead_id,)))

    def converted_from(self, record_id: str) -> str | None:
        row = self.conn.execute("SELECT lead_id FROM conversions WHERE record_id = ?", (record_id,)).fetchone()
        return row[0] if row else None

    def add_conversion(self, lead_id: str, record_type: str, record_id: str, at: str) -> None:
        self.conn.execute("INSERT INTO conversions (lead_id, record_type, record_id, at) VALUES (?, ?, ?, ?)",
                          (lead_id, record_type, record_id, at))

    def history(self, lead_id: str) -> list[dict]:
        return list(self._rows(
            "SELECT e.at, e.assigned_to, e.group_name, e.method, e.reason, e.counted, e.actor, e.note, e.via,"
            " e.backup_for,"
            " p.text AS passed_over FROM events e LEFT JOIN passed_over_sets p ON p.id = e.passed_over"
            " WHERE e.lead_id = ? ORDER BY e.id",
            (lead_id,),
        ))

    def assignments_with_fields(self, *, group: str | None = None, user: str | None = None,
                                holder: str | None = None) -> Iterator[tuple]:
        """Every assignment event with its lead's source and fields: (at, assigned_to, group_name,
        method, source, fields JSON, rule, territory, received_at), for counts by a lead's field
        (`report --by source`), the rule or the territory that routed it, the hour it came;
        `holder`: only leads that user holds now (what an isolated user may see)."""
        where, params = _conditions(["e.assigned_to IS NOT NULL", "e.method NOT IN ('status', 'convert')"],
                                    [("e.group_name", group), ("e.assigned_to", user), ("l.assigned_to", holder)])
        yield from self.conn.execute(
            "SELECT e.at, e.assigned_to, e.group_name, e.method, l.source, l.fields, l.rule, l.territory, l.received_at"
            " FROM events e"
            f" JOIN leads l ON l.id = e.lead_id{where}", params)

    # The first assignment event of each lead `l` as the row `f` (store's own words: SQLite
    # looks the event up by its number; PostgreSQL joins laterally, which it can index)
    FIRST_ASSIGNMENT = ("LEFT JOIN events f ON f.id = (SELECT e.id FROM events e WHERE e.lead_id = l.id"
                        " AND {first} ORDER BY e.id LIMIT 1)")

    def window_leads(self, since: str, until: str, closing: bool = False) -> Iterable[tuple]:
        """Leads received from `since` up to (not including) `until` (ISO 8601 moments with
        their offsets, made by leadctl from dates), in order of receipt, streamed: (id, type,
        received_at, fields JSON, status, first owner, their group, the method that gave it,
        closed at). The first owner is the first assignment's (None: never assigned); with
        `closing`, closed at is the time of the lead's last status change."""
        moment = self.MOMENT.format
        closed = ("(SELECT e.at FROM events e WHERE e.lead_id = l.id AND e.method = 'status' ORDER BY e.id DESC LIMIT 1)"
                  if closing else "NULL")
        join = self.FIRST_ASSIGNMENT.format(first="e.assigned_to IS NOT NULL AND e.method NOT IN ('status', 'convert')")
        return self.stream(
            f"SELECT l.id, l.type, l.received_at, l.fields, l.status, f.assigned_to, f.group_name, f.method, {closed}"
            f" FROM leads l {join}"
            f" WHERE {moment('l.received_at')} >= {moment(_quoted(since))}"
            f" AND {moment('l.received_at')} < {moment(_quoted(until))}"
            f" ORDER BY {moment('l.received_at')}, l.rowid")

    def receipt_span(self) -> tuple[str | None, str | None]:
        """The first and last receipt times in the ledger (None, None when it holds no lead)."""
        moment = self.MOMENT.format("received_at")
        first = self.conn.execute(f"SELECT received_at FROM leads ORDER BY {moment} LIMIT 1").fetchone()
        last = self.conn.execute(f"SELECT received_at FROM leads ORDER BY {moment} DESC LIMIT 1").fetchone()
        return (first[0], last[0]) if first else (None, None)

    def event_trail(self, with_group: bool = False) -> Iterator[tuple]:
        """Every event as (lead id, at, assigned_to, method, reason[, group]), lead by lead,
        oldest first: for first-contact times and SLA misses."""
        group = ", group_name" if with_group else ""
        yield from self.conn.execute(
            f"SELECT lead_id, at, assigned_to, method, reason{group} FROM events ORDER BY lead_id, id")

    def passed_over_days(self, group: str | None = None) -> Iterator[tuple]:
        """(local day as written, group, the passed-over text, how many events) for assignments
        that passed members over: who was skipped, and why (`report`'s skip counts)."""
        where, params = ("WHERE e.group_name = ?", (group,)) if group else ("", ())
        yield from self.conn.execute(
            "SELECT substr(e.at, 1, 10), e.group_name, p.text, count(*) FROM events e"
            f" JOIN passed_over_sets p ON p.id = e.passed_over {where}"
            " GROUP BY substr(e.at, 1, 10), e.group_name, p.text", params)

    def event_buckets(self, *, group: str | None = None, user: str | None = None) -> Iterator[tuple]:
        """Assignment events (not releases) counted per minute and UTC offset:
        (YYYY-MM-DDTHH:MM, +HH:MM, assigned_to, group_name, method, count)."""
        where, params = _conditions([], [("group_name", group), ("assigned_to", user)])
        for minute, offset, assigned_to, group_name, method, n in self.conn.execute(
            f"SELECT minute, utc_offset, assigned_to, group_name, method, n FROM event_counts{where}", params
        ):
            yield minute, offset, assigned_to, group_name or None, method, n

