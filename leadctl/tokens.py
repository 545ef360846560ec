"""Credentials for `leadctl serve`: bearer tokens and HMAC signing secrets.

Pure functions: making a token, hashing it for the ledger, and checking a
request's `Authorization` or `X-Hub-Signature-256` header against the live
tokens, in constant time. The ledger keeps a bearer token only as its SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "lct_"  # so a leaked token is recognisable in logs and secret scanners


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


SIGNATURE_MAX_AGE = 300  # seconds: a signed request with a timestamp older (or newer) than this is refused


def check(tokens: list[dict], authorization: str | None, signature: str | None, body: bytes, *,
          timestamp: str | None = None, now: float | None = None) -> dict | None:
    """The token row a request proves it holds, or None.

    `Authorization: Bearer TOKEN` is compared by hash with every bearer token;
    `X-Hub-Signature-256: sha256=HEX` with the HMAC-SHA256 under every signing secret of
    the raw body, or, when the request carries `X-Leadctl-Timestamp: UNIX_SECONDS`, of
    `TIMESTAMP.BODY` — and then only within SIGNATURE_MAX_AGE of `now` (no replays). A
    signature proves a body: an empty one proves nothing. Every comparison is constant-time.
    """
    found = None
    if authorization and authorization[:7].lower() == "bearer ":
        offered = digest(authorization[7:].strip()).encode()
        for t in tokens:
            if t["kind"] == "bearer" and hmac.compare_digest(offered, (t["token_hash"] or "").encode()):
                found = t
    if found is None and signature and signature.startswith("sha256=") and body.strip():
        signed = body
        if timestamp is not None:
            if not _fresh(timestamp, now):
                return None
            signed = timestamp.strip().encode("ascii") + b"." + body
        # Bytes, not str: compare_digest refuses non-ASCII text, and headers can hold any byte.
        offered = signature[7:].strip().lower().encode("utf-8", "replace")
        for t in tokens:
            if t["kind"] == "hmac" and t["secret"]:
                expected = hmac.new(t["secret"].encode("utf-8"), signed, hashlib.sha256).hexdigest().encode()
                if hmac.compare_digest(offered, expected):
                    found = t
    return found


def _fresh(timestamp: str, now: float | None) -> bool:
    import time

    text = timestamp.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return False
    return abs((time.time() if now is None else now) - int(text)) <= SIGNATURE_MAX_AGE
