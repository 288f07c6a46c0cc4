"""查询/进度: a ticket's card, or the asker's own list (residents: what they reported; staff: what they hold)."""

from __future__ import annotations

from pingan.handlers.commands import Command
from pingan.handlers.context import Context
from pingan.handlers.filters import command, is_quote
from pingan.handlers.router import SKIP, Router
from pingan.handlers.status import OPEN, resolve_target
from pingan.models import STATUS_NAMES
from pingan.models.queries import tickets_held_by, tickets_reported_by

router = Router("queries")


@router.message(command("query"))
async def progress(ctx: Context, cmd: Command):
    if cmd.ticket_id is not None or is_quote(ctx):
        ticket = await resolve_target(ctx, cmd, None)
        if ticket is not None and ticket is not SKIP:
            ctx.reply(ctx.notify.status_card(ticket, await ctx.desk.events(ticket.id), staff=ctx.is_staff))
        return None if ticket is not SKIP else SKIP
    if ctx.sender is None:
        ctx.reply("您还没有上报过问题。直接发问题和位置即可上报，回复「帮助」查看用法。")
        return
    if ctx.is_staff:
        tickets = await tickets_held_by(ctx.session, ctx.sender.id, OPEN, limit=10, newest_first=True)
    else:
        tickets = await tickets_reported_by(ctx.session, ctx.sender.id, OPEN, limit=10)
    if not tickets:
        ctx.reply("您目前没有进行中的工单。" if ctx.is_staff else "您目前没有进行中的上报。")
        return
    head = "您手上的工单：" if ctx.is_staff else "您的上报："
    lines = [f"#{t.id} {ctx.notify.label(t)} {t.location or ''} —— {STATUS_NAMES[t.status]}" for t in tickets]
    ctx.reply(head + "\n" + "\n".join(lines) + "\n回复「查询 #编号」看详情。")
