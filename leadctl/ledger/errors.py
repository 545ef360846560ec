"""The ledger's failures, and what a `--db` names (a file, or a PostgreSQL URL)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import LeadctlError

BUSY_TIMEOUT_MS = 120_000  # how long a writer waits for another's batch; LEADCTL_BUSY_TIMEOUT (s) overrides


class LedgerBusy(LeadctlError):
    """Another writer held the ledger past the busy timeout (a later try may succeed)."""


class LedgerError(LeadctlError):
    """The ledger's store failed (a server gone, a disk full); the transaction in flight
    was rolled back, every committed one is kept."""

    code = 1


class LedgerRetry(LedgerError):
    """A failure that trying the same transaction again may not meet: a serialisation
    failure, a deadlock broken by the server, a dropped connection."""


class DuplicateKey(LedgerError):
    """A row with the same key is already there."""


URL_SCHEMES = ("postgresql://", "postgres://")


def target(text: str | Path) -> Path | str:
    """What `--db`, LEADCTL_DB or the config's `ledger` key names: a PostgreSQL URL
    (kept as text), else the path of an SQLite file."""
    if isinstance(text, str) and text.startswith(URL_SCHEMES):
        return text
    return Path(text)


def busy_timeout_ms(default: float | None = None) -> int:
    """LEADCTL_BUSY_TIMEOUT (seconds) when set, else `default` seconds, else BUSY_TIMEOUT_MS."""
    raw = os.environ.get("LEADCTL_BUSY_TIMEOUT")
    if not raw:
        return BUSY_TIMEOUT_MS if default is None else int(default * 1000)
    try:
        seconds = float(raw)
    except ValueError:
        raise LeadctlError(f"LEADCTL_BUSY_TIMEOUT '{raw}' is not a number of seconds") from None
    return max(0, int(seconds * 1000))


def store_failed(exc: BaseException) -> bool:
    """Whether an exception is the ledger failing (busy, gone, full, damaged), not a bug."""
    import sqlite3

    return isinstance(exc, (LedgerError, LedgerBusy, sqlite3.Error))
