"""The web pages' side of `serve` in Starlette's words: the endpoints, the rendering of a
`pages.Page` through Jinja2 templates, the session cookie and the headers every page carries.
(What a page shows and does is in `pages.py`.)"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl

from .pages import Page, Visit
from .service import MAX_BODY, Service
from .session import COOKIE, SESSION_SECONDS

TEMPLATES = Path(__file__).with_name("templates")
# No script, no outside fonts, styles or frames: the pages work offline and nothing else runs in them.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;"
                               " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def wants_page(request) -> bool:
    """A browser's request (no bearer token): a page; an API client's: JSON."""
    headers = request.headers
    if "authorization" in headers:
        return False
    if request.method == "POST":
        return headers.get("content-type", "").split(";")[0].strip().lower() == "application/x-www-form-urlencoded"
    return COOKIE in request.cookies or "text/html" in headers.get("accept", "")


class Pages:
    """The page endpoints over one Service."""

    def __init__(self, service: Service):
        from starlette.templating import Jinja2Templates

        self.service = service
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.templates.env.trim_blocks = self.templates.env.lstrip_blocks = True  # no blank lines per row

    def render(self, request, page: Page):
        from starlette.responses import RedirectResponse

        if page.template is None:
            response = RedirectResponse(page.location or "/inbox", status_code=page.status)
        else:
            context = {"me": None, **page.context}
            response = self.templates.TemplateResponse(request, page.template, context, status_code=page.status)
        response.headers.update(HEADERS)
        if page.cookie == "":
            response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
        elif page.cookie:
            secure = self._base_url().startswith("https://")
            response.set_cookie(COOKIE, page.cookie, max_age=SESSION_SECONDS, path="/", httponly=True,
                                samesite="lax", secure=secure)
        return response

    def _base_url(self) -> str:
        from ..errors import LeadctlError

        try:
            cfg, _ = self.service.config()
            return cfg.base_url or ""
        except LeadctlError:  # the config cannot be read: no https to insist on
            return ""

    async def _in_thread(self, fn, *args):
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(fn, *args)

    async def _visit_then(self, request, then):
        """Run `then(visit)` for a signed-in request, else show why not (401)."""
        from . import pages

        def work():
            v = pages.visit(self.service, request.cookies.get(COOKIE), _now())
            if isinstance(v, Page):
                return v, "web"
            return then(v), f"web:{v.user.id}"

        page, request.state.token = await self._in_thread(work)  # (who, for the log line)
        return self.render(request, page)

    # -- endpoints -----------------------------------------------------------------------
    async def home(self, request):
        return self.render(request, Page(303, None, location="/inbox"))

    async def sign_in(self, request):
        from . import pages

        if request.method == "HEAD":  # a mail scanner's look at the link: it uses nothing
            return self.render(request, Page(200, "message.html", {"title": "Sign in", "message": ""}))
        page = await self._in_thread(pages.sign_in, self.service, request.path_params["secret"], _now())
        request.state.token = "web"
        return self.render(request, page)

    async def sign_out(self, request):
        from . import pages

        form = await _form(request)
        return await self._visit_then(request, lambda v: pages.sign_out(self.service, v, form, _now()))

    async def signed_out(self, request):
        return self.render(request, Page(200, "message.html", {"title": "Signed out",
                                                                "message": "You are signed out. Use a new sign-in link to come back."}))

    async def inbox(self, request):
        from . import pages

        page = pages.page_number(request.query_params.get("page"))
        return await self._visit_then(request, lambda v: pages.inbox(v, _now(), page))

    async def pickup(self, request):
        from . import pages

        return await self._visit_then(request, lambda v: pages.pickup_list(v, _now()))

    async def team(self, request):
        from . import pages

        days, done = request.query_params.get("days"), request.query_params.get("done")
        return await self._visit_then(request, lambda v: pages.team(v, _now(), days, done))

    def team_action(self, name: str):
        """POST /team/away, /team/away/{n}/end, /team/member: `team_actions`."""
        async def endpoint(request):
            from . import pages, team_actions

            form = await _form(request)
            if form is None:
                return self.render(request, pages._plain(413, "Too big", "That form was too big."))
            if name == "away":
                act = lambda v: team_actions.away(self.service, v, form, _now())  # noqa: E731
            elif name == "end":
                act = lambda v: team_actions.end_away(self.service, v, request.path_params["n"], form, _now())  # noqa: E731
            else:
                act = lambda v: team_actions.member(self.service, v, form, _now())  # noqa: E731
            return await self._visit_then(request, act)
        return endpoint

    async def queue(self, request):
        from .queue_page import queue

        done = request.query_params.get("done")
        return await self._visit_then(request, lambda v: queue(v, _now(), done))

    async def reports(self, request):
        from .reports_page import reports

        days = request.query_params.get("days")
        return await self._visit_then(request, lambda v: reports(v, _now(), days))

    async def reports_refresh(self, request):
        from . import pages
        from .reports_page import refresh

        form = await _form(request)
        if form is None:
            return self.render(request, pages._plain(413, "Too big", "That form was too big."))
        return await self._visit_then(request, lambda v: refresh(v, form, _now()))

    async def lead(self, request):
        from . import pages

        done = request.query_params.get("done")
        return await self._visit_then(request, lambda v: pages.lead_page(v, request.path_params["lead_id"],
                                                                         done=done[:100] if done else None))

    def action(self, name: str):
        async def endpoint(request):
            from . import pages

            form = await _form(request)
            if form is None:
                return self.render(request, pages._plain(413, "Too big", "That form was too big."))
            return await self._visit_then(request, lambda v: pages.lead_action(
                self.service, v, request.path_params["lead_id"], name, form, _now()))
        return endpoint


def _now() -> datetime:
    return datetime.now().astimezone()


async def _form(request) -> dict | None:
    """A urlencoded form (the pages post nothing else), the last value of each name; None when
    it is over the body limit."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    try:
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=50))
    except ValueError:  # too many fields: no form of ours
        return {}


__all__ = ["Pages", "Visit", "wants_page"]
