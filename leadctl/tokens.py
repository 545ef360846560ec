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


def check(tokens: list[dict], authorization: str | None, signature: str | None, body: bytes) -> dict | None:
    """The token row a request proves it holds, or None.

    `Authorization: Bearer TOKEN` is compared by hash with every bearer token;
    `X-Hub-Signature-256: sha256=HEX` with the HMAC-SHA256 of the raw body under
    every signing secret. Every comparison is constant-time.
    """
    found = None
    if authorization and authorization[:7].lower() == "bearer ":
        offered = digest(authorization[7:].strip()).encode()
        for t in tokens:
            if t["kind"] == "bearer" and hmac.compare_digest(offered, (t["token_hash"] or "").encode()):
                found = t
    if found is None and signature and signature.startswith("sha256="):
        # Bytes, not str: compare_digest refuses non-ASCII text, and headers can hold any byte.
        offered = signature[7:].strip().lower().encode("utf-8", "replace")
        for t in tokens:
            if t["kind"] == "hmac" and t["secret"]:
                expected = hmac.new(t["secret"].encode("utf-8"), body, hashlib.sha256).hexdigest().encode()
                if hmac.compare_digest(offered, expected):
                    found = t
    return found
