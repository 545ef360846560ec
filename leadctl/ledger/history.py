"""The config's history: the text every change replaced, with who, when and the command."""

from __future__ import annotations



class ConfigHistory:
    """Config changes (a part of `Ledger`)."""

    def config_history(self) -> list[dict]:
        return list(self._rows("SELECT n, at, actor, via, command, file FROM config_history ORDER BY n", ()))

    def config_changes_from(self, n: int) -> list[dict]:
        """Change n and every later one: n, command and the text each replaced, oldest first."""
        return list(self._rows("SELECT n, command, previous, file FROM config_history WHERE n >= ? ORDER BY n", (n,)))

    def config_before(self, n: int) -> tuple[str, str | None] | None:
        """The text change n replaced, and the file it was made to (None: not recorded)."""
        row = self.conn.execute("SELECT previous, file FROM config_history WHERE n = ?", (n,)).fetchone()
        return (row[0], row[1]) if row else None

