"""Someone withdrew (recalled) their own message from a group. If it filed a report a few minutes
ago that nobody has moved on yet, ask whether the report is withdrawn too: a recalled message may
be a mistake, or a hazard that is still there, so nothing changes without their word."""

from __future__ import annotations

from datetime import timedelta

from pingan.handlers.context import Context
from pingan.handlers.filters import event
from pingan.handlers.router import Router
from pingan.models import Status
from pingan.models.queries import ticket_of_message

router = Router("recall")
RECENT = timedelta(minutes=10)


@router.message(event("recall"))
async def recalled(ctx: Context) -> None:
    chat = ctx.msg.chat
    ticket_id = (await ticket_of_message(ctx.session, chat.platform, chat.account, ctx.msg.reply_to)
                 if ctx.msg.reply_to else None)
    ticket = await ctx.desk.get(ticket_id) if ticket_id is not None else None
    if ticket is None or ticket.status in (Status.closed, Status.returned, Status.withdrawn):
        return
    if ctx.now - ticket.created_at > RECENT:
        return
    ctx.reply(f"您撤回了一条消息，它报的隐患 #{ticket.id} 还在处理。"
              f"如果不需要处理了，请回复「撤销 #{ticket.id}」；如果隐患还在，不用回复，我们照常处理。")
