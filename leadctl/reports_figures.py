"""The /reports page's figures for the last 7, 30 or 90 days — leads per member and per day,
speed to lead (median and 90th percentile of the time to first contact), SLA attainment —
the same counts as `report`, `report --sla` (`audit`, `speed_report`).

Speed to lead and the SLA read the whole event trail (a first contact today can belong to an
assignment of three weeks ago), which costs seconds on a ledger of a million leads. So the
figures are kept in the ledger as a snapshot, as a dashboard keeps its last refresh: `tick`
computes a window again when its snapshot is older than FRESH; a page reads the snapshot and
computes it itself only when there is none, it is older than STALE (no `tick` running), it
belongs to another day or another config, or a manager asks (the Refresh button). The page
says when its figures were computed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta

WINDOWS = (7, 30, 90)
FRESH = timedelta(minutes=5)
STALE = timedelta(minutes=15)


def figures(cfg, ledger, days: int, now: datetime, *, max_age: timedelta = STALE) -> dict:
    """The window's figures (see `compute`), from its snapshot when that is younger than
    `max_age`, for today and this config; else computed now and kept."""
    from .audit import today

    name, fingerprint, last = f"reports:{days}", config_fingerprint(cfg), today(cfg, now)
    kept = ledger.kept_figures(name)
    if kept is not None and kept[0] == fingerprint:
        body = json.loads(kept[2])
        at = datetime.fromisoformat(kept[1])
        if body.get("last") == last.isoformat() and timedelta(0) <= now - at <= max_age:
            return body
    body = compute(cfg, ledger, days, now)
    with ledger.write():
        ledger.keep_figures(name, fingerprint, body["as_of"], json.dumps(body))
    return body


def refresh(cfg, ledger, now: datetime) -> int:
    """For `tick`: compute again each window whose snapshot is older than FRESH; how many were."""
    before = {days: ledger.kept_figures(f"reports:{days}") for days in WINDOWS}
    done = 0
    for days in WINDOWS:
        body = figures(cfg, ledger, days, now, max_age=FRESH)
        done += before[days] is None or body["as_of"] != before[days][1]
    return done


def compute(cfg, ledger, days: int, now: datetime) -> dict:
    """The figures of the `days` up to today (in the configured zone), as plain data:
    first, last, as_of; given [[user, leads]] (most first); per_day {day: {user: leads}};
    speed [[user, median s, p90 s]] (fastest first); sla [report --sla rows by user]."""
    from .audit import Window, contact_stats, today, window_counts
    from .speed_report import sla_stats

    last = today(cfg, now)
    first = last - timedelta(days=days - 1)
    span = Window(first, last)
    per_member: Counter = Counter()
    per_day: dict = defaultdict(Counter)
    for (day, user, _group, _method), n in window_counts(cfg, ledger, span).items():
        if user:
            per_member[user] += n
            per_day[day.isoformat()][user] += n
    speed = contact_stats(cfg, ledger, span)
    fast = sorted((u for u in speed if speed[u]["first_contact_median_s"] is not None),
                  key=lambda u: (speed[u]["first_contact_median_s"], u))
    return {
        "first": first.isoformat(), "last": last.isoformat(), "as_of": now.isoformat(),
        "given": [[u, per_member[u]] for u in sorted(per_member, key=lambda u: (-per_member[u], u))],
        "per_day": {d: dict(c) for d, c in per_day.items()},
        "speed": [[u, speed[u]["first_contact_median_s"], speed[u]["first_contact_p90_s"]] for u in fast],
        "sla": [r for r in sla_stats(cfg, ledger, span, now, "user") if r["attainment"] is not None],
    }


def config_fingerprint(cfg) -> str:
    """What the figures depend on in the config, as a digest: the config file's bytes (the
    zone, the groups' ladders, the users' hours are all in it)."""
    try:
        return hashlib.sha256(cfg.path.read_bytes()).hexdigest()
    except (OSError, AttributeError, TypeError):
        return "unknown"
