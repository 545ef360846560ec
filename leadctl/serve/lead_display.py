"""A lead as a person reads it on its page: fields with readable labels (a label map for the
fields forms and exports name, title case for the rest), email and phone as links, times in
the viewer's own zone ("today 13:06", the full date and time on hover), the history as a
timeline (one event a line: when, who, how, note), and the sentence a done action says."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

LABELS = {"first_name": "First name", "last_name": "Last name", "full_name": "Name", "name": "Name",
          "email": "Email", "phone": "Phone", "mobile": "Mobile", "company": "Company", "source": "Source",
          "country": "Country", "state": "State", "zip": "ZIP", "postcode": "Postcode", "city": "City",
          "utm_source": "UTM source", "utm_medium": "UTM medium", "utm_campaign": "UTM campaign",
          "created_by": "Created by", "owner": "Owner", "language": "Language", "employees": "Employees",
          "message": "Message", "notes": "Notes", "website": "Website", "job_title": "Job title"}
_WORDS = {"sequential": "round robin", "random": "drawn", "weighted": "by weight", "balanced": "fewest open",
          "owner": "named owner", "creator": "creator", "duplicate": "earlier lead's owner",
          "account": "account owner", "pickup": "picked up", "manual": "reassigned", "release": "released",
          "sla": "SLA re-route", "escalated": "escalated", "declined": "offer lapsed", "territory": "territory",
          "status": "status", "convert": "converted"}
_DIAL = re.compile(r"[^0-9+]")


def label(name: str) -> str:
    key = name.strip().lower()
    return LABELS.get(key) or key.replace("_", " ").replace("-", " ").strip().capitalize() or name


def fields(own: dict) -> list[dict]:
    """[{label, value, href}]: email a `mailto:` link, a phone a `tel:` one (its digits and +)."""
    out = []
    for name, value in own.items():
        text, key, href = str(value), name.strip().lower(), None
        if key == "email" and "@" in text and not any(c in text for c in "<>\"' "):
            href = f"mailto:{text}"
        elif key in ("phone", "mobile") and len(_DIAL.sub("", text)) >= 5:
            href = f"tel:{_DIAL.sub('', text)}"
        out.append({"label": label(name), "value": text, "href": href})
    return out


def when(at: str | None, zone: tzinfo, now: datetime) -> dict:
    """{text, full}: "today 13:06", "yesterday 09:12" or "Mon 7 Dec 2026 13:06"; and ISO."""
    if not at:
        return {"text": "-", "full": ""}
    try:
        moment = datetime.fromisoformat(at).astimezone(zone)
    except (ValueError, OverflowError):
        return {"text": at, "full": at}
    days = (now.astimezone(zone).date() - moment.date()).days
    clock = moment.strftime("%H:%M")
    text = f"today {clock}" if days == 0 else f"yesterday {clock}" if days == 1 else \
        f"{moment.strftime('%a')} {moment.day} {moment.strftime('%b %Y')} {clock}"
    return {"text": text, "full": moment.isoformat(timespec="seconds")}


def timeline(events: list[dict], zone: tzinfo, now: datetime) -> list[dict]:
    """One line an event: when, who (or the new status), how, and the note."""
    out = []
    for e in events:
        how = _WORDS.get(e["method"] or "", e["method"] or "")
        who = e["assigned_to"] or ("nobody" if e["method"] not in ("status", "convert") else "")
        out.append({"when": when(e["at"], zone, now), "who": who, "how": how, "reason": e.get("reason") or "",
                    "by": e.get("actor") or "", "note": e.get("note") or ""})
    return out


def said(action: str, form: dict) -> str:
    """What a done action says on the page it lands on."""
    if action == "status":
        return f"Status set to {(form.get('status') or '').strip()}"
    if action == "reassign":
        return f"Reassigned to {(form.get('to') or '').strip()}"
    return {"release": "Released: it is unassigned now", "pickup": "Picked up: it is yours"}.get(action, action)
