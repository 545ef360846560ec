"""A config change from the command line: load under the lock, apply a pure change from
`leadctl.config`, validate the whole result, write it in place, and keep the text it
replaced in the ledger's history (with the actor and the command), in one ledger
transaction with whatever the ledger must redo. A refused change exits 2 and leaves the
file byte-for-byte as it was.
"""

from typing import Callable

import typer

from ..domain.rights import CONFIGURE
from . import State, state


def _say(message: str) -> None:
    from ..render import err

    err(message)


def _change(ctx: typer.Context, change: Callable, message: str | None = None,
            in_ledger: Callable | None = None, right: tuple[str, str | None] = (CONFIGURE, None)):
    """Load, change, validate and write the config under its lock.

    The file is edited, not rewritten (comments and layout kept); the text it
    replaces goes into the ledger's config history with the actor and the
    command, in the same ledger transaction as `in_ledger(ledger, old, new)`
    (when given), which commits only once the file is written.
    """
    from .. import config as cfgmod

    st: State = state(ctx)
    with cfgmod.locked(st.config_path):
        cfg, old_text = cfgmod.load_text(st.config_path)
        st.require(right[0], cfg, for_user=right[1])
        new = change(cfgmod, cfg)
        if new == cfg:
            _say("nothing to change: the config already says that (the file was not written)")
            return new
        text = cfgmod.render_text(new, cfg, old_text)
        _write_with_history(st, new, text, old_text, in_ledger and (lambda ledger: in_ledger(ledger, cfg, new)),
                            right=right)
        st._cfg = new
    if message:
        _say(message)
    return new


def _write_with_history(st: State, cfg, text: str, previous: str, in_ledger: Callable | None = None,
                        command: str | None = None, right: tuple[str, str | None] = (CONFIGURE, None)) -> int:
    """Write the config text, keeping `previous` in the ledger's history; returns the change's number."""
    from datetime import datetime

    from .. import config as cfgmod

    st.require(right[0], for_user=right[1])  # the config as it is now decides (not the one about to be written)
    ledger = st.ledger(cfg)  # the history lives in the ledger: made here if there is none yet
    try:
        with ledger.write():
            if in_ledger:
                in_ledger(ledger)
            at = datetime.now().astimezone(cfg.tz()).isoformat(timespec="seconds")
            n = ledger.record_config(at, st.actor.label, command or st.command, previous, st.actor.channel,
                                     str(cfg.path.resolve()))
            cfgmod.write_text(cfg.path, text)
    finally:
        ledger.close()
    return n


def same_file(st: State, n: int, file: str | None) -> None:
    """Refuse (exit 2) to bring back change `n` into this config when it was made to another file
    (a proposed copy edited with --config shares the ledger and its history)."""
    from ..errors import ConfigError

    here = str(st.config_path.resolve())
    if file is not None and file != here:
        raise ConfigError(f"change {n} was made to {file}, not to {here}; nothing was changed"
                          f" (use --config {file} to undo it there)")


def _ledger_follows(ledger, old, new) -> None:
    """What the ledger must redo when the config changes under it (in the change's own
    transaction): day counts after a new time zone, phone keys after a new phone region."""
    if old is None or old.settings.timezone != new.settings.timezone:
        ledger.rebuild_usage(new.tz())  # a day's leads are counted on one day of the new zone
    if old is None or old.settings.phone_region != new.settings.phone_region:
        from ..domain.keys import phone_key

        region = new.settings.phone_region or None  # earlier leads match the numbers to come
        changed = ledger.rekey_phones(lambda phone: phone_key(phone, region))
        if changed:
            _say(f"{changed} lead(s) have a new phone key for duplicate matching")
