"""The SLA ladder's record: which steps ran for which holder of a lead (`sla_steps`), and the
leads that still have a step to come. A step is written in the tick's own transaction, under
the key (lead, its holder's assignment, step): it runs once, whoever else ticks."""

from __future__ import annotations

from collections.abc import Iterable

from .schema import SLA_METHODS


class SlaLog:
    """The ladder's steps run (a part of `Ledger`)."""

    def ladder_candidates(self, group: str, assigned_before: str, steps: int) -> list[dict]:
        """Open-or-not leads of `group` a group's method (or an SLA re-route) gave their holder,
        not contacted since, assigned no later than `assigned_before`, with fewer than `steps`
        of the ladder run for this holder: id, holder, group, method, status, when assigned."""
        methods = ",".join("?" * len(SLA_METHODS))
        return list(self._rows(
            "SELECT id, assigned_to, group_name, method, status, assigned_at FROM leads"
            " WHERE group_name = ? AND assigned_to IS NOT NULL AND first_contact_at IS NULL"
            f" AND method IN ({methods}) AND {self.ASSIGNED_BY}"
            " AND (SELECT count(*) FROM sla_steps s WHERE s.lead_id = leads.id AND s.assigned_at = leads.assigned_at) < ?",
            [group, *SLA_METHODS, assigned_before, steps]))

    def steps_run(self, leads: Iterable[tuple[str, str]]) -> dict[tuple[str, str], set[int]]:
        """(lead, assigned_at) -> the numbers of the steps run for that holder."""
        out: dict[tuple[str, str], set[int]] = {}
        keys = list(leads)
        for i in range(0, len(keys), 500):
            part = keys[i:i + 500]
            marks = ",".join("?" * len(part))
            for lead_id, assigned_at, step in self.conn.execute(
                    f"SELECT lead_id, assigned_at, step FROM sla_steps WHERE lead_id IN ({marks})",
                    [k[0] for k in part]):
                out.setdefault((lead_id, assigned_at), set()).add(step)
        return out

    def record_sla_steps(self, rows: list[tuple]) -> None:
        """(lead, assigned_at, step, action, at, note) for each step run: a second run of the same
        step for the same holder is a key violation (the transaction does not commit twice)."""
        self.conn.executemany(
            "INSERT INTO sla_steps (lead_id, assigned_at, step, action, at, note) VALUES (?, ?, ?, ?, ?, ?)", rows)

    def sla_steps_of(self, lead_id: str) -> list[dict]:
        """A lead's ladder steps run, in order: for `leads show`."""
        return list(self._rows("SELECT assigned_at, step, action, at, note FROM sla_steps WHERE lead_id = ?"
                               " ORDER BY at, step", (lead_id,)))
