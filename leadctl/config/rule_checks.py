"""What is checked of rules beyond their own words: tags (a user's, and those a rule asks
for, `{field}` allowed), and the rules an earlier one starves (`config check` warns)."""

from __future__ import annotations

import re

from ..errors import ConfigError
from .model import Config

TAG_RE = re.compile(r"^[a-z0-9][a-z0-9._:+/-]{0,63}$")
_FIELD_IN_TAG = re.compile(r"\{([a-z0-9_ .-]{1,64})\}")


def check_tag(tag: str, where: str, *, fields: bool = False) -> None:
    """A tag: lower-case letters, digits and . _ : + / - (`lang:de`); a rule's may hold `{field}`,
    filled from the lead (`lang:{language}`)."""
    plain = _FIELD_IN_TAG.sub("x", tag) if fields else tag
    if not TAG_RE.match(plain):
        raise ConfigError(f"{where}: tag '{tag}' must be letters, digits and . _ : + / - (e.g. lang:de"
                          + (", or lang:{language} with a field of the lead)" if fields else ")"))


def unreachable_rules(cfg: Config) -> list[str]:
    """The rules that can never take a lead: an earlier rule, for the same record type, takes
    every lead they could (as far as their conditions on the same fields tell)."""
    from ..domain.conditions import covers, describe

    out = []
    kinds = {g.name: g.record_type for g in cfg.groups}
    for j, later in enumerate(cfg.rules):
        for i, earlier in enumerate(cfg.rules[:j]):
            if kinds.get(earlier.group) == kinds.get(later.group) and covers(earlier.when, later.when):
                out.append(f"rule {j + 1} ({describe(later.when)} -> {later.group}) can never match: rule {i + 1}"
                           f" ({describe(earlier.when)} -> {earlier.group}) takes every lead it could"
                           f" (`leadctl rule move {j + 1} --to {i + 1}`, or remove one of them)")
                break
    return out
