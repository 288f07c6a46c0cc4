"""Deadline policy: the snapshot a ticket keeps, its defaults, and the calendar the windows count in
(quiet hours, working days). Each window's own arithmetic is its rule's (pingan/rules/on_scene.py,
resolution.py, feedback.py)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path

from pingan.config import PolicySettings


def snapshot(policy: PolicySettings) -> dict:
    """What a ticket keeps, so later config edits never rewrite open tickets."""
    snap = policy.model_dump()
    if policy.working_days and policy.holidays_file:
        snap["holidays"] = sorted(load_holidays(policy.holidays_file))
    return snap


# A ticket whose snapshot predates a setting gets the setting's default (one definition: PolicySettings).
DEFAULT_SNAPSHOT = snapshot(PolicySettings())


def of(t) -> dict:
    """The ticket's policy snapshot, completed with today's defaults for keys it predates."""
    return {**DEFAULT_SNAPSHOT, **(t.policy or {})}


def load_holidays(path: str) -> set[str]:
    """One ISO date per line ('2026-10-01'); '#' comments allowed."""
    lines = Path(path).read_text("utf-8").splitlines()
    return {ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()}


def add_days(start: datetime, days: int, working: bool, holidays: set[str]) -> datetime:
    if not working:
        return start + timedelta(days=days)
    d = start
    while days > 0:
        d += timedelta(days=1)
        if d.weekday() < 5 and d.date().isoformat() not in holidays:
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
