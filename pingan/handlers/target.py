"""Which ticket a message means: one convention for every handler. Tried in this order:

1. the number it names ('#12', '到场12', '3号到了');
2. the post it quote-replies to: the bot's post about a ticket, or the message that filed one
   (where a platform sends the quoted text instead of its id, WeCom, the one #number in it);
3. the ticket of the numbered question the bot last asked the sender, while it is fresh;
4. the sender's only report in the statuses the handler names, or the only ticket they hold.

The answer is always a TicketRef: the ticket and how it was found, or why there is none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from pingan.handlers.commands import TICKET_NUMBER
from pingan.handlers.context import Context
from pingan.handlers.filters import is_quote
from pingan.models import Ticket, TicketEvent
from pingan.models import queries


class How(StrEnum):
    number = "number"
    quote = "quote"
    asked = "asked"
    own = "own"  # the sender's only report in the statuses asked for
    held = "held"  # the only ticket the sender holds
    none = "none"  # the message names no ticket


@dataclass(frozen=True)
class TicketRef:
    how: How
    ticket: Ticket | None = None  # None with `number`/`quote`: named, but no such ticket
    choices: tuple[Ticket, ...] = ()  # `own`: several reports could be meant, newest first
    question: TicketEvent | None = None  # `asked`: the question ("ask" event) being answered


NONE = TicketRef(How.none)


async def which_ticket(ctx: Context, number: int | None = None, *, quote: bool = True, asked: bool = False,
                       own: Sequence[str] | None = None, held: Sequence[str] | None = None) -> TicketRef:
    """The ticket the message means (see above); `quote`, `asked`, `own` and `held` say which of
    steps 2-4 this handler's message may use."""
    if number is not None:
        return TicketRef(How.number, await ctx.desk.get(number))
    if quote and is_quote(ctx):
        quoted = await _quoted(ctx)
        return TicketRef(How.quote, await ctx.desk.get(quoted) if quoted is not None else None)
    if ctx.sender is None:
        return NONE
    if asked:
        since = ctx.now - timedelta(minutes=ctx.settings.bot.question_minutes)
        ev = await queries.last_question(ctx.session, ctx.sender.id, since)
        # answered where it was asked: a "对" said to a neighbour in a group answers nothing
        if ev is None or ev.action != "ask" or (ev.data or {}).get("chat", ctx.msg.chat.key()) != ctx.msg.chat.key():
            return NONE
        # a question asked before any ticket ("这是要报告隐患吗？") has none
        return TicketRef(How.asked, await ctx.desk.get(ev.ticket_id) if ev.ticket_id is not None else None,
                         question=ev)
    if own is not None:
        mine = await queries.tickets_reported_by(ctx.session, ctx.sender.id, own, limit=5)
        if len(mine) > 1:
            return TicketRef(How.own, choices=tuple(mine))
        return TicketRef(How.own, mine[0]) if mine else NONE
    if held is not None:
        mine = await ctx.desk.held_by(ctx.sender.id, held)
        return TicketRef(How.held, mine[0]) if len(mine) == 1 else NONE
    return NONE


async def _quoted(ctx: Context) -> int | None:
    chat = ctx.msg.chat
    if ctx.msg.reply_to:
        return (await queries.ticket_of_post(ctx.session, chat.platform, ctx.msg.reply_to)
                or await queries.ticket_of_message(ctx.session, chat.platform, chat.account, ctx.msg.reply_to))
    numbers = set(TICKET_NUMBER.findall(ctx.msg.quoted_text or ""))
    return int(numbers.pop()) if len(numbers) == 1 else None  # a digest names many: ask for the number
