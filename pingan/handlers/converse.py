"""A resident's message read against their own tickets (pingan/rules/conversation.py) before intake:
urging, cancelling, rating in any words, a question or a complaint about one of them never opens a
new ticket. A message the parser is unsure of (`ask`) is not filed on a guess: the bot asks one
question first ("是说 #3 吗？", or with no open ticket "这是要报告隐患吗？"). A numbered question is
answered by its number or 是/不是 (`pending`, tried before the status keywords, where "1"/"2" would
be a rating)."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from pingan.handlers.commands import normalise
from pingan.handlers.context import Context
from pingan.handlers.filters import parsed, ticket_number
from pingan.handlers.intake import followup_ticket, report
from pingan.handlers.router import SKIP, Router
from pingan.handlers.status import apply, called_off, reporters_addition
from pingan.handlers.target import How, TicketRef, which_ticket
from pingan.lifecycle import HELD, Action
from pingan.messages import Text
from pingan.models import Status, Ticket
from pingan.models.queries import tickets_reported_by
from pingan.parser import ParseResult, parse
from pingan.rules import review, urge
from pingan.rules.conversation import DETAILS_WINDOW, REOPENABLE, Intent, Reading, classify, not_a_report
from pingan.rules.safety import first_lines, hazard_kind
from pingan.notify import lacks_place

pending = Router("pending")
router = Router("converse")
RECENT = sorted(HELD | REOPENABLE | {Status.returned})
# every question puts its yes first: "是" is answer 1, "不是" answer 2
CHOICES = {"1": 0, "2": 1, "3": 2, "是": 0, "是的": 0, "对": 0, "对的": 0, "不是": 1, "不对": 1, "不": 1}
_TRAILING = re.compile(r"[\s.。!！~～]+$")


async def resident_with_tickets(ctx: Context) -> bool | dict:
    """A resident with tickets of the last week still open or awaiting a rating (newest first)."""
    if ctx.sender is None or ctx.is_staff or not (ctx.msg.text or "").strip():
        return False
    tickets = await tickets_reported_by(ctx.session, ctx.sender.id, RECENT, limit=5, since=ctx.now - timedelta(days=7))
    if not tickets:
        return False
    reading = classify(normalise(ctx.msg.text), parsed(ctx), tickets, ticket_number(ctx), ctx.now)
    return {"reading": reading, "tickets": tickets}


@router.message(resident_with_tickets)
async def about_own_ticket(ctx: Context, reading: Reading, tickets: list[Ticket]):
    t, text = reading.ticket, ctx.msg.text.strip()
    if reading.intent == Intent.report:
        ctx.cache["still_open"] = [x.id for x in tickets if x.status in HELD]
        return SKIP
    if t is not None and lacks_place(t) and reading.intent in (Intent.details, Intent.thanks, Intent.question,
                                                               Intent.other):
        return SKIP  # perhaps the answer to "where?": intake decides
    if reading.intent == Intent.other:
        if private_chat_about(ctx, t) and len(text) >= 4:
            reading = Reading(Intent.details, t)  # "我已经下楼了": news for whoever holds it
        elif t is not None and t.status in HELD and unsure(parsed(ctx), text):
            reading = Reading(Intent.ask, t)  # about #t, or a new problem?
        else:
            return SKIP  # chatter
    act = ACTS[reading.intent]
    await act(ctx, t, text, reading)


def private_chat_about(ctx: Context, t: Ticket | None) -> bool:
    """A private chat soon after the sender's ticket: what they say is about it."""
    return (t is not None and ctx.msg.chat.chat_type == "private" and t.status in HELD
            and ctx.now - t.created_at < DETAILS_WINDOW)


async def _urge(ctx, t, text, reading):
    ctx.reply(urge.urge(ctx.desk, ctx.notify, t, ctx.sender, ctx.inbox_id, text))


async def _cancel(ctx, t, text, reading):
    """Tell the holder; an urgent ticket waits for a worker on scene, another one asks the reporter."""
    called_off(ctx, t, text)
    if not t.urgent:
        ask(ctx, t, f"已转告处理人员。需要撤销 #{t.id} 吗？回复 1 撤销，2 继续处理。", text,
            [(Action.withdraw, t.id), ("keep", t.id)])


async def _rate(ctx, t, text, reading):
    action = Action.close if reading.intent == Intent.satisfied else Action.reopen
    await apply(ctx, t, action, note=text)


async def _complaint(ctx, t, text, reading):
    ctx.desk.event(t, "complaint", ctx.sender, ctx.inbox_id, from_status=t.status, note=text)
    lead = ctx.org.lead(t.unit_id)
    ctx.notify.to_unit(t.unit_id, lambda pf: [Text(f"⚠️ 居民对 #{t.id} 的处理有意见：“{text}”\n请负责人联系上报人。")]
                       + ([Text(" "), ctx.notify.mention(lead, pf)] if lead else []), t)
    ctx.reply(f"您的意见已转告社区负责人{lead.name if lead else ''}，会尽快联系您。\n{urge.state_line(ctx.notify, t)}")


async def _question(ctx, t, text, reading):
    ctx.desk.event(t, "question", ctx.sender, ctx.inbox_id, from_status=t.status, note=text)
    holder = ctx.org.people.get(t.holder_person_id)
    ctx.notify.to_unit(ctx.notify.holder_groups(t), lambda pf: [Text(f"❓ #{t.id} 上报人问：“{text}”")]
                       + ([Text(" "), ctx.notify.mention(holder, pf)] if holder else []), t)
    ctx.reply(f"您的问题已转给 #{t.id} 的处理人员。\n{urge.state_line(ctx.notify, t)}")


async def _objection(ctx, t, text, reading):
    ctx.reply(await review.reopen_to_lead(ctx.desk, ctx.notify, t, ctx.sender, text, ctx.inbox_id))


async def _thanks(ctx, t, text, reading):
    ctx.reply(f"不客气！#{t.id} 还在处理中，有新情况随时告诉我。")


async def _details(ctx, t, text, reading):
    await reporters_addition(ctx, t, text)


async def _ask_which(ctx, t, text, reading):
    ask(ctx, t, f"是说 #{t.id}（{ctx.notify.label(t)} {t.location or ''}）吗？回复 1 是，2 是新的问题。", text,
        [(Intent.details, t.id), (Intent.report, None)])


ACTS = {Intent.urge: _urge, Intent.cancel: _cancel, Intent.satisfied: _rate, Intent.unsatisfied: _rate,
        Intent.complaint: _complaint, Intent.question: _question, Intent.thanks: _thanks,
        Intent.details: _details, Intent.ask: _ask_which, Intent.objection: _objection}


def unsure(result: ParseResult, text: str) -> bool:
    """The parser's `ask`: the message reads like a report but names no hazard ("这里好危险哦").
    Urgent words are always a report, so a danger is never held back by a question."""
    return result.ask and not result.report and not not_a_report(normalise(text), result)


async def unsure_report(ctx: Context) -> bool:
    text = (ctx.msg.text or "").strip()
    if not text or ctx.is_staff or not unsure(parsed(ctx), text):
        return False
    if ctx.msg.chat.chat_type == "group" and ctx.unit_id is None:
        return False  # a group nobody registered: no report is taken here anyway
    return not await followup_ticket(ctx)  # an answer to "where is it?" (intake attaches it)


@router.message(unsure_report)
async def ask_if_a_report(ctx: Context):
    """No ticket on a guess, and nobody @-mentioned: one question; 1 files it (see answer_numbered)."""
    await ctx.ensure_sender()
    text, question = ctx.msg.text.strip(), "这是要报告隐患吗？回复 1 是，2 不是。"
    if parsed(ctx).maybe_danger:  # safety first, even on a guess
        question = f"{first_lines(hazard_kind(None, None, text), ctx.settings.emergency)}\n{question}"
    ask(ctx, None, question, text, [(Intent.report, None), ("no", None)])


def ask(ctx: Context, t: Ticket | None, question: str, text: str, options: list) -> None:
    """One short question with numbered answers; the answer (see `numbered_answer`) is awaited for
    `[bot] question_minutes`."""
    ctx.desk.event(t, "ask", ctx.sender, ctx.inbox_id, from_status=t.status if t else None, note=text,
                   options=[[str(a), n] for a, n in options], chat=ctx.msg.chat.key())
    ctx.reply(question)


async def numbered_answer(ctx: Context) -> bool | dict:
    """A bare "1"/"2" from someone the bot asked a numbered question of, while it is fresh."""
    choice = CHOICES.get(_TRAILING.sub("", normalise(ctx.msg.text or "")))
    if choice is None or ctx.sender is None:
        return False
    ref = await which_ticket(ctx, quote=False, asked=True)
    options = (ref.question.data or {}).get("options", []) if ref.how == How.asked else []
    return {"ref": ref, "option": options[choice]} if choice < len(options) else False


@pending.message(numbered_answer)
async def answer_numbered(ctx: Context, ref: TicketRef, option: list):
    what, number = option
    t, asked = ref.ticket, ref.question
    ctx.desk.event(t, "answer", ctx.sender, ctx.inbox_id, from_status=t.status if t else None, note=what)
    if what == Intent.report:  # the words asked about, filed as a report now
        ctx.msg = dataclasses.replace(ctx.msg, text=asked.note)
        ctx.cache["parsed"] = parse(asked.note)
        if not ctx.cache["parsed"].report:  # the resident says it is one: filed under 其他, staff may 改类
            ctx.cache["parsed"] = parse(asked.note, {"report": True, "category": "other"})
        ctx.cache["still_open"] = [t.id] if t is not None and t.status in HELD else []
        await report(ctx)
    elif what == Intent.details:
        await reporters_addition(ctx, t, asked.note)
    elif what == Action.withdraw:
        await apply(ctx, t, Action.withdraw, note=asked.note)
    elif t is not None:
        ctx.reply(f"好的，#{t.id} 继续处理。")
    else:
        ctx.reply("好的，没有登记。发现安全隐患请直接描述问题和位置，例如「锦城花园3栋楼道有人给电瓶车充电」。")
