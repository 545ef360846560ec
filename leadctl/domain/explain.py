""""Why did Denise get FB-0019?" answered in words, from a lead and its history.

Pure: a lead row and its events (as `leads show` gives them) in, one
paragraph out. Each event says who acted, how (a group's method, an owner in
the payload, a pick-up, a hand-over), who was passed over and why, and the
note left with it.
"""

from __future__ import annotations

METHOD_WORDS = {
    "sequential": "the round robin of group '{group}'",
    "random": "a random draw in group '{group}'",
    "weighted": "the weighted rotation of group '{group}'",
    "owner": "the owner named in the lead itself",
    "creator": "the rule that a lead goes to the user who created it",
    "duplicate": "the duplicate rule",
    "account": "account matching (the company's owner, by the email's domain)",
    "pickup": "a pick-up",
    "manual": "a reassignment by hand",
    "sla": "an SLA re-route in group '{group}'",
    "escalated": "an escalation after the SLA re-routes",
    "territory": "the territory table",
}


def _event(e: dict, first: bool) -> str:
    at = (e["at"] or "").replace("T", " ")
    if e["method"] == "release":
        text = f"on {at} it was released back to unassigned"
    elif e["method"] == "convert":
        text = f"on {at} it was converted, keeping its owner"
    elif e["method"] == "status":
        text = f"on {at} its status changed"  # the reason says from what to what
    else:
        how = METHOD_WORDS.get(e["method"], e["method"] or "?").format(group=e["group"])
        verb = "it went to" if first else "it moved to"
        text = f"on {at} {verb} {e['assigned_to']} through {how}"
        if e["method"] in ("sequential", "random", "weighted", "balanced", "sla"):
            text += " (counted towards the caps)" if e["counted"] else ""
        elif e["method"] == "territory":
            text += " (counted towards their own caps)" if e["counted"] else ""
        elif e["method"] not in ("release",):
            text += ", outside the group rules (no cap counted, no rotation moved)"
    if e.get("reason"):
        text += f": {e['reason']}"
    passed = e.get("passed_over") or []
    if passed:
        text += "; passed over: " + ", ".join(f"{p['user']} ({p['why']})" for p in passed)
    if e.get("actor"):
        text += f"; done by {e['actor']}"
    if e.get("note"):
        text += f" (note: {e['note']})"
    return text


def explain(lead: dict, history: list[dict]) -> str:
    head = (f"Lead {lead['id']} ({lead['type']}, status {lead['status']}"
            + (f", from {lead['source']}" if lead.get("source") else "")
            + f") was received at {(lead['received_at'] or '').replace('T', ' ')}"
            + (f" and routed to group '{lead['group']}'" if lead.get("group") else ""))
    if not history:
        reason = f": {lead['reason']}" if lead.get("reason") else ""
        return head + f". Nobody has it{reason}."
    parts = [_event(e, i == 0) for i, e in enumerate(history)]
    owner = lead.get("assigned_to")
    tail = f"It now belongs to {owner}." if owner else "It is now unassigned."
    return head + "; " + "; then ".join(parts) + ". " + tail
