"""Forgetting a lead's personal data (a part of `Ledger`): what `leads forget` and `ledger
prune` erase in the ledger, and finding the leads an erasure request names."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Erasure:
    def erase_leads(self, erased: Iterable[tuple[str, str]]) -> None:
        """For each (lead id, the fields kept as JSON): the lead's personal columns and its
        duplicate keys emptied, its notes gone from its history, its outbox messages and the
        owner writes still owed to CRMs dropped. Who held it, when and how stays."""
        for lead_id, kept in erased:
            self.conn.execute("UPDATE leads SET fields = ?, email = NULL, phone = NULL, email_key = NULL,"
                              " phone_key = NULL WHERE id = ?", (kept, lead_id))
            self.conn.execute("UPDATE events SET note = NULL WHERE lead_id = ? AND note IS NOT NULL", (lead_id,))
            self.conn.execute("DELETE FROM notifications WHERE lead_id = ?", (lead_id,))
            self.conn.execute("DELETE FROM crm_writes WHERE lead_id = ? AND status = 'pending'", (lead_id,))

    def leads_keyed(self, column: str, key: str) -> list[str]:
        """Ids of the leads whose normalised `email_key` or `phone_key` is `key`, oldest first."""
        assert column in ("email_key", "phone_key")
        return [r[0] for r in self.conn.execute(f"SELECT id FROM leads WHERE {column} = ? ORDER BY rowid", (key,))]

    def forgotten_ids(self, lead_ids: list[str]) -> set[str]:
        """Which of `lead_ids` have been forgotten already (a `forgotten` event)."""
        found: set[str] = set()
        for i in range(0, len(lead_ids), 500):
            chunk = lead_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.conn.execute(
                f"SELECT DISTINCT lead_id FROM events WHERE method = 'forgotten' AND lead_id IN ({marks})", chunk))
        return found

    def received_before(self, day: str) -> Iterator[tuple[str, str | None, str]]:
        """(id, status, received_at) of the leads not forgotten yet whose received_at, as
        written (its own offset), falls before `day` (YYYY-MM-DD): `ledger prune`'s candidates,
        which the caller compares exactly."""
        yield from self.conn.execute(
            "SELECT id, status, received_at FROM leads WHERE received_at < ? AND NOT EXISTS"
            " (SELECT 1 FROM events e WHERE e.lead_id = leads.id AND e.method = 'forgotten') ORDER BY rowid", (day,))

    def scrub(self) -> str | None:
        """After an erasure: make the store drop the erased bytes it still keeps (the store says
        how); a sentence when it could not, else None."""
        return None
