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
        """Waiting leads, oldest first (by receipt, then by when they were queued)."""
        where, params = (" WHERE group_name = ?", (group,)) if group else ("", ())
        return list(self._rows(f"SELECT lead_id, group_name, received_at FROM queue{where}"
                               " ORDER BY received_at, n", params))

    def dequeue(self, lead_id: str) -> None:
        self.conn.execute("DELETE FROM queue WHERE lead_id = ?", (lead_id,))

    def queue_length(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT group_name, count(*) FROM queue GROUP BY group_name"))
