"""The /team page's actions: leave for a group's members (add, with a backup from the group;
end early) for its managers and above, and a member's caps, weight and active for admins and
owners. Each is the very same change as the command line's — `config.service.change`, rights
asked at its door, the file edited in place, `config history` keeping it with the user `via
web` — and a refusal is the team page again with why, nothing changed. Forms carry CSRF."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import quote

from ..errors import LeadctlError
from .pages import Page, Visit, _forbidden_form, csrf_ok


def away(service, v: Visit, form: dict, now: datetime) -> Page:
    """POST /team/away: `user`, `from`, `to` (YYYY-MM-DD), `backup` (optional), `csrf`."""
    from ..domain.rights import AWAY, backup_refusal

    if not csrf_ok(v.session, form.get("csrf")):
        return _forbidden_form()
    user, backup = (form.get("user") or "").strip(), (form.get("backup") or "").strip()
    start, end = (form.get("from") or "").strip(), (form.get("to") or "").strip()

    def edit(m, c):
        from ..errors import ConfigError

        for day, name in ((start, "from"), (end, "to")):
            try:
                date.fromisoformat(day)
            except ValueError:
                raise ConfigError(f"'{name}' must be a date like 2026-12-24") from None
        if end < start:
            raise ConfigError("the leave must end on or after its first day")
        who = c.find_user(user).id
        if backup and not any(g.member(who) and g.member(c.find_user(backup).id) for g in c.groups):
            raise ConfigError(f"{backup} shares no group with {who}: choose a backup from their group")
        why = backup_refusal(c, v.actor, who, c.find_user(backup).id if backup else "")
        if why:
            raise ConfigError(why)
        return m.add_away(c, who, start, end, backup, "")[0]

    said = f"{user} is away from {start} to {end}" + (f"; {backup} takes their turns" if backup else "")
    return _change(service, v, edit, f"web: away add {user} --from {start} --to {end}"
                   + (f" --backup {backup}" if backup else ""), (AWAY, user), said)


def end_away(service, v: Visit, n: str, form: dict, now: datetime) -> Page:
    """POST /team/away/{n}/end: the leave ends yesterday (its user is back today)."""
    from ..domain.rights import AWAY

    if not csrf_ok(v.session, form.get("csrf")):
        return _forbidden_form()
    entry = next((a for a in v.cfg.away if str(a.id) == n), None)
    if entry is None:
        return _refused(v, now, 404, f"no away entry {n[:20]}")
    yesterday = (now.astimezone(v.cfg.tz()).date() - timedelta(days=1)).isoformat()
    return _change(service, v, lambda m, c: m.end_away(c, entry.id, yesterday),
                   f"web: away end {entry.id}", (AWAY, entry.user), f"{entry.user}'s leave ended: back today")


def member(service, v: Visit, form: dict, now: datetime) -> Page:
    """POST /team/member: `group`, `user`, and any of `daily`, `monthly`, `max_open`, `weight`
    (whole numbers), `active` (on/off) — admins and owners."""
    from ..domain.rights import CONFIGURE

    if not csrf_ok(v.session, form.get("csrf")):
        return _forbidden_form()
    group, user = (form.get("group") or "").strip(), (form.get("user") or "").strip()
    counts = {}
    for key in ("daily", "monthly", "max_open", "weight"):
        text = (form.get(key) or "").strip()
        if text:
            if not text.isdigit():
                return _refused(v, now, 400, f"{key} must be a whole number, not '{text[:20]}'")
            counts[key] = int(text)
    active = form.get("active")

    def edit(m, c):
        new = m.edit_member(c, group, user, **counts) if counts else c
        if active in ("on", "off"):
            new = m.edit_user(new, user, active=active == "on")
        return new

    said = f"{user} in {group}: " + ", ".join([*(f"{k} {v}" for k, v in counts.items()),
                                               *([f"active {active}"] if active in ("on", "off") else [])])
    return _change(service, v, edit, f"web: group member edit {group} {user}", (CONFIGURE, None), said)


def _change(service, v: Visit, edit, command: str, right, said: str) -> Page:
    from ..config import service as config_service
    from ..ledger import Ledger, target

    try:
        with service.writing:
            config_service.change(v.cfg.path, v.actor, edit, command=command, right=right,
                                  open_ledger=lambda cfg: Ledger.open(target(service.db) if service.db
                                                                     else cfg.ledger_path()))
    except LeadctlError as exc:
        text = str(exc)
        status = 403 if "may not" in text else 400  # (a right, in rights.py's words; else the form)
        return _refused(v, datetime.now().astimezone(), status, text)
    return Page(303, None, location=f"/team?done={quote(said, safe='')}")


def _refused(v: Visit, now: datetime, status: int, why: str) -> Page:
    from .pages import team

    page = team(v, now, None)
    if page.status != 200:
        return page
    page.status = status
    page.context["error"] = why
    return page
