"""The turns a rule asks for beyond the group's own: among the members with the tags a rule
requires (`--require-tag`), and to the user a territory row names. Each is the one question
(`Policy.turn`) asked of fewer people, and says in the reason when it fell back.
"""

from __future__ import annotations

from ..domain.engine import SEQUENTIAL, Allocator, Away, Decision, GroupPlan
from ..domain.kinds import ACCOUNT, TERRITORY


def with_tags(policy, group: str, day: str, alloc: Allocator, away: Away, backups, tags: tuple[str, ...],
              strict: bool) -> tuple[str, Decision]:
    """`turn` among the members with every one of `tags` (the others miss their turn as a
    capped member does, "no tag ..."); when none of them can take it, the whole group's turn
    (the reason says so), unless `strict`."""
    lacking = policy.lacking.get(tags)
    if lacking is None:
        lacking = policy.lacking[tags] = frozenset(
            (user, f"no tag {next(t for t in tags if t not in have)}")
            for user, have in policy.tags.items() if not have.issuperset(tags))
    gone, decision = policy.turn(group, day, alloc, away | lacking if away else lacking, backups)
    if decision.user is not None or strict:
        return gone, decision
    gone, decision = policy.turn(group, day, alloc, away, backups)
    return gone, because(f"nobody with {' and '.join(tags)} could take it: the whole group", decision)


def to_user(policy, group: str, day: str, alloc: Allocator, away: Away, backups, user: str,
            why: str) -> tuple[str, Decision]:
    """A territory's own user: theirs (method `territory`, counted towards their own caps), or
    their backup's when they are away; when neither can take it, `group`'s turn (the rule's
    fallback group, else the default), the reason saying why."""
    plan = policy.user_plans.get(user)
    if plan is None:
        slot = policy.people.get(user)
        if slot is None:  # (a territory names someone who is no user: config check says so)
            return group, because(f"{why}: '{user}' is no user", policy.turn(group, day, alloc, away, backups)[1])
        plan = policy.user_plans[user] = GroupPlan(territory_plan(user), SEQUENTIAL, (slot,))
    decision = alloc.assign(plan, day, None, away, backups)
    if decision.user is not None:
        key = (TERRITORY, why, decision.user, decision.reason, decision.backup_for)  # (strings: hashed in C)
        made = policy.made.get(key)
        if made is None:  # one Decision per territory and outcome, shared (it is immutable)
            made = policy.made[key] = Decision(decision.user, TERRITORY, True,
                                               f"{why}; {decision.reason}" if decision.reason else why, None,
                                               decision.backup_for)
        return group, made
    blocked = alloc.why_not(plan, plan.members[0], day, away) or "away"
    gone, fallback = policy.turn(group, day, alloc, away, backups)
    return gone, because(f"{why}, and {user} cannot take it ({blocked}): group '{gone}'", fallback)


def to_account(policy, group: str, day: str, alloc: Allocator, away: Away, backups, owner: str,
               why: str) -> tuple[str, Decision]:
    """The account's owner (method `account`, outside the rules: nothing counted), or their
    backup when they are away; when neither can take it, `group`'s turn, the reason saying why."""
    gone = {user: reason for user, reason in away} if away else {}
    if owner not in gone:
        return group, Decision(owner, ACCOUNT, False, why)
    backup = (backups or {}).get(owner)
    if backup is not None and backup[0] in policy.active and backup[0] not in gone:
        return group, Decision(backup[0], ACCOUNT, False, f"{why}; backup for {owner}, who is {gone[owner]}",
                               None, owner)
    gone_group, decision = policy.turn(group, day, alloc, away, backups)
    return gone_group, because(f"{why}, and {owner} is {gone[owner]}: routed by group '{gone_group}'", decision)


def territory_plan(user: str) -> str:
    """The name a territory's user's own counts are kept under (usage and rotation)."""
    return f"territory:{user}"


def because(why: str, decision: Decision, made: dict | None = None) -> Decision:
    """The decision with `why` before its reason (`made`: shared ones, by why and the decision)."""
    if made is not None:
        key = (why, decision.user, decision.method, decision.counted, decision.reason, decision.passed_over,
               decision.backup_for)  # (not the Decision: its hash and == are Python calls)
        found = made.get(key)
        if found is not None:
            return found
    out = Decision(decision.user, decision.method, decision.counted,
                   f"{why}; {decision.reason}" if decision.reason else why, decision.passed_over, decision.backup_for)
    if made is not None and len(made) < 100_000:
        made[key] = out
    return out
