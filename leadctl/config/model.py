"""The config's model: frozen dataclasses (settings, users, groups and their members, rules,
mappings, notifications) and the pure helpers they need. No IO: reading, checking, changing
and writing the file import this module, never the other way round."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..domain.conditions import Condition, to_data
from ..domain.engine import Slot
from ..errors import ConfigError
from .ladder import Ladder


# The roles, highest first. A user may hold several; what they may do is the union (rights.py).
ROLES = ("owner", "admin", "manager", "trusted", "standard")

RECORD_TYPES = ("lead", "contact", "deal")

DUPLICATE_FIELDS = ("email", "phone")

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")

DEFAULT_TIMEZONE = "UTC"

CLOSED_STATUSES = ("won", "lost", "converted", "closed", "junk")


@dataclass(frozen=True)
class Settings:
    timezone: str = DEFAULT_TIMEZONE
    duplicates: tuple[str, ...] = ()
    isolate: bool = False
    assign_to_creator: bool = False
    phone_region: str = ""  # e.g. "DE": national phone numbers are read as this country's (duplicates)
    closed_statuses: tuple[str, ...] = CLOSED_STATUSES  # a lead with one of these is no longer open
    date_format: str = ""  # how a received_at that is not ISO 8601 orders its date: DD/MM/YYYY, MM/DD/YYYY...
    match_domains: bool = False  # a lead from a known company's domain goes to that account's owner (method account)
    retain_days: int = 0  # closed leads received longer ago are forgotten by `ledger prune` / `tick` (0: kept forever)

    def is_open(self, status: str | None) -> bool:
        """Whether a lead with this status is still open (statuses compare in any case)."""
        return (status or "").strip().lower() not in {s.lower() for s in self.closed_statuses}

@dataclass(frozen=True)
class User:
    id: str
    name: str = ""
    email: str = ""
    roles: tuple[str, ...] = ("standard",)  # in ROLES order, no repeats (checks.validate)
    pickup: bool = False
    active: bool = True
    notify: bool = True  # told about each lead they get (when [notify] has a channel)
    webhook_url: str = ""  # their own chat webhook, instead of the team's
    reassign: bool = False  # may reassign and release leads (managers and above may anyway)
    os_user: str = ""  # the OS account that acts as this user on the command line (default: the id)
    timezone: str = ""  # their own zone, for hours and leave (default: the config's)
    hours: str = ""  # when they take leads, e.g. "mon-fri 09:00-17:30" (default: always)
    daily: int = 0  # what the group methods give them in all groups together, a day (0 = no limit)
    monthly: int = 0  # ... and a month
    crm: tuple[tuple[str, str], ...] = ()  # (CRM name, their owner id there), by CRM name
    tags: tuple[str, ...] = ()  # skills a rule may require (`lang:de`, `product:crm`), lower case, sorted

    def crm_id(self, crm: str) -> str | None:
        """Their owner id in the CRM named `crm`, or None when it is not known."""
        return next((owner for name, owner in self.crm if name == crm), None)

    @property
    def role(self) -> str:
        """The highest of the user's roles."""
        return min(self.roles, key=ROLES.index) if self.roles else "standard"


def ordered_roles(roles) -> tuple[str, ...]:
    """Roles as kept: known ones in ROLES order, unknown ones after (for validate to name),
    without repeats; none means standard."""
    seen = tuple(dict.fromkeys(roles))
    known = tuple(r for r in ROLES if r in seen)
    return (known + tuple(r for r in seen if r not in ROLES)) or ("standard",)


SMTP_SECURITY = ("none", "starttls", "ssl")

# The CRMs leadctl writes owners back to: each kind's default object and public API address
# (Salesforce has none: every org has its own instance URL).
CRM_OBJECTS = {"hubspot": "contacts", "salesforce": "Lead", "pipedrive": "leads", "sell": "leads"}
CRM_BASE_URLS = {"hubspot": "https://api.hubapi.com", "salesforce": "", "pipedrive": "https://api.pipedrive.com",
                 "sell": "https://api.getbase.com"}


@dataclass(frozen=True)
class Crm:
    """A CRM the owner of each lead is written back to: `[crm.NAME]` in the config. Its token is
    read from the environment variable `token_env` only: never kept, printed or logged."""

    name: str
    kind: str  # hubspot | salesforce | pipedrive | sell
    object: str = ""  # the record type written (default: the kind's, CRM_OBJECTS)
    id_field: str = "id"  # the lead field holding the CRM record's id
    base_url: str = ""  # the API's address (default: the kind's, CRM_BASE_URLS)
    token_env: str = ""  # the variable holding the API token (default: NAME_TOKEN, upper case)
    secret_env: str = ""  # the variable holding the webhook signing secret, if webhooks come in
    # owner ids there that mean nobody has the record yet (the integration user that creates
    # them, an unassigned queue): leadctl overwrites them as it does an empty owner
    placeholder_owners: tuple[str, ...] = ()

    def placeholder(self, owner_id: str | None) -> bool:
        """Whether the CRM's owner `owner_id` means nobody has it: empty, one of
        `placeholder_owners`, or (Salesforce) a queue, whose ids start with 00G."""
        return (owner_id is None or owner_id in self.placeholder_owners
                or (self.kind == "salesforce" and owner_id.startswith("00G")))

    @property
    def record_object(self) -> str:
        return self.object or CRM_OBJECTS.get(self.kind, "")

    @property
    def api(self) -> str:
        return (self.base_url or CRM_BASE_URLS.get(self.kind, "")).rstrip("/")

    @property
    def token_variable(self) -> str:
        return self.token_env or "".join(c if c.isalnum() else "_" for c in self.name.upper()) + "_TOKEN"


@dataclass(frozen=True)
class Notify:
    """The config's [notify] table: how reps are told about their leads."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_from: str = ""
    smtp_security: str = "starttls"
    smtp_user: str = ""  # the password comes only from $LEADCTL_SMTP_PASSWORD
    webhook_url: str = ""  # a Slack-compatible {"text": ...} POST for the whole team
    max_attempts: int = 6
    retry_seconds: int = 60  # the first retry waits this long, each next one twice as long

    @property
    def email(self) -> bool:
        return bool(self.smtp_host and self.smtp_from)


@dataclass(frozen=True)
class Away:
    """Leave: whole days (both ends included) in the user's own time zone, with a backup who
    takes their turns meanwhile (optional)."""

    id: int
    user: str
    start: str  # YYYY-MM-DD
    end: str
    backup: str = ""
    note: str = ""


@dataclass(frozen=True)
class Member:
    user: str
    daily: int = 0
    monthly: int = 0
    weight: int = 1
    max_open: int = 0  # balanced groups: no more leads at this many open ones (0: no limit)


@dataclass(frozen=True)
class Group:
    name: str
    method: str = "sequential"
    record_type: str = "lead"
    pickup_statuses: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()
    overflow: str = ""  # the group that takes a lead nobody here can take now (one step)
    queue: bool = False  # a lead nobody can take now waits, queued, for `drain`
    contact_within: str = ""  # SLA: a lead not contacted this long after its assignment is re-routed ("15m")
    max_hops: int = 2  # SLA re-routes before escalation
    escalate_to: str = ""  # who gets a lead after the last re-route (else it stays; managers are told)
    sla_since: str = ""  # when the SLA was switched on or changed (ISO 8601): it covers leads assigned later
    sla: Ladder = Ladder()  # the SLA's steps and clock (`contact_within`: the one-step shorthand)

    def member(self, user: str) -> Member | None:
        return next((m for m in self.members if m.user == user), None)


@dataclass(frozen=True)
class Rule:
    """`[[routing.rules]]`: the leads whose fields meet `when` (None: every lead) go to `group`,
    by its method; with `require_tags`, to the members who have those tags."""

    group: str  # "" only for a territories rule without a fallback group
    when: Condition | None = None
    territories: bool = False  # the territory table decides (`group`: where a lead in no territory goes)
    require_tags: tuple[str, ...] = ()  # only members with every tag take its leads (`{field}`: the lead's value)
    strict_tags: bool = False  # nobody with them can: it waits or stays unassigned (else: the whole group)


def lead_link(base_url: str, lead_id: str) -> str:
    """The address of a lead's page in `serve`, under `[serve] base_url`."""
    from urllib.parse import quote

    return f"{base_url.rstrip('/')}/leads/{quote(lead_id, safe='')}"


@dataclass(frozen=True)
class Config:
    path: Path
    settings: Settings = field(default_factory=Settings)
    users: tuple[User, ...] = ()
    groups: tuple[Group, ...] = ()
    rules: tuple[Rule, ...] = ()
    default_group: str | None = None
    ledger: str | None = None
    mappings: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> {source column: field}
    notify: Notify = field(default_factory=Notify)
    base_url: str = ""  # [serve] base_url: where `serve` is reached from outside (links in emails)
    port: int = 0  # [serve] port: where `serve` listens (and `token link` points) unless --port says; 0: 8080
    away: tuple[Away, ...] = ()  # leave entries, [[away]] in the file
    crms: tuple[Crm, ...] = ()  # where owners are written back, [crm.NAME] in the file
    territory_file: str = ""  # [routing] territories: the territory table, a CSV (relative to this file)
    account_file: str = ""  # [routing] accounts: company domain -> owner, a CSV (relative to this file)

    def account_path(self) -> Path | None:
        """Where the accounts table is, or None when there is none."""
        if not self.account_file:
            return None
        path = Path(self.account_file)
        return path if path.is_absolute() else self.path.parent / path

    def territory_path(self) -> Path | None:
        """Where the territory table is, or None when there is none."""
        if not self.territory_file:
            return None
        path = Path(self.territory_file)
        return path if path.is_absolute() else self.path.parent / path

    # -- look-ups -----------------------------------------------------------
    def user(self, user_id: str) -> User:
        for u in self.users:
            if u.id == user_id:
                return u
        raise ConfigError(f"unknown user '{user_id}'{_did_you_mean(user_id, [u.id for u in self.users])}"
                          " (see `leadctl user list`)")

    def group(self, name: str) -> Group:
        for g in self.groups:
            if g.name == name:
                return g
        raise ConfigError(f"unknown group '{name}'{_did_you_mean(name, [g.name for g in self.groups])}"
                          " (see `leadctl group list`)")

    def pool(self, name: str) -> Group | None:
        """The group an owner's name means, when it names no user (by id, any case, or email):
        a distribution pool may stand wherever an owner may; a name that is both means the user."""
        low = name.strip().lower()
        if not low or any(u.id.lower() == low or (u.email and u.email.strip().lower() == low) for u in self.users):
            return None
        return next((g for g in self.groups if g.name == name.strip()), None) or next(
            (g for g in self.groups if g.name.lower() == low), None)

    def find_user(self, name: str) -> User:
        """A user named by id, exactly or in any case (for filters); else the usual error."""
        for u in self.users:
            if u.id == name:
                return u
        for u in self.users:
            if u.id.lower() == name.lower():
                return u
        return self.user(name)

    def has_user(self, user_id: str) -> bool:
        return any(u.id == user_id for u in self.users)

    def has_group(self, name: str) -> bool:
        return any(g.name == name for g in self.groups)

    def active_users(self) -> frozenset[str]:
        return frozenset(u.id for u in self.users if u.active)

    def slots(self, group: Group) -> tuple[Slot, ...]:
        """The group's members as the engine sees them (activity included)."""
        users = {u.id: u for u in self.users}
        return tuple(
            Slot(m.user, m.daily, m.monthly, m.weight, users[m.user].active, max_open=m.max_open,
                 user_daily=users[m.user].daily, user_monthly=users[m.user].monthly)
            for m in group.members
        )

    def people(self) -> dict[str, Slot]:
        """Every user as the engine sees them outside any group (activity, their own caps): a
        backup may be no member of the group whose turn they take."""
        return {u.id: Slot(u.id, active=u.active, user_daily=u.daily, user_monthly=u.monthly) for u in self.users}

    @property
    def user_caps(self) -> bool:
        """Whether any user has caps of their own (over every group): then routing needs every
        group's usage for the lead's day and month."""
        return any(u.daily or u.monthly for u in self.users)

    def ledger_path(self) -> Path | str:
        """The SQLite file (relative to the config's folder), or a postgresql:// URL as text."""
        if self.ledger and self.ledger.startswith(("postgresql://", "postgres://")):
            return self.ledger
        base = self.path.parent
        return base / self.ledger if self.ledger else base / "leadctl.db"

    def tz(self):
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.settings.timezone)


def to_dict(cfg: Config) -> dict:
    data: dict[str, Any] = {}
    if cfg.ledger:
        data["ledger"] = cfg.ledger
    s = cfg.settings
    data["settings"] = {
        "timezone": s.timezone,
        "duplicates": list(s.duplicates),
        "isolate": s.isolate,
        "assign_to_creator": s.assign_to_creator,
        **({"phone_region": s.phone_region} if s.phone_region else {}),
        **({"closed_statuses": list(s.closed_statuses)} if s.closed_statuses != CLOSED_STATUSES else {}),
        **({"date_format": s.date_format} if s.date_format else {}),
        **({"match_domains": True} if s.match_domains else {}),
        **({"retain_days": s.retain_days} if s.retain_days else {}),
    }
    data["users"] = {
        u.id: {"name": u.name, "email": u.email,
               **({"role": u.roles[0]} if len(u.roles) == 1 else {"roles": list(u.roles)}),
               "pickup": u.pickup, "active": u.active,
               **({"reassign": True} if u.reassign else {}), **({"os_user": u.os_user} if u.os_user else {}),
               **({"timezone": u.timezone} if u.timezone else {}), **({"hours": u.hours} if u.hours else {}),
               **({"daily": u.daily} if u.daily else {}), **({"monthly": u.monthly} if u.monthly else {}),
               **({} if u.notify else {"notify": False}), **({"webhook_url": u.webhook_url} if u.webhook_url else {}),
               **({"crm": dict(u.crm)} if u.crm else {}), **({"tags": list(u.tags)} if u.tags else {})}
        for u in cfg.users
    }
    data["groups"] = {
        g.name: {
            "method": g.method,
            "record_type": g.record_type,
            "pickup_statuses": list(g.pickup_statuses),
            **({"overflow": g.overflow} if g.overflow else {}), **({"queue": True} if g.queue else {}),
            **({"contact_within": g.contact_within} if g.contact_within else {}),
            **({"max_hops": g.max_hops} if g.max_hops != 2 else {}),
            **({"escalate_to": g.escalate_to} if g.escalate_to else {}),
            **({"sla_since": g.sla_since} if g.sla_since else {}), **({"sla": g.sla.to_data()} if g.sla else {}),
            "members": [
                {"user": m.user, "daily": m.daily, "monthly": m.monthly, "weight": m.weight,
                 **({"max_open": m.max_open} if m.max_open else {})}
                for m in g.members
            ],
        }
        for g in cfg.groups
    }
    routing: dict[str, Any] = {}
    if cfg.default_group:
        routing["default_group"] = cfg.default_group
    if cfg.territory_file:
        routing["territories"] = cfg.territory_file
    if cfg.account_file:
        routing["accounts"] = cfg.account_file
    routing["rules"] = [{**({"group": r.group} if r.group else {}), **({"territories": True} if r.territories else {}),
                         **({"when": to_data(r.when)} if r.when is not None else {}),
                         **({"require_tags": list(r.require_tags)} if r.require_tags else {}),
                         **({"strict_tags": True} if r.strict_tags else {})} for r in cfg.rules]
    data["routing"] = routing
    if cfg.mappings:
        data["intake"] = {"mappings": {name: dict(m) for name, m in cfg.mappings.items()}}
    defaults = Notify()
    changed = {k: getattr(cfg.notify, k) for k in Notify.__dataclass_fields__ if getattr(cfg.notify, k) != getattr(defaults, k)}
    if changed:
        data["notify"] = changed
    if cfg.base_url or cfg.port:
        data["serve"] = {**({"base_url": cfg.base_url} if cfg.base_url else {}), **({"port": cfg.port} if cfg.port else {})}
    if cfg.crms:
        data["crm"] = {c.name: {"kind": c.kind, **{k: getattr(c, k) for k in ("object", "base_url", "token_env",
                                                                           "secret_env") if getattr(c, k)},
                                **({"id_field": c.id_field} if c.id_field != "id" else {}),
                                **({"placeholder_owners": list(c.placeholder_owners)} if c.placeholder_owners else {})}
                           for c in cfg.crms}
    if cfg.away:
        data["away"] = [{"id": a.id, "user": a.user, "from": a.start, "to": a.end,
                         **({"backup": a.backup} if a.backup else {}), **({"note": a.note} if a.note else {})}
                        for a in cfg.away]
    return data


def _did_you_mean(name: str, known: list[str]) -> str:
    """"; did you mean 'inbound'?" for a name close to a known one (a typo), else ""."""
    from difflib import get_close_matches

    close = get_close_matches(name.lower(), [k.lower() for k in known], n=1, cutoff=0.75)
    if not close:
        return ""
    return f"; did you mean '{next(k for k in known if k.lower() == close[0])}'?"
