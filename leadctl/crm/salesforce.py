"""Salesforce's calls, exactly as its REST API documents them (API v60.0,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/):

- a record's owner: `GET /services/data/v60.0/sobjects/{object}/{id}?fields=OwnerId`, the answer's
  `OwnerId` (sObject Rows);
- write it: `PATCH /services/data/v60.0/sobjects/{object}/{id}` with `{"OwnerId": "ID"}` and the
  header `Sforce-Auto-Assign: FALSE` (else the org's own assignment rules run again); 204;
- the owners: SOQL `SELECT Id, Email FROM User WHERE IsActive = true` through
  `GET /services/data/v60.0/query?q=...`, paged by `nextRecordsUrl` (Query).

Authentication: the connected app's access token as a bearer token. Every record has an owner in
Salesforce: a release is not written there. Errors come as `[{"message", "errorCode"}]`.
"""

from __future__ import annotations

from urllib.parse import quote

from .http import call

VERSION = "v60.0"
OWNERS = "SELECT Id, Email FROM User WHERE IsActive = true"


def read_owner(crm, token: str, record_id: str) -> str | None:
    return call("GET", f"{_record(crm, record_id)}?fields=OwnerId", token).get("OwnerId") or None


def write_owner(crm, token: str, record_id: str, owner_id: str | None) -> None:
    if owner_id is None:
        return  # every Salesforce record has an owner: nothing to clear
    call("PATCH", _record(crm, record_id), token, {"OwnerId": owner_id}, headers={"Sforce-Auto-Assign": "FALSE"})


def owners(crm, token: str) -> list[tuple[str, str]]:
    out, url = [], f"{crm.api}/services/data/{VERSION}/query?q={quote(OWNERS)}"
    while url:
        page = call("GET", url, token)
        out += [(r["Id"], r.get("Email") or "") for r in page.get("records", []) if "Id" in r]
        url = f"{crm.api}{page['nextRecordsUrl']}" if page.get("nextRecordsUrl") else None
    return out


def _record(crm, record_id: str) -> str:
    return f"{crm.api}/services/data/{VERSION}/sobjects/{quote(crm.record_object, safe='')}/{quote(record_id, safe='')}"
