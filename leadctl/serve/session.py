"""Signing in to serve's web pages: one-time links, the session cookie and CSRF tokens.

A link (`leadctl token link USER`, made by `leadctl.signin`) carries a random secret; the ledger
keeps its SHA-256, the user, where it leads and when it stops working, and marks it used the
first time it is opened.
Opening it starts a session: a random id the ledger keeps (as its SHA-256, so signing out or
removing the user ends it at once) in a cookie signed with the ledger's key (itsdangerous),
with the user and a random CSRF token that every form on the pages carries back. Nothing here reads the clock or
draws randomness on its own account except where the name says so (`new_*`).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

COOKIE = "leadctl_session"
SESSION_SECONDS = 12 * 3600  # how long a session lasts: a working day, then a new link
KEY_NAME = "session-cookie"


@dataclass(frozen=True)
class Session:
    user: str
    csrf: str
    id: str = ""  # the server-side session's id (the ledger keeps its hash)


def new_key() -> str:
    return secrets.token_urlsafe(48)


def new_session(user: str) -> Session:
    return Session(user, secrets.token_urlsafe(24), secrets.token_urlsafe(24))


def _serializer(key: str):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(key, salt="leadctl-web-session")


def cookie_value(key: str, session: Session) -> str:
    return _serializer(key).dumps({"u": session.user, "c": session.csrf, "s": session.id})


def read_cookie(key: str, value: str | None, max_age: int = SESSION_SECONDS) -> Session | None:
    """The session a cookie carries, or None: missing, tampered with, expired or malformed."""
    if not value:
        return None
    from itsdangerous import BadData

    try:
        data = _serializer(key).loads(value, max_age=max_age)
    except (BadData, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data[k] for k in "ucs"):
        return None  # (a cookie from before sessions were kept has no id: it signs nobody in)
    return Session(data["u"], data["c"], data["s"])


def csrf_ok(session: Session, offered: object) -> bool:
    """Whether a form's CSRF token is the session's (compared in constant time)."""
    return isinstance(offered, str) and bool(offered) and hmac.compare_digest(offered.encode(), session.csrf.encode())
