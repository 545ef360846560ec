"""Local stand-ins for the CRMs' APIs, each speaking exactly the requests and answers its vendor
documents (paths, methods, headers, bodies, status codes), on a free loopback port, always
stopped by the fixture that starts it. One class per vendor, with the documentation it follows.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.ports import free_port


class _Fake:
    """What the stand-ins share: a loopback server, a request log, the token checked; each vendor
    says how it refuses (`unauthorized`) and answers (`handle`)."""

    def __init__(self, token: str):
        self.token = token
        self.log: list[tuple[str, str, dict | None, dict]] = []  # (method, path, body, headers)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, status: int, body=None, headers: dict | None = None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.log.append((method, url.path, body, dict(self.headers)))
                if not fake.authorized(self.headers, url):
                    return fake.unauthorized(self)
                return fake.handle(self, method, url, body)

            def do_GET(self):
                self._handle("GET")

            def do_PATCH(self):
                self._handle("PATCH")

            def do_PUT(self):
                self._handle("PUT")

            def do_POST(self):
                self._handle("POST")

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def authorized(self, headers, url) -> bool:
        return headers.get("Authorization") == f"Bearer {self.token}"

    def writes(self, record: str) -> list:
        return [b for m, p, b, _ in self.log if m in ("PATCH", "PUT") and p.endswith(f"/{record}")]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HubSpot(_Fake):
    """HubSpot CRM v3 (https://developers.hubspot.com/docs/api/crm/contacts and
    https://developers.hubspot.com/docs/api/crm/owners): GET and PATCH
    /crm/v3/objects/{object}/{id} with `properties.hubspot_owner_id`; POST
    /crm/v3/objects/{object}/batch/read (`{"properties", "inputs": [{"id"}]}`: 200, or 207 with
    `errors[].context.ids` for those not found) and .../batch/update (`{"inputs": [{"id",
    "properties"}]}`), up to 100 inputs (more: 400); GET /crm/v3/owners paged by
    `paging.next.after`; a private app token as `Authorization: Bearer`; errors as
    `{"status": "error", "message": ..., "category": ...}`; 429 with Retry-After."""

    def __init__(self, token: str, owners: dict[str, str] | None = None):
        super().__init__(token)
        self.records: dict[str, str | None] = {}  # contact id -> hubspot_owner_id
        self.properties: dict[str, dict[str, str]] = {}  # contact id -> its other properties
        self.owners = owners or {}  # owner id -> email
        self.fail: list[tuple[int, dict]] = []  # the next answers instead: (status, headers)

    @staticmethod
    def error(h, status: int, message: str, category: str, headers: dict | None = None):
        h.answer(status, {"status": "error", "message": message, "category": category,
                          "correlationId": "5b0e0b5c-0000-0000-0000-000000000000"}, headers)

    def unauthorized(self, h):
        self.error(h, 401, "Authentication credentials not found. This API supports OAuth 2.0 authentication and"
                           " you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                   "INVALID_AUTHENTICATION")

    def handle(self, h, method, url, body):
        if self.fail:
            status, headers = self.fail.pop(0)
            return self.error(h, status, "You have reached your secondly limit.", "RATE_LIMITS", headers)
        parts = url.path.strip("/").split("/")
        if parts[:3] == ["crm", "v3", "owners"] and method == "GET":
            owners = sorted(self.owners.items())
            after = int(parse_qs(url.query).get("after", ["0"])[0])
            page = owners[after:after + 1]  # one a page: the paging is used
            more = {"paging": {"next": {"after": str(after + 1)}}} if after + 1 < len(owners) else {}
            return h.answer(200, {"results": [{"id": i, "email": e, "userId": 900 + n}
                                              for n, (i, e) in enumerate(page)], **more})
        if parts[:4] == ["crm", "v3", "objects", "contacts"] and parts[4:5] == ["batch"] and method == "POST":
            return self.batch(h, parts[5], body)
        if parts[:4] == ["crm", "v3", "objects", "contacts"] and len(parts) == 5:
            record = parts[4]
            if record not in self.records:
                return self.error(h, 404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND")
            if method == "PATCH":
                self.records[record] = body["properties"]["hubspot_owner_id"] or None
            return h.answer(200, {"id": record, "properties": {
                **self.properties.get(record, {}), "hs_object_id": record,
                "hubspot_owner_id": self.records[record]}, "archived": False})
        return self.error(h, 404, "Not found", "NOT_FOUND")

    def batch(self, h, action: str, body: dict):
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return self.error(h, 400, "Batch input must be at most 100 items", "VALIDATION_ERROR")
        missing = [i["id"] for i in inputs if i["id"] not in self.records]
        if action == "update":
            if missing:  # a batch update is taken whole or refused whole
                return self.error(h, 404, f"Object not found. objectId: {missing[0]}", "OBJECT_NOT_FOUND")
            for i in inputs:
                self.records[i["id"]] = i["properties"]["hubspot_owner_id"] or None
        elif action != "read":
            return self.error(h, 404, "Not found", "NOT_FOUND")
        results = [{"id": i["id"], "properties": {"hs_object_id": i["id"], "hubspot_owner_id": self.records[i["id"]]},
                    "archived": False} for i in inputs if i["id"] in self.records]
        answer = {"status": "COMPLETE", "results": results, "startedAt": "2026-12-07T10:00:00Z",
                  "completedAt": "2026-12-07T10:00:01Z"}
        if missing:
            answer |= {"numErrors": 1, "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND",
                                                   "message": "Could not get some CONTACT objects, they may be"
                                                              " deleted or not exist.", "context": {"ids": missing}}]}
        return h.answer(207 if missing else 200, answer)

    def writes(self, record: str) -> list[str | None]:
        """The owners written to a record (one at a time, or in a batch), in order."""
        out = []
        for m, p, b, _ in self.log:
            if m == "PATCH" and p.endswith(f"/{record}"):
                out.append(b["properties"]["hubspot_owner_id"])
            elif m == "POST" and p.endswith("/batch/update"):
                out += [i["properties"]["hubspot_owner_id"] for i in b["inputs"] if i["id"] == record]
        return out

    def calls(self, path_end: str) -> int:
        return sum(1 for _, p, _, _ in self.log if p.endswith(path_end))


class Pipedrive(_Fake):
    """Pipedrive API v1 (https://developers.pipedrive.com/docs/api/v1/Leads and /Users): GET and
    PATCH /api/v1/leads/{id} with `owner_id` (a number), GET /api/v1/users; a personal API token
    as the `api_token` query parameter (or an OAuth bearer token); every answer
    `{"success": ..., "data": ...}`, errors `{"success": false, "error": ..., "errorCode": N}`."""

    def __init__(self, token: str, users: dict[int, str] | None = None):
        super().__init__(token)
        self.leads: dict[str, int | None] = {}  # lead id -> owner_id
        self.users = users or {}

    def authorized(self, headers, url) -> bool:
        return (parse_qs(url.query).get("api_token", [None])[0] == self.token
                or headers.get("Authorization") == f"Bearer {self.token}")

    def unauthorized(self, h):
        h.answer(401, {"success": False, "error": "unauthorized access", "errorCode": 401,
                       "error_info": "Please check developers.pipedrive.com"})

    def handle(self, h, method, url, body):
        parts = url.path.strip("/").split("/")
        if parts == ["api", "v1", "users"] and method == "GET":
            return h.answer(200, {"success": True, "data": [
                {"id": i, "email": e, "name": e.split("@")[0], "active_flag": True} for i, e in self.users.items()]})
        if parts[:3] == ["api", "v1", "leads"] and len(parts) == 4:
            lead = parts[3]
            if lead not in self.leads:
                return h.answer(404, {"success": False, "error": "Lead not found", "errorCode": 404})
            if method == "PATCH":
                self.leads[lead] = body["owner_id"]
            return h.answer(200, {"success": True, "data": {"id": lead, "title": "Lead", "owner_id": self.leads[lead]}})
        return h.answer(404, {"success": False, "error": "Not found", "errorCode": 404})

    def writes(self, lead: str) -> list[int]:
        return [b["owner_id"] for b in super().writes(lead)]


class Salesforce(_Fake):
    """Salesforce REST API v60.0 (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
    resources_sobject_retrieve.htm, dome_update_fields.htm, resources_query.htm,
    resources_composite_sobjects_collections_retrieve_post.htm,
    resources_composite_sobjects_collections_update.htm): GET
    /services/data/v60.0/sobjects/Lead/{id}?fields=OwnerId; PATCH with {"OwnerId"} answers 204;
    POST /services/data/v60.0/composite/sobjects/Lead with {"ids", "fields"} → a list in the
    order asked, null for a record not found; PATCH /services/data/v60.0/composite/sobjects with
    {"allOrNone": false, "records": [{"attributes": {"type"}, "id", ...}]} (at most 200) → a
    SaveResult {"id", "success", "errors"} each; GET /services/data/v60.0/query?q=SOQL →
    {"totalSize", "done", "records": [...]}; errors [{"message", "errorCode"}]; every answer
    says `Sforce-Limit-Info: api-usage=USED/LIMIT`, and over the limit a call is 403
    REQUEST_LIMIT_EXCEEDED."""

    def __init__(self, token: str, users: dict[str, str] | None = None):
        super().__init__(token)
        self.records: dict[str, str] = {}  # Lead id -> OwnerId
        self.users = users or {}
        self.used, self.limit = 0, 15000

    def unauthorized(self, h):
        h.answer(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])

    def handle(self, h, method, url, body):
        self.used += 1
        answer = h.answer
        h.answer = lambda status, body=None, headers=None: answer(
            status, body, {**(headers or {}), "Sforce-Limit-Info": f"api-usage={self.used}/{self.limit}"})
        if self.used > self.limit:
            return h.answer(403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        parts = url.path.strip("/").split("/")
        if parts[:5] == ["services", "data", "v60.0", "composite", "sobjects"]:
            return self.collection(h, method, parts[5:], body)
        if parts[:4] == ["services", "data", "v60.0", "query"]:
            return h.answer(200, {"totalSize": len(self.users), "done": True, "records": [
                {"attributes": {"type": "User"}, "Id": i, "Email": e} for i, e in self.users.items()]})
        if parts[:5] == ["services", "data", "v60.0", "sobjects", "Lead"] and len(parts) == 6:
            record = parts[5]
            if record not in self.records:
                return h.answer(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
            if method == "PATCH":
                self.records[record] = body["OwnerId"]
                return h.answer(204)
            return h.answer(200, {"attributes": {"type": "Lead"}, "Id": record, "OwnerId": self.records[record]})
        return h.answer(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])

    def collection(self, h, method, rest, body):
        if method == "POST" and rest == ["Lead"]:
            return h.answer(200, [{"attributes": {"type": "Lead"}, "Id": i, "OwnerId": self.records[i]}
                                  if i in self.records else None for i in body["ids"]])
        if method == "PATCH" and not rest:
            if len(body["records"]) > 200:
                return h.answer(400, [{"errorCode": "EXCEEDED_ID_LIMIT", "message": "record limit reached. cannot submit more than 200 records into this call"}])
            results = []
            for record in body["records"]:
                if record["id"] in self.records:
                    self.records[record["id"]] = record["OwnerId"]
                    results.append({"id": record["id"], "success": True, "errors": []})
                else:
                    results.append({"success": False, "errors": [{"statusCode": "ENTITY_IS_DELETED",
                                                                  "message": "entity is deleted", "fields": []}]})
            return h.answer(200, results)
        return h.answer(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])

    def writes(self, record: str) -> list:
        """The owners written to a record (one at a time, or in a collection), in order."""
        out = []
        for m, p, b, _ in self.log:
            if m == "PATCH" and p.endswith(f"/{record}"):
                out.append(b)
            elif m == "PATCH" and p.endswith("/composite/sobjects"):
                out += [{"OwnerId": r["OwnerId"]} for r in b["records"] if r["id"] == record]
        return out


class Sell(_Fake):
    """Zendesk Sell Core API v2 (https://developer.zendesk.com/api-reference/sales-crm/resources/leads/,
    .../users/): GET /v2/leads/{id} → {"data": {..., "owner_id"}, "meta": {"type": "lead"}}; PUT with
    {"data": {"owner_id": N}}; GET /v2/users → {"items": [{"data": {...}, "meta": {...}}]}; errors
    {"errors": [{"error": {"code", "message"}}]}."""

    def __init__(self, token: str, users: dict[int, str] | None = None):
        super().__init__(token)
        self.records: dict[str, int] = {}
        self.users = users or {}

    def unauthorized(self, h):
        h.answer(401, {"errors": [{"error": {"code": "unauthorized", "message": "Invalid access token"}}]})

    def handle(self, h, method, url, body):
        parts = url.path.strip("/").split("/")
        if parts == ["v2", "users"]:
            return h.answer(200, {"items": [{"data": {"id": i, "email": e}, "meta": {"type": "user"}}
                                            for i, e in self.users.items()], "meta": {"type": "collection"}})
        if parts[:2] == ["v2", "leads"] and len(parts) == 3:
            record = parts[2]
            if record not in self.records:
                return h.answer(404, {"errors": [{"error": {"code": "not_found", "message": "Resource not found"}}]})
            if method == "PUT":
                self.records[record] = body["data"]["owner_id"]
            return h.answer(200, {"data": {"id": int(record), "owner_id": self.records[record]}, "meta": {"type": "lead"}})
        return h.answer(404, {"errors": [{"error": {"code": "not_found", "message": "Resource not found"}}]})
