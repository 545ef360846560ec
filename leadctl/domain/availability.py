"""Who is away or off hours at a moment, and who stands in for them: asked per lead, at the
routing clock's moment (`--clock received`, replays and dry runs see the same availability).

Pure: the config's users (time zone, hours) and leave entries in, at a moment out. Answers
are kept per minute (hours start and end on the minute; leave on whole days), so a batch
routed at one moment asks once. With nobody having hours or leave, every answer is the same
empty one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..config import Config
from .engine import NOBODY_AWAY, Away
from .hours import Hours, parse

AWAY = "away"
OFF_HOURS = "off hours"


@dataclass(frozen=True)
class Moment:
    """Availability at one moment: who cannot take a lead, and why; and, for those away with
    a backup, (backup, until) where `until` is the leave's last day."""

    away: Away = NOBODY_AWAY
    backups: dict[str, tuple[str, str]] = field(default_factory=dict)


EVERYONE_IN = Moment()


class Availability:
    def __init__(self, cfg: Config):
        default = ZoneInfo(cfg.settings.timezone)
        self._people: list[tuple[str, ZoneInfo, Hours | None, list[tuple[date, date, str]]]] = []
        leave: dict[str, list[tuple[date, date, str]]] = {}
        for a in cfg.away:
            leave.setdefault(a.user, []).append((date.fromisoformat(a.start), date.fromisoformat(a.end), a.backup))
        for u in cfg.users:
            if u.hours or u.id in leave:
                self._people.append((u.id, ZoneInfo(u.timezone) if u.timezone else default,
                                     parse(u.hours) if u.hours else None, leave.get(u.id, [])))
        self._seen: dict[str, Moment] = {}

    @property
    def backups_anywhere(self) -> bool:
        """Some leave has a backup (who may take turns in groups beyond their own)."""
        return any(backup for *_, leave in self._people for *_, backup in leave)

    @property
    def always(self) -> bool:
        """Nobody has hours or leave: every moment is the same (and the caller need not ask)."""
        return not self._people

    def at(self, moment: datetime) -> Moment:
        if not self._people:
            return EVERYONE_IN
        key = moment.isoformat(timespec="minutes")
        found = self._seen.get(key)
        if found is None:
            if len(self._seen) > 100_000:
                self._seen.clear()
            found = self._seen[key] = self._work_out(moment)
        return found

    def at_text(self, iso: str) -> Moment:
        """`at` for an ISO 8601 time as the ledger keeps it (the parse is skipped for a minute seen)."""
        if not self._people:
            return EVERYONE_IN
        found = self._seen.get(iso[:16] + iso[19:])
        return found if found is not None else self.at(datetime.fromisoformat(iso))

    def _work_out(self, moment: datetime) -> Moment:
        away: list[tuple[str, str]] = []
        backups: dict[str, tuple[str, str]] = {}
        for user, zone, hours, leave in self._people:
            local = moment.astimezone(zone)
            today = local.date()
            entry = next((e for e in leave if e[0] <= today <= e[1]), None)
            if entry is not None:
                away.append((user, AWAY))
                if entry[2]:
                    backups[user] = (entry[2], entry[1].isoformat())
            elif hours is not None and not hours.within(local):
                away.append((user, OFF_HOURS))
        if not away:
            return EVERYONE_IN
        return Moment(frozenset(away), backups)
