"""The territory table a config names (`[routing] territories`), read once per file version:
its rows checked and indexed (`domain/territories.py`) when routing first needs them."""

from __future__ import annotations

from ..config import Config
from ..domain.territories import BadTerritory, Table, read_rows
from ..errors import ConfigError

MAX_BYTES = 64 << 20
_cache: dict[tuple, Table] = {}


def load_table(cfg: Config) -> Table:
    """The config's territory table (an empty one when it names none)."""
    path = cfg.territory_path()
    if path is None:
        return Table([])
    try:
        info = path.stat()
        key = (str(path), info.st_mtime_ns, info.st_size)
        if key in _cache:
            return _cache[key]
        if info.st_size > MAX_BYTES:
            raise ConfigError(f"{path}: the territory table is over {MAX_BYTES >> 20} MiB")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{cfg.path}: [routing] territories: {path} is not there"
                          " (`leadctl territory import FILE` makes it)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the territory table {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        table = Table(read_rows(text, check=False))
    except BadTerritory as exc:
        raise ConfigError(f"{path}: {exc}") from None
    _cache.clear()
    _cache[key] = table
    return table
