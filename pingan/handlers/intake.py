"""Reports in, tickets out: a report becomes a ticket, the reporter gets its number, the responsible
people are @-mentioned in their coordination group. A report without a place gets one follow-up
question; the answer, photos or a location sent soon after attach to that ticket, and so does a
report-like text that is more about it (「火很大」); another report opens its own."""

from __future__ import annotations

import re
from datetime import timedelta

from pingan.handlers.commands import normalise
from pingan.handlers.context import Context
from pingan.handlers.filters import TICKET_NUMBER, parsed, private_chat, ticket_number
from pingan.handlers.router import Router
from pingan.handlers.status import reporters_addition
from pingan.models import Source, Ticket
from pingan.models.queries import latest_taking_additions
from pingan.notify import lacks_place
from pingan.parser import find_place
from pingan.rules import dispatch
from pingan.rules.conversation import another_report, not_a_report
from pingan.tickets import with_estate

router = Router("intake")

PATROL_WORDS = ("巡查", "排查", "走访")
THANKS = re.compile(r"谢|感谢|辛苦|👍|🙏")
_BARE = re.compile(r"[\s,.!?;:，。！？；：、~～]+|^在|^就在")  # what an answer may add around a place


async def followup_ticket(ctx: Context) -> bool | dict:
    """`adds_to` once per message (converse asks it first, then intake's filter)."""
    if "followup" not in ctx.cache:
        ctx.cache["followup"] = await adds_to(ctx)
    return ctx.cache["followup"]


async def adds_to(ctx: Context) -> bool | dict:
    """The sender's ticket this message adds to: photos or a location pin within a few minutes of
    the report, or the answer to "where is it?" while the ticket still lacks a place. An answer must
    name a place: "谢谢" or 👍 is not one, and a report of another hazard is a ticket of its own.
    "Where" includes "which estate's 3栋?". Within the minutes, text that would open a ticket is
    `detail` of this one unless it is plainly another report (see `another_report`)."""
    if ctx.sender is None:
        return False
    since = ctx.now - timedelta(hours=ctx.settings.bot.location_answer_hours)
    latest = await latest_taking_additions(ctx.session, ctx.sender.id, ctx.now, since)
    if latest is None or (latest.reply_chat or {}).get("key") != ctx.msg.chat.key():
        return False
    if ticket_number(ctx) not in (None, latest.id):  # "部门 #7 消防" is about #7; "#12 锦城花园5栋" answers #12
        return False
    fresh = latest.followup_until is not None and latest.followup_until > ctx.now
    place = None
    if ctx.msg.images or ctx.msg.location:
        if not fresh and not (ctx.msg.location and lacks_place(latest)):
            return False
        result = parsed(ctx)
        if ctx.msg.text.strip() and result.report and (result.item != latest.item or danger_now(result, latest)):
            return False  # a new report sent with its own photo: a ticket of its own, photo and all
    else:
        text = TICKET_NUMBER.sub("", normalise(ctx.msg.text)).strip()  # "＃１２ 锦城花园5栋" too
        result, placed = parsed(ctx), not lacks_place(latest)
        if not text or (placed and not (fresh and result.report)):
            return False
        ticket = await ctx.desk.get(latest.id)
        place = result.location or find_place(text) or (text[:60] if ctx.org.route(text) else None)
        if another_report(text, result, ticket, place, placed, mostly_place(place, text)):
            return False  # "另外3栋电梯也坏了": a ticket of its own, and the photo after it is that one's
        if placed:  # "就在二单元门口", "火很大": more about it, not a second ticket
            return {"ticket": ticket, "place": None, "detail": ctx.msg.text.strip()}
        # later, only a message that is mostly a place answers: "我住幸福里5栋,想问下几点下班" does not
        if not fresh and not mostly_place(place, text):
            return False
        return {"ticket": ticket, "place": place}
    return {"ticket": await ctx.desk.get(latest.id), "place": place}


def danger_now(result, latest) -> bool:
    """An urgent report after one that was not ("着火了" after a thin report still lacking its
    place): a ticket of its own, never the first one's place."""
    return result.urgent and not latest.urgent


def mostly_place(place: str | None, text: str) -> bool:
    """The message is mostly the place it names ("就在二单元门口"), not a report that mentions one."""
    return place is not None and len(place) >= 0.6 * len(_BARE.sub("", text))


@router.message(followup_ticket)
async def attach_to_recent_report(ctx: Context, ticket: Ticket, place: str | None, detail: str | None = None):
    if detail is not None:
        await reporters_addition(ctx, ticket, detail)
        return
    if not (ctx.msg.images or ctx.msg.location or place):  # "谢谢", 👍: not the answer we asked for
        ctx.reply(f"收到。#{ticket.id} 还缺具体位置，请回复小区和楼栋，例如「锦城花园3栋」，或发送位置。")
        return
    notes, had_place = [], not lacks_place(ticket)
    if ctx.msg.images:
        ticket.attachments = (ticket.attachments or []) + [{"image": ref} for ref in ctx.msg.images]
        notes.append(f"{len(ctx.msg.images)} 张照片")
    if ctx.msg.location:
        ticket.lat, ticket.lon = ctx.msg.location.lat, ctx.msg.location.lon
        if not had_place and ctx.msg.location.label:
            ticket.location = with_estate(ctx.msg.location.label, ticket.location)
        notes.append("位置")
    if not had_place and place:
        ticket.location = with_estate(place, ticket.location)
        notes.append(f"地点「{ticket.location}」")
    ticket.updated_at = ctx.now
    ctx.desk.event(ticket, "attach", ctx.sender, ctx.inbox_id, from_status=ticket.status, note="；".join(notes))
    if ticket.location is not None and not had_place:
        holder_before, unit_before = ticket.holder_person_id, ticket.unit_id
        if ticket.grid_id is None:  # now we know where: hand it to that grid's worker
            ctx.desk.route(ticket, ticket.unit_id)
        if ticket.unit_id != unit_before:  # another community's: it gets the whole post
            ticket.also_unit_id = unit_before
            dispatch.post(ctx.notify, ticket, await ctx.ensure_sender(), moved_from=unit_before)
        else:
            ctx.notify.located(ticket, rerouted=ticket.holder_person_id != holder_before)
    ctx.reply(f"已补充到 #{ticket.id}：{'、'.join(notes)}。谢谢！")


async def staff_names_a_ticket(ctx: Context) -> bool | dict:
    number = ticket_number(ctx)
    return {"number": number} if number is not None and ctx.is_staff else False


@router.message(staff_names_a_ticket)
async def unclear_about_a_ticket(ctx: Context, number: int):
    """A worker's "#7 那边已扑灭" is about #7 but has no keyword: say which words work, and never
    open a new ticket in the worker's name."""
    if await ctx.desk.get(number) is None:
        ctx.reply(f"没有找到 #{number}，请核对编号。回复「帮助」查看用法。")
        return
    k = ctx.settings.keywords
    words = [f"{k.on_scene[0]} #{number}", f"{k.progress[0]} #{number} 说明", f"{k.resolve[0]} #{number} 说明",
             f"{k.escalate[0]} #{number} 原因", f"{k.transfer[0]} #{number} 部门", f"{k.return_[0]} #{number} 原因",
             f"{k.note[0]} #{number} 情况"]
    ctx.reply(f"没看懂要对 #{number} 做什么，这条消息没有改动任何工单。可以回复：" + "、".join(words) + "。")


async def is_report(ctx: Context) -> bool:
    text = ctx.msg.text.strip()
    return bool(text) and parsed(ctx).report and not not_a_report(normalise(text), parsed(ctx))


@router.message(is_report)
async def report(ctx: Context):
    if ctx.unit_id is None and ctx.msg.chat.chat_type == "group":
        ctx.reply("本群还没有登记到社区，暂时不能受理上报。请管理员登记本群，或私信我上报。")
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
    dispatch.post(ctx.notify, ticket, reporter, same_as=await ctx.desk.same_hazard(ticket))
    if not ctx.notify.posted_to(ctx.msg.chat):
        ctx.reply(dispatch.receipt(ctx.notify, ticket, ctx.cache.get("still_open", ())))


def _root_unit(ctx: Context) -> str | None:
    roots = ctx.org.children.get(None, [])
    return roots[0] if roots else None


@router.message(private_chat)
async def not_understood(ctx: Context):
    """In a private chat every message gets an answer, even when it is not a report."""
    if ctx.msg.images or ctx.msg.location:
        ctx.reply("收到图片/位置。请再用一句话说明是什么问题，例如「这里消防通道被车堵了」。")
        return
    if THANKS.search(ctx.msg.text):
        ctx.reply("不客气！发现安全隐患随时告诉我。")
        return
    ctx.reply(f"您好，我是{ctx.settings.bot.name}。发现安全隐患请直接描述问题和位置，"
              "例如「锦城花园3栋楼道有人给电瓶车充电」。回复「帮助」查看用法。")
