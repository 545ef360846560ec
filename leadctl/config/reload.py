"""A long-running command's view of the config: read again when the file changes."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError
from .load import load
from .model import Config


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
