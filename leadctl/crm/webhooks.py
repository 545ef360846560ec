"""A CRM's webhooks, checked and read: HubSpot's v3 signature and its events; Pipedrive's basic
authentication and its `added`/`create` events.

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


def check_basic(secret: str, authorization: str | None) -> None:
    """Pipedrive's webhooks carry the secret as HTTP basic auth's password
    (https://pipedrive.readme.io/docs/guide-for-webhooks): raise BadSignature unless it is."""
    if not authorization or not authorization.lower().startswith("basic "):
        raise BadSignature("missing HTTP basic authentication")
    try:
        _, _, password = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise BadSignature("malformed HTTP basic authentication") from None
    if not hmac.compare_digest(password.encode(), secret.encode()):
        raise BadSignature("wrong password")


def pipedrive_created(body: bytes) -> dict[str, str] | None:
    """The new record's fields from a Pipedrive webhook (v1: `meta.action` "added" and the record
    in `current`; v2: "create" and `data`), its `id` the record's id; None for another event."""
    try:
        event = json.loads(body)
    except ValueError:
        raise Unreadable("the body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("meta"), dict):
        raise Unreadable("the body is not a Pipedrive webhook (no meta)")
    if event["meta"].get("action") not in ("added", "create"):
        return None
    record = event.get("current") if event.get("current") is not None else event.get("data")
    if not isinstance(record, dict) or record.get("id") in (None, ""):
        raise Unreadable("the event carries no record with an id")
    fields = {k: str(v) for k, v in record.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)
              and k not in ("owner_id", "user_id", "creator_user_id")}  # leadctl decides the owner
    return {**fields, "id": str(record["id"]), "source": fields.get("source") or "pipedrive"}

