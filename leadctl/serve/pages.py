"""What serve's web pages show and do, as plain functions of a request: each returns a `Page`
(a template and what it shows, or a redirect) that `app.py` renders.

Every page asks the signed-in user's rights of `rights.py`, as the command line and the API
do, and every action goes through the same library call as its command (`manual`, `convert`).
A lead the user may not see is 404, as if it were not there. Forms carry the session's CSRF
token; a post without it is 403 and changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from ..errors import LeadctlError, Refused
from .service import Service
from .session import KEY_NAME, SESSION_SECONDS, Session, cookie_value, csrf_ok, new_key, new_session, read_cookie

INBOX_ROWS = 100  # leads a page lists at most (newest first)
FAIRNESS_DAYS = (1, 7, 30, 90)  # the team chart's windows


@dataclass
class Page:
    status: int
    template: str | None  # None: a redirect to `location`
    context: dict = field(default_factory=dict)
    location: str | None = None
    cookie: str | None = None  # the session cookie to set; "" to clear it


def _plain(status: int, title: str, message: str) -> Page:
    return Page(status, "message.html", {"title": title, "message": message})


NOT_SIGNED_IN = ("Not signed in", "Ask your admin for a sign-in link (leadctl token link YOUR_ID), or run it yourself;"
                 " it works once, and signs you in for 12 hours.")


@dataclass
class Visit:
    """A signed-in request: the config, the ledger, the user and their session."""

    cfg: object
    ledger: object
    user: object
    session: Session

    @property
    def actor(self):
        from ..actor import web_actor

        return web_actor(self.user.id)


def _key(service: Service, ledger) -> str:
    keys = service.web_keys
    where = str(ledger.target)
    if where not in keys:
        keys[where] = ledger.key(KEY_NAME, new_key)
    return keys[where]


def _open(service: Service):
    """(config, ledger) for a page, or the 503 page."""
    from ..render import err

    try:
        cfg, _ = service.config()
        return cfg, service.ledger(cfg)
    except LeadctlError as exc:
        err(f"the config or the ledger cannot be used: {exc}")
        return _plain(503, "Unavailable", "The service cannot show pages right now; try again in a moment.")


def visit(service: Service, cookie: str | None, now: datetime) -> Visit | Page:
    """The signed-in user's visit, or the page that says they are not signed in (401)."""
    opened = _open(service)
    if isinstance(opened, Page):
        return opened
    cfg, ledger = opened
    from ..tokens import digest

    session = read_cookie(_key(service, ledger), cookie)
    user = next((u for u in cfg.users if session is not None and u.id == session.user), None)
    if user is None or not user.active or not ledger.session_live(digest(session.id), user.id, int(now.timestamp())):
        return _plain(401, *NOT_SIGNED_IN)  # (signed out, or the user removed or made inactive since)
    return Visit(cfg, ledger, user, session)


def sign_in(service: Service, secret: str, now: datetime) -> Page:
    """GET /signin/SECRET: a link that is known, unused and in time signs its user in (and is
    used up); any other is 410, and signs nobody in."""
    from ..tokens import digest

    opened = _open(service)
    if isinstance(opened, Page):
        return opened
    cfg, ledger = opened
    with service.writing, ledger.write():
        found = ledger.use_sign_in(digest(secret), now.isoformat(timespec="seconds"), int(now.timestamp()))
    if found is None or not any(u.id == found[0] and u.active for u in cfg.users):
        return _plain(410, "This link no longer works",
                      "A sign-in link works once, for a short time. Ask for a new one (leadctl token link YOUR_ID).")
    user, next_path = found
    session = new_session(user)
    with service.writing, ledger.write():
        ledger.add_session(digest(session.id), user, now.isoformat(timespec="seconds"),
                           int(now.timestamp()) + SESSION_SECONDS)
    return Page(303, None, location=next_path, cookie=cookie_value(_key(service, ledger), session))


def sign_out(service: Service, v: Visit, form: dict, now: datetime) -> Page:
    """POST /signout: the session ends on the server too (its cookie, replayed, signs nobody in)."""
    from ..tokens import digest

    if not csrf_ok(v.session, form.get("csrf")):
        return _forbidden_form()
    with service.writing, v.ledger.write():
        v.ledger.end_sessions(now.isoformat(timespec="seconds"), id_hash=digest(v.session.id))
    return Page(303, None, location="/signed-out", cookie="")


def _forbidden_form() -> Page:
    return _plain(403, "Refused", "This form is missing its security token (or it is out of date): reload the page"
                                  " and try again. Nothing was changed.")


def _base(v: Visit, title: str, **extra) -> dict:
    from ..domain.rights import TEAM, refusal

    return {"title": title, "me": v.user.id, "csrf": v.session.csrf,
            "team": refusal(v.cfg, v.actor, TEAM) is None, **extra}


def _age(at: str | None, now: datetime) -> str:
    """How long ago, in the largest unit: 5m, 3h, 2d."""
    if not at:
        return "-"
    try:
        seconds = (now - datetime.fromisoformat(at)).total_seconds()
    except (ValueError, TypeError):
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return "now"


def _name(fields: dict) -> str:
    """A lead's display name (as its notification says it), else its company, else empty."""
    from ..notify import lead_name

    return (lead_name(fields) or str(fields.get("company") or "").strip())[:80]


def _rows(rows, now: datetime) -> list[dict]:
    import json

    out = []
    for r in rows:
        fields = json.loads(r["fields"])
        out.append({"id": r["id"], "name": _name(fields), "status": r["status"] or "-", "source": r["source"] or "",
                    "group": r["group_name"] or "", "age": _age(r["assigned_at"] or r["received_at"], now),
                    "received_at": r["received_at"]})
    return out


MAX_PAGE = 10_000  # ?page= beyond it is the last one asked for, not an error


def page_number(text: str | None) -> int:
    """?page=N (1 and up; anything else: 1)."""
    return min(int(text), MAX_PAGE) if text and text.isascii() and text.isdigit() and int(text) >= 1 else 1


def inbox(v: Visit, now: datetime, page: int = 1) -> Page:
    """GET /inbox?page=N: my leads, newest first, INBOX_ROWS a page, with status and age."""
    found = list(v.ledger.leads(owner=v.user.id, newest=True, limit=INBOX_ROWS + 1, offset=(page - 1) * INBOX_ROWS))
    rows = _rows(found[:INBOX_ROWS], now)
    return Page(200, "inbox.html", _base(v, "My leads", leads=rows, limit=INBOX_ROWS, page=page,
                                         older=len(found) > INBOX_ROWS))


def pickup_list(v: Visit, now: datetime) -> Page:
    """GET /pickup: the unassigned leads I may pick up, newest first."""
    from ..domain.rights import pickup_denied, pickup_refusal, pickup_statuses

    why = pickup_denied(v.user)  # (then nothing is looked for: every unassigned lead would be refused)
    allowed = () if why else (r for r in v.ledger.pickable(pickup_statuses(v.cfg, v.user), newest=True)
                              if pickup_refusal(v.cfg, v.user, r) is None)
    rows = _rows(islice(allowed, INBOX_ROWS), now)
    return Page(200, "pickup.html", _base(v, "Pick up", leads=rows, why=why))


def lead_page(v: Visit, lead_id: str, *, status: int = 200, error: str | None = None, done: str | None = None) -> Page:
    """GET /leads/{id}: the lead, its history in words, and the actions my rights allow."""
    from ..domain.explain import explain
    from ..lead_view import lead_for, own_fields, public
    from ..domain.rights import REASSIGN, STATUS, pickup_refusal, refusal

    shown = lead_for(v.cfg, v.ledger, lead_id, v.user.id) if "\0" not in lead_id else None
    if shown is None:
        return _plain(404, "No such lead", "There is no lead with that id that you may see.")
    row, events = shown
    lead = public(row)
    may = {
        "accept": bool(row.get("offered")) and row["assigned_to"] == v.user.id,
        "status": refusal(v.cfg, v.actor, STATUS, for_user=row["assigned_to"]) is None and row["assigned_to"] is not None,
        "release": refusal(v.cfg, v.actor, REASSIGN) is None and row["assigned_to"] is not None,
        "reassign": refusal(v.cfg, v.actor, REASSIGN) is None,
        "pickup": row["assigned_to"] is None and pickup_refusal(v.cfg, v.user, row) is None,
        "convert": row["type"] == "lead" and "contact" not in v.ledger.conversions(row["id"])
        and refusal(v.cfg, v.actor, STATUS, for_user=row["assigned_to"]) is None,  # converting closes it
    }
    from zoneinfo import ZoneInfo

    from . import lead_display as show

    zone = ZoneInfo(v.user.timezone) if getattr(v.user, "timezone", "") else v.cfg.tz()
    now = datetime.now().astimezone()
    people = [u.id for u in v.cfg.users if u.active]
    pools = [g.name for g in v.cfg.groups if v.cfg.pool(g.name) is g]
    statuses = list(dict.fromkeys(["contacted", "no-answer", "qualified", *v.cfg.settings.closed_statuses,
                                   *([row["status"]] if row["status"] else [])]))
    return Page(status, "lead.html", _base(
        v, f"Lead {lead_id}", lead=lead, fields=show.fields(own_fields(row)), story=explain(lead, events).split("\n"),
        timeline=show.timeline(events, zone, now), received=show.when(row["received_at"], zone, now),
        may=may, people=people, pools=pools, statuses=statuses, error=error, done=done))


ACTIONS = ("accept", "status", "release", "reassign", "pickup", "convert")


def lead_action(service: Service, v: Visit, lead_id: str, action: str, form: dict, now: datetime) -> Page:
    """POST /leads/{id}/{action} from a page: the same library call as the command; back to the
    lead's page (303) when done (a hand-out from /queue: back to /queue), else the page again with why (403: a right; 404: not there or
    not to be seen; 409: the lead's state; 400: the form)."""
    from ..assign import manual
    from ..assign.convert import convert

    if not csrf_ok(v.session, form.get("csrf")):
        return _forbidden_form()
    if "\0" in lead_id or action not in ACTIONS:
        return _plain(404, "No such page", "There is no such page.")
    note = (form.get("note") or "").strip() or None
    try:
        with service.writing:
            if action == "status":
                status = (form.get("status") or "").strip()
                if status == "other":  # "other…": the text beside it
                    status = (form.get("other") or "").strip()
                    form = {**form, "status": status}
                if not status:
                    raise LeadctlError("say the new status")
                moves = manual.set_status(v.cfg, v.ledger, [lead_id], status, now, actor=v.actor, note=note)
            elif action == "release":
                moves = manual.release(v.cfg, v.ledger, [lead_id], now, actor=v.actor, note=note)
            elif action == "reassign":
                to = (form.get("to") or "").strip()
                if not to:
                    raise LeadctlError("say who or which pool gets the lead")
                moves = manual.reassign(v.cfg, v.ledger, [lead_id], now=now, rng=random.Random(), to_user=to,
                                        actor=v.actor, note=note)
            elif action == "pickup":
                moves = [manual.pickup(v.cfg, v.ledger, lead_id, v.user.id, now, actor=v.actor, note=note)]
            elif action == "accept":
                from ..assign.offers import accept

                try:
                    accept(v.cfg, v.ledger, lead_id, v.user.id, now)
                except LeadctlError as exc:
                    return lead_page(v, lead_id, status=409, error=str(exc))
                return Page(303, None, location=f"/leads/{_quote(lead_id)}?done={_quote('accepted: it is yours')}")
            else:
                done = convert(v.cfg, v.ledger, lead_id, (form.get("to") or "contact").strip(), now=now,
                               rng=random.Random(), actor=v.actor, note=note)
                return Page(303, None, location=f"/leads/{_quote(lead_id)}?done={_quote('converted to ' + done.record_id)}")
    except Refused as exc:
        if str(exc).startswith("unknown lead"):
            return _plain(404, "No such lead", "There is no lead with that id that you may see.")
        return lead_page(v, lead_id, status=403, error=str(exc))
    except LeadctlError as exc:
        return lead_page(v, lead_id, status=400, error=str(exc))
    move = moves[0]
    if not move.done:
        if move.reason and move.reason.startswith("unknown lead"):
            return _plain(404, "No such lead", "There is no lead with that id that you may see.")
        return lead_page(v, lead_id, status=403 if move.forbidden else 409, error=move.reason)
    where = f"/leads/{_quote(lead_id)}" if action != "release" or lead_for_visible(v, lead_id) else "/inbox"
    from .lead_display import said

    if action == "reassign" and form.get("back") == "queue":  # handed out from /queue: back there
        return Page(303, None, location=f"/queue?done={_quote(f'{lead_id}: ' + said(action, form))}")
    return Page(303, None, location=f"{where}?done={_quote(said(action, form))}")


def lead_for_visible(v: Visit, lead_id: str) -> bool:
    from ..lead_view import lead_for

    return lead_for(v.cfg, v.ledger, lead_id, v.user.id) is not None


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def for_managers(v: Visit) -> Page | None:
    """The 403 page for whoever may not see the managers' pages (None: they may)."""
    from ..domain.rights import TEAM, refusal

    why = refusal(v.cfg, v.actor, TEAM)
    return _plain(403, "Not for you", why) if why else None


def days_window(v: Visit, now: datetime, days: str | None, offered: tuple[int, ...]):
    """(days, first, last): the window a page was asked for (one it offers, else 7), to today."""
    from ..audit import today

    window = int(days) if days and days.isdigit() and int(days) in offered else 7
    last = today(v.cfg, now)
    return window, last - timedelta(days=window - 1), last


def team(v: Visit, now: datetime, days: str | None, done: str | None = None) -> Page:
    """GET /team (managers and above): per group its members in rotation order, today's and this
    month's use against caps, who is away or off hours, who is next, the queue, and a chart of
    what the group's method gave each member over the chosen window against their share."""
    from ..audit import group_view
    from ..domain.rights import refusal

    refused = for_managers(v)
    if refused:
        return refused
    window, first, last = days_window(v, now, days, FAIRNESS_DAYS)
    queue = v.ledger.queue_length()
    groups = []
    for g in v.cfg.groups:
        view = group_view(v.cfg, v.ledger, g, now)
        given = v.ledger.usage_between(g.name, first.isoformat(), last.isoformat())
        groups.append({**view, "queue": queue.get(g.name, 0),
                       "chart": chart(g, given, v.cfg.active_users())})
    from ..domain.rights import AWAY, CONFIGURE

    leave = [{"id": a.id, "user": a.user, "from": a.start, "to": a.end, "backup": a.backup} for a in v.cfg.away
             if a.end >= last.isoformat() and refusal(v.cfg, v.actor, AWAY, for_user=a.user) is None]
    return Page(200, "team.html", _base(v, "Team", groups=groups, window=window, windows=FAIRNESS_DAYS,
                                        first=first.isoformat(), last=last.isoformat(), leave=leave,
                                        may_caps=refusal(v.cfg, v.actor, CONFIGURE) is None, today=last.isoformat(),
                                        people=sorted({m.user for g in v.cfg.groups for m in g.members}),
                                        done=done[:200] if done else None))


def chart(group, given: dict[str, int], active: frozenset[str]) -> dict:
    """A bar per member: what the group's method gave them, and the share their weight asks
    for (equal for sequential) as a mark; drawn as SVG by `charts.bar_chart` (as `report
    --chart` draws), scaled to the largest."""
    from ..charts import bar_chart

    members = [m for m in group.members if m.user in active]
    total = sum(given.get(m.user, 0) for m in members)
    weights = {m.user: (m.weight if group.method == "weighted" else 1) for m in members}
    wsum = sum(weights.values()) or 1
    bars = [{"user": m.user, "got": given.get(m.user, 0), "asked": total * weights[m.user] / wsum} for m in members]
    fair = group.method in ("sequential", "weighted")
    title = f"Leads per member of {group.name}" + (", with the share their weight asks for" if fair else "")
    svg = bar_chart([(b["user"], b["got"]) for b in bars], title,
                    marks=[b["asked"] for b in bars] if fair else None) if bars else ""
    return {"bars": bars, "total": total, "fair": fair, "svg": svg}

