"""Filters shared by handlers. Each answers 'is this message for me?' and may inject values."""

from __future__ import annotations


from sqlmodel import select

from pingan.handlers.commands import TICKET_NUMBER, normalise, parse_command
from pingan.handlers.context import Context
from pingan.models import InboxMessage, OutboxMessage, TicketEvent
from pingan.parser import ParseResult, parse


def command(*names: str):
    """Matches a status keyword by its config name (ack, on_scene, …); injects `cmd`."""

    async def f(ctx: Context) -> bool | dict:
        if "cmd" not in ctx.cache:
            ctx.cache["cmd"] = parse_command(ctx.msg.text, ctx.settings.keywords) if ctx.msg.text else None
        cmd = ctx.cache["cmd"]
        return {"cmd": cmd} if cmd is not None and cmd.name in names else False

    return f


def is_quote(ctx: Context) -> bool:
    return bool(ctx.msg.reply_to or ctx.msg.quoted_text)


async def quoted_ticket(ctx: Context) -> int | None:
    """The ticket a quote-reply points at: the bot's post it quotes was about that ticket. Where a
    platform sends the quoted text instead of its id (WeCom), the one ticket number in that text."""
    if ctx.msg.reply_to:
        q = select(OutboxMessage.ticket_id).where(
            OutboxMessage.platform == ctx.msg.chat.platform, OutboxMessage.remote_id == ctx.msg.reply_to)
        return (await ctx.session.exec(q)).first() or await ticket_of_message(ctx, ctx.msg.reply_to)
    numbers = set(TICKET_NUMBER.findall(ctx.msg.quoted_text or ""))
    return int(numbers.pop()) if len(numbers) == 1 else None  # a digest names many: ask for the number


async def ticket_of_message(ctx: Context, msg_id: str) -> int | None:
    """The ticket a message of this chat's platform and account filed (or was attached to)."""
    chat = ctx.msg.chat
    q = (select(TicketEvent.ticket_id).join(InboxMessage, InboxMessage.id == TicketEvent.inbox_id)
         .where(InboxMessage.platform == chat.platform, InboxMessage.account == chat.account,
                InboxMessage.msg_id == msg_id).order_by(TicketEvent.id).limit(1))
    return (await ctx.session.exec(q)).first()


def ticket_number(ctx: Context) -> int | None:
    """The first #number the message's text names ('＃７' too)."""
    m = TICKET_NUMBER.search(normalise(ctx.msg.text)) if ctx.msg.text else None
    return int(m.group(1)) if m else None


def parsed(ctx: Context) -> ParseResult:
    if "parsed" not in ctx.cache:
        ctx.cache["parsed"] = parse(ctx.msg.text or "")
    return ctx.cache["parsed"]


async def private_chat(ctx: Context) -> bool:
    return ctx.msg.chat.chat_type == "private"


def event(name: str):
    async def f(ctx: Context) -> bool:
        return ctx.msg.event == name

    return f
