"""A config change from the command line: `config.service` does it (rights, lock, validation,
the write, the history); here, what the command says about it and what the ledger must redo
when the config changes under it."""

from typing import Callable

import typer

from ..domain.rights import CONFIGURE
from . import State, state


def _say(message: str) -> None:
    from ..render import err

    err(message)


def _change(ctx: typer.Context, change: Callable, message: str | None = None,
            in_ledger: Callable | None = None, right: tuple[str, str | None] = (CONFIGURE, None)):
    """`config.service.change` for this command: the config edited (comments and layout
    kept), its old text in the ledger's history with the actor and the command, in the same
    ledger transaction as `in_ledger(ledger, old, new)`; rights asked at its door."""
    from ..config import service

    st: State = state(ctx)
    new, changed = service.change(st.config_path, st.actor, change, command=st.command, open_ledger=st.ledger,
                                  in_ledger=in_ledger, right=right)
    if not changed:
        _say("nothing to change: the config already says that (the file was not written)")
        return new
    st._cfg = new
    if message:
        _say(message)
    return new


def _write_with_history(st: State, cfg, text: str, previous: str, in_ledger: Callable | None = None, *,
                        current) -> int:
    """`config.service.write` for this command (init --force, restore, revert): the caller
    holds the lock; `current` is the config as it is now (None: it cannot be read)."""
    from ..config import service

    return service.write(cfg, text, previous, st.actor, command=st.command, open_ledger=st.ledger, current=current,
                         in_ledger=in_ledger)


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
    transaction): day counts after a new time zone, phone keys after a new phone region, the
    indexes duplicates and account matching read, made when they are switched on (by whoever
    changes the settings: a node's role need not be able to make one; a router still makes a
    missing one, for a config edited by hand)."""
    if new.settings.duplicates:
        ledger.index_duplicates(new.settings.duplicates)
    if new.settings.match_domains:
        ledger.index_domains()
    if old is None or old.settings.timezone != new.settings.timezone:
        ledger.rebuild_usage(new.tz())  # a day's leads are counted on one day of the new zone
    if old is None or old.settings.phone_region != new.settings.phone_region:
        from ..domain.keys import phone_key

        region = new.settings.phone_region or None  # earlier leads match the numbers to come
        changed = ledger.rekey_phones(lambda phone: phone_key(phone, region))
        if changed:
            _say(f"{changed} lead(s) have a new phone key for duplicate matching")


def save_table(ctx: typer.Context, cfg, path, default: str, text: str, attribute: str):
    """A table kept beside the config as a CSV (territories, accounts): written whole (through a
    temporary file), the one before kept as NAME.previous, and named in the config (`attribute`,
    a config change in its history) the first time. Returns where it is."""
    import os
    from dataclasses import replace

    target = path or cfg.path.parent / default
    if target.exists():
        os.replace(target, target.with_name(target.name + ".previous"))
    temp = target.with_name(target.name + ".tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, target)
    if path is None:
        _change(ctx, lambda m, c: replace(c, **{attribute: target.name}), None)
    return target

