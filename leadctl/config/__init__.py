"""The team's config: users, groups, caps, routing rules and settings, in a TOML file.

    model.py      the frozen dataclasses and their pure helpers (no IO)
    ladder.py     a group's SLA ladder (steps, clock) read, written and checked; durations
    load.py       TOML in (tomllib) to the model, every key and type checked
    checks.py     validation with messages that name the thing at fault; warnings
    changes.py    each change a pure function from one Config to the next
    files.py      the lock, atomic writes, the admin's text edited in place (edit_text.py)
    revert.py     which settings a change touched, to undo it alone
    watch.py      a long-running command's view: read again when the file changes
    starter.py    what `leadctl init` writes

A refused change leaves the file byte-for-byte unchanged: the result is validated whole and
checked to read back as meant before the file is replaced.
"""

from __future__ import annotations

from .changes import (
    add_group, add_mapping, add_member, add_rule, add_user, edit_group, edit_member, edit_user, mapping, move_rule,
    add_away, remove_away, remove_group, remove_mapping, remove_member, remove_rule, remove_user, set_default, tag_user,
    add_crm, remove_crm, set_crm_ids, set_sla, end_away,
)
from .checks import (
    MAX_ATTEMPTS, MAX_COUNT, MAX_RETRY_SECONDS, check_count, check_email, duration_seconds, parse_day, check_name, check_phone_region,
    check_timezone, validate, warnings,
)
from .files import LOCK_TIMEOUT, lock_path, locked, render_text, save, write_atomic, write_text
from .load import from_dict, load, load_text, parse
from .model import (
    CRM_OBJECTS, DEFAULT_TIMEZONE, DUPLICATE_FIELDS, Away, NAME_RE, RECORD_TYPES, ROLES, SMTP_SECURITY, Config, Crm, Group,
    Member, Notify, Rule, Settings, User, ordered_roles, to_dict,
)
from .starter import STARTER
from .reload import Watcher, stamp

__all__ = [
    "add_group", "add_mapping", "add_member", "add_rule", "add_user", "edit_group", "edit_member", "edit_user",
    "mapping", "move_rule", "add_away", "remove_away", "remove_group", "remove_mapping", "remove_member", "remove_rule",
    "remove_user", "set_default", "tag_user", "MAX_ATTEMPTS", "MAX_COUNT", "MAX_RETRY_SECONDS", "check_count", "check_email", "duration_seconds", "parse_day",
    "check_name", "check_phone_region", "check_timezone", "validate", "warnings", "LOCK_TIMEOUT", "lock_path",
    "locked", "render_text", "save", "write_atomic", "write_text", "from_dict", "load", "load_text", "parse",
    "DEFAULT_TIMEZONE", "DUPLICATE_FIELDS", "Away", "NAME_RE", "RECORD_TYPES", "ROLES", "SMTP_SECURITY", "Config", "Group",
    "Member", "Notify", "Rule", "Settings", "User", "ordered_roles", "to_dict", "STARTER", "Watcher", "stamp",
    "add_crm", "remove_crm", "set_crm_ids", "set_sla", "end_away", "CRM_OBJECTS", "Crm",
]
