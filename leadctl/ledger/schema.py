"""The ledger's tables, described once for what reads and writes them: the columns of a lead
and of an event (the migrations that make the tables: migrations.py).

- `leads`: one row per lead; its original fields as a JSON object of text,
  plus the columns leadctl filters on and its current owner.
- `events`: append-only (triggers refuse UPDATE and DELETE); one row per
  assignment, pick-up, reassignment or release: who, when, how and why.
- `rotations`: each group's rotation state (JSON), shared by every intake path.
- `usage`: leads the group's method gave each member per day ("D2026-11-23")
  and month ("M2026-11"), so a cap check is one key look-up, never a scan.
- `event_counts`, `passed_over_sets`, `tokens`, `notifications`, `config_history`, `conversions`,
  `queue`, `sign_ins` (one-time links to the web pages), `keys` (what the server signs with),
  `watches` (what `leadctl watch` knows of each source), `sessions` (who is signed in to the pages),
  `crm_writes` (each lead's owner, owed to each CRM).
"""

from __future__ import annotations

from operator import itemgetter

from ..domain.kinds import COUNTED, DECLINED, METHODS, SLA

LEAD_COLUMNS = (
    "id", "type", "status", "email", "phone", "source", "received_at", "fields",
    "email_key", "phone_key", "group_name", "assigned_to", "method", "reason", "assigned_at",
    "passed_over", "backup_for", "rule", "territory",
)
LEAD_SELECT = ", ".join(LEAD_COLUMNS)  # `SELECT *` would bring PostgreSQL's own row number too
COUNTED_METHODS = tuple(sorted(COUNTED))  # whether an event counts is decided in Python (kinds.counts): this, for SQL
# what an SLA covers: leads handed out by a group's method (routing, a drain) or an SLA re-route;
# never an owner, creator, duplicate, pick-up, manual assignment or escalation
SLA_METHODS = (*METHODS, SLA, DECLINED)
EVENT_COLUMNS = ("lead_id", "at", "assigned_to", "group_name", "method", "reason", "counted",
                 "actor", "note", "passed_over", "via", "backup_for")
# (at, assigned_to, group_name, method) of a lead row and of an event row: what `report` counts
_LEAD_ASSIGNMENT = itemgetter(*(LEAD_COLUMNS.index(c) for c in ("assigned_at", "assigned_to", "group_name", "method")))
_EVENT_ASSIGNMENT = itemgetter(*(EVENT_COLUMNS.index(c) for c in ("at", "assigned_to", "group_name", "method")))


from .migrations import (  # noqa: E402,F401  (the steps live there; by name here too)
    _MIGRATIONS_TABLE, _STEPS, MIGRATIONS, _migrations,
)
from .pg_words import postgres_sql, postgres_steps  # noqa: E402,F401


def _conditions(fixed: list[str], equal: list[tuple[str, str | None]]) -> tuple[str, list[str]]:
    """A WHERE clause: the fixed conditions, and `column = ?` for each value that is given."""
    where = list(fixed)
    params = []
    for column, value in equal:
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(where) if where else ""), params
