"""What the scheduler owes a ticket, as a pure function of the ticket's columns and its policy
snapshot: the points of each deadline window (pingan/rules/: on_scene, resolution, supervision,
feedback, dispatch), each with a key (recorded in `reminders_sent` once acted on) and the time to act
(after quiet hours). No database, no org, no clock: `plan(ticket, now, tz)` says what is due and
when to look again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from pingan import policy
from pingan.lifecycle import ACTIVE
from pingan.models.ticket import Ticket
from pingan.rules import WINDOWS
from pingan.rules.base import Owed, Point


@dataclass(frozen=True)
class Plan:
    due: list[Point]  # to act on now, in order
    next_at: datetime | None  # the earliest future point


def points(t: Ticket, tz: tzinfo) -> list[Point]:
    """Every point not yet acted on for the ticket's current state (urgent repeats: only the next)."""
    if t.status not in ACTIVE:
        return []
    owed = Owed(t, policy.of(t), tz)
    for window in WINDOWS.values():
        window.points(owed)
    return sorted(owed.out, key=lambda p: (p.at, p.due))


def plan(t: Ticket, now: datetime, tz: tzinfo) -> Plan:
    pts = points(t, tz)
    due = [p for p in pts if p.at <= now]
    ahead = [p.at for p in pts if p.at > now]
    snap = policy.of(t)
    for i, p in enumerate(due):
        fold = WINDOWS[p.window].fold
        if fold is not None:  # a series missed during downtime: one late point, and the next one's time
            due[i], nxt = fold(p, now, snap)
            if nxt is not None:
                ahead.append(nxt)
    return Plan(due, min(ahead) if ahead else None)
