"""15分钟到场: someone is on scene within `on_scene_minutes` of dispatch.

- deadline: dispatch + on_scene_minutes; a report that is not urgent, made in quiet hours, is the
  morning's (the minutes count from their end: nobody is woken for it, so a promise of 15 minutes
  would be false);
- reminders at the policy's fractions below 1.0, unless 签收 said "on my way";
- at the deadline the holder and the community's lead are @-mentioned (`overdue_on_scene`); an
  urgent ticket's reporter is told, with the emergency numbers;
- an urgent ticket then repeats every `urgent_repeat_minutes` until 到场 (处理中 does not silence
  it), and every `urgent_call_above_every`-th repeat reaches the tier above the community."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from pingan import policy
from pingan.lifecycle import AWAITING_ARRIVAL, Status
from pingan.messages import Text
from pingan.models import Ticket
from pingan.notify import left_or_over, span
from pingan.policy import defer_quiet
from pingan.rules import ladder
from pingan.rules.base import Owed, Point, WindowRule
from pingan.rules.safety import safety_line

NAME = "on_scene"


def due(snap: dict, dispatched_at: datetime, urgent: bool = False, tz: tzinfo | None = None) -> datetime:
    start = dispatched_at if urgent or tz is None else defer_quiet(dispatched_at, snap, tz)
    return start + timedelta(minutes=snap["on_scene_minutes"])


def at_night(t: Ticket) -> bool:
    """Its window starts after quiet hours (see `due`)."""
    return bool(t.on_scene_due and t.dispatched_at
                and t.on_scene_due - t.dispatched_at > timedelta(minutes=policy.of(t)["on_scene_minutes"] + 1))


def waiting(t: Ticket) -> bool:
    """Nobody has answered 到场 yet (a 处理中 by phone does not count for an urgent ticket)."""
    held = t.status in AWAITING_ARRIVAL or (t.urgent and t.status == Status.in_progress)
    return t.on_scene_at is None and held and t.on_scene_due is not None and t.dispatched_at is not None


def points(o: Owed) -> None:
    t = o.t
    if not waiting(t):
        return
    start, deadline = t.dispatched_at, t.on_scene_due
    for f in o.fractions if t.acknowledged_at is None else []:  # 签收 said "on my way"
        o.add("remind", start + (deadline - start) * f, f"os:{f:g}", NAME, deadline=deadline, fraction=f)
    o.add("overdue_on_scene", deadline, "os:due", NAME, deadline=deadline)
    if t.urgent:
        every = timedelta(minutes=o.snap["urgent_repeat_minutes"])
        n = max((int(k[2:]) for k in o.sent if k.startswith("u:")), default=0) + 1
        at = deadline + every * n
        o.out.append(Point("urgent_repeat", at, at, f"u:{n}", window=NAME, deadline=deadline, repeat=n))


def fold(p: Point, now: datetime, snap: dict) -> tuple[Point, datetime | None]:
    """An urgent repeat series missed during downtime folds into one late repeat (the latest)."""
    if p.kind != "urgent_repeat":
        return p, None
    every = timedelta(minutes=snap["urgent_repeat_minutes"])
    last = p.repeat + int((now - p.due) / every)
    if last > p.repeat:
        at = p.deadline + every * last
        p = replace(p, due=at, at=at, key=f"u:{last}", repeat=last, missed=last - p.repeat)
    return p, p.deadline + every * (last + 1)


# --- steps and their texts ------------------------------------------------------------------------

async def remind(s, t: Ticket, p: Point, late: bool) -> None:
    n = s.notifier
    s.record(t, "remind", p, late, window=p.window, fraction=p.fraction)
    body = n.headline(t, "到场提醒", late) + (
        f"到场期限 {n.due(p.deadline)}（{left_or_over(p.deadline, s.now)}），到场后回复「到场 #{t.id}」")
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body + "\n")] + n.mentions(pf, [ladder.holder(s.org, t)]), t)


async def overdue(s, t: Ticket, p: Point, late: bool) -> None:
    n, now = s.notifier, s.now
    lead = ladder.community_lead(s.org, t)
    s.record(t, "overdue_on_scene", p, late, lead=lead.id if lead else None)
    minutes = policy.of(t)["on_scene_minutes"]
    body = n.headline(t, "超时未到场", late) + (
        f"派发 {n.hhmm(t.dispatched_at)}，{minutes} 分钟到场期限 {n.due(p.deadline)} 已过"
        f"{'（' + span(now - p.deadline) + '）' if now - p.deadline >= timedelta(minutes=1) else ''}，"
        "责任人尚未回复「到场」。\n")
    ask = "请立即到场；社区值班负责人请督促或另行安排人员。"
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body)] + n.ask(pf, [ladder.holder(s.org, t), lead], ask), t)
    if t.urgent:  # the reporter was promised 15 minutes and may still be standing next to the danger
        n.to_reporter(t, safety_line(t, n.settings.emergency)  # what to do now, then where it stands
                      + f"\n您反映的 #{t.id} 工作人员还没有到场，我们正在加急催办，并已通知社区负责人。")


async def urgent_repeat(s, t: Ticket, p: Point, late: bool) -> None:
    n, org = s.notifier, s.org
    lead = ladder.community_lead(org, t)
    every = policy.of(t)["urgent_call_above_every"]
    # nobody reached a danger to life: past the community (its lead is @-mentioned from the start), the
    # tier above hears of it too, every few repeats, so a night of nagging one group that sleeps is not
    # all that happens
    up = ladder.above_community(org, t) if every and p.repeat % every == 0 else None
    s.record(t, "urgent_repeat", p, late, repeat=p.repeat, missed=p.missed, above=up.id if up else None)
    folded = f"（停机期间另有 {p.missed} 次提醒未发出）" if p.missed else ""
    waited = f"已派发 {span(s.now - t.dispatched_at)} 仍无人回复「到场」{folded}\n"
    body = n.headline(t, f"紧急 第{p.repeat}次催办", late) + waited
    ask = f"请立即到场并回复「到场 #{t.id}」。"
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body)] + n.ask(pf, [ladder.holder(org, t), lead], ask), t)
    if up is not None and n.reaches_others(up.id, n.holder_groups(t)):
        alert = n.headline(t, "紧急·无人到场", late) + waited  # their first word of it: no "第3次"
        note = f"请{up.name}立即联系社区并协调到场。"
        n.to_unit(up.id, lambda pf: [Text(alert)] + n.ask(pf, [org.on_duty(up.id)], note), t)


WINDOW = WindowRule(NAME, points, {"remind": remind, "overdue_on_scene": overdue, "urgent_repeat": urgent_repeat},
                    fold=fold)
