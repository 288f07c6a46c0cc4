"""The scheduler's posts: reminders, the on-scene overdue call to the community lead, urgent
repeats and 督办 notices. Built on the Notifier (same groups, same @-mentions, same labels)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pingan.messages import Part, Text
from pingan.models import Person, Ticket
from pingan.notify import Notifier, excerpt, span
from pingan.scheduler.plan import Point

LATE = "(补发)"
LEVEL_ICON = {"普通": "📌", "黄牌": "🟨", "红牌": "🟥"}


def when(n: Notifier, dt: datetime | None) -> str:
    """Deadlines at local midnight read as '24:00' of the day before (小事 same day)."""
    if dt is None:
        return "—"
    local = n.clock.local(dt)
    if local.hour == 0 and local.minute == 0:
        prev = local - timedelta(minutes=1)
        today = n.clock.now().date()
        return "24:00" if prev.date() == today else prev.strftime("%m-%d 24:00")
    return n.hhmm(dt)


def left_or_over(deadline: datetime, now: datetime) -> str:
    if abs(now - deadline) < timedelta(minutes=1):
        return "已到期"  # not "已超时 0分钟"
    return f"还剩 {span(deadline - now)}" if deadline > now else f"已超时 {span(now - deadline)}"


def _mentions(n: Notifier, platform: str, people: list[Person | None]) -> list[Part]:
    parts: list[Part] = []
    seen = set()
    for p in people:
        if p is not None and p.id not in seen:
            seen.add(p.id)
            parts += [n.mention(p, platform), Text(" ")]
    return parts


def head(n: Notifier, t: Ticket, title: str, late: bool) -> str:
    icon = "🚨" if t.urgent else "⏰"
    return (f"{icon}【{title} #{t.id}】{LATE if late else ''}{n.label(t)}({t.size}事)"
            f"📍{t.location or '—'}\n“{excerpt(t.raw_text, 30)}”\n")


def has_above(n: Notifier, t: Ticket) -> bool:
    """Is there a tier to call up to (not at the top of the ladder)?"""
    return t.holder_unit_id in n.org.units and n.org.next_up(t.holder_unit_id) is not None


def reminder(n: Notifier, t: Ticket, p: Point, holder: Person | None, now: datetime, late: bool) -> None:
    if p.window == "on_scene":
        body = head(n, t, "到场提醒", late) + (
            f"到场期限 {when(n, p.deadline)}({left_or_over(p.deadline, now)}),到场后回复「到场 #{t.id}」")
    else:
        body = head(n, t, "办结提醒", late) + ("⚠️ 至今无人回复「到场」\n" if t.on_scene_at is None else "") + (
            f"办结期限 {when(n, p.deadline)}({left_or_over(p.deadline, now)}),"
            f"办结后回复「办结 #{t.id} 处理结果」" + (f";需上级协调回复「呼叫 #{t.id}」" if has_above(n, t) else ""))
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body + "\n")] + _mentions(n, pf, [holder]), t)


def on_scene_overdue(n: Notifier, t: Ticket, p: Point, holder: Person | None, lead: Person | None,
                     now: datetime, late: bool) -> None:
    minutes = (t.policy or {}).get("on_scene_minutes", 15)
    body = head(n, t, "超时未到场", late) + (
        f"派发 {n.hhmm(t.dispatched_at)},{minutes} 分钟到场期限 {when(n, p.deadline)} 已过"
        f"{'(' + span(now - p.deadline) + ')' if now - p.deadline >= timedelta(minutes=1) else ''},"
        "责任人尚未回复「到场」。\n")
    ask = "请立即到场;社区值班负责人请督促或另行安排人员。"
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body)] + _mentions(n, pf, [holder, lead]) + [Text(ask)], t)
    if t.urgent:  # the reporter was promised 15 minutes and may still be standing next to the danger
        n.to_reporter(t, f"您反映的 #{t.id} 工作人员还没有到场,我们正在加急催办,并已通知社区负责人。\n"
                         + n.emergency_line())


def urgent_repeat(n: Notifier, t: Ticket, p: Point, holder: Person | None, lead: Person | None,
                  now: datetime, late: bool, above_unit: str | None = None, above: Person | None = None) -> None:
    folded = f"(停机期间另有 {p.missed} 次提醒未发出)" if p.missed else ""
    waited = f"已派发 {span(now - t.dispatched_at)} 仍无人回复「到场」{folded}\n"
    body = head(n, t, f"紧急 第{p.repeat}次催办", late) + waited
    ask = f"请立即到场并回复「到场 #{t.id}」。"
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body)] + _mentions(n, pf, [holder, lead]) + [Text(ask)], t)
    mine = {g.id for g in n.org.coordination_groups(n.holder_groups(t))}
    if above_unit is not None and {g.id for g in n.org.coordination_groups(above_unit)} - mine:
        note = f"请{n.org.units[above_unit].name}立即联系社区并协调到场。"
        alert = head(n, t, "紧急·无人到场", late) + waited  # their first word of it: no "第3次"
        n.to_unit(above_unit, lambda pf: [Text(alert)] + _mentions(n, pf, [above]) + [Text(note)], t)


def supervision(n: Notifier, t: Ticket, p: Point, level: str, holder: Person | None, above_unit: str | None,
                above: Person | None, now: datetime, late: bool) -> None:
    unit = n.org.units.get(t.holder_unit_id)
    where = unit.name if unit else "—"
    title = f"督办·{level}"
    body = (f"{LEVEL_ICON[level]}【{title} #{t.id}】{LATE if late else ''}{n.label(t)}({t.size}事)"
            f"📍{t.location or '—'}\n“{excerpt(t.raw_text, 30)}”\n"
            f"办结期限 {when(n, p.deadline)},{left_or_over(p.deadline, now)};责任:{where}\n")
    ask = f"请立即处置并回复进展(办结回复「办结 #{t.id} 处理结果」)。"
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body)] + _mentions(n, pf, [holder]) + [Text(ask)], t)
    if level != "普通" and above_unit is not None:
        mine = {g.id for g in n.org.coordination_groups(n.holder_groups(t))}
        theirs = {g.id for g in n.org.coordination_groups(above_unit)}
        if theirs and theirs != mine:
            note = f"请{n.org.units[above_unit].name}跟进督办。"
            n.to_unit(above_unit, lambda pf: [Text(body)] + _mentions(n, pf, [above]) + [Text(note)], t)
