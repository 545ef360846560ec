"""The territory table a config names (`[routing] territories`), read once per file version:
its rows checked and indexed (`domain/territories.py`) when routing first needs them.

The index is kept beside the table (`.NAME.index`, made the first time the table is read and
again whenever the table changes): a process starts from it in a third of the time it takes
to index ten thousand rows. It holds the SHA-256 of the very text it was made of; any other
text (an edit by hand, a new import) is indexed again. It is leadctl's own file: delete it
at will; where it cannot be written (a read-only folder), the table is indexed each time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..config import Config
from ..domain.territories import BadTerritory, Table, read_rows
from .data_files import load

_FORMAT = b"leadctl territory index 1\n"


def load_table(cfg: Config) -> Table:
    """The config's territory table (an empty one when it names none)."""
    path = cfg.territory_path()
    if path is None:
        return Table([])
    return load(path, "territory table", "territories", "territory", lambda text: indexed(path, text), BadTerritory)


def index_path(table: Path) -> Path:
    return table.with_name(f".{table.name}.index")


def indexed(path: Path, text: str) -> Table:
    """The table of `text` (read from `path`): from the index beside it when that was made of
    this text by this Python, else indexed now (and the index written, if it can be)."""
    import hashlib
    import marshal

    sign = _FORMAT + sys.version.encode() + b"\n" + hashlib.sha256(text.encode()).digest()
    where = index_path(path)
    try:
        data = where.read_bytes()
        if data.startswith(sign):
            return Table.from_index(marshal.loads(data[len(sign):]))
    except (OSError, ValueError, EOFError, TypeError):
        pass  # none yet, or not readable as one: index the table
    table = Table(read_rows(text, check=False))
    temp = where.with_name(f"{where.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(sign + marshal.dumps(table.to_index()))
        os.replace(temp, where)
    except OSError:
        temp.unlink(missing_ok=True)
    return table
