"""Credentials for `serve`: tokens (a bearer token only as its hash), revoked with their user."""

from __future__ import annotations

from ..errors import LeadctlError

class Credentials:
    """Tokens (a part of `Ledger`)."""

    def add_token(self, name: str, kind: str, token_hash: str | None, secret: str | None,
                  user: str | None, at: str) -> None:
        """A new token. A revoked token of the same name keeps its history under
        'NAME (revoked AT)', so a name can be used again once its token is revoked."""
        self.conn.execute("UPDATE tokens SET name = name || ' (revoked ' || revoked_at || ')'"
                          " WHERE name = ? AND revoked_at IS NOT NULL", (name,))
        try:
            self.conn.execute(
                "INSERT INTO tokens (name, kind, token_hash, secret, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (name, kind, token_hash, secret, user, at),
            )
        except self.duplicate_key:
            raise LeadctlError(f"token '{name}' already exists (revoke it first to reuse the name, or pick"
                               " another)") from None

    def tokens(self) -> list[dict]:
        return list(self._rows(
            "SELECT name, kind, user_id AS user, created_at, revoked_at FROM tokens ORDER BY created_at, name", ()))

    def revoke_token(self, name: str, at: str) -> bool:
        cur = self.conn.execute("UPDATE tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (at, name))
        return cur.rowcount == 1

    def revoke_user_tokens(self, user: str, at: str) -> int:
        """Revoke every live token bound to `user` (they leave with the user); how many."""
        cur = self.conn.execute("UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                                (at, user))
        return cur.rowcount or 0

    def live_tokens(self) -> list[dict]:
        """Every token not revoked, with what checking a request needs."""
        return list(self._rows(
            "SELECT name, kind, token_hash, secret, user_id FROM tokens WHERE revoked_at IS NULL", ()))
