"""办结期限: each holder has a resolution window of its own, by the ticket's size — 小事 the same day
(by 24:00), 中事 3 days, 大事 7 days (`resolve_small/medium/large`: 'same_day', 'Nd', 'Nh'), never
less than an hour. A new holder (呼叫, 派单, 不满意) starts a fresh window; 定级 redraws it.

- reminders at the policy's fractions below 1.0 (saying so when nobody has arrived yet);
- at the deadline (`overdue`): the system calls the ticket up once, out of the community
  (小事不出社区), when `on_overdue = "escalate"`; otherwise, and above the community, a 普通 督办
  (rules/supervision.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, tzinfo

from pingan import policy
from pingan.lifecycle import HELD, Action
from pingan.messages import Text
from pingan.models import Ticket
from pingan.notify import LATE, left_or_over
from pingan.rules import ladder
from pingan.rules.base import Owed, Point, WindowRule

NAME = "resolve"
SIZE_KEYS = {"小": "resolve_small", "中": "resolve_medium", "大": "resolve_large"}
SAME_DAY_MARGIN = timedelta(hours=2)  # a 小事 needs this much daytime to be done "the same day"


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
        qs, qe = policy.quiet_hours(snap)
        # reported at 23:55, or at 21:50 with two working hours left: "today" is tomorrow, not
        # minutes before the quiet hours hold everything until an automatic 呼叫 at 07:00
        if qs > qe and start >= datetime.combine(day, qs, tzinfo=start.tzinfo) - SAME_DAY_MARGIN:
            day += timedelta(days=1)
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=start.tzinfo)
    n = int(rule[:-1])
    if rule.endswith("h"):
        return start + timedelta(hours=n)
    return policy.add_days(start, n, snap["working_days"], set(snap.get("holidays", [])),
                           set(snap.get("workdays", [])))


def tier_due(snap: dict, size: str, start: datetime, tz: tzinfo | None = None) -> datetime:
    """The deadline of a holder who got the ticket at `start` (the first, or a new one after 呼叫,
    派单 or 不满意): never less than an hour."""
    return max(resolve_due(snap, size, start, tz), start + timedelta(hours=1))


def tier_start(t: Ticket) -> datetime:
    return t.held_since or t.dispatched_at or t.created_at


def tier_key(t: Ticket) -> str:
    """The prefix of this holding's keys in reminders_sent: a new holder's window owes everything again."""
    return f"r{int(tier_start(t).timestamp())}"


def tier_window(t: Ticket, tz: tzinfo) -> tuple[datetime, datetime]:
    """(start, deadline) of the current holder's window."""
    start = tier_start(t).astimezone(tz)
    return start, tier_due(policy.of(t), t.size, start)


def new_window(t: Ticket, now: datetime, tz: tzinfo) -> None:
    """A new holder's window from now: the one the sweep chases, and the one queries, digests and the
    ledger show."""
    t.resolve_due = tier_due(policy.of(t), t.size, now, tz)
    t.next_check_at = t.resolve_due


def regrade(t: Ticket, now: datetime, tz: tzinfo) -> None:
    """定级: the window by the new size, from when the current holder got it (the database hands
    that back in UTC: tier_due takes the local date); never a deadline already gone by."""
    snap = policy.of(t)
    due = tier_due(snap, t.size, t.held_since or t.dispatched_at or now, tz)
    t.resolve_due = due if due > now else tier_due(snap, t.size, now, tz)


def points(o: Owed) -> None:
    t = o.t
    if t.status not in HELD:
        return
    start, deadline = tier_window(t, o.tz)
    width, tk = deadline - start, tier_key(t)
    for f in o.fractions:
        o.add("remind", start + width * f, f"{tk}:{f:g}", NAME, deadline=deadline, fraction=f)
    o.add("overdue", deadline, f"{tk}:due", NAME, deadline=deadline)


# --- steps and their texts ------------------------------------------------------------------------

async def remind(s, t: Ticket, p: Point, late: bool) -> None:
    n = s.notifier
    s.record(t, "remind", p, late, window=p.window, fraction=p.fraction)
    can_call = ladder.above(s.org, t.holder_unit_id) is not None  # not at the top of the ladder
    body = n.headline(t, "办结提醒", late) + ("⚠️ 至今无人回复「到场」\n" if t.on_scene_at is None else "") + (
        f"办结期限 {n.due(p.deadline)}（{left_or_over(p.deadline, s.now)}），"
        f"办结后回复「办结 #{t.id} 处理结果」" + (f"；需上级协调回复「呼叫 #{t.id}」" if can_call else ""))
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body + "\n")] + n.mentions(pf, [ladder.holder(s.org, t)]), t)


async def overdue(s, t: Ticket, p: Point, late: bool) -> None:
    # the system calls a missed deadline up once, out of the community (小事不出社区); above that, a
    # person decides whether to call further, and the scheduler supervises (督办)
    if (policy.of(t)["on_overdue"] == "escalate" and t.holder_level in ladder.COMMUNITY_TIERS
            and ladder.escalation_target(s.org, t) is not None):
        await s.move(t, Action.escalate, p, late, note=f"办结超期，系统自动呼叫{LATE if late else ''}",
                     overdue_since=p.deadline.isoformat())
        await s.announce(t, Action.escalate, late)
    else:
        await s.act(t, replace(p, kind="supervise", window="supervision", level="普通"), late)


WINDOW = WindowRule(NAME, points, {"remind": remind, "overdue": overdue})
