"""Reports in, tickets out: a report becomes a ticket, the reporter gets its number, the responsible
people are @-mentioned in their coordination group. A report without a place gets one follow-up
question; the answer, photos or a location sent soon after attach to that ticket."""

from __future__ import annotations

from sqlalchemy import select

from pingan.handlers.context import Context
from pingan.handlers.filters import parsed, private_chat
from pingan.handlers.router import Router
from pingan.lifecycle import HELD
from pingan.models import Source, Ticket
from pingan.tickets import TICKETS

router = Router("intake")

PATROL_WORDS = ("巡查", "排查", "走访")
HELD_LIST = sorted(HELD)


async def followup_ticket(ctx: Context) -> bool | dict:
    """The sender's ticket still open for additions in this chat (a few minutes after reporting)."""
    if ctx.sender is None:
        return False
    # a few columns of the table, not the ORM entity: most messages are not follow-ups, and the
    # entity's machinery costs more than the query
    t = TICKETS.c
    q = (select(t.id, t.reply_chat, t.location, t.item)
         .where(t.reporter_id == ctx.sender.id, t.followup_until > ctx.now, t.status.in_(HELD_LIST))
         .order_by(t.id.desc()).limit(1))
    latest = (await ctx.session.exec(q)).first()
    if latest is None or (latest.reply_chat or {}).get("key") != ctx.msg.chat.key():
        return False
    if not (ctx.msg.images or ctx.msg.location):
        if latest.location is not None or not ctx.msg.text.strip():
            return False
        result = parsed(ctx)
        if result.report and result.item and result.item != latest.item and not result.location:
            return False  # a different hazard, not the answer to our question
    return {"ticket": await ctx.desk.get(latest.id)}


@router.message(followup_ticket)
async def attach_to_recent_report(ctx: Context, ticket: Ticket):
    notes, had_location = [], ticket.location is not None
    if ctx.msg.images:
        ticket.attachments = (ticket.attachments or []) + [{"image": ref} for ref in ctx.msg.images]
        notes.append(f"{len(ctx.msg.images)} 张照片")
    if ctx.msg.location:
        ticket.lat, ticket.lon = ctx.msg.location.lat, ctx.msg.location.lon
        if ticket.location is None and ctx.msg.location.label:
            ticket.location = ctx.msg.location.label
        notes.append("位置")
    text = ctx.msg.text.strip()
    if ticket.location is None and text:
        ticket.location = parsed(ctx).location or text[:60]
        notes.append(f"地点「{ticket.location}」")
    ticket.updated_at = ctx.now
    ctx.desk.event(ticket, "attach", ctx.sender, ctx.inbox_id, from_status=ticket.status, note=";".join(notes))
    if ticket.location is not None and not had_location:
        holder_before = ticket.holder_person_id
        if ticket.grid_id is None:  # now we know where: hand it to that grid's worker
            ctx.desk.route(ticket, ticket.unit_id)
        ctx.notify.located(ticket, rerouted=ticket.holder_person_id != holder_before)
    ctx.reply(f"已补充到 #{ticket.id}:{'、'.join(notes)}。谢谢!")


async def is_report(ctx: Context) -> bool:
    return bool(ctx.msg.text.strip()) and parsed(ctx).report


@router.message(is_report)
async def report(ctx: Context):
    if ctx.unit_id is None and ctx.msg.chat.chat_type == "group":
        ctx.reply("本群还没有登记到社区,暂时不能受理上报。请管理员登记本群,或私信我上报。")
        return
    result = parsed(ctx)
    reporter = await ctx.ensure_sender()
    source = Source.resident
    if ctx.is_staff:
        source = Source.patrol if any(w in ctx.msg.text for w in PATROL_WORDS) else Source.worker
    reply_chat = {**vars(ctx.msg.chat), "key": ctx.msg.chat.key(), "user_id": ctx.msg.sender_id,
                  "name": ctx.msg.sender_name or reporter.name}
    fallback = ctx.unit_id or _root_unit(ctx)
    attachments = [{"image": ref} for ref in ctx.msg.images] or None
    loc = ctx.msg.location
    ticket = await ctx.desk.create(result, ctx.msg.text, reporter, source, reply_chat, fallback, ctx.inbox_id,
                                   attachments=attachments, lat=loc.lat if loc else None, lon=loc.lon if loc else None)
    ctx.notify.new_ticket(ticket, reporter)
    if not ctx.notify.posted_to(ctx.msg.chat):
        ctx.reply(ctx.notify.receipt(ticket))


def _root_unit(ctx: Context) -> str | None:
    roots = ctx.org.children.get(None, [])
    return roots[0] if roots else None


@router.message(private_chat)
async def not_understood(ctx: Context):
    """In a private chat every message gets an answer, even when it is not a report."""
    if ctx.msg.images or ctx.msg.location:
        ctx.reply("收到图片/位置。请再用一句话说明是什么问题,例如「这里消防通道被车堵了」。")
        return
    ctx.reply(f"您好,我是{ctx.settings.bot.name}。发现安全隐患请直接描述问题和位置,"
              "例如「锦城花园3栋楼道有人给电瓶车充电」。回复「帮助」查看用法。")
