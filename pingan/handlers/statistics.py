"""Officials' queries in their group: 今日统计 (today's digest), 超期 (what is overdue), 台账 (this
month's ledger as a file where the platform takes files, else its summary). Staff only; the unit is
the group's (in a private chat, the asker's own unit)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from pingan.handlers.commands import normalise
from pingan.handlers.context import Context
from pingan.handlers.router import Router
from pingan.messages import Text
from pingan.notify import Notifier
from pingan.reports.digest import Period, Tally, collect, roll_up
from pingan.reports.digest import render as render_digest
from pingan.reports.ledger import Ledger
from pingan.reports.units import report_unit_of

router = Router("statistics")
QUERIES = {"今日统计": "today", "统计": "today", "超期": "overdue", "超期工单": "overdue", "台账": "ledger"}


def report(*names: str):
    """Matches the whole message (an @bot in front is fine); injects `which`."""

    async def f(ctx: Context) -> bool | dict:
        words = [w for w in normalise(ctx.msg.text).split() if not w.startswith("@")]
        which = QUERIES.get("".join(words))
        return {"which": which} if which in names else False

    return f


def report_unit(ctx: Context) -> str | None:
    """The group's unit, lifted to the nearest community/street/district/city."""
    uid = ctx.unit_id if ctx.group is not None else (ctx.sender.unit_id if ctx.sender else None)
    return report_unit_of(ctx.org, uid)


async def digest_for(ctx: Context, unit_id: str, cap: int | None = None):
    scope = ctx.org.descendants(unit_id)
    async with ctx.reports() as session:
        per = await collect(session, ctx.settings, ctx.clock.tz, Period.day(ctx.now.astimezone(ctx.clock.tz).date()),
                            ctx.now, scope if len(scope) <= 1000 else None, cap)
    rolled = await asyncio.to_thread(roll_up, ctx.org, per, cap or ctx.settings.scheduler.overdue_list_cap)  # see build_digests
    return render_digest(ctx.org, ctx.taxonomy, ctx.settings, unit_id, rolled.get(unit_id) or Tally(),
                         Period.day(ctx.now.astimezone(ctx.clock.tz).date()), rolled)


@router.message(report("today", "overdue", "ledger"))
async def officials_query(ctx: Context, which: str):
    if not ctx.is_staff:
        ctx.reply("抱歉，统计、超期和台账仅限工作人员查询。上报问题请直接描述问题和位置。")
        return
    unit_id = report_unit(ctx)
    if unit_id is None:
        ctx.reply("这个群还没有绑定单位，无法统计。请联系管理员在组织文件里配置本群。")
        return
    # counted after this message's transaction: a city's figures take seconds, and must not hold up
    # the reports arriving meanwhile
    ctx.after_commit(lambda notify: answer(ctx, notify, which, unit_id))


async def answer(ctx: Context, notify: Notifier, which: str, unit_id: str) -> None:
    platform = ctx.msg.chat.platform
    if which == "today":
        d = await digest_for(ctx, unit_id)
        notify.to_chat(ctx.msg.chat, d.build(notify)(platform))
    elif which == "overdue":
        d = await digest_for(ctx, unit_id, cap=20)
        d.text = f"⚠️【{ctx.org.units[unit_id].name} 超期工单】截至 {notify.hhmm(ctx.now)}"
        notify.to_chat(ctx.msg.chat, d.build(notify)(platform))
    else:
        await ledger(ctx, notify, unit_id)


async def ledger(ctx: Context, notify: Notifier, unit_id: str) -> None:
    today = ctx.now.astimezone(ctx.clock.tz).date()
    start = date(today.year, today.month, 1)
    name = ctx.org.units[unit_id].name
    ledger_ = Ledger(ctx.org, ctx.taxonomy, ctx.clock.tz, ctx.now, ctx.settings.policy.on_scene_minutes,
                     ctx.settings.workbench_url())
    head = f"📒【{name} 台账】{start.isoformat()} 至 {today.isoformat()}"
    if platform_takes_files(ctx):
        path = Path(ctx.settings.scheduler.files_dir) / "ledger" / f"{unit_id}-{today.isoformat()}-{ctx.inbox_id or 0}.xlsx"
        async with ctx.reports() as session:
            s = await ledger_.export(session, unit_id, start, today, path)
        notify.to_chat(ctx.msg.chat, [Text(f"{head}\n共 {s.rows} 件，曾超期 {s.overdue} 件，呼叫上级 {s.escalated} 件。详见附件。")],
                       file=str(path))
        return
    async with ctx.reports() as session:
        s = await ledger_.summarise(session, unit_id, start, today)
    lines = [head, f"共 {s.rows} 件，曾超期 {s.overdue} 件，{s.on_scene_minutes}分钟内到场 {s.on_time} 件，呼叫上级 {s.escalated} 件"]
    lines += [f"  {k}:{v}" for k, v in s.by_status.most_common()]
    lines.append("本平台不能发文件，完整台账请用「pingan export」导出。")
    notify.to_chat(ctx.msg.chat, [Text("\n".join(lines))])


def platform_takes_files(ctx: Context) -> bool:
    return ctx.msg.chat.platform in ctx.settings.scheduler.file_platforms
