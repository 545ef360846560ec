"""Pipedrive's calls, exactly as its API v1 documents them (https://developers.pipedrive.com/docs/api/v1):

- a lead's owner: `GET /api/v1/leads/{id}`, the answer's `data.owner_id` (a number); write it:
  `PATCH /api/v1/leads/{id}` with `{"owner_id": N}` (Leads);
- persons and deals: `GET /api/v1/{persons|deals}/{id}` (`data.owner_id` is an object with its
  `id`, or a number), written with `PUT /api/v1/{persons|deals}/{id}` and `{"owner_id": N}`;
- the owners: `GET /api/v1/users`, each `{"id", "email", ...}` in `data` (Users).

Authentication: an OAuth access token as a bearer token; a personal API token (40 hex
characters) as the `api_token` query parameter, as Pipedrive asks. Every record has an owner
in Pipedrive: a release is not written there (the lead keeps its last owner).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from .http import call

_API_TOKEN = re.compile(r"^[0-9a-f]{40}$")

CLEARS = False  # every record has an owner: a release leaves it as it is


def read_owner(crm, token: str, record_id: str) -> str | None:
    owner = (_call(crm, token, "GET", _record(crm, record_id)).get("data") or {}).get("owner_id")
    if isinstance(owner, dict):
        owner = owner.get("id") or owner.get("value")
    return str(owner) if owner not in (None, "", 0) else None


def write_owner(crm, token: str, record_id: str, owner_id: str) -> None:
    method = "PATCH" if crm.record_object == "leads" else "PUT"
    _call(crm, token, method, _record(crm, record_id), {"owner_id": int(owner_id) if owner_id.isdigit() else owner_id})


def owners(crm, token: str) -> list[tuple[str, str]]:
    answer = _call(crm, token, "GET", f"{crm.api}/api/v1/users")
    return [(str(u["id"]), u.get("email") or "") for u in answer.get("data") or [] if "id" in u]


def _record(crm, record_id: str) -> str:
    return f"{crm.api}/api/v1/{quote(crm.record_object, safe='')}/{quote(record_id, safe='')}"


def _call(crm, token: str, method: str, url: str, body: dict | None = None) -> dict:
    if _API_TOKEN.match(token):  # a personal API token goes in the query, not the header
        sep = "&" if "?" in url else "?"
        return call(method, f"{url}{sep}api_token={token}", "", body, bearer=False)
    return call(method, url, token, body)
