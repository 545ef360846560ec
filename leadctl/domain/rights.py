"""Who may do what: the one place rights are decided (roles, permissions, isolation, pick-up).

Pure decisions over the config, an `Actor` and a lead row. The command line and `serve` both
ask `refusal` before a change and `visible_owner` before a listing; neither keeps a rule of
its own (tests/test_rights.py checks that no other module reads a user's roles).

- An actor that is no leadctl user (the account that owns the files, an intake token) may do
  anything it can reach: the files' permissions are the boundary on the command line.
- A user's rights are the union of their roles: `owner` and `admin` change the config;
  `manager` and above see every lead, reassign and release any, and pick up for others; the
  `reassign` permission lets any user reassign and release; `trusted` users see only their
  own leads when isolation is on (unless another role of theirs sees all).
"""

from __future__ import annotations

from ..actor import Actor
from ..config import Config, User

CONFIGURE = "configure"  # any change to the config (users, groups, rules, settings, tokens, notify…)
REASSIGN = "reassign"  # reassign and release leads
PICKUP = "pickup"  # pick up an unassigned lead (for oneself, or for another user)
POST_LEADS = "post_leads"  # send leads in over serve's POST /leads
AWAY = "away"  # add or remove leave (for oneself; for others: managers and above)
STATUS = "status"  # change a lead's status (one's own; others': the reassign right or managers and above)
TEAM = "team"  # see the team: every group's use, who is away, who is next (serve's /team page)
INTAKE = "intake"  # route, watch, drain, tick: bring leads in and hand out what is due (the output names every holder)
SIMULATE = "simulate"  # replay the past through a proposed config (reads only; isolation applies to what it lists)

ADMINS = frozenset({"owner", "admin"})
MANAGERS = frozenset({"owner", "admin", "manager"})  # see everything, act for others
ACTIONS = (CONFIGURE, REASSIGN, PICKUP, POST_LEADS, AWAY, STATUS, TEAM, INTAKE, SIMULATE)


def acting_user(cfg: Config, actor: Actor | None) -> User | None:
    """The leadctl user whose rights apply, or None for an actor that is no user."""
    if actor is None or actor.user is None:
        return None
    for u in cfg.users:
        if u.id == actor.user:
            return u
    return User(actor.user, active=False, roles=())  # removed since: no rights left


def refusal(cfg: Config, actor: Actor | None, action: str, *, for_user: str | None = None) -> str | None:
    """Why `actor` may not do `action` (`for_user`: whom a pick-up is for), or None when they may.
    The reason names the actor and the right they lack."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    user = acting_user(cfg, actor)
    if user is None:
        return None
    if action == POST_LEADS:  # a person's token reads and acts; leads come in through intake tokens
        return (f"a token of user '{user.id}' cannot post leads: use an intake token"
                " (`leadctl token add NAME` without --user)")
    if not user.active:
        return f"user '{user.id}' is not active and may not act"
    roles = set(user.roles)
    if action == CONFIGURE and not roles & ADMINS:
        return f"user '{user.id}' may not change the config: that needs the owner or admin role"
    if action == REASSIGN and not (user.reassign or roles & MANAGERS):
        return (f"user '{user.id}' may not reassign or release leads: that needs the reassign permission"
                " or the manager, admin or owner role")
    if action == STATUS and for_user != user.id and not (user.reassign or roles & MANAGERS):
        return (f"user '{user.id}' may change the status of their own leads only: another's needs the reassign"
                " permission or the manager, admin or owner role")
    if action == AWAY and not (for_user == user.id or roles & ADMINS
                               or ("manager" in roles and _share_a_group(cfg, user.id, for_user))):
        return (f"user '{user.id}' may enter leave only for themselves: for '{for_user}' that needs a manager of"
                " their group, or the admin or owner role")
    if action == INTAKE and not sees_all(user, cfg):
        return (f"user '{user.id}' may not route leads: they see only their own leads (isolation), and routing"
                " names every lead's holder")
    if action == TEAM and not roles & MANAGERS:
        return f"user '{user.id}' may not see the team page: that needs the manager, admin or owner role"
    if action == PICKUP and for_user is not None and for_user != user.id and not roles & MANAGERS:
        return (f"user '{user.id}' may pick up leads only for themselves: picking up for '{for_user}' needs"
                " the manager, admin or owner role")
    return None


def _share_a_group(cfg: Config, a: str, b: str | None) -> bool:
    return any(g.member(a) and g.member(b) for g in cfg.groups) if b else False


def backup_refusal(cfg: Config, actor: Actor | None, user: str, backup: str) -> str | None:
    """Why `actor` may not name `backup` to take `user`'s turns while away, or None. A user
    entering their own leave picks a backup from one of their groups (their turns are the
    group's), managers too; leave for someone else is for their group's manager
    (`refusal(AWAY)`), who may name anyone; admins and owners, who may change the config
    anyway, may name anyone."""
    acting = acting_user(cfg, actor)
    if acting is None or not backup or acting.id != user or set(acting.roles) & ADMINS:
        return None
    if not _share_a_group(cfg, user, backup):
        return (f"'{backup}' is in none of the groups of '{user}': a backup you choose for yourself must be a member"
                " of one of your groups (a manager of your group may name anyone)")
    return None


def alert_recipients(cfg: Config, group: str) -> list[User]:
    """Who is told when a group's leads wait or stay unassigned because nobody can take them:
    the group's members who are managers (or above), else the config's owners and admins."""
    g = next((g for g in cfg.groups if g.name == group), None)
    members = {m.user for m in g.members} if g is not None else set()
    active = [u for u in cfg.users if u.active]
    managers = [u for u in active if u.id in members and set(u.roles) & MANAGERS]
    return managers or [u for u in active if set(u.roles) & ADMINS]


def sees_all(user: User, cfg: Config) -> bool:
    """Whether `user` sees every lead: isolation is off, or they are not isolated by their roles."""
    roles = set(user.roles)
    return not cfg.settings.isolate or "trusted" not in roles or bool(roles & MANAGERS)


def visible_owner(cfg: Config, as_user: str | None) -> str | None:
    """The owner a listing must be restricted to, or None for every lead.

    With isolation on, a `trusted` user sees only the leads assigned to them; managers, admins
    and owners see all, also when they are trusted too (seed 004). Standard users are not
    isolated (isolation works through the trusted role). No user means the files' owner.
    """
    if as_user is None:
        return None
    user = cfg.find_user(as_user)
    return None if sees_all(user, cfg) else user.id


def can_see(cfg: Config, as_user: str | None, lead: dict) -> bool:
    """Whether `as_user` may see `lead`: every lead unless isolated; else their own, and the
    unassigned leads they may pick up (what `/pickup` lists opens for them too)."""
    owner = visible_owner(cfg, as_user)
    if owner is None or lead.get("assigned_to") == owner:
        return True
    return lead.get("assigned_to") is None and pickup_refusal(cfg, cfg.find_user(owner), lead) is None


def pickup_statuses(cfg: Config, user: User) -> dict[str, set[str]]:
    """Record type -> the statuses `user` may pick up, from every group they belong to."""
    out: dict[str, set[str]] = {}
    for g in cfg.groups:
        if g.member(user.id) and g.pickup_statuses:
            out.setdefault(g.record_type, set()).update(g.pickup_statuses)
    return out


def pickup_denied(user: User) -> str | None:
    """Why `user` may not pick up any lead at all, or None."""
    if not user.active:
        return f"user '{user.id}' is not active"
    if not user.pickup:
        return f"user '{user.id}' has no pick-up permission (leadctl user edit {user.id} --pickup)"
    return None


def pickup_refusal(cfg: Config, user: User, lead: dict) -> str | None:
    """Why `user` may not pick up `lead` (the first condition that fails), or None."""
    denied = pickup_denied(user)
    if denied:
        return denied
    if lead["assigned_to"] is not None:  # whose it is, is not said: a refusal never names another rep
        return f"lead '{lead['id']}' is not unassigned (only unassigned leads can be picked up)"
    group = next((g for g in cfg.groups if g.name == lead.get("group_name")), None)
    if group is not None:  # the lead group is the enquiry type: its members, its statuses
        if not group.member(user.id):
            return f"user '{user.id}' is not a member of group '{group.name}', the group of lead '{lead['id']}'"
        allowed = {s.lower() for s in group.pickup_statuses}
        if (lead["status"] or "").lower() not in allowed:  # any case, as rules compare
            return (f"status '{lead['status']}' of lead '{lead['id']}' is not a pick-up status of group"
                    f" '{group.name}'")
        return None
    allowed = {s.lower() for s in pickup_statuses(cfg, user).get(lead["type"], set())}  # a lead of no group
    if (lead["status"] or "").lower() not in allowed:
        return (f"status '{lead['status']}' of lead '{lead['id']}' is not a pick-up status of any"
                f" {lead['type']} group '{user.id}' belongs to")
    return None
