"""The shapes of a rule (the table that holds them is pingan/rules/__init__.py).

An action rule says what a lifecycle action does to a ticket (`apply`, after the lifecycle has set
the new status) and what it announces to whom (`announce`). A window rule says which points a
deadline window owes a ticket (`points`) and what the sweep does at each (`steps`, by point kind)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Awaitable, Callable

from pingan.lifecycle import Action
from pingan.models import Person, Ticket, TicketEvent, Unit
from pingan.notify import Notifier
from pingan.policy import defer_quiet


@dataclass
class Move:
    """What `apply` gets. `desk` is the TicketDesk (not imported: the desk imports the rules); rules
    use its clock (`now`, `tz`), its org index and `hold`."""

    desk: object
    ticket: Ticket
    actor: Person | None = None
    note: str | None = None
    department: Unit | None = None
    size: str | None = None


@dataclass
class Told:
    """What `announce` gets: the moved ticket, who moved it (None: the system) and its events."""

    n: Notifier
    t: Ticket
    actor: Person | None
    events: list[TicketEvent]
    late: bool = False

    @property
    def by(self) -> str:
        return self.actor.name if self.actor else "系统"

    @property
    def no(self) -> str:
        return f"#{self.t.id}"

    @property
    def by_reporter(self) -> bool:
        return self.actor is not None and self.actor.id == self.t.reporter_id

    def note(self, action: Action) -> str | None:
        """What was typed with the latest `action` (a 呼叫 or 不满意 reason); the move's own event is last."""
        ev = next((e for e in reversed(self.events) if e.action == str(action)), None)
        return ev.note if ev else None


@dataclass(frozen=True)
class Said:
    """What the common announcement posts (rules/__init__.announce); a rule posts anything else itself."""

    group: str | None = None  # in the groups of the ticket's community
    resident: str | None = None  # to the reporter, unless the reporter made the move
    confirm: str | None = None  # the actor's confirmation, when it is not the group post


class Refused(Exception):
    """A dispatcher's action that cannot be taken as asked (an unknown item, no such grid); the
    message says why, in Chinese, and nothing has changed."""


@dataclass(frozen=True)
class ActionRule:
    action: Action
    apply: Callable[[Move], None]
    announce: Callable[[Told], Said]
    by_reporter: bool = False  # the reporter's to take (or an admin's), not the chain's


def unchanged(m: Move) -> None:
    """The action changes the status only."""


@dataclass(frozen=True)
class Point:
    kind: str  # the step of its window that acts on it (WindowRule.steps)
    due: datetime  # when the policy says it happens
    at: datetime  # when to act: `due`, or the end of quiet hours for a non-urgent ticket
    key: str | None = None  # recorded in ticket.reminders_sent; None for dispatch
    window: str = ""  # the WindowRule's name
    deadline: datetime | None = None  # the window's deadline
    fraction: float | None = None
    level: str | None = None  # 督办 level for `supervise`
    repeat: int = 0  # urgent repeat number
    missed: int = 0  # urgent repeats folded into this one after downtime

    @property
    def deferred(self) -> bool:
        return self.at > self.due


@dataclass
class Owed:
    """A ticket's points being collected by the window rules; a key already in `reminders_sent` is done."""

    t: Ticket
    snap: dict
    tz: tzinfo
    out: list[Point] = field(default_factory=list)

    @property
    def sent(self) -> set[str]:
        return set(self.t.reminders_sent or [])

    @property
    def fractions(self) -> list[float]:
        """The reminder points inside a window (1.0 is the deadline step itself)."""
        return [f for f in self.snap["reminders"] if f < 1]

    def quiet(self, d: datetime, window: str = "") -> datetime:
        # an urgent ticket wakes people up to get someone there, not for its 办结 reminders
        return d if self.t.urgent and window == "on_scene" else defer_quiet(d, self.snap, self.tz)

    def add(self, kind: str, due: datetime, key: str, window: str, **kw) -> None:
        if key not in self.sent:
            self.out.append(Point(kind, due, self.quiet(due, window), key, window=window, **kw))


Step = Callable[..., Awaitable[None]]  # async step(sweeper, ticket, point, late)


@dataclass(frozen=True)
class WindowRule:
    name: str
    points: Callable[[Owed], None]  # adds the points the window owes the ticket now
    steps: dict[str, Step]  # Point.kind → what the sweep does
    # a due point of a series missed during downtime → (one late point, the next one's time)
    fold: Callable[[Point, datetime, dict], tuple[Point, datetime | None]] | None = None
