"""The config's history: the text every change replaced, with who, when and the command."""

from __future__ import annotations



class ConfigHistory:
    """Config changes (a part of `Ledger`)."""

    def config_history(self) -> list[dict]:
        return list(self._rows("SELECT n, at, actor, via, command FROM config_history ORDER BY n", ()))

    def config_changes_from(self, n: int) -> list[dict]:
        """Change n and every later one: n, command and the text each replaced, oldest first."""
        return list(self._rows("SELECT n, command, previous FROM config_history WHERE n >= ? ORDER BY n", (n,)))

    def config_before(self, n: int) -> str | None:
        row = self.conn.execute("SELECT previous FROM config_history WHERE n = ?", (n,)).fetchone()
        return row[0] if row else None

