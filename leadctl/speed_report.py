"""Speed to lead and how fair the turns were: `report --sla` (SLA met and missed, attainment,
time to first contact), and on `report --by user` how often each member was passed over and
why (`skipped_capped`, `skipped_away`, `skipped_off_hours`, `skipped_inactive`) with the share
of their groups' leads they were asked to take and the share they got.

A holder's SLA is met when their first contact came within the deadline of their group's
ladder — the first step that moves the lead (`reroute`, `escalate:USER`), else its last step —
on the ladder's clock (wall, or the holder's working hours); missed when it came later, or
never while they held it past the deadline (an SLA re-route took it from them, a manager gave
it away, or it is still theirs, untouched). Assignments still within their deadline count as
neither. Only what the SLA covers counts: leads a group's method, a drain or an SLA re-route
handed out, after the group's SLA was switched on. An offered lead's SLA (a group with
`--accept-within`) starts when its holder accepted it, as the ladder's does; an offer never
accepted (let lapse, or still open) counts for nobody.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

from .audit import Window, first_contact_figures
from .config import Config
from .config.ladder import steps_of
from .ledger import Ledger

SKIPS = ("skipped_capped", "skipped_away", "skipped_off_hours", "skipped_inactive")


def _skip_kind(why: str) -> str | None:
    """The skip count a passed-over reason adds to (None: one no column counts, e.g. "held it")."""
    if why.endswith("cap") or why.startswith("max open") or why == "at max open":
        return "skipped_capped"
    return {"away": "skipped_away", "off hours": "skipped_off_hours", "inactive": "skipped_inactive"}.get(why)


def skip_counts(ledger: Ledger, window: Window, group: str | None = None) -> dict[str, Counter]:
    """user -> how often they were passed over in the window, by kind (SKIPS)."""
    out: dict[str, Counter] = defaultdict(Counter)
    for day, _group, text, n in ledger.passed_over_days(group):
        try:
            if not window.holds(date.fromisoformat(day)):
                continue
        except ValueError:
            continue
        for pair in (text or "").split(","):
            user, _, why = pair.partition(":")
            kind = _skip_kind(why.strip())
            if user and kind:
                out[user][kind] += n
    return out


def shares(cfg: Config, counts: Counter, group: str | None = None) -> dict[str, tuple[float, float]]:
    """user -> (target_share, actual_share) over the sequential and weighted groups they are an
    active member of: the part of those groups' method-given leads their weights ask for (equal
    in a sequential group), and the part they got."""
    got: Counter = Counter()
    for (_day, user, group_name, method), n in counts.items():
        got[(group_name, user, method)] += n
    active = cfg.active_users()
    asked: Counter = Counter()
    given: Counter = Counter()
    pool: Counter = Counter()
    for g in cfg.groups:
        if g.method not in ("sequential", "weighted") or (group and g.name != group):
            continue
        members = [m for m in g.members if m.user in active and (g.method != "weighted" or m.weight > 0)]
        total = sum(got[(g.name, m.user, g.method)] for m in members)
        weights = {m.user: (m.weight if g.method == "weighted" else 1) for m in members}
        wsum = sum(weights.values())
        for m in members:
            asked[m.user] += total * weights[m.user] / wsum if wsum else 0
            given[m.user] += got[(g.name, m.user, g.method)]
            pool[m.user] += total
    return {u: (round(asked[u] / pool[u], 4), round(given[u] / pool[u], 4)) for u in pool if pool[u]}


def sla_stats(cfg: Config, ledger: Ledger, window: Window, now: datetime, by: str = "user") -> list[dict]:
    """`report --sla` rows, per holder (`by` user), group, day, month, method or hour of the
    assignment: sla_met, sla_missed,
    attainment (0-1; None with neither), first_contact_median_s, first_contact_p90_s (of the
    covered assignments first contacted), for the assignments made in the window."""
    from .assign.sla import LadderClock
    from .domain.engine import NOT_ASSIGNMENTS, STATUS
    from .ledger.schema import SLA_METHODS

    tz = cfg.tz()
    clock = LadderClock(cfg)
    deadlines = {}
    for g in cfg.groups:
        steps = steps_of(g)
        if steps:
            moving = next((s for s in steps if s.action == "reroute" or s.escalate_to), steps[-1])
            deadlines[g.name] = (moving.seconds, g.sla.clock, datetime.fromisoformat(g.sla_since) if g.sla_since else None)
    met: Counter = Counter()
    missed: Counter = Counter()
    waits: dict[str, list[float]] = defaultdict(list)
    tenure = None  # (key, holder, group, when they got it, deadline or None)
    contacted = None

    def close(end: datetime | None) -> None:
        if tenure is None:
            return
        key, _holder, _group, got_at, due = tenure
        if contacted is not None:
            waits[key].append((contacted - got_at).total_seconds())
            (met if due is None or contacted <= due else missed)[key] += 1
        elif due is not None and (end or now) > due:  # (None: their hours never reach it)
            missed[key] += 1

    offers = ledger.offer_acceptances()  # (those made while an --accept-within was on, since switched off, too)
    lead = None
    for lead_id, at, user, method, _reason, group in ledger.event_trail(with_group=True):
        when = datetime.fromisoformat(at)
        if lead_id != lead:
            close(None)
            lead, tenure, contacted = lead_id, None, None
        if method == STATUS:
            if tenure is not None and contacted is None:
                contacted = when
            continue
        if method in NOT_ASSIGNMENTS:
            continue
        close(when)
        tenure, contacted = None, None
        rule = deadlines.get(group)
        if user is None or rule is None or method not in SLA_METHODS or not window.holds(when.astimezone(tz).date()):
            continue
        seconds, ladder_clock, since = rule
        if since is not None and when < since:
            continue
        started = when
        if (lead_id, at) in offers:  # offered: the SLA starts at the acceptance; never accepted, never
            accepted = offers[(lead_id, at)]
            if accepted is None:
                continue
            started = datetime.fromisoformat(accepted)
        due = clock.due(ladder_clock, user, started, seconds)
        local = when.astimezone(tz)
        key = {"user": user, "group": group, "day": local.date().isoformat(), "month": local.date().isoformat()[:7],
               "method": method, "hour": f"{local.hour:02d}"}[by]
        tenure = (key, user, group, started, due)
    close(None)
    rows = []
    for key in sorted(set(met) | set(missed) | set(waits), key=str):  # (days, months, hours: in order)
        times = sorted(waits.get(key, []))
        done = met[key] + missed[key]
        rows.append({by: key, "sla_met": met[key], "sla_missed": missed[key],
                     "attainment": round(met[key] / done, 4) if done else None,
                     **first_contact_figures(times)})
    return rows


_SKIP_WORDS = {"skipped_capped": "for a cap", "skipped_away": "away", "skipped_off_hours": "off hours",
               "skipped_inactive": "inactive"}


def fairness_line(f: dict, skips: dict[str, Counter]) -> str:
    """`report`'s note on a sequential or weighted group (`audit.fairness`): who got most and
    least against what they were asked; for a member who got less than asked, their share
    against the share asked and why they were passed over ("david got 31% of the group, asked
    33%; passed over 12 time(s) for a cap")."""
    most, least, total = f["most"], f["least"], f["total"]
    asks = "equal shares" if f["method"] == "sequential" else "shares by weight"
    line = (f"fairness {f['group']} ({f['method']}, {asks}): {total} lead(s);"
            f" most {most['user']} {most['count']} (asked {most['expected']:.1f}),"
            f" least {least['user']} {least['count']} (asked {least['expected']:.1f}); gap {f['gap']:.1f}")
    if round(100 * least["count"] / total) < round(100 * least["expected"] / total):  # got less, in whole %
        why = ", ".join(f"{n} time(s) {_SKIP_WORDS[k]}" for k, n in sorted(skips.get(least["user"], {}).items()) if n)
        line += (f"; {least['user']} got {least['count'] / total:.0%} of the group, asked"
                 f" {least['expected'] / total:.0%}" + (f"; passed over {why}" if why else ""))
    if f["capped_members"] and f["gap"] >= 1:
        line += f"; members with a cap may get fewer by design: {', '.join(f['capped_members'])}"
    return line
