"""What `leadctl watch` remembers of each source between polls and runs (a part of `Ledger`)."""

from __future__ import annotations


class Watches:
    def watch_state(self, source: str) -> dict | None:
        """The source's last validators, header and row ids (in order), or None before its first poll."""
        rows = list(self._rows("SELECT etag, last_modified, header, pending_header, row_ids FROM watches"
                               " WHERE source = ?", (source,)))
        if not rows:
            return None
        row = rows[0]
        return {"etag": row["etag"], "last_modified": row["last_modified"], "header": row["header"],
                "pending_header": row["pending_header"],
                "row_ids": row["row_ids"].split("\n") if row["row_ids"] else []}

    def save_watch_state(self, source: str, etag: str | None, last_modified: str | None, header: str | None,
                         row_ids: list[str], at: str) -> None:
        self.conn.execute(
            "INSERT INTO watches (source, etag, last_modified, header, row_ids, polled_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (source) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,"
            " header = excluded.header, pending_header = NULL, row_ids = excluded.row_ids,"
            " polled_at = excluded.polled_at",
            (source, etag, last_modified, header, "\n".join(row_ids), at))

    def hold_watch_header(self, source: str, header: str, at: str) -> None:
        """A changed header seen once (the next poll takes it if it is still the same)."""
        self.conn.execute(
            "INSERT INTO watches (source, pending_header, polled_at) VALUES (?, ?, ?)"
            " ON CONFLICT (source) DO UPDATE SET pending_header = excluded.pending_header", (source, header, at))
