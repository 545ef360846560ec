"""HubSpot's calls, exactly as its API documents them (CRM v3):

- a record's owner: `GET /crm/v3/objects/{object}/{id}?properties=hubspot_owner_id`, the answer's
  `properties.hubspot_owner_id` (https://developers.hubspot.com/docs/api/crm/contacts);
- write it: `PATCH /crm/v3/objects/{object}/{id}` with `{"properties": {"hubspot_owner_id": "ID"}}`
  (an empty string clears it);
- many at once (https://developers.hubspot.com/docs/api/crm/contacts, "Batch"), up to 100 inputs
  a call: `POST /crm/v3/objects/{object}/batch/read` with `{"properties": ["hubspot_owner_id"],
  "inputs": [{"id"}]}` (200, or 207 with `errors[].context.ids` naming the records not found)
  and `POST /crm/v3/objects/{object}/batch/update` with `{"inputs": [{"id", "properties"}]}`;
- the owners: `GET /crm/v3/owners?limit=100[&after=CURSOR]`, each `{"id", "email", ...}`, paged
  by `paging.next.after` (https://developers.hubspot.com/docs/api/crm/owners) — the owner id a
  record takes is `id`, not `userId`.

Authentication: a private app's access token as a bearer token. A 429 carries Retry-After
(and `X-HubSpot-RateLimit-*`).
"""

from __future__ import annotations

from urllib.parse import quote

from .http import call

PROPERTY = "hubspot_owner_id"
BATCH = 100  # inputs a batch call takes
CLEARS = True  # a record may have no owner: a release clears it


def read_owner(crm, token: str, record_id: str) -> str | None:
    answer = call("GET", f"{_record(crm, record_id)}?properties={PROPERTY}", token)
    return (answer.get("properties") or {}).get(PROPERTY) or None


def write_owner(crm, token: str, record_id: str, owner_id: str | None) -> None:
    call("PATCH", _record(crm, record_id), token, {"properties": {PROPERTY: owner_id or ""}})


def read_owners(crm, token: str, record_ids: list[str]) -> dict[str, str | None]:
    """{record id: its owner} of the records found (up to BATCH)."""
    answer = call("POST", f"{_objects(crm)}/batch/read", token,
                  {"properties": [PROPERTY], "inputs": [{"id": r} for r in record_ids]})
    return {str(r["id"]): (r.get("properties") or {}).get(PROPERTY) or None for r in answer.get("results", [])}


def write_owners(crm, token: str, owners: dict[str, str | None]) -> dict[str, str]:
    """Write each record's owner (up to BATCH); {record id: why not} of those refused (none:
    HubSpot takes a batch whole or refuses it whole, with one message)."""
    call("POST", f"{_objects(crm)}/batch/update", token,
         {"inputs": [{"id": r, "properties": {PROPERTY: o or ""}} for r, o in owners.items()]})
    return {}


def record(crm, token: str, record_id: str) -> dict[str, str]:
    """A record's properties as a lead's fields (its `id` the record's id): what HubSpot returns
    by default for the object, and the owner."""
    answer = call("GET", f"{_record(crm, record_id)}?properties=email,firstname,lastname,phone,company,{PROPERTY}",
                  token)
    fields = {k: str(v) for k, v in (answer.get("properties") or {}).items() if v not in (None, "")}
    fields.pop(PROPERTY, None)  # leadctl decides the owner
    return {**fields, "id": str(answer.get("id") or record_id), "source": fields.get("source") or "hubspot"}


def owners(crm, token: str) -> list[tuple[str, str]]:
    """(owner id, email) of every owner."""
    out, after = [], None
    while True:
        page = call("GET", f"{crm.api}/crm/v3/owners?limit=100" + (f"&after={quote(after)}" if after else ""), token)
        out += [(str(o["id"]), o.get("email") or "") for o in page.get("results", []) if "id" in o]
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        if not after:
            return out


def _objects(crm) -> str:
    return f"{crm.api}/crm/v3/objects/{quote(crm.record_object, safe='')}"


def _record(crm, record_id: str) -> str:
    return f"{_objects(crm)}/{quote(record_id, safe='')}"
