"""Figures kept for a while (a part of `Ledger`): what a page that reads the whole history
computed last, under a name, with the config it was computed under and when; and when a daily
job (`ledger prune` from `tick`) last ran."""

from __future__ import annotations


class Snapshots:
    def kept_figures(self, name: str) -> tuple[str, str, str] | None:
        """(config fingerprint, when they were computed, body) of the figures kept as `name`, or None."""
        for row in self.conn.execute("SELECT config, at, body FROM snapshots WHERE name = ?", (name,)):
            return row[0], row[1], row[2]
        return None

    def keep_figures(self, name: str, config: str, at: str, body: str) -> None:
        self.conn.execute(
            "INSERT INTO snapshots (name, config, at, body) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE"
            " SET config = excluded.config, at = excluded.at, body = excluded.body", (name, config, at, body))
