"""Who may see which leads: the one visibility decision every listing goes through."""

from __future__ import annotations

from .config import Config

SEES_ALL = ("manager", "owner")


def visible_owner(cfg: Config, as_user: str | None) -> str | None:
    """The owner a listing must be restricted to, or None for every lead.

    With isolation on, a `trusted` user sees only the leads assigned to them;
    managers and owners see all. Standard users are not isolated (seed 004:
    isolation works through the trusted role). No `--as` means the admin.
    """
    if as_user is None:
        return None
    user = cfg.user(as_user)
    if cfg.settings.isolate and user.role == "trusted":
        return user.id
    return None
