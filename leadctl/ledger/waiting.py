"""The queue: leads nobody could take when they came (a group with `--queue`), oldest first,
waiting for `drain` (or `serve`) to hand them out as capacity frees."""

from __future__ import annotations

from collections.abc import Iterable


class Queue:
    """Queued leads (a part of `Ledger`)."""

    def enqueue(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(lead id, group, received_at) for each lead that waits; one already waiting stays as it is."""
        self.conn.executemany(
            "INSERT INTO queue (lead_id, group_name, received_at) VALUES (?, ?, ?) ON CONFLICT (lead_id) DO NOTHING",
            list(rows))

    def queued(self, group: str | None = None) -> list[dict]:
        """Waiting leads, oldest first (by receipt, then by when they were queued), with whom
        each lead belongs to now (None: still nobody; a lead gone from the ledger: missing), the
        rule that routed it and its fields (the tags that rule asks of a member)."""
        where, params = (" WHERE q.group_name = ?", (group,)) if group else ("", ())
        return list(self._rows(
            "SELECT q.lead_id, q.group_name, q.received_at, l.assigned_to, l.id IS NULL AS missing, l.rule, l.fields"
            f" FROM queue q LEFT JOIN leads l ON l.id = q.lead_id{where} ORDER BY q.received_at, q.n", params))

    def dequeue(self, lead_ids: list[str]) -> None:
        self.conn.executemany("DELETE FROM queue WHERE lead_id = ?", [(i,) for i in lead_ids])

    def queue_length(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT group_name, count(*) FROM queue GROUP BY group_name"))
