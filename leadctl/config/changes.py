"""Changes to a config: each a pure function from one Config to the next (users, groups,
members, rules, mappings, the default group), refusing with a ConfigError what cannot be.
The caller validates the whole result and writes it (files.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import ConfigError
from .checks import check_count, check_email, check_name
from .ladder import Ladder, ordered, steps_of
from .model import Config, Crm, Group, Member, Rule, User


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


def tag_user(cfg: Config, user_id: str, add: list[str] | None = None, remove: list[str] | None = None) -> Config:
    """The user with tags added and taken away (in any case; kept in lower case, sorted)."""
    old = cfg.find_user(user_id)
    gone = {t.strip().lower() for t in remove or ()}
    missing = sorted(gone - set(old.tags))
    if missing:
        raise ConfigError(f"user '{old.id}' has no tag '{missing[0]}' (their tags: {', '.join(old.tags) or 'none'})")
    tags = (set(old.tags) | {t.strip().lower() for t in add or ()}) - gone
    return edit_user(cfg, old.id, tags=tuple(sorted(tags)))


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


def edit_group(cfg: Config, name: str, *, at: str = "", **changes: Any) -> Config:
    """The group with `changes` (None: unchanged); an SLA switched on or changed covers the leads
    assigned after `at` (ISO 8601, the change's moment) only."""
    old = cfg.group(name)
    new = replace(old, **{k: v for k, v in changes.items() if v is not None})
    if new.contact_within and new.contact_within != old.contact_within:
        new = replace(new, sla=Ladder(clock=old.sla.clock, accept_within=old.sla.accept_within))  # the shorthand
    return replace(cfg, groups=tuple(_sla_dated(old, new, at) if g.name == name else g for g in cfg.groups))


def set_sla(cfg: Config, name: str, *, at: str, steps: tuple | None = None, clock: str | None = None,
            accept_within: str | None = None, off: bool = False) -> Config:
    """The group's SLA ladder: `steps` (in place of `contact_within`, the one-step shorthand),
    its `clock`, `accept_within` (leads offered; "" or "0": given); `off`: no SLA at all.
    Changed steps, clock or offers cover leads assigned after `at`."""
    old = cfg.group(name)
    if off:
        new = replace(old, sla=Ladder(), contact_within="")
    else:
        steps = ordered(steps) if steps is not None else old.sla.steps
        if clock is not None and not steps and not old.contact_within:
            raise ConfigError(f"group '{name}' has no SLA steps to run on a clock: add them with --step AFTER:ACTION")
        accept = old.sla.accept_within if accept_within is None else ("" if accept_within == "0" else accept_within)
        new = replace(old, sla=Ladder(steps, clock or old.sla.clock, accept),
                      contact_within="" if steps else old.contact_within)
    return replace(cfg, groups=tuple(_sla_dated(old, new, at) if g.name == name else g for g in cfg.groups))


def _sla_dated(old, new, at: str):
    """`new`, with `sla_since` moved to `at` when its SLA was switched on or changed (none: cleared)."""
    if steps_of(new) == steps_of(old) and new.sla.clock == old.sla.clock and \
            new.sla.accept_within == old.sla.accept_within:
        return new
    return replace(new, sla_since=at if steps_of(new) or new.sla.accept_within else "")


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
    for key in ("daily", "monthly", "weight", "max_open"):
        check_count(getattr(member, key), f"--{key.replace('_', '-')}")
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


def _rule_position(cfg: Config, number: int, what: str, extra: int = 0) -> int:
    if not 1 <= number <= len(cfg.rules) + extra:
        if not cfg.rules and not extra:
            raise ConfigError("there are no rules yet (see `leadctl rule add`)")
        raise ConfigError(f"{what} must be a rule number from 1 to {len(cfg.rules) + extra} (see `leadctl rule list`)")
    return number - 1


def add_rule(cfg: Config, group: str, conditions: list[str], at: int | None = None, *, any_of: bool = False,
             require_tags: list[str] | None = None, strict_tags: bool = False, territories: bool = False) -> Config:
    """A rule at the end, or at position `at` (1 = tried first; the rules after it move down):
    leads meeting every condition (`any_of`: one of them; none given: every lead) go to `group`
    (to its members with every one of `require_tags`)."""
    from ..domain.conditions import All, Any, BadCondition, parse

    if group:
        cfg.group(group)
    elif not territories:
        raise ConfigError("a rule needs --group GROUP (or --territories: the territory table decides)")
    try:
        parts = tuple(parse(c) for c in conditions)
    except BadCondition as exc:
        raise ConfigError(str(exc)) from None
    when = None if not parts else parts[0] if len(parts) == 1 else (Any(parts) if any_of else All(parts))
    i = len(cfg.rules) if at is None else _rule_position(cfg, at, "--at", extra=1)
    tags = tuple(dict.fromkeys(t.strip().lower() for t in require_tags or ()))
    rule = Rule(group or "", when, territories=territories, require_tags=tags, strict_tags=strict_tags)
    return replace(cfg, rules=cfg.rules[:i] + (rule,) + cfg.rules[i:])


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


def add_away(cfg: Config, user: str, start: str, end: str, backup: str = "", note: str = "") -> tuple[Config, int]:
    """A leave entry (whole days in the user's zone, both ends included); returns it with its id."""
    from .model import Away

    user = cfg.find_user(user).id
    backup = cfg.find_user(backup).id if backup else ""
    n = max((a.id for a in cfg.away), default=0) + 1
    return replace(cfg, away=cfg.away + (Away(n, user, start, end, backup, note),)), n


def remove_away(cfg: Config, n: int) -> Config:
    if not any(a.id == n for a in cfg.away):
        raise ConfigError(f"no away entry {n} (see `leadctl away list`)")
    return replace(cfg, away=tuple(a for a in cfg.away if a.id != n))


def end_away(cfg: Config, n: int, last: str) -> Config:
    """Leave `n` ended early: its last day `last` (YYYY-MM-DD); leave that has not begun by then
    is removed."""
    entry = next((a for a in cfg.away if a.id == n), None)
    if entry is None:
        raise ConfigError(f"no away entry {n} (see `leadctl away list`)")
    if last < entry.start:
        return remove_away(cfg, n)
    if last >= entry.end:
        return cfg
    return replace(cfg, away=tuple(replace(a, end=last) if a.id == n else a for a in cfg.away))


def add_crm(cfg: Config, crm: Crm) -> Config:
    """A CRM owners are written back to (`crm add`)."""
    check_name(crm.name, "crm")
    if any(c.name == crm.name for c in cfg.crms):
        raise ConfigError(f"crm '{crm.name}' exists already (`leadctl crm remove {crm.name}` first)")
    return replace(cfg, crms=cfg.crms + (crm,))


def remove_crm(cfg: Config, name: str) -> Config:
    """A CRM no longer written to; the users' owner ids for it go with it."""
    if not any(c.name == name for c in cfg.crms):
        raise ConfigError(f"unknown crm '{name}' (see `leadctl crm list`)")
    users = tuple(replace(u, crm=tuple(p for p in u.crm if p[0] != name)) for u in cfg.users)
    return replace(cfg, crms=tuple(c for c in cfg.crms if c.name != name), users=users)


def set_crm_ids(cfg: Config, ids: dict[str, dict[str, str]]) -> Config:
    """Users' owner ids: {user id: {crm name: owner id, or "" to forget it}}."""
    known = {c.name for c in cfg.crms}
    for user, by_crm in ids.items():
        for crm in by_crm:
            if crm not in known:
                raise ConfigError(f"unknown crm '{crm}' (see `leadctl crm list`)")
        old = cfg.find_user(user)
        merged = {**dict(old.crm), **by_crm}
        cfg = edit_user(cfg, old.id, crm=tuple(sorted((k, v.strip()) for k, v in merged.items() if v.strip())))
    return cfg

