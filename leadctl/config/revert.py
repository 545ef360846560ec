"""Undoing one config change alone (`config revert N`): which settings a change touched, and
whether a later change touched any of them too.

A config is seen as a flat map of settings, each named by its path: `settings.timezone`,
`users.tom.email`, `groups.tele-sales.method`, `groups.tele-sales.members.tom.daily`, the
order of a group's members (`groups.tele-sales.members`), the rules as one list, and so on.
A change touched the paths whose values differ between the config it replaced and the
config it made. Change N can be reverted alone when no later change touched any of its
paths: each of them then gets back the value it had before N, and everything else stays
as it is now. Pure functions over `config.to_dict` data: no files, no ledger.
"""

from __future__ import annotations

from typing import Any

Path = tuple[str, ...]
_ORDER = "#order"  # a group's member order, as its own setting
_GONE = object()


def _leaves(data: dict):
    """(path, value) for every value that is not a non-empty table, depth first."""
    def walk(node: Any, path: Path):
        if isinstance(node, dict) and node:
            for key, value in node.items():
                yield from walk(value, (*path, str(key)))
        else:
            yield path, node

    yield from walk(data, ())


def flatten(data: dict) -> dict[Path, Any]:
    """`to_dict` data as {path: value}. Members are keyed by user, their order its own path."""
    out: dict[Path, Any] = {}
    for path, node in _leaves(data):
        if path[-1:] == ("members",) and isinstance(node, list):
            out[(*path, _ORDER)] = tuple(m["user"] for m in node)
            for m in node:
                for key, value in m.items():
                    if key != "user":
                        out[(*path, m["user"], key)] = value
        else:
            out[path] = tuple(map(_frozen, node)) if isinstance(node, list) else _frozen(node)
    return out


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value: Any, like: Any) -> Any:
    """A flattened value back in the shape `like` (the original value) had."""
    if isinstance(like, dict):
        return {k: _thawed(v, like.get(k)) for k, v in value}
    if isinstance(like, list):
        return [_thawed(v, like[i] if i < len(like) else None) for i, v in enumerate(value)]
    return value


def touched(before: dict, after: dict) -> set[Path]:
    """The paths whose value a change from `before` to `after` made different."""
    old, new = flatten(before), flatten(after)
    return {p for p in old.keys() | new.keys() if old.get(p, _GONE) != new.get(p, _GONE)}


def _member_root(path: Path) -> Path | None:
    """`groups.G.members` for any path under a group's members."""
    if len(path) >= 4 and path[0] == "groups" and path[2] == "members":
        return path[:3]
    return None


def revert(now: dict, before: dict, paths: set[Path]) -> dict:
    """`now` with every one of `paths` as it was in `before` (gone where it was absent)."""
    flat = flatten(now)
    originals = flatten(before)
    shapes = _shapes(before)
    for p in paths:
        if p in originals:
            flat[p] = originals[p]
        else:
            flat.pop(p, None)
    return _unflatten(flat, {**_shapes(now), **shapes})


def _shapes(data: dict) -> dict[Path, Any]:
    """The original (unflattened) value at each leaf path, to rebuild lists and tables."""
    return dict(_leaves(data))


def _unflatten(flat: dict[Path, Any], shapes: dict[Path, Any]) -> dict:
    data: dict = {}
    members: dict[Path, dict[str, dict]] = {}
    orders: dict[Path, tuple[str, ...]] = {}
    for path, value in flat.items():
        root = _member_root(path)
        if root is not None and path[-1] == _ORDER and len(path) == 4:
            orders[root] = value
            continue
        if root is not None:
            members.setdefault(root, {}).setdefault(path[3], {})[path[4]] = value
            continue
        node = data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = _thawed(value, shapes.get(path))
    for root, order in orders.items():
        node = data
        for key in root[:-1]:
            node = node.setdefault(key, {})
        fields = members.get(root, {})
        node[root[-1]] = [{"user": u, **fields.get(u, {})} for u in order]
    return data


def describe(paths: set[Path], limit: int = 4) -> str:
    """A few paths for a message: `users.tom.email, groups.tele-sales.members`."""
    names = sorted(".".join(p[:-1] if p[-1] == _ORDER else p) for p in paths)
    names = list(dict.fromkeys(names))
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
