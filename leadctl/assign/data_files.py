"""The tables a config keeps beside it as CSV files (territories, accounts): an import's input
read with its errors said in one line, and a config's table read once per version of its file
(path, modification time, size), made into what routing uses by the caller's `parse`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError, LeadctlError

MAX_BYTES = 64 << 20
_cache: dict[tuple, object] = {}


def read_import(file: str, parse: Callable[[str], object], bad: type[Exception]):
    """`parse` of an input file's text; a missing or unreadable file, or a bad row (`bad`), is a
    one-line error, and nothing is imported."""
    try:
        with open(file, encoding="utf-8-sig") as fh:
            return parse(fh.read(MAX_BYTES))
    except FileNotFoundError:
        raise LeadctlError(f"input file {file} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LeadctlError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    except bad as exc:
        raise ConfigError(f"{file}: {exc}; nothing was imported") from None


def load(path: Path, what: str, key: str, command: str, parse: Callable[[str], object], bad: type[Exception]):
    """`parse` of the table at `path` (a config's `[routing] KEY`), cached per version of the file."""
    try:
        info = path.stat()
        version = (what, str(path), info.st_mtime_ns, info.st_size)
        if version in _cache:
            return _cache[version]
        if info.st_size > MAX_BYTES:
            raise ConfigError(f"{path}: the {what} is over {MAX_BYTES >> 20} MiB")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"[routing] {key}: {path} is not there (`leadctl {command} import FILE` makes it)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the {what} {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        made = parse(text)
    except bad as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for old in [k for k in _cache if k[0] == what]:
        del _cache[old]
    _cache[version] = made
    return made
