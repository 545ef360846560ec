"""Salesforce's calls, exactly as its REST API documents them (API v60.0,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/):

- a record's owner: `GET /services/data/v60.0/sobjects/{object}/{id}?fields=OwnerId`, the answer's
  `OwnerId` (sObject Rows);
- write it: `PATCH /services/data/v60.0/sobjects/{object}/{id}` with `{"OwnerId": "ID"}` and the
  header `Sforce-Auto-Assign: FALSE` (else the org's own assignment rules run again); 204;
- many at once, with sObject Collections: `POST /services/data/v60.0/composite/sobjects/{object}`
  with `{"ids": [...], "fields": ["OwnerId"]}` reads up to 2,000 (a list in the order asked,
  `null` for a record not found: resources_composite_sobjects_collections_retrieve_post.htm),
  and `PATCH /services/data/v60.0/composite/sobjects` with `{"allOrNone": false, "records":
  [{"attributes": {"type": object}, "id", "OwnerId"}]}` writes up to 200, answering a SaveResult
  `{"id", "success", "errors": [{"statusCode", "message"}]}` for each, in order
  (resources_composite_sobjects_collections_update.htm);
- the owners: SOQL `SELECT Id, Email FROM User WHERE IsActive = true` through
  `GET /services/data/v60.0/query?q=...`, paged by `nextRecordsUrl` (Query).

Authentication: the connected app's access token as a bearer token. Every record has an owner in
Salesforce: a release is not written there. Errors come as `[{"message", "errorCode"}]`; every
answer carries `Sforce-Limit-Info: api-usage=USED/LIMIT` (the org's rolling 24-hour API
limit; over it, calls are refused with 403 `REQUEST_LIMIT_EXCEEDED`: http.py waits then).
"""

from __future__ import annotations

from urllib.parse import quote

from .http import call

VERSION = "v60.0"
BATCH = 200  # records an sObject Collections write takes
CLEARS = False  # every record has an owner: a release leaves it as it is
OWNERS = "SELECT Id, Email FROM User WHERE IsActive = true"


def read_owner(crm, token: str, record_id: str) -> str | None:
    return call("GET", f"{_record(crm, record_id)}?fields=OwnerId", token).get("OwnerId") or None


def write_owner(crm, token: str, record_id: str, owner_id: str) -> None:
    call("PATCH", _record(crm, record_id), token, {"OwnerId": owner_id}, headers={"Sforce-Auto-Assign": "FALSE"})


def read_owners(crm, token: str, record_ids: list[str]) -> dict[str, str | None]:
    """{record id: its owner} of the records found."""
    answer = call("POST", f"{crm.api}/services/data/{VERSION}/composite/sobjects/{quote(crm.record_object, safe='')}",
                  token, {"ids": record_ids, "fields": ["OwnerId"]})
    found = answer if isinstance(answer, list) else []
    return {record_id: record.get("OwnerId") or None
            for record_id, record in zip(record_ids, found) if isinstance(record, dict)}


def write_owners(crm, token: str, owners: dict[str, str]) -> dict[str, str]:
    """Write each record's owner (up to BATCH, each on its own: `allOrNone` false); {record id:
    the CRM's message} of those refused."""
    answer = call("PATCH", f"{crm.api}/services/data/{VERSION}/composite/sobjects", token,
                  {"allOrNone": False, "records": [{"attributes": {"type": crm.record_object}, "id": r, "OwnerId": o}
                                                   for r, o in owners.items()]},
                  headers={"Sforce-Auto-Assign": "FALSE"})
    results = answer if isinstance(answer, list) else []
    refused = {}
    for record_id, result in zip(owners, results):
        if isinstance(result, dict) and not result.get("success"):
            errors = result.get("errors") or [{}]
            refused[record_id] = str(errors[0].get("message") or errors[0].get("statusCode") or "refused")[:200]
    return refused


def owners(crm, token: str) -> list[tuple[str, str]]:
    out, url = [], f"{crm.api}/services/data/{VERSION}/query?q={quote(OWNERS)}"
    while url:
        page = call("GET", url, token)
        out += [(r["Id"], r.get("Email") or "") for r in page.get("records", []) if "Id" in r]
        url = f"{crm.api}{page['nextRecordsUrl']}" if page.get("nextRecordsUrl") else None
    return out


def _record(crm, record_id: str) -> str:
    return f"{crm.api}/services/data/{VERSION}/sobjects/{quote(crm.record_object, safe='')}/{quote(record_id, safe='')}"
