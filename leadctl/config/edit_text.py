"""How a config change is written into the file the admin keeps: as a small edit.

The change is worked out on plain data (the old and new config as `to_dict`
gives them) and only what differs is applied to the existing text with
tomlkit, so comments, key order, blank lines and table styles stay as the
admin left them, and a one-value change is a one-line diff. tomlkit is
imported here only, when a config is written (reading uses tomllib).
"""

from __future__ import annotations

import json
from typing import Any

_MISSING = object()


class CannotEdit(Exception):
    """The text's layout does not fit a small edit; the caller writes the file anew."""


def edit_text(text: str, old: dict, new: dict) -> str:
    """`text` (the TOML of `old`) changed so that it reads as `new`."""
    import tomlkit

    try:
        doc = tomlkit.parse(text)
        _apply(doc, old, new)
        return tomlkit.dumps(doc)
    except CannotEdit:
        raise
    except Exception as exc:  # tomlkit refusing an edit on an unusual layout
        raise CannotEdit(str(exc)) from None


def _apply(node: Any, old: dict, new: dict) -> None:
    for key in [k for k in old if k not in new]:
        if key in node:
            del node[key]
    for key, value in new.items():
        before = old.get(key, _MISSING)
        if before == value:
            continue  # unchanged (possibly implied by a default the file leaves out)
        if key not in node:
            _add(node, key, value)
        elif isinstance(value, dict) and isinstance(before, dict) and hasattr(node[key], "keys"):
            _apply(node[key], before, value)
        elif _tables(value) and isinstance(before, list) and _tables(before):
            _apply_list(node[key], before, value)
        else:
            node[key] = _fresh(value) if _tables(value) else value  # tomlkit keeps the line's comment


def _add(node: Any, key: str, value: Any) -> None:
    """A new key in a table, right after its last key: not after the commented examples that
    may follow it (the starter's `# [users.tom]`), where it would read as part of them."""
    container = getattr(node, "value", node)  # a table's container; the document is one
    body = getattr(container, "body", None)
    keyed = [i for i, (k, _) in enumerate(body or ()) if k is not None]
    if keyed and keyed[-1] + 1 < len(body) and not isinstance(value, dict) and not _tables(value):
        try:
            container._insert_at(keyed[-1] + 1, key, _fresh(value))
            return
        except Exception:  # tomlkit's layout did not allow it: at the end, as tomlkit puts it
            pass
    node[key] = _fresh(value)


def _tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(x, dict) for x in value)


def _identity(item: dict) -> str:
    """What makes an element of a list of tables the same one before and after:
    a leave entry is its number; a member is its user; a rule is its whole content."""
    if "id" in item:
        return f"#{item['id']}"
    return str(item["user"]) if "user" in item else json.dumps(item, sort_keys=True)


def _apply_list(array: Any, old: list[dict], new: list[dict]) -> None:
    if len(array) != len(old):
        raise CannotEdit("the list in the file does not match the config")
    old_ids, new_ids = [_identity(x) for x in old], [_identity(x) for x in new]
    if len(set(old_ids)) != len(old_ids) or len(set(new_ids)) != len(new_ids):
        raise CannotEdit("two identical entries")
    for i in reversed(range(len(old))):
        if old_ids[i] not in new_ids:
            del array[i]
    kept = [i for i in old_ids if i in new_ids]
    if kept != [i for i in new_ids if i in old_ids]:
        raise CannotEdit("entries were reordered")
    by_id = dict(zip(old_ids, old))
    position = 0
    for item, ident in zip(new, new_ids):
        if ident in by_id:
            _apply(array[position], by_id[ident], item)
            position += 1
        else:
            array.append({k: _inline(v) for k, v in item.items()})
            position += 1
    if [_identity(_plain(x)) for x in array] != new_ids:
        raise CannotEdit("new entries would not land in order")


def _inline(value: Any) -> Any:
    """A table inside an entry of a list of tables (a rule's `when`) written on its line:
    `when = { all = [{ field = "country", op = "in", value = ["US", "CA"] }, ...] }`."""
    import tomlkit

    if isinstance(value, dict):
        table = tomlkit.inline_table()
        for k, v in value.items():
            table[k] = _inline(v)
        return table
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        array = tomlkit.array()
        for v in value:
            array.append(_inline(v))
        return array
    return value


def _plain(item: Any) -> dict:
    return item.unwrap() if hasattr(item, "unwrap") else dict(item)


def _fresh(value: Any) -> Any:
    """A new value; a new table gets a blank line after it, like the ones around it."""
    import tomlkit

    if isinstance(value, dict) and value and all(not isinstance(v, dict) for v in value.values()) \
            and not any(_tables(v) for v in value.values()):
        table = tomlkit.table()
        for k, v in value.items():
            table[k] = v
        table.add(tomlkit.nl())
        return table
    if _tables(value):  # a list of tables: the tables inside each entry on their lines
        return [{k: _inline(v) for k, v in item.items()} for item in value]
    return value
