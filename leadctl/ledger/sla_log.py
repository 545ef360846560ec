"""The SLA ladder's record: which steps ran for which holder of a lead (`sla_steps`), the leads
that still have a step to come, and the offers (`offers`: a lead its holder must accept). A
step is written in the tick's own transaction, under the key (lead, its holder's assignment,
step): it runs once, whoever else ticks."""

from __future__ import annotations

from collections.abc import Iterable

from .schema import SLA_METHODS

_THIS_OFFER = "o.lead_id = leads.id AND o.assigned_at = leads.assigned_at"  # the offer of a lead's assignment


class SlaLog:
    """The ladder's steps run (a part of `Ledger`)."""

    def ladder_candidates(self, group: str, assigned_before: str, steps: int) -> list[dict]:
        """Leads of `group` a group's method (or an SLA re-route) gave their holder, not contacted
        since, assigned no later than `assigned_before`, with fewer than `steps` of the ladder
        run for this holder, and not an offer still waiting to be accepted (whether they are
        open is the caller's: `sla.covered`): id, holder, group, method, status, when assigned,
        when the SLA started (the acceptance, for an offer)."""
        methods = ",".join("?" * len(SLA_METHODS))
        return list(self._rows(
            "SELECT id, assigned_to, group_name, method, status, assigned_at, coalesce((SELECT o.accepted_at"
            f" FROM offers o WHERE {_THIS_OFFER}), assigned_at) AS started_at FROM leads"
            " WHERE group_name = ? AND assigned_to IS NOT NULL AND first_contact_at IS NULL"
            f" AND method IN ({methods}) AND {self.ASSIGNED_BY}"
            f" AND NOT EXISTS (SELECT 1 FROM offers o WHERE {_THIS_OFFER} AND o.accepted_at IS NULL)"
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

    # -- offers (a group with `accept_within`) ----------------------------------------------
    def add_offers(self, rows: list[tuple]) -> None:
        """(lead, assigned_at, holder, group, until) for each lead offered."""
        self.conn.executemany("INSERT INTO offers (lead_id, assigned_at, holder, group_name, until)"
                              " VALUES (?, ?, ?, ?, ?)", rows)

    def offer_of(self, lead_id: str, assigned_at: str | None) -> dict | None:
        """The offer of the lead's assignment made at `assigned_at` (None: it was not offered)."""
        rows = list(self._rows("SELECT holder, group_name, until, accepted_at FROM offers"
                               " WHERE lead_id = ? AND assigned_at = ?", (lead_id, assigned_at)))
        return rows[0] if rows else None

    def offer_acceptances(self) -> dict[tuple[str, str], str | None]:
        """(lead, assigned_at) -> when its holder accepted that offer (None: not, or not yet),
        for every offer made: `report --sla` starts an offered holder's SLA there."""
        return {(lead_id, assigned_at): accepted_at for lead_id, assigned_at, accepted_at in self.conn.execute(
            "SELECT lead_id, assigned_at, accepted_at FROM offers")}

    def accept_offer(self, lead_id: str, assigned_at: str, at: str) -> None:
        self.conn.execute("UPDATE offers SET accepted_at = ? WHERE lead_id = ? AND assigned_at = ?",
                          (at, lead_id, assigned_at))

    def lapsed_offers(self, now: str) -> list[dict]:
        """Offers not accepted by `now` whose lead is still its holder's from that assignment:
        id, holder, group, assigned_at, status, until."""
        return list(self._rows(
            "SELECT l.id, l.assigned_to, o.group_name, l.assigned_at, l.status, o.until FROM offers o"
            " JOIN leads l ON l.id = o.lead_id AND l.assigned_at = o.assigned_at AND l.assigned_to = o.holder"
            f" WHERE o.accepted_at IS NULL AND {self.MOMENT.format('o.until')} <= {self.MOMENT.format('?')}"
            " ORDER BY o.until", (now,)))

    def lapsed_holders(self, lead_id: str) -> set[str]:
        """Who let an offer of this lead lapse (never offered it again in this chain)."""
        return {r[0] for r in self.conn.execute(
            "SELECT holder FROM offers WHERE lead_id = ? AND accepted_at IS NULL", (lead_id,))}

    def sla_missed_count(self) -> int:
        """How many times a holder missed an SLA: the ladder's moving steps run (a re-route or
        an escalation, whether or not someone could take the lead)."""
        (n,) = self.conn.execute("SELECT count(*) FROM sla_steps WHERE action = 'reroute' OR action LIKE 'escalate%'"
                                 ).fetchone()
        return n
