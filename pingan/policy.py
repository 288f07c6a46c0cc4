"""Deadline policy: the snapshot a ticket keeps, its defaults, and the calendar the windows count in
(quiet hours, working days). Each window's own arithmetic is its rule's (pingan/rules/on_scene.py,
resolution.py, feedback.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

from pingan.config import PolicySettings


def snapshot(policy: PolicySettings) -> dict:
    """What a ticket keeps, so later config edits never rewrite open tickets."""
    snap = policy.model_dump()
    if policy.working_days and policy.holidays_file:
        holidays, workdays = load_holidays(policy.holidays_file)
        snap["holidays"], snap["workdays"] = sorted(holidays), sorted(workdays)
    return snap


# A ticket whose snapshot predates a setting gets the setting's default (one definition: PolicySettings).
DEFAULT_SNAPSHOT = snapshot(PolicySettings())


def of(t) -> dict:
    """The ticket's policy snapshot, completed with today's defaults for keys it predates."""
    return {**DEFAULT_SNAPSHOT, **(t.policy or {})}


def load_holidays(path: str) -> tuple[set[str], set[str]]:
    """The local override of the national calendar: one ISO date per line ('2026-10-01') is a day
    off; '2026-10-10 上班' a working day. '#' comments allowed. Returns (days off, working days)."""
    off, on = set(), set()
    for line in Path(path).read_text("utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            (on if words[1:2] in (["上班"], ["班"], ["workday"]) else off).add(words[0])
    return off, on


def is_working_day(day: date, holidays: set[str] = frozenset(), workdays: set[str] = frozenset()) -> bool:
    """China's working days: statutory holidays off, 调休 weekends on (chinese-calendar), the local
    file over both; a year the package does not know yet counts Monday to Friday."""
    import chinese_calendar

    iso = day.isoformat()
    if iso in workdays or iso in holidays:
        return iso in workdays
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_days(start: datetime, days: int, working: bool, holidays: set[str], workdays: set[str] = frozenset()) -> datetime:
    if not working:
        return start + timedelta(days=days)
    d = start
    while days > 0:
        d += timedelta(days=1)
        if is_working_day(d.date(), holidays, workdays):
            days -= 1
    return d


def quiet_hours(snap: dict) -> tuple[time, time]:
    return time.fromisoformat(snap["quiet_start"]), time.fromisoformat(snap["quiet_end"])


def defer_quiet(when: datetime, snap: dict, tz: tzinfo) -> datetime:
    """Inside quiet hours (local), the end of them; otherwise `when` unchanged."""
    qs, qe = quiet_hours(snap)
    if qs == qe:
        return when
    local = when.astimezone(tz)
    t = local.time()
    if qs > qe:  # spans midnight (22:00–07:00)
        if t >= qs:
            return datetime.combine(local.date() + timedelta(days=1), qe, tzinfo=tz)
        if t < qe:
            return datetime.combine(local.date(), qe, tzinfo=tz)
        return when
    if qs <= t < qe:
        return datetime.combine(local.date(), qe, tzinfo=tz)
    return when
