"""One-time sign-in links to serve's web pages: made by `leadctl token link` and put in
notification emails (so neither needs `serve`). A link carries a random secret; the ledger
keeps only its SHA-256, the user, where it leads and when it stops working."""

from __future__ import annotations

import secrets

LINK_PREFIX = "lcl_"  # a sign-in link's secret, recognisable in logs and secret scanners
DEFAULT_LINK_TTL = 15 * 60  # seconds a link made by `token link` works (until used)
EMAIL_LINK_TTL = 24 * 3600  # seconds a link in a notification email works


def new_link_secret() -> str:
    return LINK_PREFIX + secrets.token_urlsafe(32)


def safe_next(path: str | None) -> str:
    """Where a link may lead after signing in: a path on this server, else the inbox."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return "/inbox"
    return path


def issue_link(ledger, base_url: str, user: str, now, ttl: int = DEFAULT_LINK_TTL, next_path: str = "/inbox") -> str:
    """A new one-time sign-in link for `user` (kept in the ledger as its hash), leading to
    `next_path` once opened: `BASE/signin/SECRET`."""
    from .tokens import digest

    secret = new_link_secret()
    with ledger.write():
        ledger.add_sign_in(digest(secret), user, safe_next(next_path), now.isoformat(timespec="seconds"),
                           int(now.timestamp()) + ttl)
    return f"{base_url.rstrip('/')}/signin/{secret}"
