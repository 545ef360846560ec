"""Zendesk Sell's calls, exactly as its Core API v2 documents them
(https://developer.zendesk.com/api-reference/sales-crm/resources/leads/ and /users/):

- a record's owner: `GET /v2/{leads|contacts|deals}/{id}`, the answer's `data.owner_id`;
- write it: `PUT /v2/{object}/{id}` with `{"data": {"owner_id": N}}`;
- the owners: `GET /v2/users`, each `{"data": {"id", "email", ...}}` in `items`, paged by `page`.

Authentication: a personal access token (or OAuth) as a bearer token. Every record has an owner
in Sell: a release is not written there. Errors come as `{"errors": [{"error": {"message"}}]}`.
"""

from __future__ import annotations

from urllib.parse import quote

from .http import call

CLEARS = False  # every record has an owner: a release leaves it as it is


def read_owner(crm, token: str, record_id: str) -> str | None:
    owner = (call("GET", _record(crm, record_id), token).get("data") or {}).get("owner_id")
    return str(owner) if owner not in (None, "") else None


def write_owner(crm, token: str, record_id: str, owner_id: str) -> None:
    call("PUT", _record(crm, record_id), token, {"data": {"owner_id": int(owner_id) if owner_id.isdigit() else owner_id}})


def owners(crm, token: str) -> list[tuple[str, str]]:
    out, page = [], 1
    while True:
        items = call("GET", f"{crm.api}/v2/users?per_page=100&page={page}", token).get("items") or []
        out += [(str(i["data"]["id"]), i["data"].get("email") or "") for i in items if "id" in (i.get("data") or {})]
        if len(items) < 100:
            return out
        page += 1


def _record(crm, record_id: str) -> str:
    return f"{crm.api}/v2/{quote(crm.record_object, safe='')}/{quote(record_id, safe='')}"
