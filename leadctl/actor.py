"""Who does something, and through what: one `Actor` per entrance, made in one place.

The command line makes one per command (`cli_actor`: `--as`, else $LEADCTL_USER, else the user
tied to the OS account, else the OS account itself), `serve` one per request from the
credentials it accepted (`token_actor`). Library
operations that change something (routing, pick-up, reassign, release, config changes) take
it and record its `label` in the history; `user` is the leadctl user acting, whose rights
apply, or None for an intake token or the account that owns the files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    label: str  # what the history records: "ann", "token:website", "user:tom"
    via: str  # "cli", "serve" (a token) or "web" (serve's pages, signed in)
    user: str | None = None  # the leadctl user acting, if any (whose rights apply)
    account: str | None = None  # the OS account that ran the command (the command line only)
    token: str | None = None  # the name of the token a request came with (serve)

    @property
    def channel(self) -> str:
        """Through what the actor acted, as the history keeps it (`via`): `cli, os NAME` (the OS
        account that ran the command, whoever it acted as); `api, token NAME` for a request to
        `serve`; `web` for serve's pages."""
        if self.via == "web":
            return "web"
        if self.via == "serve":
            return f"api, token {self.token}" if self.token else "api"
        return f"cli, os {self.account}" if self.account else "cli"


def os_account() -> str:
    """The name of the account running this process."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def cli_actor(cfg, named: str | None, env_named: str | None = None, account: str | None = None) -> Actor:
    """The actor of a command, resolved once: `--as USER`, else $LEADCTL_USER (either a leadctl
    user in any case; an unknown name is a usage error), else the user whose `os_user` (default:
    their id) is the OS account, else the OS account itself: nobody in particular, who may do what
    the files let them. `cfg` may be None where there is no config yet (then a name given is kept
    for the history as it is). The OS account is always kept too (`channel`)."""
    from .errors import ConfigError

    account = account or os_account()
    users = cfg.users if cfg is not None else ()

    def user_named(name: str):
        return next((u for u in users if u.id == name), None) or next(
            (u for u in users if u.id.lower() == name.lower()), None)

    for name, where in ((named, "--as"), (env_named, "LEADCTL_USER")):
        if not name:
            continue
        user = user_named(name)
        if user is not None:
            return Actor(user.id, "cli", user.id, account)
        if cfg is not None:
            raise ConfigError(f"{where} '{name}' is not a leadctl user (see `leadctl user list`); nothing was changed")
        return Actor(name, "cli", account=account)
    for u in users:
        if (u.os_user or u.id) == account:
            return Actor(u.id, "cli", u.id, account)
    return Actor(account, "cli", account=account)


def web_actor(user_id: str) -> Actor:
    """The actor of a click on serve's web pages: the signed-in user."""
    return Actor(f"user:{user_id}", "web", user_id)


def token_actor(token_name: str, user_id: str | None) -> Actor:
    """The actor of a request: the user a token was made for, else the intake token itself."""
    if user_id:
        return Actor(f"user:{user_id}", "serve", user_id, token=token_name)
    return Actor(f"token:{token_name}", "serve", token=token_name)


def label_of(actor: Actor | None) -> str | None:
    return actor.label if actor is not None else None


def channel_of(actor: Actor | None) -> str | None:
    return actor.channel if actor is not None else None
