"""`leadctl serve`: the live entrance, a webhook endpoint that routes each lead as it arrives.

A thin ASGI app (starlette, run by uvicorn; imported by `serve` alone): a request
is read (within the size limit), its credentials checked against the ledger's
tokens, its body turned into records by the same intake `route` uses, and the
records routed by the same Router into the same ledger, so files, stdin and
webhooks share one rotation and one set of caps. The answer carries `route`'s
outcome fields. Each request reads the config afresh when its file changed and
opens the ledger for itself, so admin edits apply from the next request.

The rooms: service.py (what every endpoint shares: config, ledger, credentials), intake.py
(POST /leads), rep.py (a rep's own view and actions), app.py (the routes, the log, the
background sender, the run); the web pages for browsers: pages.py (what each page shows and
does), web.py (rendering, the cookie, the headers), session.py (one-time links, the session,
CSRF) and templates/.
"""

from .app import NOTIFY_EVERY, create_app, health, log_line, run
from .intake import records_from, route_request
from .service import BUSY_TIMEOUT, MAX_BODY, Answer, Service

__all__ = ["NOTIFY_EVERY", "create_app", "health", "log_line", "run", "records_from", "route_request",
           "BUSY_TIMEOUT", "MAX_BODY", "Answer", "Service"]
