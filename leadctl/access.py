"""Who may see and take which leads: lead isolation and pick-up permission.

Pure decisions over the config and a lead row; every listing goes through
`visible_owner`, and every pick-up through `pickup_refusal`.
"""

from __future__ import annotations

from .config import Config, User

def visible_owner(cfg: Config, as_user: str | None) -> str | None:
    """The owner a listing must be restricted to, or None for every lead.

    With isolation on, a `trusted` user sees only the leads assigned to them;
    managers and owners see all. Standard users are not isolated (seed 004:
    isolation works through the trusted role). No `--as` means the admin.
    """
    if as_user is None:
        return None
    user = cfg.find_user(as_user)
    if cfg.settings.isolate and user.role == "trusted":
        return user.id
    return None


def can_see(cfg: Config, as_user: str | None, lead: dict) -> bool:
    owner = visible_owner(cfg, as_user)
    return owner is None or lead.get("assigned_to") == owner


def pickup_statuses(cfg: Config, user: User) -> dict[str, set[str]]:
    """Record type -> the statuses `user` may pick up, from every group they belong to."""
    out: dict[str, set[str]] = {}
    for g in cfg.groups:
        if g.member(user.id) and g.pickup_statuses:
            out.setdefault(g.record_type, set()).update(g.pickup_statuses)
    return out


def pickup_refusal(cfg: Config, user: User, lead: dict) -> str | None:
    """Why `user` may not pick up `lead` (the first condition that fails), or None."""
    if not user.active:
        return f"user '{user.id}' is not active"
    if not user.pickup:
        return f"user '{user.id}' has no pick-up permission (leadctl user edit {user.id} --pickup)"
    if lead["assigned_to"] is not None:  # whose it is, is not said: a refusal never names another rep
        return f"lead '{lead['id']}' is not unassigned (only unassigned leads can be picked up)"
    allowed = {s.lower() for s in pickup_statuses(cfg, user).get(lead["type"], set())}
    if (lead["status"] or "").lower() not in allowed:  # any case, as rules compare
        return (f"status '{lead['status']}' of lead '{lead['id']}' is not a pick-up status of any"
                f" {lead['type']} group '{user.id}' belongs to")
    return None
