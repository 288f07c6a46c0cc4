"""Deadline policy: the snapshot a ticket keeps, and the due times computed from it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

from pingan.config import PolicySettings

SIZE_KEYS = {"小": "resolve_small", "中": "resolve_medium", "大": "resolve_large"}


def snapshot(policy: PolicySettings) -> dict:
    """What a ticket keeps, so later config edits never rewrite open tickets."""
    snap = policy.model_dump()
    if policy.working_days and policy.holidays_file:
        holidays, workdays = load_holidays(policy.holidays_file)
        snap["holidays"], snap["workdays"] = sorted(holidays), sorted(workdays)
    return snap


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


def _add_days(start: datetime, days: int, working: bool, holidays: set[str], workdays: set[str] = frozenset()) -> datetime:
    if not working:
        return start + timedelta(days=days)
    d = start
    while days > 0:
        d += timedelta(days=1)
        if is_working_day(d.date(), holidays, workdays):
            days -= 1
    return d


SAME_DAY_MARGIN = timedelta(hours=2)  # a 小事 needs this much daytime to be done "the same day"


def tier_due(snap: dict, size: str, start: datetime, tz: tzinfo | None = None) -> datetime:
    """The resolution deadline of a holder who got the ticket at `start` (the first, or a new one
    after 呼叫, 派单 or 不满意): never less than an hour."""
    due = resolve_due(snap, size, start, tz)
    return max(due, start + timedelta(hours=1))


def defer_quiet(when: datetime, snap: dict, tz: tzinfo) -> datetime:
    """Inside quiet hours (local), the end of them; otherwise `when` unchanged."""
    qs, qe = time.fromisoformat(snap["quiet_start"]), time.fromisoformat(snap["quiet_end"])
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


def on_scene_due(snap: dict, dispatched_at: datetime, urgent: bool = False, tz: tzinfo | None = None) -> datetime:
    """15 minutes from dispatch. A report that is not urgent, made in quiet hours, is the morning's:
    15 minutes from their end (nobody is woken for it, so a promise of 15 minutes would be false)."""
    start = dispatched_at if urgent or tz is None else defer_quiet(dispatched_at, snap, tz)
    return start + timedelta(minutes=snap["on_scene_minutes"])


def resolve_due(snap: dict, size: str, start: datetime, tz: tzinfo | None = None) -> datetime:
    """小事 same day by 24:00 (local), 'Nd' N days (working days if configured), 'Nh' N hours.

    Days are local calendar days: pass `tz` (the clock's zone) whenever `start` may come from the
    database, which hands datetimes back in UTC — its date is the day before for 00:00–08:00 in
    Shanghai. Without `tz`, `start` must already be in local time."""
    if start.tzinfo is None:
        raise ValueError("naive datetime given to resolve_due; use the clock")
    if tz is not None:
        start = start.astimezone(tz)
    rule = snap[SIZE_KEYS.get(size, "resolve_medium")]
    if rule == "same_day":
        day: date = start.date()
        qs, qe = (time.fromisoformat(snap.get(k, "00:00")) for k in ("quiet_start", "quiet_end"))
        # reported at 23:55, or at 21:50 with two working hours left: "today" is tomorrow, not
        # minutes before the quiet hours hold everything until an automatic 呼叫 at 07:00
        if qs > qe and start >= datetime.combine(day, qs, tzinfo=start.tzinfo) - SAME_DAY_MARGIN:
            day += timedelta(days=1)
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=start.tzinfo)
    n = int(rule[:-1])
    if rule.endswith("h"):
        return start + timedelta(hours=n)
    return _add_days(start, n, snap.get("working_days", False), set(snap.get("holidays", [])),
                     set(snap.get("workdays", [])))
