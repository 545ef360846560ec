"""The team's config: users, groups, caps, routing rules and settings.

TOML in (tomllib) to frozen dataclasses, every value validated with a message
that names the thing at fault; changes are made on the dataclasses, the whole
result validated again, then written atomically (tomli-w, temp file + rename),
so a refused command leaves the file byte-for-byte unchanged.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .engine import METHODS, Slot
from .errors import ConfigError

ROLES = ("standard", "trusted", "manager", "owner")
RECORD_TYPES = ("lead", "contact", "deal")
DUPLICATE_FIELDS = ("email", "phone")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class Settings:
    timezone: str = DEFAULT_TIMEZONE
    duplicates: tuple[str, ...] = ()
    isolate: bool = False
    assign_to_creator: bool = False
    phone_region: str = ""  # e.g. "DE": national phone numbers are read as this country's (duplicates)


@dataclass(frozen=True)
class User:
    id: str
    name: str = ""
    email: str = ""
    role: str = "standard"
    pickup: bool = False
    active: bool = True
    notify: bool = True  # told about each lead they get (when [notify] has a channel)
    webhook_url: str = ""  # their own chat webhook, instead of the team's


SMTP_SECURITY = ("none", "starttls", "ssl")


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
class Member:
    user: str
    daily: int = 0
    monthly: int = 0
    weight: int = 1


@dataclass(frozen=True)
class Group:
    name: str
    method: str = "sequential"
    record_type: str = "lead"
    pickup_statuses: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()

    def member(self, user: str) -> Member | None:
        return next((m for m in self.members if m.user == user), None)


@dataclass(frozen=True)
class Rule:
    group: str
    when: tuple[tuple[str, str], ...]


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

    # -- look-ups -----------------------------------------------------------
    def user(self, user_id: str) -> User:
        for u in self.users:
            if u.id == user_id:
                return u
        raise ConfigError(f"unknown user '{user_id}' (see `leadctl user list`)")

    def group(self, name: str) -> Group:
        for g in self.groups:
            if g.name == name:
                return g
        raise ConfigError(f"unknown group '{name}' (see `leadctl group list`)")

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
        active = self.active_users()
        return tuple(
            Slot(m.user, m.daily, m.monthly, m.weight, m.user in active) for m in group.members
        )

    def ledger_path(self) -> Path | str:
        """The SQLite file (relative to the config's folder), or a postgresql:// URL as text."""
        if self.ledger and self.ledger.startswith(("postgresql://", "postgres://")):
            return self.ledger
        base = self.path.parent
        return base / self.ledger if self.ledger else base / "leadctl.db"

    def tz(self):
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.settings.timezone)


# -- reading --------------------------------------------------------------------


def load(path: Path) -> Config:
    return load_text(path)[0]


def load_text(path: Path) -> tuple[Config, str]:
    """The config and the exact text it was read from (what a change edits and history keeps)."""
    try:
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
        data = tomllib.loads(raw.decode("utf-8"))
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
        names = {str: "a string", int: "a whole number", bool: "true or false", list: "a list"}
        raise ConfigError(f"{_where(path, what)}: '{key}' must be {names[kind]}")
    return value


def from_dict(data: dict, path: Path) -> Config:
    top = _check_keys(data, {"ledger", "settings", "users", "groups", "routing", "intake", "notify"}, "", path)
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
    )

    users = []
    for uid, u in _check_keys(top.get("users", {}), None, "[users]", path).items():
        what = f"user '{uid}'"
        _check_keys(u, {"name", "email", "role", "pickup", "active", "notify", "webhook_url"}, what, path)
        users.append(
            User(
                id=uid,
                name=_typed(u.get("name", ""), str, "name", what, path),
                email=_typed(u.get("email", ""), str, "email", what, path),
                role=_typed(u.get("role", "standard"), str, "role", what, path),
                pickup=_typed(u.get("pickup", False), bool, "pickup", what, path),
                active=_typed(u.get("active", True), bool, "active", what, path),
                notify=_typed(u.get("notify", True), bool, "notify", what, path),
                webhook_url=_typed(u.get("webhook_url", ""), str, "webhook_url", what, path),
            )
        )

    groups = []
    for name, g in _check_keys(top.get("groups", {}), None, "[groups]", path).items():
        what = f"group '{name}'"
        _check_keys(g, {"method", "record_type", "pickup_statuses", "members"}, what, path)
        members = []
        for i, m in enumerate(_typed(g.get("members", []), list, "members", what, path), 1):
            mwhat = f"{what} member {i}"
            _check_keys(m, {"user", "daily", "monthly", "weight"}, mwhat, path)
            if "user" not in m:
                raise ConfigError(f"{_where(path, mwhat)}: 'user' is missing")
            members.append(
                Member(
                    user=_typed(m["user"], str, "user", mwhat, path),
                    daily=_typed(m.get("daily", 0), int, "daily", mwhat, path),
                    monthly=_typed(m.get("monthly", 0), int, "monthly", mwhat, path),
                    weight=_typed(m.get("weight", 1), int, "weight", mwhat, path),
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
            )
        )

    routing = _check_keys(top.get("routing", {}), {"default_group", "rules"}, "[routing]", path)
    default_group = routing.get("default_group")
    if default_group is not None:
        _typed(default_group, str, "default_group", "[routing]", path)
    rules = []
    for i, r in enumerate(_typed(routing.get("rules", []), list, "rules", "[routing]", path), 1):
        what = f"rule {i}"
        _check_keys(r, {"group", "when"}, what, path)
        when = _check_keys(r.get("when", {}), None, f"{what} 'when'", path)
        rules.append(
            Rule(
                group=_typed(r.get("group", ""), str, "group", what, path),
                when=tuple((str(k), _typed(v, str, k, what, path)) for k, v in when.items()),
            )
        )

    intake = _check_keys(top.get("intake", {}), {"mappings"}, "[intake]", path)
    mappings = {}
    for name, table in _check_keys(intake.get("mappings", {}), None, "[intake.mappings]", path).items():
        what = f"mapping '{name}'"
        _check_keys(table, None, what, path)
        mappings[name] = {str(k): _typed(v, str, k, what, path) for k, v in table.items()}

    n = _check_keys(top.get("notify", {}), set(Notify.__dataclass_fields__), "[notify]", path)
    kinds = {k: type(v.default) for k, v in Notify.__dataclass_fields__.items()}
    notify = Notify(**{k: _typed(v, kinds[k], k, "[notify]", path) for k, v in n.items()})

    return Config(
        path=path,
        notify=notify,
        settings=settings,
        users=tuple(users),
        groups=tuple(groups),
        rules=tuple(rules),
        default_group=default_group,
        ledger=ledger,
        mappings=mappings,
    )


# -- validation -----------------------------------------------------------------


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
    from .keys import check_region

    try:
        return check_region(region)
    except ValueError:
        raise ConfigError(f"{what}: unknown phone region '{region}' (a two-letter country code, e.g. DE, GB, US)") from None


def validate(cfg: Config) -> None:
    """Raise ConfigError naming the first thing at fault; the file is not trusted."""
    p = cfg.path.name
    check_timezone(cfg.settings.timezone)
    if cfg.settings.phone_region:
        check_phone_region(cfg.settings.phone_region, f"{p}: [settings] phone_region")
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
        if u.role not in ROLES:
            raise ConfigError(f"{p}: user '{u.id}': unknown role '{u.role}' (use {', '.join(ROLES)})")
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
            for key in ("daily", "monthly", "weight"):
                check_count(getattr(m, key), f"{p}: group '{g.name}' member '{m.user}': {key}")
    for i, r in enumerate(cfg.rules, 1):
        if r.group not in seen_groups:
            raise ConfigError(f"{p}: rule {i}: unknown group '{r.group}'")
        if not r.when:
            raise ConfigError(f"{p}: rule {i}: needs at least one FIELD=VALUE condition")
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


def warnings(cfg: Config) -> list[str]:
    """Things that are valid but probably not what the admin wants."""
    out = []
    users = {u.id: u for u in cfg.users}
    for g in cfg.groups:
        if not g.members:
            out.append(f"group '{g.name}' has no members: its leads will stay unassigned")
            continue
        active = [m for m in g.members if users[m.user].active]
        if not active:
            out.append(f"group '{g.name}' has no active member: its leads will stay unassigned")
        elif all(m.daily or m.monthly for m in active):
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
    if cfg.notify.email:
        silent = [u.id for u in cfg.users if u.active and u.notify and not u.email
                  and not (u.webhook_url or cfg.notify.webhook_url)]
        if silent:
            out.append(f"[notify] sends email, but {', '.join(silent[:5])} {'has' if len(silent) == 1 else 'have'}"
                       " no email address: they will not be told (`leadctl user edit ID --email ...`)")
    if cfg.groups and cfg.default_group is None:
        out.append("no default group: leads that match no rule are rejected (`leadctl rule default GROUP`)")
    return out


# -- writing --------------------------------------------------------------------


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
    }
    data["users"] = {
        u.id: {"name": u.name, "email": u.email, "role": u.role, "pickup": u.pickup, "active": u.active,
               **({} if u.notify else {"notify": False}), **({"webhook_url": u.webhook_url} if u.webhook_url else {})}
        for u in cfg.users
    }
    data["groups"] = {
        g.name: {
            "method": g.method,
            "record_type": g.record_type,
            "pickup_statuses": list(g.pickup_statuses),
            "members": [
                {"user": m.user, "daily": m.daily, "monthly": m.monthly, "weight": m.weight}
                for m in g.members
            ],
        }
        for g in cfg.groups
    }
    routing: dict[str, Any] = {}
    if cfg.default_group:
        routing["default_group"] = cfg.default_group
    routing["rules"] = [{"group": r.group, "when": dict(r.when)} for r in cfg.rules]
    data["routing"] = routing
    if cfg.mappings:
        data["intake"] = {"mappings": {name: dict(m) for name, m in cfg.mappings.items()}}
    defaults = Notify()
    changed = {k: getattr(cfg.notify, k) for k in Notify.__dataclass_fields__ if getattr(cfg.notify, k) != getattr(defaults, k)}
    if changed:
        data["notify"] = changed
    return data


LOCK_TIMEOUT = 30.0  # seconds a change waits for another leadctl command's change to finish


def lock_path(path: Path) -> Path:
    """The lock file beside the config (beside its target, when the config is a symlink)."""
    target = Path(os.path.realpath(path))
    return target.with_name(f".{target.name}.lock")


@contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the config's lock: one load-change-validate-write at a time.

    Every command that changes the config holds it from reading the file to
    renaming the new one into place, so N parallel edits leave N changes (or a
    clear refusal after `timeout` seconds), never a silently lost one. Readers
    need no lock: the file is only ever replaced whole.
    """
    import fcntl
    import time

    timeout = LOCK_TIMEOUT if timeout is None else timeout
    where = lock_path(path)
    try:  # never through a symlink: a planted link would make leadctl create or open its target
        fd = os.open(where, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        if where.is_symlink():
            raise ConfigError(f"cannot lock config file {path}: the lock file {where} is a symbolic link;"
                              " remove it (leadctl makes its own)") from None
        raise ConfigError(f"cannot lock config file {path}: {exc.strerror} ({where})") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ConfigError(
                        f"config file {path} is being changed by another leadctl command"
                        f" (waited {timeout:.0f} s for {where}); nothing was changed, try again"
                    ) from None
                time.sleep(0.005)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when the config file is replaced or edited: (inode, size, mtime)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class Watcher:
    """The config as a long-running command should see it: re-read when the file
    changes, so caps and members edited during a route apply from its next batch.
    A change that does not load (a broken hand edit) keeps the last good config
    and is reported once through `problem`."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.stamp = stamp(cfg.path)
        self.problem: str | None = None

    def current(self) -> Config:
        now = stamp(self.cfg.path)
        if now != self.stamp:
            self.stamp = now
            try:
                self.cfg = load(self.cfg.path)
                self.problem = None
            except ConfigError as exc:
                self.problem = f"the config changed but cannot be used ({exc}); still routing with the previous one"
        return self.cfg


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so a crash leaves the old file or the new, never half.

    A new file is readable by its owner only; an existing file keeps its mode. A
    symlink is written through: its target is replaced, the link stays a link.
    """
    path = Path(os.path.realpath(path))
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    import tempfile  # only a command that writes the config needs it

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def render_text(cfg: Config, old: Config | None = None, old_text: str | None = None) -> str:
    """The file text for `cfg`: the old text with only the change applied (comments,
    order and layout kept, via tomlkit), or, for a new file or a layout that does not
    take a small edit, the whole config written fresh (tomli-w). Either way it is
    checked to read back as exactly `cfg` before anything is written."""
    validate(cfg)
    if old is not None and old_text is not None:
        from .config_edit import CannotEdit, edit_text

        try:
            text = edit_text(old_text, to_dict(old), to_dict(cfg))
            if _reads_as(text, cfg):
                return text
        except CannotEdit:
            pass
    import tomli_w

    text = "# leadctl config; see `leadctl --help` and README.md\n" + tomli_w.dumps(to_dict(cfg))
    if not _reads_as(text, cfg):
        raise ConfigError("internal error: the config would not read back as written; nothing changed")
    return text


def _reads_as(text: str, cfg: Config) -> bool:
    try:
        return from_dict(tomllib.loads(text), cfg.path) == cfg
    except (tomllib.TOMLDecodeError, ConfigError):
        return False


def write_text(path: Path, text: str) -> None:
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from None


def save(cfg: Config, old: Config | None = None, old_text: str | None = None) -> None:
    """Validate the whole config, then replace the file atomically."""
    write_text(cfg.path, render_text(cfg, old, old_text))


# -- changes (each returns a new Config; `save` validates the result) ----------------


_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def check_email(email: str) -> None:
    """An address a mail server can take (`name@example.com`), or "" for none."""
    if email and not _EMAIL.match(email):
        raise ConfigError(f"--email '{email}' does not look like an email address (e.g. tom@example.com)")


def add_user(cfg: Config, user: User) -> Config:
    check_name(user.id, "user")
    check_email(user.email)
    same = next((u.id for u in cfg.users if u.id.lower() == user.id.lower()), None)
    if same:  # ids compare in any case: `Tom` and `tom` would be one person twice
        raise ConfigError(f"user '{same}' already exists (use `leadctl user edit`)")
    return replace(cfg, users=cfg.users + (user,))


def edit_user(cfg: Config, user_id: str, **changes: Any) -> Config:
    old = cfg.find_user(user_id)
    user_id = old.id
    if changes.get("email"):
        check_email(changes["email"])
    new = replace(old, **{k: v for k, v in changes.items() if v is not None})
    return replace(cfg, users=tuple(new if u.id == user_id else u for u in cfg.users))


def remove_user(cfg: Config, user_id: str) -> Config:
    user_id = cfg.find_user(user_id).id
    groups = tuple(
        replace(g, members=tuple(m for m in g.members if m.user != user_id)) for g in cfg.groups
    )
    return replace(cfg, users=tuple(u for u in cfg.users if u.id != user_id), groups=groups)


def add_group(cfg: Config, group: Group) -> Config:
    check_name(group.name, "group")
    if cfg.has_group(group.name):
        raise ConfigError(f"group '{group.name}' already exists (use `leadctl group edit`)")
    return replace(cfg, groups=cfg.groups + (group,))


def edit_group(cfg: Config, name: str, **changes: Any) -> Config:
    old = cfg.group(name)
    new = replace(old, **{k: v for k, v in changes.items() if v is not None})
    return replace(cfg, groups=tuple(new if g.name == name else g for g in cfg.groups))


def remove_group(cfg: Config, name: str) -> Config:
    cfg.group(name)
    used_by = [i for i, r in enumerate(cfg.rules, 1) if r.group == name]
    if used_by:
        raise ConfigError(
            f"group '{name}' is used by rule {used_by[0]}; remove the rule first (`leadctl rule remove {used_by[0]}`)"
        )
    return replace(
        cfg,
        groups=tuple(g for g in cfg.groups if g.name != name),
        default_group=None if cfg.default_group == name else cfg.default_group,
    )


def add_member(cfg: Config, group: str, member: Member) -> Config:
    g = cfg.group(group)
    member = replace(member, user=cfg.find_user(member.user).id)
    if g.member(member.user):
        raise ConfigError(f"'{member.user}' is already a member of group '{group}' (use `group member edit`)")
    for key in ("daily", "monthly", "weight"):
        check_count(getattr(member, key), f"--{key}")
    return edit_group(cfg, group, members=g.members + (member,))


def edit_member(cfg: Config, group: str, user: str, **changes: Any) -> Config:
    g = cfg.group(group)
    user = cfg.find_user(user).id if any(u.id.lower() == user.lower() for u in cfg.users) else user
    old = g.member(user)
    if old is None:
        raise ConfigError(f"'{user}' is not a member of group '{group}'")
    for key, value in changes.items():
        if value is not None:
            check_count(value, f"--{key}")
    new = replace(old, **{k: v for k, v in changes.items() if v is not None})
    return edit_group(cfg, group, members=tuple(new if m.user == user else m for m in g.members))


def remove_member(cfg: Config, group: str, user: str) -> Config:
    g = cfg.group(group)
    user = cfg.find_user(user).id if any(u.id.lower() == user.lower() for u in cfg.users) else user
    if g.member(user) is None:
        raise ConfigError(f"'{user}' is not a member of group '{group}'")
    return edit_group(cfg, group, members=tuple(m for m in g.members if m.user != user))


def parse_condition(text: str) -> tuple[str, str]:
    """`FIELD=VALUE`, or `FIELD=A|B|...` (any of the values): kept as written, spaces trimmed."""
    field_name, sep, value = text.partition("=")
    field_name = field_name.strip()
    values = [v.strip() for v in value.split("|")]
    if not sep or not field_name or not all(values):
        raise ConfigError(f"--when '{text}' must look like FIELD=VALUE or FIELD=A|B, e.g. source=facebook")
    return field_name, "|".join(values)


def condition_values(value: str) -> frozenset[str]:
    """The values a condition accepts, compared case-insensitively: `A|B` is either."""
    return frozenset(v.strip().lower() for v in value.split("|"))


def _rule_position(cfg: Config, number: int, what: str, extra: int = 0) -> int:
    if not 1 <= number <= len(cfg.rules) + extra:
        if not cfg.rules and not extra:
            raise ConfigError("there are no rules yet (see `leadctl rule add`)")
        raise ConfigError(f"{what} must be a rule number from 1 to {len(cfg.rules) + extra} (see `leadctl rule list`)")
    return number - 1


def add_rule(cfg: Config, group: str, conditions: list[str], at: int | None = None) -> Config:
    """A rule at the end, or at position `at` (1 = tried first; the rules after it move down)."""
    cfg.group(group)
    if not conditions:
        raise ConfigError("a rule needs at least one --when FIELD=VALUE")
    when = tuple(parse_condition(c) for c in conditions)
    i = len(cfg.rules) if at is None else _rule_position(cfg, at, "--at", extra=1)
    return replace(cfg, rules=cfg.rules[:i] + (Rule(group, when),) + cfg.rules[i:])


def move_rule(cfg: Config, number: int, to: int) -> Config:
    i = _rule_position(cfg, number, "N")
    j = _rule_position(cfg, to, "--to")
    rules = list(cfg.rules)
    rules.insert(j, rules.pop(i))
    return replace(cfg, rules=tuple(rules))


def remove_rule(cfg: Config, number: int) -> Config:
    if not 1 <= number <= len(cfg.rules):
        raise ConfigError(f"there is no rule {number} (see `leadctl rule list`)")
    return replace(cfg, rules=tuple(r for i, r in enumerate(cfg.rules, 1) if i != number))


def mapping(cfg: Config, name: str) -> dict[str, str]:
    """A saved column mapping, sources in lower case (as `intake.parse_mapping` gives them)."""
    if name not in cfg.mappings:
        raise ConfigError(f"unknown mapping '{name}' (see `leadctl intake map list`)")
    return {k.strip().lower(): v.strip() for k, v in cfg.mappings[name].items()}


def add_mapping(cfg: Config, name: str, pairs: dict[str, str], replace_existing: bool = False) -> Config:
    check_name(name, "mapping")
    if not pairs:
        raise ConfigError("a mapping needs at least one --map SOURCE=FIELD")
    if name in cfg.mappings and not replace_existing:
        raise ConfigError(f"mapping '{name}' already exists (remove it first, or pass --replace)")
    return replace(cfg, mappings={**cfg.mappings, name: dict(pairs)})


def remove_mapping(cfg: Config, name: str) -> Config:
    mapping(cfg, name)
    return replace(cfg, mappings={k: v for k, v in cfg.mappings.items() if k != name})


def set_default(cfg: Config, group: str) -> Config:
    cfg.group(group)
    return replace(cfg, default_group=group)


STARTER = """\
# leadctl config: your team, its groups (distribution pools), caps and routing rules.
# Change it with `leadctl user ...`, `leadctl group ...`, `leadctl rule ...` and
# `leadctl settings ...`, or by hand: those commands change only the lines they must
# and keep your comments; `leadctl config history` lists every change.
# See sample-config.toml in the leadctl repository for a commented, complete team.

# ledger = "leadctl.db"          # SQLite ledger, relative to this file

[settings]
timezone = "UTC"                 # IANA name; caps count calendar days/months here
duplicates = []                  # ["email", "phone"]: give repeat leads to the earlier owner
isolate = false                  # trusted users see only their own leads
assign_to_creator = false        # a lead's created_by user gets it

# [users.tom]
# name = "Tom"
# role = "standard"              # standard | trusted | manager | owner
# pickup = true                  # may pick up unassigned leads

# [groups.tele-sales]
# method = "sequential"          # sequential | random | weighted
# record_type = "lead"           # lead | contact | deal
# pickup_statuses = ["new"]
# [[groups.tele-sales.members]]
# user = "tom"
# daily = 10                     # 0 = no limit
# monthly = 200
# weight = 1                     # weighted groups: 10 gets twice the leads of 5

[routing]
# default_group = "tele-sales"   # where leads that match no rule go
# [[routing.rules]]
# group = "tele-sales"
# when = { source = "facebook" }
"""
