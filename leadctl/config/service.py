"""A config change as one service call, the same for every entrance (the command line now, the
managers' pages next): ask `rights` at the door, load under the file's lock, apply a pure
change (`config.changes`), validate the whole result, write it in place (comments and layout
kept), and keep the text it replaced in the ledger's history — with the actor, the command
and the file — in one ledger transaction with whatever the ledger must redo. A refused or
invalid change raises (exit 2) and leaves the file byte-for-byte as it was.

Not imported by `leadctl.config` itself: the config's model stays below the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..domain.rights import AWAY, CONFIGURE, refusal
from ..errors import PARTIAL, USAGE, LeadctlError

Right = tuple[str, str | None]  # (action, the user it is for): what `rights.refusal` is asked


def require(cfg, actor, right: Right) -> None:
    """Refuse (exit 2 for a config change or leave, 1 for a lead action) when `actor` lacks the
    right; the reason names the actor and the right."""
    if cfg is None:
        return  # no config (yet), or one that cannot be read: no users, nobody to refuse
    why = refusal(cfg, actor, right[0], for_user=right[1])
    if why:
        raise LeadctlError(f"{why}; nothing was changed", USAGE if right[0] in (CONFIGURE, AWAY) else PARTIAL)


def change(path: Path, actor, edit: Callable, *, command: str, open_ledger: Callable,
           in_ledger: Callable | None = None, right: Right = (CONFIGURE, None)):
    """Apply `edit(config_module, cfg) -> new cfg` to the config at `path`; returns (the new
    config, whether anything changed). `open_ledger(cfg)` opens the ledger the history lives
    in; `in_ledger(ledger, old, new)` runs in the same transaction (it commits only once the
    file is written)."""
    from .. import config as cfgmod

    with cfgmod.locked(path):
        cfg, old_text = cfgmod.load_text(path)
        require(cfg, actor, right)
        new = edit(cfgmod, cfg)
        if new == cfg:
            return new, False
        text = cfgmod.render_text(new, cfg, old_text)
        write(new, text, old_text, actor, command=command, open_ledger=open_ledger, current=cfg,
              in_ledger=in_ledger and (lambda ledger: in_ledger(ledger, cfg, new)), right=right)
    return new, True


def write(cfg, text: str, previous: str, actor, *, command: str, open_ledger: Callable, current,
          in_ledger: Callable | None = None, right: Right = (CONFIGURE, None)) -> int:
    """Write `text` as the config `cfg` came from (the caller holds the file's lock), keeping
    `previous` in the ledger's history; returns the change's number. `current`: the config as
    it is now, which decides the rights (not the one about to be written; None when it cannot
    be read: then nobody is refused, as `init --force` and `config restore` mend it)."""
    from .. import config as cfgmod

    require(current, actor, right)
    ledger = open_ledger(cfg)  # the history lives in the ledger: made here if there is none yet
    try:
        with ledger.write():
            if in_ledger:
                in_ledger(ledger)
            at = datetime.now().astimezone(cfg.tz()).isoformat(timespec="seconds")
            n = ledger.record_config(at, actor.label, command, previous, actor.channel, str(cfg.path.resolve()))
            cfgmod.write_text(cfg.path, text)
    finally:
        ledger.close()
    return n
