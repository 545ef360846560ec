"""POST /crm/NAME/webhook: a CRM tells of a new record, which is routed as any lead (the same
Router, rotation and caps) and whose owner is written back (queued as every change of holder
is). HubSpot: the v3 signature, each `*.creation` event's record read from HubSpot. Pipedrive:
HTTP basic auth with the secret as password, the `added`/`create` event's record. Salesforce
(a Flow's HTTP callout) and Sell: a JSON record, signed as `POST /leads` is. A bad signature is
401, a body that is not the CRM's 400, never a 200 that stores nothing; a repeated event routes
nothing again (the record's id is the lead's id)."""

from __future__ import annotations

import os
import random
import time
from datetime import datetime

from .service import Answer, Service


def crm_request(service: Service, name: str, body: bytes, headers: dict, uri: str) -> Answer:
    from ..actor import Actor
    from ..assign.route import Router
    from ..crm import VENDORS
    from ..crm.http import Refused, Wait
    from ..crm.webhooks import BadSignature, Unreadable, check_basic, check_hubspot, hubspot_created, pipedrive_created
    from ..errors import LeadctlError
    from ..intake import Record
    from ..render import err

    try:
        cfg, _ = service.config()
        ledger = service.ledger(cfg)
    except LeadctlError as exc:
        err(f"the config or the ledger cannot be used: {exc}")
        return Answer(503, {"error": "the service cannot take requests right now; retry"})
    crm = next((c for c in cfg.crms if c.name == name), None)
    if crm is None:
        return Answer(404, {"error": f"no CRM webhook here for '{name[:60]}'"})
    if crm.kind in ("salesforce", "sell"):  # a JSON record (a Flow's callout), signed as POST /leads is
        from .intake import route_request

        return route_request(service, body, {**headers, "content-type": "application/json"}, {})
    secret = os.environ.get(crm.secret_env) if crm.secret_env else None
    if not secret:
        err(f"crm '{name}': a webhook came, but no signing secret is set (crm add --secret-env VAR)")
        return Answer(401, {"error": "the webhook's signature cannot be checked"})
    if crm.kind == "pipedrive":
        try:
            check_basic(secret, headers.get("authorization"))
            fields = pipedrive_created(body)
        except BadSignature as exc:
            return Answer(401, {"error": str(exc)}, token=f"crm:{name}")
        except Unreadable as exc:
            return Answer(400, {"error": str(exc)}, token=f"crm:{name}")
        if fields is None:
            return Answer(400, {"error": "not an added or create event"}, token=f"crm:{name}")
        records = [Record(1, fields)]
    else:
        base = cfg.base_url.rstrip("/") if cfg.base_url else None
        full = f"{base}{uri[uri.index('/crm/'):]}" if base else uri  # as HubSpot called it, behind a proxy too
        try:
            check_hubspot(secret, "POST", full, body, headers.get("x-hubspot-signature-v3"),
                          headers.get("x-hubspot-request-timestamp"), int(time.time() * 1000))
            created = hubspot_created(body)
        except BadSignature as exc:
            return Answer(401, {"error": str(exc)}, token=f"crm:{name}")
        except Unreadable as exc:
            return Answer(400, {"error": str(exc)}, token=f"crm:{name}")
        if not created:
            return Answer(400, {"error": "no *.creation event in the request"}, token=f"crm:{name}")
        token = os.environ.get(crm.token_variable)
        if not token:
            err(f"crm '{name}': no token in ${crm.token_variable} to read the new records with")
            return Answer(503, {"error": "the CRM cannot be read right now; retry"}, token=f"crm:{name}")
        try:
            records = [Record(i + 1, VENDORS["hubspot"].record(crm, token, object_id))
                       for i, object_id in enumerate(created)]
        except (Wait, Refused) as exc:
            return Answer(503, {"error": f"cannot read the new records from {name}: {exc}"}, token=f"crm:{name}")
    with service.writing:
        router = Router(lambda: cfg, ledger, clock=lambda: datetime.now().astimezone(), rng=random.Random(),
                        actor=Actor(f"crm:{name}", "serve", token=f"crm:{name}"))
        outcomes = [o for batch in router.route_batches(records) for o in batch]
    if any(o.assigned_to for o in outcomes):
        service.routed.set()  # notifications and owner writes go out at once
    return Answer(200, {"outcomes": [o.as_dict() for o in outcomes]}, token=f"crm:{name}")
