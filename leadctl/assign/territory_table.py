"""The territory table a config names (`[routing] territories`), read once per file version:
its rows checked and indexed (`domain/territories.py`) when routing first needs them."""

from __future__ import annotations

from ..config import Config
from ..domain.territories import BadTerritory, Table, read_rows
from .data_files import load


def load_table(cfg: Config) -> Table:
    """The config's territory table (an empty one when it names none)."""
    path = cfg.territory_path()
    if path is None:
        return Table([])
    return load(path, "territory table", "territories", "territory",
                lambda text: Table(read_rows(text, check=False)), BadTerritory)
