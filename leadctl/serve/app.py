"""The ASGI app of `serve`: its routes, the log line of every answer, the background sender
of notifications, and the run (until SIGINT or SIGTERM)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from ..config.ladder import steps_of
from ..errors import LeadctlError
from . import rep
from .rep import my_leads, my_quota, pick_up
from .logs import Lines, json_log_line, log_line  # noqa: F401  (log_line: a name serve's package gives)
from .service import MAX_BODY, RETRY_AFTER, UNAVAILABLE, Answer, Service


def health(service: Service) -> Answer:
    """GET /healthz: whether requests can be served; why not goes to the log, not the answer."""
    from ..render import err

    try:
        cfg, problem = service.config()
        if problem:
            err(f"healthz: the config cannot be used: {problem}")
            return Answer(503, {"ok": False, "error": "the config cannot be used (see the server's log)"})
        service.ledger(cfg)
    except LeadctlError as exc:
        err(f"healthz: {exc}")
        return Answer(503, {"ok": False, "error": "the config or the ledger cannot be used (see the server's log)"})
    return Answer(200, {"ok": True})


def create_app(service: Service, max_body: int = MAX_BODY, *, log_format: str = "text",
               metrics_token: str | None = None):
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import ClientDisconnect
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from .group_commit import GroupCommit

    intake = GroupCommit(service)  # POST /leads: requests that come together, routed together

    def respond(request, answer: Answer) -> JSONResponse:
        request.state.token = answer.token  # for the log line, written by `logged` below
        request.state.counts = answer.counts
        headers = {"Retry-After": RETRY_AFTER} if answer.status == 503 else None
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)

    async def read_body(request) -> bytes | Answer:
        """The body within the size limit, else the Answer that refuses it."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body:
            return Answer(413, {"error": f"the body is over {max_body} bytes"})
        body = bytearray()
        try:
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    return Answer(413, {"error": f"the body is over {max_body} bytes"})
        except ClientDisconnect:  # the sender went away mid-body: nothing was read, nothing kept
            return Answer(400, {"error": "the body did not arrive whole"}, "client went away")
        return bytes(body)

    async def post_leads(request):
        body = await read_body(request)
        if isinstance(body, Answer):
            return respond(request, body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        return respond(request, await intake.route(body, headers, dict(request.query_params)))

    async def post_crm_webhook(request):
        from .crm import crm_request

        body = await read_body(request)
        if isinstance(body, Answer):
            return respond(request, body)
        return respond(request, await run_in_threadpool(crm_request, service, request.path_params["name"], body,
                                                        lower(request), str(request.url)))

    async def get_health(request):
        return respond(request, await run_in_threadpool(health, service))

    def lower(request) -> dict:
        return {k.lower(): v for k, v in request.headers.items()}

    async def get_my_leads(request):
        return respond(request, await run_in_threadpool(my_leads, service, lower(request), dict(request.query_params)))

    async def get_my_quota(request):
        return respond(request, await run_in_threadpool(my_quota, service, lower(request)))

    async def post_pickup(request):
        lead_id = request.path_params["lead_id"]
        return respond(request, await run_in_threadpool(pick_up, service, lower(request), lead_id))

    def lead_change(action):
        async def endpoint(request):
            body = await read_body(request)
            if isinstance(body, Answer):
                return respond(request, body)
            return respond(request, await run_in_threadpool(
                action, service, lower(request), request.path_params["lead_id"], body))
        return endpoint

    async def get_lead(request):
        return respond(request, await run_in_threadpool(rep.lead, service, lower(request), request.path_params["lead_id"]))

    async def get_pools(request):
        return respond(request, await run_in_threadpool(rep.pools, service, lower(request)))

    from .web import Pages, wants_page

    pages = Pages(service)

    async def not_here(request, exc):  # the router's own 404 and 405: JSON like every answer, a page for a browser
        if wants_page(request):
            from .pages import Page

            title = "No such page" if exc.status_code == 404 else "Not allowed"
            return pages.render(request, Page(exc.status_code, "message.html", {
                "title": title, "message": "There is no such page here: go to your leads at /inbox."
                if exc.status_code == 404 else f"{request.method} is not allowed here."}))
        words = {404: "no such endpoint (POST /leads, GET /me/leads, GET /me/quota, GET /leads/ID, GET /pools,"
                      " POST /leads/ID/pickup, /reassign or /release, GET /healthz)", 405: f"{request.method} is not allowed here"}
        return JSONResponse({"error": words.get(exc.status_code, exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    async def crashed(request, exc):  # a bug: the log has the traceback, the caller one plain line
        from ..ledger.errors import store_failed

        if store_failed(exc):  # the ledger went away (a PostgreSQL restart, a full disk): 503, retry
            from ..render import err

            err(f"the ledger cannot be used: {exc}")
            if wants_page(request):
                from .pages import Page

                response = pages.render(request, Page(503, "message.html", {
                    "title": "Unavailable", "message": "The service cannot show pages right now; try again in a moment."}))
                response.headers["Retry-After"] = RETRY_AFTER
                return response
            return JSONResponse({"error": UNAVAILABLE}, status_code=503, headers={"Retry-After": RETRY_AFTER})
        if wants_page(request):
            from .pages import Page

            return pages.render(request, Page(500, "message.html", {
                "title": "Something went wrong", "message": "The server could not answer this request; its log says"
                " more. Try again, or tell your admin."}))
        return JSONResponse({"error": "the server failed (see its log)"}, status_code=500)

    def page_or_api(page, api):
        """One address for both: a browser gets the page, a client with a token the API."""
        async def endpoint(request):
            return await (page(request) if wants_page(request) else api(request))
        return endpoint

    async def no_icon(request):  # a browser's own request: nothing to show, and no 404 in the log
        from starlette.responses import Response

        return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})

    from .metrics import Metrics

    metrics = Metrics(service, metrics_token)

    async def get_metrics(request):
        from starlette.responses import Response

        refused = metrics.refusal(request.scope)
        if refused:
            return JSONResponse({"error": "a metrics token is needed" if refused == 401 else
                                 "metrics are for this machine's clients (or set --metrics-token-env)"},
                                status_code=refused, headers={"WWW-Authenticate": "Bearer"} if refused == 401 else None)
        body, kind = await run_in_threadpool(metrics.page)
        return Response(body, media_type=kind)

    async def no_api(request):  # a page's action with no API of its own: the router's 404
        from starlette.exceptions import HTTPException

        raise HTTPException(404)

    app = Starlette(exception_handlers={404: not_here, 405: not_here, Exception: crashed}, routes=[
        Route("/leads", post_leads, methods=["POST"]),  # (served by `fast_leads` below; here for 405s)
        Route("/crm/{name}/webhook", post_crm_webhook, methods=["POST"]),
        Route("/leads/{lead_id:path}/pickup", page_or_api(pages.action("pickup"), post_pickup), methods=["POST"]),
        Route("/leads/{lead_id:path}/reassign", page_or_api(pages.action("reassign"), lead_change(rep.reassign)),
              methods=["POST"]),
        Route("/leads/{lead_id:path}/release", page_or_api(pages.action("release"), lead_change(rep.release)),
              methods=["POST"]),
        Route("/leads/{lead_id:path}/accept", page_or_api(pages.action("accept"), lead_change(rep.accept)),
              methods=["POST"]),
        Route("/leads/{lead_id:path}/status", page_or_api(pages.action("status"), lead_change(rep.status)),
              methods=["POST"]),
        Route("/leads/{lead_id:path}/convert", page_or_api(pages.action("convert"), no_api), methods=["POST"]),
        Route("/leads/{lead_id:path}", page_or_api(pages.lead, get_lead), methods=["GET"]),
        Route("/pools", get_pools, methods=["GET"]),
        Route("/me/leads", get_my_leads, methods=["GET"]),
        Route("/me/quota", get_my_quota, methods=["GET"]),
        Route("/healthz", get_health, methods=["GET"]),
        Route("/metrics", get_metrics, methods=["GET"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
        # the web pages (browsers, signed in with a one-time link)
        Route("/", pages.home, methods=["GET"]),
        Route("/signin/{secret}", pages.sign_in, methods=["GET"]),
        Route("/signout", pages.sign_out, methods=["POST"]),
        Route("/signed-out", pages.signed_out, methods=["GET"]),
        Route("/inbox", pages.inbox, methods=["GET"]),
        Route("/pickup", pages.pickup, methods=["GET"]),
        Route("/team", pages.team, methods=["GET"]),
        Route("/reports", pages.reports, methods=["GET"]),
        Route("/reports", pages.reports_refresh, methods=["POST"]),
        Route("/queue", pages.queue, methods=["GET"]),
        Route("/team/away", pages.team_action("away"), methods=["POST"]),
        Route("/team/away/{n}/end", pages.team_action("end"), methods=["POST"]),
        Route("/team/member", pages.team_action("member"), methods=["POST"]),
    ])

    line = json_log_line if log_format == "json" else log_line
    log = Lines()
    fast_leads = intake.asgi(max_body)

    async def logged(scope, receive, send):
        """Every answer is logged and measured, the router's own 404 and 405 included."""
        if scope["type"] != "http":
            try:
                return await app(scope, receive, send)
            finally:
                log.write()  # (the lifespan's ends as the server stops: no line left unwritten)
        started = time.perf_counter()
        status = [500]

        async def send_logged(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            if scope["path"] == "/leads" and scope["method"] == "POST":
                await fast_leads(scope, receive, send_logged)  # the hot path, straight to the intake
            else:
                await app(scope, receive, send_logged)
        finally:
            took = time.perf_counter() - started
            state = scope.get("state") or {}
            client = scope.get("client")
            metrics.observe(scope, status[0], took, state.get("counts", ""))
            log.add(line(datetime.now(service.zone()), client[0] if client else "-", scope.get("method", "?"),
                         scope.get("path", ""), status[0], took * 1000, state.get("token"), state.get("counts", "")))

    return logged


NOTIFY_EVERY = 2.0  # seconds between two looks at the outbox while serving (at once after an assignment here)


DRAIN_EVERY = 60.0  # seconds between two drains of the queues while serving (and after each config change)
TICK_EVERY = 30.0  # seconds between two SLA checks while serving


def _tick(service: Service, cfg) -> None:
    """Run the SLA ladders' steps due now (`leadctl tick`'s SLA part), taking its turn."""
    import random

    from ..actor import Actor
    from ..render import err
    from ..assign.sla import summary, tick

    with service.writing:
        steps = tick(cfg, service.ledger(cfg), datetime.now().astimezone(), random.Random(), actor=Actor("serve", "serve"))
    if steps:
        err(f"sla: {summary(steps)}")


def _drain(service: Service, cfg) -> None:
    """Hand out queued leads as capacity allows now (`leadctl drain`), taking its turn."""
    import random

    from ..actor import Actor
    from ..assign.drain import drain
    from ..render import err

    with service.writing:
        out, left = drain(cfg, service.ledger(cfg), datetime.now().astimezone(), random.Random(),
                          actor=Actor("serve", "serve"))
    if out:
        err(f"queue: drained {len(out)} lead(s); {left} still queued")


def _deliver_forever(service: Service) -> None:
    """`serve` tells the reps as it goes: the outbox is emptied as soon as a request here
    assigned a lead, and every few seconds (for leads routed elsewhere and for retries), by a
    thread with its own connection that takes its turn with the request threads. The same
    thread drains the queues at least once a minute, and at once after a config change (a cap
    raised, a member added, someone back)."""
    import os

    from ..notify import send_due
    from ..render import err

    password = os.environ.get("LEADCTL_SMTP_PASSWORD")
    drained_at, drained_for, ticked_at = 0.0, None, 0.0
    said: set[str] = set()  # what stops a CRM as a whole, said once
    while True:
        service.routed.wait(NOTIFY_EVERY)
        service.routed.clear()
        try:
            cfg, _ = service.config()
            if any(g.queue for g in cfg.groups) and (
                    cfg is not drained_for or time.monotonic() - drained_at >= DRAIN_EVERY):
                drained_at, drained_for = time.monotonic(), cfg
                _drain(service, cfg)
            if any(steps_of(g) or g.sla.accept_within for g in cfg.groups) and time.monotonic() - ticked_at >= TICK_EVERY:
                ticked_at = time.monotonic()
                _tick(service, cfg)
        except Exception as exc:  # a locked or broken ledger: try again next round
            err(f"queue or sla: {exc}")
        try:
            counts = send_due(cfg, service.ledger(cfg), datetime.now().astimezone(), password=password,
                              turn=lambda: service.writing)
        except Exception as exc:  # a locked or broken ledger: try again next round
            err(f"notifications: {exc}")
            continue
        if counts:
            err("notifications: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        if cfg.crms:
            _push_owners(service, cfg, said)


def _push_owners(service: Service, cfg, said: set[str]) -> None:
    """The owner writes owed to the CRMs, delivered as `crm push` does (a failure is said, and
    the next round tries again); what stops a CRM as a whole is said once."""
    from ..crm import push
    from ..render import err

    def say(message: str) -> None:
        if message not in said:
            said.add(message)
            err(message)

    try:
        counts = push(cfg, service.ledger(cfg), datetime.now().astimezone(), say=say)
    except Exception as exc:  # a locked or broken ledger: try again next round
        err(f"owner writes: {exc}")
        return
    if counts:
        err("owner writes: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))


def run(service: Service, host: str, port: int, max_body: int, *, log_format: str = "text",
        metrics_token: str | None = None, forwarded_allow_ips: str | None = None) -> None:
    """Serve until SIGINT or SIGTERM: then stop taking connections, let the requests in
    flight finish (each commits or rolls back whole), and return."""
    import uvicorn

    from ..render import err

    import signal
    import socket

    try:  # a port already taken or not ours to take: one line, before uvicorn's own log
        with socket.create_server((host, port), reuse_port=False):
            pass
    except OSError as exc:
        raise LeadctlError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    shown = f"[{host}]" if ":" in host else host
    err(f"leadctl serve: listening on http://{shown}:{port} (POST /leads, GET /healthz); web pages at"
        f" http://{shown}:{port}/inbox (sign in with `leadctl token link USER`)")
    # uvicorn catches SIGINT/SIGTERM, finishes the requests in flight, then raises the signal
    # again for the handler that was there before: let that be a quiet one, so a stop ends
    # with a line and exit 0 instead of a kill or a KeyboardInterrupt traceback.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    threading.Thread(target=_deliver_forever, args=(service,), name="leadctl-notify", daemon=True).start()
    uvicorn.run(create_app(service, max_body, log_format=log_format, metrics_token=metrics_token), host=host,
                port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=30,
                # the client's address from X-Forwarded-For only when the proxy it came through is named
                proxy_headers=bool(forwarded_allow_ips), forwarded_allow_ips=forwarded_allow_ips or None)
    err("leadctl serve: stopped")
