"""Who does something, and through what: one `Actor` per entrance, made in one place.

The command line makes one per command (`cli_actor`: `--as`, else $LEADCTL_USER, else the OS
account), `serve` one per request from the credentials it accepted (`token_actor`). Library
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
    via: str  # "cli" or "serve"
    user: str | None = None  # the leadctl user acting, if any


def os_account() -> str:
    """The name of the account running this process."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def cli_actor(named: str | None) -> Actor:
    """The actor of a command: the name given (--as, $LEADCTL_USER), else the OS account."""
    return Actor(named or os_account(), "cli", named or None)


def token_actor(token_name: str, user_id: str | None) -> Actor:
    """The actor of a request: the user a token was made for, else the intake token itself."""
    if user_id:
        return Actor(f"user:{user_id}", "serve", user_id)
    return Actor(f"token:{token_name}", "serve")


def label_of(actor: Actor | None) -> str | None:
    return actor.label if actor is not None else None
