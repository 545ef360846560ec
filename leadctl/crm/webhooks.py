"""A CRM's webhooks, checked and read: HubSpot's v3 signature and its events.

HubSpot (https://developers.hubspot.com/docs/api/webhooks/validating-requests): the header
`X-HubSpot-Signature-v3` is the base64 of HMAC-SHA256, keyed with the app's client secret, over
the request's method, its full URI (as HubSpot called it: scheme, host, path and query), its
body and the header `X-HubSpot-Request-Timestamp` (milliseconds since the epoch); a timestamp
more than 5 minutes old is refused. The body is a JSON array of events; a `*.creation` event
names the new record by `objectId` (https://developers.hubspot.com/docs/api/webhooks).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

MAX_AGE_MS = 5 * 60 * 1000


class BadSignature(Exception):
    """401: the request is not the CRM's (or is too old)."""


class Unreadable(Exception):
    """400: the body is not what the CRM sends."""


def check_hubspot(secret: str, method: str, uri: str, body: bytes, signature: str | None, timestamp: str | None,
                  now_ms: int) -> None:
    """Raise BadSignature unless the v3 signature over this request holds and is recent."""
    if not signature or not timestamp or not timestamp.isdigit():
        raise BadSignature("missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp")
    if abs(now_ms - int(timestamp)) > MAX_AGE_MS:
        raise BadSignature("the request's timestamp is more than 5 minutes old")
    source = method.encode() + uri.encode() + body + timestamp.encode()
    expected = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, signature.strip()):
        raise BadSignature("the signature does not match")


def hubspot_created(body: bytes) -> list[str]:
    """The object ids of the `*.creation` events in a HubSpot webhook body (in order, each once)."""
    try:
        events = json.loads(body)
    except ValueError:
        raise Unreadable("the body is not JSON") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise Unreadable("the body is not HubSpot's list of events")
    ids = [str(e["objectId"]) for e in events
           if str(e.get("subscriptionType", "")).endswith(".creation") and e.get("objectId") is not None]
    return list(dict.fromkeys(ids))
