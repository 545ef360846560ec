"""What of a database URL may be shown: everything but its password, in every form.

A PostgreSQL URL can carry its password in the user part (`postgresql://u:PASS@host/db`,
where PASS may hold `/`, `@`, `%` or a bad %-escape) or in the query
(`?password=PASS`). `display(url)` masks both, by text alone (a URL too broken to parse is
masked too); `scrub(text, url)` masks the URL and the password itself, raw and decoded,
wherever a message quotes them (a driver's error quotes a bad URL, or a piece of it).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
_QUERY_SECRET = re.compile(r"((?:^|[?&])(?:password|sslpassword)=)([^&#]*)", re.IGNORECASE)


def _userinfo_span(url: str) -> tuple[int, int] | None:
    """Where the password of `scheme://user:PASS@host` lies: between the first `:` after the
    scheme and the last `@` before the path's query."""
    start = url.find("://")
    if start < 0:
        return None
    start += 3
    end = url.find("?", start)
    head = url[start:] if end < 0 else url[start:end]
    at = head.rfind("@")
    if at < 0:
        return None
    colon = head.find(":", 0, at)
    if colon < 0:
        return None
    return start + colon + 1, start + at


def secrets_in(url: str) -> list[str]:
    """The password(s) a URL carries, raw and %-decoded, longest first."""
    found = []
    span = _userinfo_span(url)
    if span and span[1] > span[0]:
        found.append(url[span[0]:span[1]])
    found += [m.group(2) for m in _QUERY_SECRET.finditer(url) if m.group(2)]
    found += [unquote(s) for s in found]
    return sorted({s for s in found if s}, key=len, reverse=True)


def display(url: str) -> str:
    """The URL as messages show it: its password, wherever it is, as ***."""
    span = _userinfo_span(url)
    if span:
        url = url[:span[0]] + MASK + url[span[1]:]
    return _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, url)


def scrub(text: str, url: str) -> str:
    """`text` with the URL shown as `display` shows it and its password nowhere in it."""
    text = text.replace(url, display(url))
    for secret in secrets_in(url):
        text = text.replace(secret, MASK)
    return text
