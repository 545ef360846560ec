"""The kinds of assignment, and a decision as data: which methods count towards caps (and
move a rotation), which history events change nobody's leads, the precedence of the
assignments outside the group rules (owner > creator > duplicate), and how the members a
decision passed over are kept. Pure: no IO."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .methods import METHODS

SLA = "sla"  # a re-route by the group's method after the holder missed the SLA: counted, like routing
DECLINED = "declined"  # an offer its holder let lapse, given by the group's method to the next: counted
TERRITORY = "territory"  # to the user a territory row names: counted towards their own caps


COUNTED = frozenset((*METHODS, SLA, DECLINED, TERRITORY))  # the methods whose assignments count towards caps


def counts(method: str | None) -> bool:
    """Whether an assignment by `method` counts towards caps (and moved a rotation): the group
    methods and their SLA re-routes do; owner, creator, duplicate, pick-up, manual, escalation
    and release never do. The stores write `counted` on each event from COUNTED."""
    return method in COUNTED

# Methods that assign outside the group rules.
OWNER = "owner"
CREATOR = "creator"
DUPLICATE = "duplicate"
ACCOUNT = "account"  # the owner of the company's account, by the email's domain (after duplicate)
# The lead's side of a conversion to a contact or deal, in its history: no assignment at all.
CONVERT = "convert"
STATUS = "status"  # a status change, in the lead's history: no assignment either
FORGOTTEN = "forgotten"  # its personal data erased (`leads forget`, `ledger prune`): no assignment
NOT_ASSIGNMENTS = frozenset({CONVERT, STATUS, FORGOTTEN})  # history events that change nobody's leads


@dataclass(frozen=True, slots=True)
class Decision:
    user: str | None
    method: str | None
    counted: bool
    reason: str | None = None
    passed_over: str | None = None  # "tom:daily cap,lewis:inactive": whose turn it was, and why not
    backup_for: str | None = None  # the absent member whose turn this was (their backup got it)


def passed_over_text(pairs: Sequence[tuple[str, str]]) -> str | None:
    """The compact form kept in the ledger (user ids hold no `:` or `,`)."""
    return ",".join(f"{user}:{why}" for user, why in pairs) or None


def passed_over_list(text: str | None) -> list[dict]:
    """The ledger's compact form as `[{"user": ..., "why": ...}]`."""
    if not text:
        return []
    return [{"user": u, "why": w} for u, _, w in (item.partition(":") for item in text.split(","))]


def outside_rules(
    *,
    owner: str | None,
    created_by: str | None,
    duplicate_owner: str | None,
    active_users: Collection[str],
    assign_to_creator: bool,
) -> tuple[Decision | None, str | None]:
    """Precedence: owner > creator (if on) > duplicate (if on) > group method.

    Returns (decision, note): a decision when someone outside the group rules
    gets the lead, else None; `note` explains a named owner who could not be
    used, so the lead is routed by the group and the reason says why.
    """
    note = None
    if owner:
        if owner in active_users:
            return Decision(owner, OWNER, False), None
        note = f"owner '{owner}' is not an active user"
    if assign_to_creator and created_by and created_by in active_users:
        return Decision(created_by, CREATOR, False, note), None
    if duplicate_owner and duplicate_owner in active_users:
        return Decision(duplicate_owner, DUPLICATE, False, note), None
    return None, note
