"""What the scheduler owes a ticket, as a pure function of the ticket's columns and its policy
snapshot: the reminder points of its on-scene and resolution windows, the overdue step, 督办 levels,
urgent repeats — each with a key (recorded in `reminders_sent` once acted on) and the time to act
(after quiet hours). No database, no org, no clock: `plan(ticket, now, tz)` says what is due and
when to look again.

Windows:
- on scene: dispatched_at → on_scene_due, while nobody has answered 到场. Reminders at the
  configured fractions below 1.0; at the deadline the holder and the community's on-duty lead are
  @-mentioned (`overdue_on_scene`); urgent tickets then repeat every `urgent_repeat_minutes`.
- resolution, per holding ("tier"): held_since → resolve_due(policy, size, held_since). A new
  holder (呼叫, 派单, reopened) starts a fresh window. Reminders at the fractions; at the deadline
  the `overdue` step (automatic 呼叫 up the ladder, or a 普通 督办); 黄牌/红牌 督办 when the ticket
  stays overdue at that tier for `supervise_yellow`/`supervise_red` windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from pingan import policy
from pingan.policy import defer_quiet
from pingan.lifecycle import AWAITING_ARRIVAL, HELD
from pingan.models.ticket import Status, Ticket

SWEPT = frozenset({Status.new, Status.resolved} | HELD)
SUPERVISION_ORDER = {None: 0, "普通": 1, "黄牌": 2, "红牌": 3}
DEFAULT_SNAPSHOT = {
    "on_scene_minutes": 15, "resolve_small": "same_day", "resolve_medium": "3d", "resolve_large": "7d",
    "working_days": False, "reminders": [0.5, 0.8, 1.0], "on_overdue": "escalate",
    "supervise_yellow": 2.0, "supervise_red": 3.0, "urgent_repeat_minutes": 5, "urgent_call_above_every": 3,
    "quiet_start": "22:00", "quiet_end": "07:00", "feedback_days": 3,
}


@dataclass(frozen=True)
class Point:
    kind: str  # dispatch | remind | overdue_on_scene | urgent_repeat | overdue | supervise | auto_close
    due: datetime  # when the policy says it happens
    at: datetime  # when to act: `due`, or the end of quiet hours for a non-urgent ticket
    key: str | None = None  # recorded in ticket.reminders_sent; None for dispatch
    window: str = ""  # on_scene | resolve
    deadline: datetime | None = None  # the window's deadline
    fraction: float | None = None
    level: str | None = None  # 督办 level for `supervise`
    repeat: int = 0  # urgent repeat number
    missed: int = 0  # urgent repeats folded into this one after downtime

    @property
    def deferred(self) -> bool:
        return self.at > self.due


@dataclass(frozen=True)
class Plan:
    due: list[Point]  # to act on now, in order
    next_at: datetime | None  # the earliest future point


def snap_of(t: Ticket) -> dict:
    return {**DEFAULT_SNAPSHOT, **(t.policy or {})}


def tier_start(t: Ticket) -> datetime:
    return t.held_since or t.dispatched_at or t.created_at


def tier_key(t: Ticket) -> str:
    return f"r{int(tier_start(t).timestamp())}"


def tier_window(t: Ticket, tz: tzinfo) -> tuple[datetime, datetime]:
    """(start, deadline) of the current holder's resolution window."""
    start = tier_start(t).astimezone(tz)
    return start, policy.tier_due(snap_of(t), t.size, start)


def _urgent_done(sent: set[str]) -> int:
    return max((int(k[2:]) for k in sent if k.startswith("u:")), default=0)


def points(t: Ticket, tz: tzinfo) -> list[Point]:
    """Every point not yet acted on for the ticket's current state (urgent repeats: only the next)."""
    if t.status not in SWEPT:
        return []
    snap = snap_of(t)
    def quiet(d: datetime, window: str = "") -> datetime:
        # an urgent ticket wakes people up to get someone there, not for its 办结 reminders
        return d if t.urgent and window == "on_scene" else defer_quiet(d, snap, tz)

    if t.status == Status.new:
        return [Point("dispatch", t.created_at, t.created_at)]
    if t.status == Status.resolved:  # 回访 unanswered: closed as 未评价 (a 不满意 still reopens it)
        days = snap["feedback_days"]
        due = t.resolved_at + timedelta(days=days) if days and t.resolved_at else None
        return [Point("auto_close", due, quiet(due), "fb")] if due else []
    sent = set(t.reminders_sent or [])
    fractions = [f for f in snap["reminders"] if f < 1]
    out: list[Point] = []

    def add(kind: str, due: datetime, key: str, **kw) -> None:
        if key not in sent:
            out.append(Point(kind, due, quiet(due, kw.get("window", "")), key, **kw))

    # the on-scene window (15 minutes from dispatch)
    # a 处理中 with nobody on scene does not silence an urgent ticket's alarm
    waiting = t.status in AWAITING_ARRIVAL or (t.urgent and t.status == Status.in_progress)
    if t.on_scene_at is None and waiting and t.on_scene_due and t.dispatched_at:
        start, deadline = t.dispatched_at, t.on_scene_due
        for f in fractions if t.acknowledged_at is None else []:  # 签收 said "on my way"
            add("remind", start + (deadline - start) * f, f"os:{f:g}", window="on_scene", deadline=deadline, fraction=f)
        add("overdue_on_scene", deadline, "os:due", window="on_scene", deadline=deadline)
        if t.urgent:
            every = timedelta(minutes=snap["urgent_repeat_minutes"])
            n = _urgent_done(sent) + 1
            due = deadline + every * n
            out.append(Point("urgent_repeat", due, due, f"u:{n}", window="on_scene", deadline=deadline, repeat=n))

    # the current holder's resolution window
    start, deadline = tier_window(t, tz)
    width = deadline - start
    tk = tier_key(t)
    for f in fractions:
        add("remind", start + width * f, f"{tk}:{f:g}", window="resolve", deadline=deadline, fraction=f)
    add("overdue", deadline, f"{tk}:due", window="resolve", deadline=deadline)
    for level, mult in (("黄牌", snap["supervise_yellow"]), ("红牌", snap["supervise_red"])):
        add("supervise", deadline + width * mult, f"{tk}:{level}", window="resolve", deadline=deadline, level=level)
    return sorted(out, key=lambda p: (p.at, p.due))


def plan(t: Ticket, now: datetime, tz: tzinfo) -> Plan:
    pts = points(t, tz)
    due = [p for p in pts if p.at <= now]
    ahead = [p.at for p in pts if p.at > now]
    # an urgent repeat series missed during downtime folds into one late repeat (the latest)
    for i, p in enumerate(due):
        if p.kind == "urgent_repeat":
            every = timedelta(minutes=snap_of(t)["urgent_repeat_minutes"])
            last = p.repeat + int((now - p.due) / every)
            if last > p.repeat:
                due[i] = Point(p.kind, p.deadline + every * last, p.deadline + every * last, f"u:{last}",
                               window=p.window, deadline=p.deadline, repeat=last, missed=last - p.repeat)
            ahead.append(p.deadline + every * (last + 1))
    return Plan(due, min(ahead) if ahead else None)
