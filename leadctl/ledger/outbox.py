"""The outbox: notifications owed to reps, claimed, renewed, sent, retried or superseded."""

from __future__ import annotations

from .schema import _conditions

EVERY_CRM = "*"  # the `crm` of an owner write owed to every CRM, not yet made one per CRM
# At most this many are made one per CRM in one claim (a million-lead import does not become one
# huge transaction); a lead's later write in the next part supersedes what this part made pending.
FAN_OUT = 50_000

class Outbox:
    """Notifications (a part of `Ledger`)."""

    NOTIFY_COLUMNS = ("key", "lead_id", "user_id", "channel", "address", "method", "reason", "next_at", "created_at")

    def queue_notifications(self, rows: list[tuple]) -> None:
        if rows:
            marks = ",".join("?" * len(self.NOTIFY_COLUMNS))
            self.conn.executemany(
                f"INSERT INTO notifications ({','.join(self.NOTIFY_COLUMNS)}) VALUES ({marks})", rows)

    def queue_alerts(self, rows: list[tuple]) -> None:
        """Like `queue_notifications`, but a row whose key is there already is left out: an
        alert's key names its group, hour and recipient, so each is sent once an hour."""
        if rows:
            marks = ",".join("?" * len(self.NOTIFY_COLUMNS))
            self.conn.executemany(f"INSERT INTO notifications ({','.join(self.NOTIFY_COLUMNS)}) VALUES ({marks})"
                                  " ON CONFLICT (key) DO NOTHING", rows)

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
            " AND coalesce(l.assigned_to, '') <> n.user_id AND n.method <> 'alert')",
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
            "SELECT id, lead_id, user_id AS user, channel, address, method, status, attempts, next_at, last_error,"
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

    # -- owner writes owed to CRMs ------------------------------------------------------------
    # A change of holder is queued once, owed to every CRM (`crm` EVERY_CRM: what routing pays,
    # whatever the number of CRMs); a pusher's claim first fans those out into one write per
    # configured CRM, superseding what they overtake.
    def queue_crm_writes(self, rows: list[tuple]) -> None:
        """(lead id, owner or None, created/next at) for each change of holder."""
        self.conn.executemany("INSERT INTO crm_writes (crm, lead_id, owner, status, attempts, next_at, created_at)"
                              f" VALUES ('{EVERY_CRM}', ?, ?, 'pending', 0, ?, ?)", [(i, o, at, at) for i, o, at in rows])

    def crm_counts(self, crms: list[str]) -> dict[tuple[str, str], int]:
        """(crm, status) -> how many owner writes (those owed to every CRM and not yet fanned
        out are pending for each of `crms`)."""
        counts = {(crm, status): n for crm, status, n in self.conn.execute(
            "SELECT crm, status, count(*) FROM crm_writes GROUP BY crm, status")}
        owed = counts.pop((EVERY_CRM, "pending"), 0)
        for crm in crms:
            counts[(crm, "pending")] = counts.get((crm, "pending"), 0) + owed
        return counts

    def crm_writes(self, crm: str | None = None) -> list[dict]:
        """Owner writes, oldest first (of one CRM, or all)."""
        where, params = (" WHERE crm = ?", (crm,)) if crm else ("", ())
        return list(self._rows("SELECT n, crm, lead_id, owner, status, attempts, next_at, last_error, crm_owner,"
                               f" written_owner_id, created_at, sent_at FROM crm_writes{where} ORDER BY n", params))

    def claim_crm_writes(self, crm: str, crms: list[str], now: str, until: str, limit: int) -> list[dict]:
        """The CRM's due owner writes, oldest first, claimed for this pusher until `until` (in the
        caller's write transaction: two pushers never claim the same row; a claim that ran out
        is due again). First the writes owed to every CRM become one for each of `crms`."""
        self._fan_out_crm_writes(crms)
        rows = list(self._rows(
            "SELECT w.n, w.lead_id, w.owner, w.attempts, l.fields FROM crm_writes w LEFT JOIN leads l ON l.id = w.lead_id"
            " WHERE w.crm = ? AND w.status = 'pending' AND w.next_at <= ?"
            " AND (w.claimed_until IS NULL OR w.claimed_until <= ?) ORDER BY w.n LIMIT ?", (crm, now, now, limit)))
        self.conn.executemany("UPDATE crm_writes SET claimed_until = ?, attempts = attempts + 1 WHERE n = ?",
                              [(until, r["n"]) for r in rows])
        return rows

    def _fan_out_crm_writes(self, crms: list[str]) -> None:
        """Each write owed to every CRM becomes one per CRM, in order; only a lead's latest is
        pending (its earlier ones, and the pending writes they overtake, are `superseded`: only
        a lead's latest owner is written)."""
        owed = self.conn.execute(
            "SELECT w.n, w.lead_id, w.owner, w.next_at, w.created_at, max(w.n) OVER (PARTITION BY w.lead_id),"
            " l.id IS NOT NULL, l.assigned_to FROM crm_writes w LEFT JOIN leads l ON l.id = w.lead_id"
            f" WHERE w.crm = '{EVERY_CRM}' AND w.status = 'pending' ORDER BY w.n LIMIT {FAN_OUT}").fetchall()
        if not owed or not crms:
            return
        self.conn.executemany("UPDATE crm_writes SET status = 'superseded', claimed_until = NULL"
                              f" WHERE lead_id = ? AND status = 'pending' AND crm <> '{EVERY_CRM}'",
                              [(lead,) for lead in {row[1] for row in owed}])
        # a lead's latest write carries its holder now (a change made while no CRM was
        # configured queued nothing)
        self.conn.executemany(
            "INSERT INTO crm_writes (crm, lead_id, owner, status, attempts, next_at, created_at)"
            " VALUES (?, ?, ?, ?, 0, ?, ?)",
            [(crm, lead, holder if n == latest and known else owner, "pending" if n == latest else "superseded",
              next_at, created)
             for n, lead, owner, next_at, created, latest, known, holder in owed for crm in crms])
        self.conn.execute(f"DELETE FROM crm_writes WHERE crm = '{EVERY_CRM}' AND status = 'pending' AND n <= ?",
                          (owed[-1][0],))

    def last_crm_owners(self, crm: str, lead_ids: list[str]) -> dict[str, str | None]:
        """{lead id: the owner id leadctl last wrote to the CRM for it} (absent: never)."""
        last: dict[str, str | None] = {}
        for i in range(0, len(lead_ids), 500):
            chunk = lead_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            last.update((lead, owner) for lead, owner in self.conn.execute(
                f"SELECT lead_id, written_owner_id FROM crm_writes WHERE crm = ? AND status = 'sent'"
                f" AND lead_id IN ({marks}) ORDER BY n", [crm, *chunk]))
        return last

    def finish_crm_write(self, n: int, status: str, at: str, *, written: str | None = None,
                         crm_owner: str | None = None, error: str | None = None, next_at: str | None = None) -> None:
        """How a claimed write went: sent (with the owner id written), conflict (the CRM's owner),
        failed (its message), or pending again at `next_at` (a retry)."""
        self.conn.execute(
            "UPDATE crm_writes SET status = ?, claimed_until = NULL, written_owner_id = ?, crm_owner = ?,"
            " last_error = ?, next_at = coalesce(?, next_at), sent_at = ? WHERE n = ?",
            (status, written, crm_owner, error, next_at, at if status == "sent" else None, n))

    def outbox_pending(self) -> dict[str, int]:
        """What is waiting to go out: notifications by channel (email, webhook, ...), and owner
        writes to CRMs (`crm`), those still owed to every CRM included."""
        out = dict(self.conn.execute("SELECT channel, count(*) FROM notifications"
                                     " WHERE status IN ('pending', 'sending') GROUP BY channel"))
        (out["crm"],) = self.conn.execute("SELECT count(*) FROM crm_writes WHERE status = 'pending'").fetchone()
        return out
