"""JSON over HTTPS to a CRM's API, with its answers sorted the way delivery needs: a value, a
`Wait` (429: try again after the CRM's own delay; a timeout or 5xx: back off) or a `Refused`
(any other 4xx: failed, with the CRM's own message in one line). The token goes in the
Authorization header only: never in an error, a log line or the ledger."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request

TIMEOUT = 20  # seconds a call may take


class Wait(Exception):
    """Try again later: `after` seconds when the CRM said (Retry-After), else None (back off)."""

    def __init__(self, message: str, after: float | None = None):
        super().__init__(message)
        self.after = after


class Refused(Exception):
    """The CRM refused the call (4xx other than 429): the write failed, with its message.
    `everything`: it would refuse any call (401, 403: the token), not this one alone."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.everything = status in (401, 403)


def call(method: str, url: str, token: str, body: dict | None = None, headers: dict | None = None,
         *, bearer: bool = True) -> dict | list:
    """One call; the answer's JSON (an empty object for an empty body). `bearer`: the token goes
    in the Authorization header (else the caller put it where its CRM asks)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        **({"Authorization": f"Bearer {token}"} if bearer else {}), "Accept": "application/json", "User-Agent": "leadctl",
        **({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        if exc.code == 429:
            raise Wait(f"rate limited (HTTP 429){_message(text)}", _retry_after(exc.headers)) from None
        if exc.code == 403 and "REQUEST_LIMIT_EXCEEDED" in text:  # Salesforce: the org's daily API limit
            raise Wait(f"over the API limit (HTTP 403){_message(text)}", _retry_after(exc.headers)) from None
        if exc.code >= 500:
            raise Wait(f"HTTP {exc.code}{_message(text)}") from None
        raise Refused(f"HTTP {exc.code}{_message(text)}", exc.code) from None
    except (socket.timeout, TimeoutError):
        raise Wait(f"no answer within {TIMEOUT} s") from None
    except urllib.error.URLError as exc:
        raise Wait(f"cannot reach the CRM: {getattr(exc.reason, 'strerror', None) or exc.reason}") from None
    except (OSError, ValueError) as exc:  # a connection reset mid-answer, a malformed address
        raise Wait(f"cannot reach the CRM: {type(exc).__name__}") from None
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise Wait("the CRM's answer was not JSON") from None


def _message(text: str) -> str:
    """The CRM's own message, one line, bounded (HubSpot `message`, Pipedrive `error`, …)."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    found = None
    if isinstance(data, dict):
        found = data.get("message") or data.get("error") or data.get("error_description")
    elif isinstance(data, list) and data and isinstance(data[0], dict):  # Salesforce: [{"message": ...}]
        found = data[0].get("message")
    if isinstance(data, dict) and isinstance(data.get("errors"), list) and data["errors"]:  # Sell
        first = data["errors"][0]
        found = ((first.get("error") or {}).get("message") if isinstance(first, dict) else None) or found
    text = str(found or text).strip().replace("\n", " ")
    return f": {text[:200]}" if text else ""


# What a 429 says of when to try again, beside Retry-After (seconds): HubSpot's rate-limit window
# (milliseconds), Pipedrive's seconds until its window resets.
_WINDOWS = (("X-HubSpot-RateLimit-Interval-Milliseconds", 0.001), ("x-ratelimit-reset", 1.0))


# Salesforce's limit is a rolling 24 hours, said as `Sforce-Limit-Info: api-usage=USED/LIMIT`:
# used up, try again in an hour (calls age out of the window as they came in).
_SALESFORCE_LIMIT = re.compile(r"api-usage=(\d+)/(\d+)")
SALESFORCE_PAUSE = 3600.0


def _retry_after(headers) -> float | None:
    """Seconds to wait: Retry-After when the CRM sent it, else what its own rate-limit headers
    say (HubSpot's window, Pipedrive's reset, Salesforce's usage), else None (back off)."""
    if not headers:
        return None
    for name, unit in (("Retry-After", 1.0), *_WINDOWS):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * unit)
        except ValueError:
            continue
    usage = _SALESFORCE_LIMIT.search(headers.get("Sforce-Limit-Info") or "")
    if usage and int(usage.group(1)) >= int(usage.group(2)):
        return SALESFORCE_PAUSE
    return None
