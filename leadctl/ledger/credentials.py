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

    # -- the web pages' sign-in (one-time links) and the key the session cookie is signed with --
    def add_sign_in(self, token_hash: str, user: str, next_path: str, at: str, expires_at: int) -> None:
        self.conn.execute("INSERT INTO sign_ins (token_hash, user_id, next_path, created_at, expires_at)"
                          " VALUES (?, ?, ?, ?, ?)", (token_hash, user, next_path, at, expires_at))

    def use_sign_in(self, token_hash: str, at: str, now: int) -> tuple[str, str] | None:
        """(user, where to go) for a link that is known, unused and not expired, marked used in
        the same statement (two clicks at once: one wins); None for any other."""
        row = self.conn.execute(
            "UPDATE sign_ins SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?"
            " RETURNING user_id, next_path", (at, token_hash, now)).fetchone()
        return (row[0], row[1]) if row else None

    def add_session(self, id_hash: str, user: str, at: str, expires_at: int) -> None:
        self.conn.execute("INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                          (id_hash, user, at, expires_at))

    def session_live(self, id_hash: str, user: str, now: int) -> bool:
        """Whether the session is `user`'s, not ended and not expired."""
        return self.conn.execute(
            "SELECT 1 FROM sessions WHERE id_hash = ? AND user_id = ? AND ended_at IS NULL AND expires_at > ?",
            (id_hash, user, now)).fetchone() is not None

    def end_sessions(self, at: str, *, id_hash: str | None = None, user: str | None = None) -> int:
        """End one session (signing out) or every session of `user` (removed, deactivated)."""
        column, value = ("id_hash", id_hash) if id_hash is not None else ("user_id", user)
        return self.conn.execute(f"UPDATE sessions SET ended_at = ? WHERE {column} = ? AND ended_at IS NULL",
                                 (at, value)).rowcount

    def key(self, name: str, make) -> str:
        """The server key `name`, made with `make()` the first time it is asked for."""
        row = self.conn.execute("SELECT value FROM keys WHERE name = ?", (name,)).fetchone()
        if row:
            return row[0]
        with self.write():
            self.conn.execute("INSERT INTO keys (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                              (name, make()))
        return self.conn.execute("SELECT value FROM keys WHERE name = ?", (name,)).fetchone()[0]
