"""Checking a config: every value's bounds and names, with a message that names the thing at
fault (`validate`), and what is valid but probably not meant (`warnings`)."""

from __future__ import annotations

import re

from ..domain.engine import METHODS
from ..errors import ConfigError
from .model import DUPLICATE_FIELDS, NAME_RE, RECORD_TYPES, ROLES, SMTP_SECURITY, Config, Group
from .ladder import MAX_DURATION, check_users, duration_seconds  # noqa: F401 (re-exported)
from .rule_checks import check_tag


MAX_COUNT = 1_000_000_000  # the largest cap or weight: beyond any team, within every store's integers
MAX_ATTEMPTS = 100
MAX_RETRY_SECONDS = 86_400  # the first retry waits at most a day


def check_count(value: int, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        raise ConfigError(f"{what} must be a whole number from 0 to {MAX_COUNT:,}, not {value!r}")


def check_name(name: str, what: str) -> None:
    if not NAME_RE.match(name or ""):
        raise ConfigError(
            f"{what} '{name}' is not a valid name: use 1-64 letters, digits or . _ @ + -,"
            " starting with a letter or digit"
        )


def check_timezone(tz: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"unknown time zone '{tz}' (use an IANA name such as Europe/London)") from None


def check_phone_region(region: str, what: str = "--phone-region") -> str:
    """The region upper-cased, or ConfigError naming `what`."""
    from ..domain.keys import check_region

    try:
        return check_region(region)
    except ValueError:
        raise ConfigError(f"{what}: unknown phone region '{region}' (a two-letter country code, e.g. DE, GB, US)") from None


_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def check_email(email: str) -> None:
    """An address a mail server can take (`name@example.com`), or "" for none."""
    if email and not _EMAIL.match(email):
        raise ConfigError(f"--email '{email}' does not look like an email address (e.g. tom@example.com)")


FIRST_DAY, LAST_DAY = "1900-01-01", "2999-12-31"  # the dates a command takes (times around them stay in range)


def parse_day(text: str, option: str):
    """A calendar date (YYYY-MM-DD) from FIRST_DAY to LAST_DAY; anything else is a ConfigError."""
    from datetime import date

    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{option} '{text}' is not a date like 2026-11-23") from None
    if not FIRST_DAY <= day.isoformat() <= LAST_DAY:
        raise ConfigError(f"{option} '{text}' is out of range: dates from {FIRST_DAY} to {LAST_DAY}")
    return day


def _check_crms(cfg: Config, p: str) -> None:
    """Each CRM: a known kind, a name, an address where the kind has no public one, variable
    names that are names; each user's owner ids name a CRM that is there."""
    from .model import CRM_OBJECTS

    names = set()
    for c in cfg.crms:
        check_name(c.name, "crm")
        names.add(c.name)
        if c.kind not in CRM_OBJECTS:
            raise ConfigError(f"{p}: crm '{c.name}': unknown kind '{c.kind}' (use {', '.join(CRM_OBJECTS)})")
        if not c.api:
            raise ConfigError(f"{p}: crm '{c.name}': a {c.kind} CRM needs --base-url (its instance's address,"
                              " e.g. https://yourorg.my.salesforce.com)")
        if not c.api.startswith(("https://", "http://")):
            raise ConfigError(f"{p}: crm '{c.name}': base_url must be an http(s) address")
        for key in ("token_env", "secret_env"):
            value = getattr(c, key)
            if value and not value.replace("_", "").isalnum():
                raise ConfigError(f"{p}: crm '{c.name}': {key} '{value}' is not an environment variable's name")
        if not c.id_field.strip():
            raise ConfigError(f"{p}: crm '{c.name}': id_field must not be empty")
        if any(not owner for owner in c.placeholder_owners):
            raise ConfigError(f"{p}: crm '{c.name}': a placeholder owner must not be empty")
    for u in cfg.users:
        for crm, _ in u.crm:
            if crm not in names:
                raise ConfigError(f"{p}: user '{u.id}': an owner id for crm '{crm}', which is not in [crm]")


def _check_overflow(cfg: Config, p: str) -> None:
    """An overflow names another group of the same record type, and no chain comes back."""
    groups = {g.name: g for g in cfg.groups}
    for g in cfg.groups:
        if not g.overflow:
            continue
        other = groups.get(g.overflow)
        if other is None:
            raise ConfigError(f"{p}: group '{g.name}': overflow to unknown group '{g.overflow}'")
        if other.name == g.name:
            raise ConfigError(f"{p}: group '{g.name}' cannot overflow to itself")
        if other.record_type != g.record_type:
            raise ConfigError(f"{p}: group '{g.name}' takes {g.record_type}s; its overflow '{other.name}'"
                              f" takes {other.record_type}s")
        chain, at = [g.name], other
        while at is not None and at.overflow:
            chain.append(at.name)
            if at.overflow in chain:
                raise ConfigError(f"{p}: overflow loop: {' -> '.join(chain + [at.overflow])}")
            at = groups.get(at.overflow)


def _check_away(cfg: Config, p: str, users: set[str]) -> None:
    from datetime import date

    ids: set[int] = set()
    for a in cfg.away:
        what = f"{p}: away entry {a.id}"
        if a.id in ids or a.id < 1:
            raise ConfigError(f"{what}: the id must be a number of its own")
        ids.add(a.id)
        if a.user not in users:
            raise ConfigError(f"{what}: '{a.user}' is not a user")
        try:
            start, end = date.fromisoformat(a.start), date.fromisoformat(a.end)
        except ValueError:
            raise ConfigError(f"{what}: dates must be like 2026-12-24 ('{a.start}', '{a.end}')") from None
        if end < start:
            raise ConfigError(f"{what}: --to {a.end} is before --from {a.start}")
        if a.backup:
            if a.backup not in users:
                raise ConfigError(f"{what}: backup '{a.backup}' is not a user")
            if a.backup == a.user:
                raise ConfigError(f"{what}: '{a.user}' cannot be their own backup")


def _all_away(cfg: Config, group) -> str | None:
    """A moment when no active member of `group` can take a lead (all off hours, or all on
    leave on one day), said in words; None when someone always can."""
    from datetime import date, datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from ..domain.hours import parse as parse_hours

    users = {u.id: u for u in cfg.users}
    members = [users[m.user] for m in group.members if m.user in users and users[m.user].active]
    if not members:
        return None
    days: set[date] | None = None
    for u in members:
        mine = {date.fromordinal(d) for a in cfg.away if a.user == u.id
                for d in range(date.fromisoformat(a.start).toordinal(), date.fromisoformat(a.end).toordinal() + 1)}
        days = mine if days is None else days & mine
    if days:
        return f"on leave on {min(days).isoformat()}"
    if any(not u.hours for u in members):
        return None
    default = cfg.settings.timezone
    rota = [(ZoneInfo(u.timezone or default), parse_hours(u.hours)) for u in members]
    monday = datetime(2026, 1, 5, tzinfo=timezone.utc)  # any week: working hours repeat weekly
    for step in range(7 * 24 * 4):
        moment = monday + timedelta(minutes=15 * step)
        if not any(hours.within(moment.astimezone(zone)) for zone, hours in rota):
            return f"off hours at {moment.strftime('%a %H:%M')} UTC"
    return None


def validate(cfg: Config) -> None:
    """Raise ConfigError naming the first thing at fault; the file is not trusted."""
    p = cfg.path.name
    _check_crms(cfg, p)
    check_timezone(cfg.settings.timezone)
    if cfg.settings.phone_region:
        check_phone_region(cfg.settings.phone_region, f"{p}: [settings] phone_region")
    if cfg.settings.date_format:
        from ..dates import DATE_FORMATS

        if cfg.settings.date_format not in DATE_FORMATS:
            raise ConfigError(f"{p}: [settings] date_format '{cfg.settings.date_format}' is not one of"
                              f" {', '.join(DATE_FORMATS)}")
    for f in cfg.settings.duplicates:
        if f not in DUPLICATE_FIELDS:
            raise ConfigError(
                f"{p}: [settings] duplicates: unknown field '{f}' (use {', '.join(DUPLICATE_FIELDS)})"
            )
    seen: set[str] = set()
    for u in cfg.users:
        check_name(u.id, "user")
        if u.id in seen:
            raise ConfigError(f"{p}: user '{u.id}' is defined twice")
        seen.add(u.id)
        for role in u.roles:
            if role not in ROLES:
                raise ConfigError(f"{p}: user '{u.id}': unknown role '{role}' (use {', '.join(ROLES)})")
        if u.timezone:
            check_timezone(u.timezone)
        if u.hours:
            from ..domain.hours import parse as parse_hours

            try:
                parse_hours(u.hours)
            except ConfigError as exc:
                raise ConfigError(f"{p}: user '{u.id}': {exc}") from None
        for key in ("daily", "monthly"):
            check_count(getattr(u, key), f"{p}: user '{u.id}': {key}")
        for tag in u.tags:
            check_tag(tag, f"{p}: user '{u.id}'")
    accounts: dict[str, str] = {}
    for u in cfg.users:  # an OS account acts as one user at most
        account = u.os_user or u.id
        if account in accounts:
            raise ConfigError(f"{p}: the OS account '{account}' would act as both '{accounts[account]}' and"
                              f" '{u.id}'; give one of them another os_user")
        accounts[account] = u.id
    seen_groups: set[str] = set()
    for g in cfg.groups:
        check_name(g.name, "group")
        if g.name in seen_groups:
            raise ConfigError(f"{p}: group '{g.name}' is defined twice")
        seen_groups.add(g.name)
        if g.method not in METHODS:
            raise ConfigError(
                f"{p}: group '{g.name}': unknown method '{g.method}' (use {', '.join(METHODS)})"
            )
        if g.record_type not in RECORD_TYPES:
            raise ConfigError(
                f"{p}: group '{g.name}': unknown record type '{g.record_type}'"
                f" (use {', '.join(RECORD_TYPES)})"
            )
        members: set[str] = set()
        for m in g.members:
            if m.user not in seen:
                raise ConfigError(f"{p}: group '{g.name}': member '{m.user}' is not a user")
            if m.user in members:
                raise ConfigError(f"{p}: group '{g.name}': '{m.user}' is a member twice")
            members.add(m.user)
            for key in ("daily", "monthly", "weight", "max_open"):
                check_count(getattr(m, key), f"{p}: group '{g.name}' member '{m.user}': {key}")
    _check_overflow(cfg, p)
    for g in cfg.groups:
        if g.contact_within:
            try:
                duration_seconds(g.contact_within, f"group '{g.name}': contact_within")
            except ConfigError as exc:
                raise ConfigError(f"{p}: {exc}") from None
        if not 1 <= g.max_hops <= 100:
            raise ConfigError(f"{p}: group '{g.name}': --max-hops must be from 1 to 100, not {g.max_hops}")
        if g.escalate_to and g.escalate_to not in seen:
            raise ConfigError(f"{p}: group '{g.name}': escalates to '{g.escalate_to}', who is not a user")
        try:
            check_users(g.sla, g.name, seen)
        except ConfigError as exc:
            raise ConfigError(f"{p}: {exc}") from None
    _check_away(cfg, p, seen)
    for i, r in enumerate(cfg.rules, 1):
        if r.group not in seen_groups and (r.group or not r.territories):
            raise ConfigError(f"{p}: rule {i}: unknown group '{r.group}'")
        if r.territories and not cfg.territory_file:
            raise ConfigError(f"{p}: rule {i} routes by territories, and there is no territory table"
                              " (`leadctl territory import FILE`)")
        for tag in r.require_tags:
            check_tag(tag, f"{p}: rule {i}", fields=True)
        if r.strict_tags and not r.require_tags:
            raise ConfigError(f"{p}: rule {i}: strict_tags needs require_tags (--require-tag TAG)")
    if cfg.default_group is not None and cfg.default_group not in seen_groups:
        raise ConfigError(f"{p}: [routing] default_group: unknown group '{cfg.default_group}'")
    n = cfg.notify
    if n.smtp_security not in SMTP_SECURITY:
        raise ConfigError(f"{p}: [notify] smtp_security: use {', '.join(SMTP_SECURITY)}, not '{n.smtp_security}'")
    if not 0 < n.smtp_port < 65536:
        raise ConfigError(f"{p}: [notify] smtp_port must be a port number, not {n.smtp_port}")
    if not 1 <= n.max_attempts <= MAX_ATTEMPTS or not 0 <= n.retry_seconds <= MAX_RETRY_SECONDS:
        raise ConfigError(f"{p}: [notify] max_attempts must be from 1 to {MAX_ATTEMPTS} and retry_seconds"
                          f" from 0 to {MAX_RETRY_SECONDS}")
    if cfg.base_url and not cfg.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"{p}: [serve] base_url must start with http:// or https://, e.g. https://leads.example.com")
    for url in [n.webhook_url] + [u.webhook_url for u in cfg.users]:
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{p}: a webhook_url must start with http:// or https://")
    for name, m in cfg.mappings.items():
        check_name(name, "mapping")
        if not m:
            raise ConfigError(f"{p}: mapping '{name}' maps no column")
        sources: set[str] = set()
        for source, target in m.items():
            if not source.strip() or not target.strip():
                raise ConfigError(f"{p}: mapping '{name}': empty column or field name")
            if source.strip().lower() in sources:  # a header is matched in any case: one of them would be lost
                raise ConfigError(f"{p}: mapping '{name}': column '{source}' is named twice (in any case)")
            sources.add(source.strip().lower())


def _fate(g: Group) -> str:
    """What happens to a lead nobody in `g` can take: its overflow, its queue, or nothing."""
    if g.overflow:
        return f"go to its overflow group '{g.overflow}'" + (" (then wait in its queue)" if g.queue else "")
    return "wait in its queue (`leadctl drain`)" if g.queue else "stay unassigned"


def warnings(cfg: Config) -> list[str]:
    """Things that are valid but probably not what the admin wants."""
    from .rule_checks import unreachable_rules

    out = unreachable_rules(cfg)
    members = {m.user for g in cfg.groups for m in g.members}
    for c in cfg.crms:
        unmapped = [u.id for u in cfg.users if u.active and u.id in members and not u.crm_id(c.name)]
        if unmapped:
            out.append(f"crm '{c.name}': {len(unmapped)} user(s) have no owner id there ({', '.join(unmapped[:5])}):"
                       f" their leads' owner cannot be written (`leadctl crm owners {c.name} --sync`, or"
                       f" `leadctl user edit USER --crm {c.name}=ID`)")
    users = {u.id: u for u in cfg.users}
    for g in cfg.groups:
        if not g.members:
            out.append(f"group '{g.name}' has no members: its leads will {_fate(g)}")
            continue
        active = [m for m in g.members if users[m.user].active]
        if not active:
            out.append(f"group '{g.name}' has no active member: its leads will {_fate(g)}")
        elif all(m.daily or m.monthly for m in active) and not (g.overflow or g.queue):  # else: by design
            out.append(
                f"every active member of group '{g.name}' has a cap: once all are reached, leads"
                " stay unassigned; keep at least one member without a limit"
            )
        if g.method == "weighted" and active and all(m.weight == 0 for m in active):
            out.append(f"group '{g.name}' is weighted but every active member has weight 0")
        weighed = [m.user for m in g.members if m.weight != 1]
        if g.method != "weighted" and weighed:
            out.append(f"group '{g.name}' is {g.method}: the weights of {', '.join(weighed[:5])} count only"
                       f" in a weighted group (`leadctl group edit {g.name} --method weighted`)")
        if g.pickup_statuses and not any(users[m.user].pickup for m in g.members):
            out.append(f"group '{g.name}' has pick-up statuses but no member may pick up leads")
    if not cfg.groups:
        out.append("no group yet: `leadctl route` has nowhere to send leads (`leadctl group add NAME`)")
    for g in cfg.groups:
        when = _all_away(cfg, g) if not (g.overflow or g.queue) else None
        if when:
            out.append(f"every member of group '{g.name}' can be away at once ({when}) and it has no overflow and"
                       f" no queue: leads then stay unassigned (`leadctl group edit {g.name} --overflow GROUP` or"
                       " --queue)")
    for g in cfg.groups:
        if g.name.lower() in {u.id.lower() for u in users.values()}:
            out.append(f"'{g.name}' is both a user and a group: as an owner (a payload's owner, `reassign --to`,"
                       " `leads convert --owner`) it means the user; rename one to reach the group")
    if cfg.notify.email:
        silent = [u.id for u in cfg.users if u.active and u.notify and not u.email
                  and not (u.webhook_url or cfg.notify.webhook_url)]
        if silent:
            out.append(f"[notify] sends email, but {', '.join(silent[:5])} {'has' if len(silent) == 1 else 'have'}"
                       " no email address: they will not be told (`leadctl user edit ID --email ...`)")
    if cfg.groups and cfg.default_group is None:
        out.append("no default group: leads that match no rule are rejected (`leadctl rule default GROUP`)")
    return out
