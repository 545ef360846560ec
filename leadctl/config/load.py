"""Reading the config: TOML in (tomllib) to the model's frozen dataclasses, every key and type
checked with a message that names the file, the table and the key, then validated whole."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from ..domain.conditions import BadCondition, from_data
from ..errors import ConfigError
from . import ladder
from .checks import validate
from .toml_cache import read_toml
from .model import (
    CLOSED_STATUSES, DEFAULT_TIMEZONE, Away, Config, Crm, Group, Member, Notify, Rule, Settings, User, ordered_roles,
)


MAX_CONFIG = 16 << 20  # bytes: a config of thousands of users and rules is well under a megabyte


def load(path: Path) -> Config:
    return load_text(path)[0]


def load_text(path: Path) -> tuple[Config, str]:
    """The config and the exact text it was read from (what a change edits and history keeps).
    Only a regular file of at most MAX_CONFIG bytes is read (not /dev/zero, a pipe or a folder)."""
    import stat

    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"config file {path} is not a regular file")
        if info.st_size > MAX_CONFIG:
            raise ConfigError(f"config file {path} is larger than {MAX_CONFIG >> 20} MiB: not a leadctl config")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found; run `leadctl init` or pass --config PATH"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    return parse(raw, path), raw.decode("utf-8")


def parse(raw: bytes, path: Path) -> Config:
    """A config from the bytes of a TOML file, validated."""
    try:
        data = read_toml(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    cfg = from_dict(data, path)
    validate(cfg)
    return cfg


def _where(path: Path, what: str) -> str:
    return f"{path.name}: {what}" if what else path.name


def _check_keys(data: Any, allowed: set[str] | None, what: str, path: Path) -> dict:
    """`data` must be a table with only `allowed` keys (None: any key)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{_where(path, what)} must be a table")
    unknown = sorted(set(data) - allowed) if allowed is not None else []
    if unknown:
        raise ConfigError(f"{_where(path, what)}: unknown key '{unknown[0]}'")
    return data


def _typed(value: Any, kind: type, key: str, what: str, path: Path) -> Any:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list", dict: "a table"}
        raise ConfigError(f"{_where(path, what)}: '{key}' must be {names[kind]}")
    return value


def _moment(value: Any, key: str, what: str, path: Path) -> str:
    """A moment with its offset (a TOML date-time, or its ISO 8601 text), as ISO 8601 text."""
    from datetime import datetime

    if value == "":
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(_typed(value, str, key, what, path))
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ConfigError(f"{_where(path, what)}: '{key}' must be a date and time with its offset,"
                          " like 2026-12-01T09:00:00+01:00")
    return moment.isoformat(timespec="seconds")


def from_dict(data: dict, path: Path) -> Config:
    top = _check_keys(data, {"ledger", "settings", "users", "groups", "routing", "intake", "notify", "serve", "away",
                             "crm"},
                      "", path)
    ledger = top.get("ledger")
    if ledger is not None:
        _typed(ledger, str, "ledger", "", path)

    s = _check_keys(top.get("settings", {}), {f for f in Settings.__dataclass_fields__}, "[settings]", path)
    settings = Settings(
        timezone=_typed(s.get("timezone", DEFAULT_TIMEZONE), str, "timezone", "[settings]", path),
        duplicates=tuple(_typed(s.get("duplicates", []), list, "duplicates", "[settings]", path)),
        isolate=_typed(s.get("isolate", False), bool, "isolate", "[settings]", path),
        assign_to_creator=_typed(
            s.get("assign_to_creator", False), bool, "assign_to_creator", "[settings]", path
        ),
        phone_region=_typed(s.get("phone_region", ""), str, "phone_region", "[settings]", path),
        closed_statuses=tuple(str(x) for x in _typed(s.get("closed_statuses", list(CLOSED_STATUSES)), list,
                                                     "closed_statuses", "[settings]", path)),
        date_format=_typed(s.get("date_format", ""), str, "date_format", "[settings]", path),
        match_domains=_typed(s.get("match_domains", False), bool, "match_domains", "[settings]", path),
        retain_days=_retain_days(s.get("retain_days", 0), path),
    )

    users = []
    for uid, u in _check_keys(top.get("users", {}), None, "[users]", path).items():
        what = f"user '{uid}'"
        _check_keys(u, {"name", "email", "role", "roles", "pickup", "reassign", "os_user", "active", "notify",
                        "webhook_url", "timezone", "hours", "daily", "monthly", "crm", "tags"}, what, path)
        users.append(
            User(
                id=uid,
                name=_typed(u.get("name", ""), str, "name", what, path),
                email=_typed(u.get("email", ""), str, "email", what, path),
                roles=_roles(u, what, path),
                pickup=_typed(u.get("pickup", False), bool, "pickup", what, path),
                reassign=_typed(u.get("reassign", False), bool, "reassign", what, path),
                os_user=_typed(u.get("os_user", ""), str, "os_user", what, path),
                timezone=_typed(u.get("timezone", ""), str, "timezone", what, path),
                hours=_typed(u.get("hours", ""), str, "hours", what, path),
                daily=_typed(u.get("daily", 0), int, "daily", what, path),
                monthly=_typed(u.get("monthly", 0), int, "monthly", what, path),
                active=_typed(u.get("active", True), bool, "active", what, path),
                notify=_typed(u.get("notify", True), bool, "notify", what, path),
                webhook_url=_typed(u.get("webhook_url", ""), str, "webhook_url", what, path),
                crm=tuple(sorted((str(k), _typed(v, str, f"crm.{k}", what, path))
                                 for k, v in _typed(u.get("crm", {}), dict, "crm", what, path).items())),
                tags=tuple(sorted({_typed(t, str, "tags", what, path).strip().lower()
                                   for t in _typed(u.get("tags", []), list, "tags", what, path)})),
            )
        )

    groups = []
    for name, g in _check_keys(top.get("groups", {}), None, "[groups]", path).items():
        what = f"group '{name}'"
        _check_keys(g, {"method", "record_type", "pickup_statuses", "members", "overflow", "queue", "contact_within",
                        "max_hops", "escalate_to", "sla_since", "sla"}, what, path)
        try:
            sla = ladder.from_data(g["sla"], _where(path, what)) if "sla" in g else ladder.Ladder()
        except ConfigError as exc:
            raise ConfigError(str(exc)) from None
        members = []
        for i, m in enumerate(_typed(g.get("members", []), list, "members", what, path), 1):
            mwhat = f"{what} member {i}"
            _check_keys(m, {"user", "daily", "monthly", "weight", "max_open"}, mwhat, path)
            if "user" not in m:
                raise ConfigError(f"{_where(path, mwhat)}: 'user' is missing")
            members.append(
                Member(
                    user=_typed(m["user"], str, "user", mwhat, path),
                    daily=_typed(m.get("daily", 0), int, "daily", mwhat, path),
                    monthly=_typed(m.get("monthly", 0), int, "monthly", mwhat, path),
                    weight=_typed(m.get("weight", 1), int, "weight", mwhat, path),
                    max_open=_typed(m.get("max_open", 0), int, "max_open", mwhat, path),
                )
            )
        statuses = _typed(g.get("pickup_statuses", []), list, "pickup_statuses", what, path)
        groups.append(
            Group(
                name=name,
                method=_typed(g.get("method", "sequential"), str, "method", what, path),
                record_type=_typed(g.get("record_type", "lead"), str, "record_type", what, path),
                pickup_statuses=tuple(str(x) for x in statuses),
                members=tuple(members),
                overflow=_typed(g.get("overflow", ""), str, "overflow", what, path),
                queue=_typed(g.get("queue", False), bool, "queue", what, path),
                contact_within=_typed(g.get("contact_within", ""), str, "contact_within", what, path),
                max_hops=_typed(g.get("max_hops", 2), int, "max_hops", what, path),
                escalate_to=_typed(g.get("escalate_to", ""), str, "escalate_to", what, path),
                sla_since=_moment(g.get("sla_since", ""), "sla_since", what, path),
                sla=sla,
            )
        )

    routing = _check_keys(top.get("routing", {}), {"default_group", "rules", "territories", "accounts"}, "[routing]",
                          path)
    default_group = routing.get("default_group")
    if default_group is not None:
        _typed(default_group, str, "default_group", "[routing]", path)
    rules = []
    for i, r in enumerate(_typed(routing.get("rules", []), list, "rules", "[routing]", path), 1):
        what = f"rule {i}"
        _check_keys(r, {"group", "when", "territories", "require_tags", "strict_tags"}, what, path)
        try:
            when = from_data(r["when"], "when") if "when" in r else None
        except BadCondition as exc:
            raise ConfigError(f"{_where(path, what)}: {exc}") from None
        tags = tuple(_typed(t, str, "require_tags", what, path).strip().lower()
                     for t in _typed(r.get("require_tags", []), list, "require_tags", what, path))
        rules.append(Rule(group=_typed(r.get("group", ""), str, "group", what, path), when=when, require_tags=tags,
                          territories=_typed(r.get("territories", False), bool, "territories", what, path),
                          strict_tags=_typed(r.get("strict_tags", False), bool, "strict_tags", what, path)))

    intake = _check_keys(top.get("intake", {}), {"mappings"}, "[intake]", path)
    mappings = {}
    for name, table in _check_keys(intake.get("mappings", {}), None, "[intake.mappings]", path).items():
        what = f"mapping '{name}'"
        _check_keys(table, None, what, path)
        mappings[name] = {str(k): _typed(v, str, k, what, path) for k, v in table.items()}

    n = _check_keys(top.get("notify", {}), set(Notify.__dataclass_fields__), "[notify]", path)
    kinds = {k: type(v.default) for k, v in Notify.__dataclass_fields__.items()}
    notify = Notify(**{k: _typed(v, kinds[k], k, "[notify]", path) for k, v in n.items()})

    away = []
    for i, a in enumerate(_typed(top.get("away", []), list, "away", "[[away]]", path), 1):
        what = f"away entry {i}"
        _check_keys(a, {"id", "user", "from", "to", "backup", "note"}, what, path)
        missing = [k for k in ("id", "user", "from", "to") if k not in a]
        if missing:
            raise ConfigError(f"{_where(path, what)}: '{missing[0]}' is missing")
        away.append(Away(id=_typed(a["id"], int, "id", what, path), user=_typed(a["user"], str, "user", what, path),
                         start=_day(a["from"], "from", what, path), end=_day(a["to"], "to", what, path),
                         backup=_typed(a.get("backup", ""), str, "backup", what, path),
                         note=_typed(a.get("note", ""), str, "note", what, path)))

    serve = _check_keys(top.get("serve", {}), {"base_url", "port"}, "[serve]", path)
    base_url = _typed(serve.get("base_url", ""), str, "base_url", "[serve]", path)
    port = _typed(serve.get("port", 0), int, "port", "[serve]", path)
    if not 0 <= port <= 65535:
        raise ConfigError(f"{_where(path, '[serve]')}: 'port' must be from 1 to 65535")

    return Config(
        path=path,
        notify=notify,
        base_url=base_url,
        port=port,
        settings=settings,
        users=tuple(users),
        groups=tuple(groups),
        rules=tuple(rules),
        default_group=default_group,
        ledger=ledger,
        mappings=mappings,
        away=tuple(away),
        crms=_crms(top.get("crm", {}), path),
        territory_file=_typed(routing.get("territories", ""), str, "territories", "[routing]", path),
        account_file=_typed(routing.get("accounts", ""), str, "accounts", "[routing]", path),
    )


def _crms(table: Any, path: Path) -> tuple:
    out = []
    for name, c in _check_keys(table, None, "[crm]", path).items():
        what = f"crm '{name}'"
        _check_keys(c, {"kind", "object", "id_field", "base_url", "token_env", "secret_env", "placeholder_owners"},
                    what, path)
        if "kind" not in c:
            raise ConfigError(f"{_where(path, what)}: 'kind' is missing (hubspot, salesforce, pipedrive or sell)")
        placeholders = tuple(_typed(v, str, "placeholder_owners", what, path).strip()
                             for v in _typed(c.get("placeholder_owners", []), list, "placeholder_owners", what, path))
        out.append(Crm(name, **{k: _typed(v, str, k, what, path) for k, v in c.items() if k != "placeholder_owners"},
                       placeholder_owners=placeholders))
    return tuple(out)


def _retain_days(value, path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36500:
        raise ConfigError(f"{_where(path, '[settings]')}: 'retain_days' must be a whole number of days, 0 to 36500"
                          " (0 keeps leads forever)")
    return value


def _day(value, key: str, what: str, path) -> str:
    """A date: TOML's own (from = 2026-12-20) or text in ISO form; kept as YYYY-MM-DD."""
    from datetime import date

    if isinstance(value, date):
        return value.isoformat()
    return _typed(value, str, key, what, path)


def _roles(u: dict, what: str, path) -> tuple[str, ...]:
    """`role = "manager"` (one role) or `roles = ["manager", "trusted"]` (several), not both."""
    if "role" in u and "roles" in u:
        raise ConfigError(f"{path}: {what}: has both `role` and `roles`; keep one (`roles` for several)")
    if "roles" in u:
        roles = _typed(u["roles"], list, "roles", what, path)
        if not all(isinstance(r, str) for r in roles):
            raise ConfigError(f"{path}: {what}: `roles` must be a list of role names")
        return ordered_roles(roles)
    return ordered_roles([_typed(u.get("role", "standard"), str, "role", what, path)])
