"""Duty in chat: 「值班」 who is on duty now and next; 「请假 12月3日-12月5日」 (times allowed) records
leave, so the tickets one holds remind the unit's duty person meanwhile; 「交班」 posts the hand-over;
「接班」 confirms it. Staff only."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from pingan.handlers.commands import normalise
from pingan.handlers.context import Context
from pingan.handlers.router import Router
from pingan.handlers.statistics import report_unit
from pingan.handlers.status import OPEN
from pingan.models import OrgRevision
from pingan.models.roster import Leave
from pingan.rules import handover

router = Router("duty")
WORDS = {"值班": "who", "谁值班": "who", "值班表": "who", "交班": "handover", "接班": "takeover"}
_WHEN = r"(?:(\d{4})[年/-])?(\d{1,2})[月/-](\d{1,2})日?\s*(?:(\d{1,2})[:：点](\d{2})?分?)?"
LEAVE = re.compile(rf"请假\s*{_WHEN}\s*(?:[-~～至到]\s*{_WHEN})?\s*(.*)")


def duty_word(*names: str):
    async def f(ctx: Context) -> bool | dict:
        words = [w for w in normalise(ctx.msg.text or "").split() if not w.startswith("@")]
        which = WORDS.get("".join(words))
        return {"which": which} if which in names else False

    return f


async def leave_words(ctx: Context) -> bool | dict:
    m = LEAVE.fullmatch(normalise(ctx.msg.text or "").strip()) if (ctx.msg.text or "").lstrip().startswith("请假") else None
    return {"m": m} if m else False


def unit_of(ctx: Context) -> str | None:
    return report_unit(ctx)


def names(people) -> str:
    return "、".join(p.name for p in people) or "（未排班）"


@router.message(duty_word("who"))
async def who(ctx: Context, which: str):
    unit_id = unit_of(ctx)
    if not ctx.is_staff or unit_id is None:
        ctx.reply("值班信息仅限工作人员在本单位的群里查询。")
        return
    org, now = ctx.org, ctx.now
    name = org.units[unit_id].name
    line = handover.shift_line(org, unit_id, now)
    if not line:  # no roster (or nobody on shift): the organisation file's on-duty flags
        duty, lead = org.on_duty(unit_id, now), org.lead(unit_id, now)
        line = f"值班 {duty.name if duty else '（未配置）'}，带班 {lead.name if lead else '（未配置）'}（组织文件登记）"
    text = f"📋 {name} 现在（{ctx.notify.hhmm(now)}）：{line}"
    nxt = org.roster.next(unit_id, now) if org.roster is not None and org.roster.has(unit_id) else []
    if nxt:
        text += f"\n下一班 {ctx.notify.hhmm(nxt[0].starts)} 起：{handover.shift_line(org, unit_id, nxt[0].starts)}"
    ctx.reply(text)


def _moment(groups: tuple, today: date, end: bool) -> datetime | None:
    y, mo, d, hh, mm = groups
    try:
        day = date(int(y) if y else today.year, int(mo), int(d))
        if not y and day < today - timedelta(days=180):  # 「1月3日」 typed in December: next January
            day = day.replace(year=today.year + 1)
    except ValueError:
        return None
    if hh is None:  # a whole day: from its start, or to its end
        return datetime.combine(day + timedelta(days=1) if end else day, time(0, 0))
    if int(hh) > 23 or int(mm or 0) > 59:
        return None
    return datetime.combine(day, time(int(hh), int(mm or 0)))


@router.message(leave_words)
async def leave(ctx: Context, m: re.Match):
    if not ctx.is_staff:
        ctx.reply("请假登记仅限工作人员。")
        return
    tz, today = ctx.clock.tz, ctx.now.astimezone(ctx.clock.tz).date()
    first = _moment(m.groups()[0:5], today, end=False)
    last = _moment(m.groups()[5:10] if m.group(7) else m.groups()[0:5], today, end=True)
    if first is None or last is None or last <= first:
        ctx.reply("请假时间没看懂，请写成「请假 12月3日-12月5日」或「请假 12月3日8:00-12月3日18:00」。")
        return
    starts, ends = first.replace(tzinfo=tz), last.replace(tzinfo=tz)
    person = ctx.sender
    ctx.session.add(Leave(person_id=person.id, starts_at=starts, ends_at=ends, created_at=ctx.now))
    ctx.session.add(OrgRevision(at=ctx.now))  # other processes reload who is on duty
    roster = ctx.org.roster
    if roster is not None:  # this process sees it at once
        roster.add_leave(person.id, starts, ends)
    held = [t.id for t in await ctx.desk.held_by(person.id, OPEN)]
    stand_in = ctx.org.answering(person.id, person.unit_id, max(starts, ctx.now)) if roster is not None else None
    fmt = "%m月%d日 %H:%M"
    text = f"✅ 已登记 {person.name} 请假：{starts.strftime(fmt)} 至 {ends.strftime(fmt)}。"
    if held:
        text += (f"\n您手上的 {len(held)} 件工单（" + "、".join(f"#{i}" for i in held[:10])
                 + f"）在此期间的提醒改发 {stand_in.name if stand_in else '本单位值班人员'}。")
    ctx.reply(text)


@router.message(duty_word("handover", "takeover"))
async def shift(ctx: Context, which: str):
    unit_id = unit_of(ctx)
    if not ctx.is_staff or unit_id is None:
        ctx.reply("交班、接班仅限工作人员在本单位的群里使用。")
        return
    if which == "takeover":
        line = handover.shift_line(ctx.org, unit_id, ctx.now)
        ctx.reply(f"✅ {ctx.sender.name} 已接班。" + (f"当前班次：{line}" if line else ""))
        return
    tickets = await handover.open_tickets(ctx.session, ctx.org, unit_id)
    handover.post(ctx.notify, unit_id, tickets, ctx.now, handover.incoming(ctx.org, unit_id, ctx.now), by=ctx.sender)
