"""Rotation and usage: each group's rotation state, and the leads each member was given per day and month."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from ..domain.engine import Rotation

class Usage:
    """Rotations and cap usage (a part of `Ledger`)."""

    def load_usage(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str, str], int]:
        """Usage rows for the given (group, period) pairs."""
        out: dict[tuple[str, str, str], int] = {}
        sql = "SELECT user_id, count FROM usage WHERE group_name = ? AND period = ?"
        for group, period in keys:
            for user, count in self.conn.execute(sql, (group, period)):
                out[(group, user, period)] = count
        return out

    def load_rotations(self, groups: Iterable[str]) -> dict[str, Rotation]:
        out = {}
        for name in groups:
            row = self.conn.execute("SELECT state FROM rotations WHERE group_name = ?", (name,)).fetchone()
            if row:
                out[name] = Rotation.from_dict(json.loads(row[0]))
        return out

    def save_usage(self, usage: Mapping[tuple[str, str, str], int], keys: Iterable[tuple[str, str, str]]) -> None:
        self.conn.executemany(
            "INSERT INTO usage (group_name, user_id, period, count) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (group_name, period, user_id) DO UPDATE SET count = excluded.count",
            [(g, u, p, usage[(g, u, p)]) for g, u, p in keys],
        )

    def save_rotations(self, rotations: Mapping[str, Rotation], names: Iterable[str]) -> None:
        self.conn.executemany(
            "INSERT INTO rotations (group_name, state) VALUES (?, ?) "
            "ON CONFLICT (group_name) DO UPDATE SET state = excluded.state",
            [(n, json.dumps(rotations[n].to_dict())) for n in names],
        )

    def rebuild_usage(self, tz) -> None:
        """Count usage again from the history of counted events, by calendar day and month
        in `tz`: after a time-zone change a day's leads must not be split over two keys."""
        totals = self.counted_usage(tz)
        self.conn.execute("DELETE FROM usage")
        self.conn.executemany(
            "INSERT INTO usage (group_name, user_id, period, count) VALUES (?, ?, ?, ?)",
            [(g, u, p, n) for (g, u, p), n in totals.items()],
        )

    def counted_usage(self, tz) -> dict[tuple[str, str, str], int]:
        """What the usage tallies should say, counted from the events that count towards caps:
        (group, user, D-day or M-month in `tz`) -> count."""
        from collections import Counter
        from datetime import date, datetime

        from ..domain.engine import day_key, month_key

        totals: Counter = Counter()
        for minute, offset, user, group, n in self.conn.execute(
            "SELECT substr(at, 1, 16), substr(at, 20), assigned_to, group_name, count(*) FROM events"
            " WHERE counted = 1 AND assigned_to IS NOT NULL GROUP BY 1, 2, 3, 4"
        ):
            try:
                day = datetime.fromisoformat(f"{minute}:00{offset}").astimezone(tz).date()
            except (ValueError, OverflowError):  # at the very ends of the calendar
                day = date.fromisoformat(minute[:10])
            iso = day.isoformat()
            totals[(group, user, day_key(iso))] += n
            totals[(group, user, month_key(iso))] += n
        return totals

    def forget_group(self, name: str) -> None:
        """A group made anew under an old name starts with a fresh rotation and no usage
        (its past events stay in the history)."""
        self.conn.execute("DELETE FROM rotations WHERE group_name = ?", (name,))
        self.conn.execute("DELETE FROM usage WHERE group_name = ?", (name,))

    def usage_counts(self, period: str) -> dict[tuple[str, str], int]:
        """(group, user) -> count for one period."""
        return {
            (g, u): c
            for g, u, c in self.conn.execute(
                "SELECT group_name, user_id, count FROM usage WHERE period = ?", (period,)
            )
        }

    def usage_between(self, group: str, first_day: str, last_day: str) -> dict[str, int]:
        """Leads the group's method gave each member on the days from `first_day` to `last_day`
        (YYYY-MM-DD, inclusive): one look-up per day key, for the team page's chart."""
        return {user: int(n) for user, n in self.conn.execute(  # (PostgreSQL sums to a decimal)
            "SELECT user_id, sum(count) FROM usage WHERE group_name = ? AND period >= ? AND period <= ?"
            " GROUP BY user_id", (group, f"D{first_day}", f"D{last_day}"))}
