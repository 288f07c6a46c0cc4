"""Who is on duty at a moment: the duty roster (值班表) read into memory with the organisation
(OrgIndex.load), dated shifts over the weekly rotation, people on leave skipped."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from pingan.models.roster import Leave, Shift


@dataclass(frozen=True)
class Duty:
    """One shift as it happens: who, in which role, from when to when (aware, local)."""

    person_id: str
    role: str
    starts: datetime
    ends: datetime
    label: str = ""


def occurrence(s: Shift, day: date, tz: tzinfo) -> Duty:
    start, end = time.fromisoformat(s.start), time.fromisoformat(s.end)
    starts = datetime.combine(day, start, tzinfo=tz)
    ends = datetime.combine(day + timedelta(days=1) if end <= start else day, end, tzinfo=tz)
    return Duty(s.person_id, s.role, starts, ends, s.label)


class Roster:
    def __init__(self, shifts: list[Shift], leave: list[Leave], tz: tzinfo, now=None) -> None:
        self.tz, self.now = tz, now  # now: the clock's now(), for callers that ask "who is on duty now"
        self.dated: dict[tuple[str, date], list[Shift]] = defaultdict(list)
        self.weekly: dict[tuple[str, int], list[Shift]] = defaultdict(list)
        self.units: set[str] = set()
        for s in shifts:
            self.units.add(s.unit_id)
            if s.day is not None:
                self.dated[(s.unit_id, s.day)].append(s)
            else:
                self.weekly[(s.unit_id, s.weekday)].append(s)
        self.leave: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        for lv in leave:
            self.leave[lv.person_id].append((lv.starts_at, lv.ends_at))

    @classmethod
    async def load(cls, session: AsyncSession, clock) -> "Roster":
        shifts = list((await session.exec(select(Shift))).all())
        leave = list((await session.exec(select(Leave).where(Leave.ends_at > clock.now()))).all())
        return cls(shifts, leave, clock.tz, clock.now)

    def has(self, unit_id: str | None) -> bool:
        return unit_id in self.units

    def on_leave(self, person_id: str | None, at: datetime) -> bool:
        return any(a <= at < b for a, b in self.leave.get(person_id, []))

    def add_leave(self, person_id: str, starts: datetime, ends: datetime) -> None:
        self.leave[person_id].append((starts, ends))

    def day(self, unit_id: str, day: date) -> list[Duty]:
        """The unit's shifts starting on `day`: its dated ones, else the week's pattern."""
        shifts = self.dated.get((unit_id, day)) or self.weekly.get((unit_id, day.weekday()), [])
        return sorted((occurrence(s, day, self.tz) for s in shifts), key=lambda d: (d.starts, d.role))

    def at(self, unit_id: str | None, at: datetime | None = None) -> list[Duty]:
        """Shifts covering the moment (a night shift started yesterday included), leave skipped."""
        if unit_id not in self.units:
            return []
        at = (at or self.now()).astimezone(self.tz)
        duties = self.day(unit_id, at.date() - timedelta(days=1)) + self.day(unit_id, at.date())
        return [d for d in duties if d.starts <= at < d.ends and not self.on_leave(d.person_id, at)]

    def next(self, unit_id: str, at: datetime | None = None) -> list[Duty]:
        """The next shift change's incoming duties (within a week)."""
        at = (at or self.now()).astimezone(self.tz)
        for n in range(8):
            later = [d for d in self.day(unit_id, at.date() + timedelta(days=n)) if d.starts > at]
            if later:
                first = min(d.starts for d in later)
                return [d for d in later if d.starts == first]
        return []

    def gaps(self, unit_id: str, day: date) -> list[tuple[datetime, datetime]]:
        """The stretches of `day` (local) no shift covers (a night from the day before counts)."""
        start = datetime.combine(day, time(0, 0), tzinfo=self.tz)
        end, out, at = start + timedelta(days=1), [], start
        duties = self.day(unit_id, day - timedelta(days=1)) + self.day(unit_id, day)
        for d in sorted(duties, key=lambda d: d.starts):
            if d.starts > at:
                out.append((at, min(d.starts, end)))
            at = max(at, d.ends)
            if at >= end:
                break
        if at < end:
            out.append((at, end))
        return [(a, b) for a, b in out if b > a]

    def person(self, unit_id: str | None, role: str, at: datetime | None = None) -> str | None:
        """The person in `role` (lead | duty) on duty at the moment, if any."""
        return next((d.person_id for d in self.at(unit_id, at) if d.role == role), None)
