"""Offers: a lead that a group with `accept_within` hands out by its method is offered to its
holder, who accepts it within that time (`leads accept`, `POST /leads/{id}/accept`, the lead
page's button) — else `tick` gives it by the group's method to the next member (method
`declined`, counted as routing is, never back to anyone who let it lapse in this chain) — and
the SLA's steps count from the acceptance. An unaccepted offer is not a first contact.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..config import Config
from ..errors import LeadctlError
from ..ledger import Ledger
from ..ledger.schema import SLA_METHODS

OFFERED = frozenset(SLA_METHODS)  # what is offered: a group's method's assignments, re-routes, re-offers


def offer(lead_id: str, at: str, user: str, group: str, seconds: int) -> tuple:
    """The offer row of an assignment made `at` (as the lead row keeps it): until when."""
    until = (datetime.fromisoformat(at) + timedelta(seconds=seconds)).isoformat(timespec="seconds")
    return (lead_id, at, user, group, until)


def accept(cfg: Config, ledger: Ledger, lead_id: str, user: str, now: datetime) -> str:
    """`user` accepts the lead offered to them: the SLA clock starts now. Returns what to say;
    a lead that is not theirs, not offered, already accepted or whose offer lapsed is a
    LeadctlError (one line) and changes nothing."""
    at = now.astimezone(cfg.tz()).isoformat(timespec="seconds")
    with ledger.write():
        row = ledger.lead(lead_id)
        if row is None:
            raise LeadctlError(f"no lead '{lead_id}'")
        if row["assigned_to"] != user:
            raise LeadctlError(f"lead {lead_id} is not offered to {user}")
        pending = ledger.offer_of(lead_id, row["assigned_at"])
        if pending is None:
            raise LeadctlError(f"lead {lead_id} is not an offer: it is {user}'s already")
        if pending["accepted_at"]:
            raise LeadctlError(f"lead {lead_id} was accepted already, at {pending['accepted_at']}")
        if datetime.fromisoformat(pending["until"]) <= now:
            raise LeadctlError(f"the offer of lead {lead_id} lapsed at {pending['until']}: it goes to the next member")
        ledger.accept_offer(lead_id, row["assigned_at"], at)
    return f"accepted lead {lead_id}: it is {user}'s; the SLA counts from now ({at})"
