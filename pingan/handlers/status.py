"""Status keywords: workers move tickets with a word; residents withdraw and rate their own.

Rules: the ticket is named by #number, by quoting the bot's post, or (for a resident) is their
latest ticket; only people on the ticket's chain may move it; illegal moves are refused with
what is allowed instead; nothing changes on a refusal."""

from __future__ import annotations

from pingan.handlers.commands import Command, normalise
from pingan.handlers.context import Context
from pingan.handlers.filters import command, is_quote
from pingan.handlers.router import SKIP, Router
from pingan.handlers.target import How, TicketRef, which_ticket
from pingan.lifecycle import ACTION_NAMES, ACTIVE, HELD, Action, IllegalMove, allowed
from pingan.messages import Text
from pingan.models import STATUS_NAMES, Role, Status, Ticket
from pingan.parser import parse
from pingan.rules import act, photos, review, safety, transfer
from pingan.rules.base import Refused
from pingan.taxonomy import SIZE_TRACK
from pingan.tickets import RESIDENT_ACTIONS as RESIDENT_ONLY
from pingan.tickets import NotAllowed

router = Router("status")

WORKER_ACTIONS = {
    "ack": Action.ack, "on_scene": Action.on_scene, "progress": Action.progress, "resolve": Action.resolve,
    "escalate": Action.escalate, "transfer": Action.transfer, "return_": Action.return_, "grade": Action.grade,
}
RESIDENT_ACTIONS = {"withdraw": Action.withdraw, "satisfied": Action.close, "unsatisfied": Action.reopen}
OPEN = sorted(ACTIVE)  # the reporter's: being handled, or resolved and awaiting their rating
# Naming no ticket, a bare "收到" is just a word; and a worker's "上报 …"/"转发 …" may be a hazard
# they found, so those two never ask for a number.
BARE_IS_CHAT = {"收到"}
MAY_BE_A_REPORT = {"上报", "转"}


async def target_of(ctx: Context, cmd: Command) -> TicketRef:
    """The ticket a command is about (handlers/target.py): its number, or the post it quotes; else
    a resident's rating or withdrawal means their one report that can take it, a worker's keyword
    in a private chat the one ticket they hold. A bare "1"/"2" in a group is 接龙 or a count, not a
    rating."""
    own = held = None
    if cmd.name == "satisfied" or cmd.name == "unsatisfied":
        if not (cmd.word.isdigit() and ctx.msg.chat.chat_type == "group"):
            own = [Status.resolved]
    elif cmd.name == "withdraw" and not ctx.is_staff:
        own = OPEN
    elif ctx.msg.chat.chat_type == "private" and ctx.is_staff and cmd.name in WORKER_ACTIONS:
        held = sorted(HELD)
    return await which_ticket(ctx, cmd.ticket_id, own=own, held=held)


def refuse_illegal(ctx: Context, ticket: Ticket, action: Action) -> None:
    # only the moves this person could make: a worker is not offered the resident's 不满意
    mine = [a for a in allowed(ticket.status) if (a in RESIDENT_ONLY) != ctx.is_staff
            or (ctx.sender is not None and ctx.sender.role == Role.admin)]
    options = "、".join(ACTION_NAMES[a] for a in mine) or "无（工单已结束）"
    ctx.reply(f"#{ticket.id} 当前「{STATUS_NAMES[ticket.status]}」，不能「{ACTION_NAMES[action]}」。现在可以：{options}。")


async def apply(ctx: Context, ticket: Ticket, action: Action, **kw) -> None:
    try:
        confirmation = await act(ctx.desk, ctx.notify, ticket, action, ctx.sender, ctx.inbox_id, **kw)
    except IllegalMove:
        refuse_illegal(ctx, ticket, action)
        return
    if not ctx.notify.posted_to(ctx.msg.chat):
        ctx.reply(confirmation)


def listed(ctx: Context, tickets) -> str:
    """One line per ticket, to pick a number from."""
    return "".join(f"\n#{t.id} {ctx.notify.label(t)} {t.location or ''}".rstrip() for t in tickets)


def wants_a_number(ctx: Context, cmd: Command, action: Action | None) -> bool:
    """A worker's keyword that names no ticket: "办结" alone, or "办结 电瓶车已推走" whose rest reads
    like a hazard, maybe one, or its all-clear (filed, it would be a new ticket in the worker's name; dropped,
    the work would go unrecorded). Other talk that happens to start with a keyword ("办结率要提高",
    "呼叫周网格回电话") is left alone."""
    if not ctx.is_staff or cmd.word in MAY_BE_A_REPORT or not (action in WORKER_ACTIONS.values() or cmd.name == "note"):
        return False
    if not cmd.arg:
        return cmd.word not in BARE_IS_CHAT
    rest = parse(cmd.arg)
    return rest.report or rest.why_not in ("all_clear", "unsure")


async def ask_for_number(ctx: Context, cmd: Command) -> None:
    """A worker's '办结' with no number: never a new report, and never silence."""
    held = await ctx.desk.held_by(ctx.sender.id, sorted(HELD))  # being worked on, not awaiting the resident
    note = " 处理说明" if cmd.name == "resolve" else ""
    ctx.reply(f"请写上编号，例如「{cmd.word} #{held[0].id if held else 12}{note}」。"
              + (f"您手上的工单：{listed(ctx, held[:5])}" if held else "") + "\n这条消息没有改动任何工单。")


def refusal(ctx: Context, ticket: Ticket, action: Action | None) -> str:
    if ctx.is_staff:
        name = ACTION_NAMES[action] if action else "查询"
        return f"抱歉，您不在 #{ticket.id} 的处置链上，不能「{name}」。如需协助请联系社区工作人员。"
    if ctx.sender is not None and ticket.reporter_id == ctx.sender.id:  # a worker's move on their own report
        return f"#{ticket.id} 由工作人员处置。如果问题已经没有了，可以回复「撤销 #{ticket.id}」。"
    return "抱歉，您只能查询、补充、撤销或评价自己上报的事项。"


async def resolve_target(ctx: Context, cmd: Command, action: Action | None):
    """Find the ticket and check the sender may act on it. Returns the ticket; None after replying
    with why not; or SKIP when the keyword names no ticket and is just a word (e.g. '收到')."""
    if cmd.more_ids:
        numbers = "、".join(f"#{n}" for n in [cmd.ticket_id, *cmd.more_ids])
        ctx.reply(f"一次只能处理一个编号，{numbers} 都没有更新。请分开发送，例如「{cmd.word} #{cmd.ticket_id}」。")
        return None
    ref = await target_of(ctx, cmd)
    ticket = ref.ticket
    if ref.choices:
        ctx.reply(f"您有 {len(ref.choices)} 件事项，请写上编号，例如「{cmd.word} #{ref.choices[0].id}」："
                  + listed(ctx, ref.choices))
        return None
    if ref.how == How.none:
        if wants_a_number(ctx, cmd, action):
            await ask_for_number(ctx, cmd)
            return None
        return SKIP
    if ticket is None and ref.how == How.quote:
        ctx.reply("引用的消息不是工单消息，请写上编号，例如「到场 #12」。")
        return None
    if ticket is None:
        ctx.reply(f"没有找到 #{cmd.ticket_id}，请核对编号。回复「帮助」查看用法。")
        return None
    try:
        ctx.desk.check(ctx.sender, ticket, action)
    except NotAllowed:
        ctx.reply(refusal(ctx, ticket, action))
        return None
    return ticket


@router.message(command("ack", "on_scene", "progress", "resolve", "withdraw", "satisfied", "unsatisfied"))
async def simple_move(ctx: Context, cmd: Command):
    action = WORKER_ACTIONS.get(cmd.name) or RESIDENT_ACTIONS[cmd.name]
    ticket = await resolve_target(ctx, cmd, action)
    if ticket is None or ticket is SKIP:
        return ticket
    if action == Action.withdraw and ticket.urgent and not ctx.is_staff and ticket.status in HELD:
        called_off(ctx, ticket, ctx.msg.text.strip())  # a worker on scene confirms it is over
        return
    if action == Action.withdraw and cmd.ticket_id is None and not is_quote(ctx) and ticket.size == "大":
        # a danger withdrawn by a stray word would stop the people on their way: ask for the number
        ctx.reply(f"#{ticket.id}（{ctx.notify.label(ticket)}）是大事，"
                  f"工作人员正在处理。确认撤销请回复「{cmd.word} #{ticket.id}」。")
        return
    if action == Action.reopen and ticket.status == Status.returned:  # disputing a 退回: to the lead
        ctx.reply(await review.reopen_to_lead(ctx.desk, ctx.notify, ticket, ctx.sender, cmd.arg or "不满意",
                                              ctx.inbox_id))
        return
    if action == Action.resolve and ticket.status == Status.resolved and cmd.arg:
        return await add_note(ctx, cmd)  # "#1 办好了 阀门已经关了" once more: what was done, not a move
    note = cmd.arg or ({"satisfied": "满意"}.get(cmd.name))
    await apply(ctx, ticket, action, note=note)
    if action == Action.resolve and ctx.msg.images and ticket.status == Status.resolved:  # 办结 with its photo
        ctx.reply(photos.add(ctx.desk, ticket, ctx.msg.images, ctx.sender, ctx.inbox_id))
    if action == Action.resolve and not note and ticket.status == Status.resolved:
        ctx.reply(f"💡 居民只收到「已办结」。补一句处理情况，居民会看到：「{ctx.settings.keywords.note[0]} #{ticket.id} 已拔掉电源」")


async def after_photo(ctx: Context) -> bool | dict:
    """A worker's bare photo minutes after their 办结 in this chat (rules/photos.py)."""
    if not (ctx.msg.images and ctx.is_staff) or ctx.msg.text.strip():
        return False
    ticket = await photos.just_resolved(ctx.desk, ctx.sender, ctx.msg.chat)
    return {"ticket": ticket} if ticket is not None else False


@router.message(after_photo)
async def keep_after_photo(ctx: Context, ticket: Ticket):
    ctx.reply(photos.add(ctx.desk, ticket, ctx.msg.images, ctx.sender, ctx.inbox_id))


@router.message(command("note"))
async def add_note(ctx: Context, cmd: Command):
    """说明/备注/补充 #12 …: a worker's remark, kept in the ticket's history and shown by 查询; on a
    resolved ticket without a 办结说明 it becomes that, and the reporter is told. The reporter's own
    补充 #12 goes to whoever holds the ticket."""
    if not ctx.is_staff and cmd.ticket_id is None and not is_quote(ctx):
        return SKIP  # a resident's "说明一下,…" names no ticket: it is a report
    ticket = await resolve_target(ctx, cmd, None)
    if ticket is None or ticket is SKIP:
        return ticket
    if not cmd.arg:
        example = "已联系物业清理" if ctx.is_staff else "车还停在那里"
        ctx.reply(f"请写上内容，例如「{cmd.word} #{ticket.id} {example}」。")
        return
    if not ctx.is_staff:
        await reporters_addition(ctx, ticket, cmd.arg)
        return
    ctx.desk.event(ticket, "note", ctx.sender, ctx.inbox_id, from_status=ticket.status, note=cmd.arg)
    if ticket.status == Status.resolved and not ticket.resolution_note:
        ticket.resolution_note = cmd.arg
        ctx.notify.to_reporter(ticket, f"您反映的 #{ticket.id} 处理情况：{cmd.arg}")
    ctx.reply(f"📝 已记入 #{ticket.id}。")


async def reporters_addition(ctx: Context, ticket: Ticket, text: str) -> None:
    if ticket.status == Status.resolved:  # "it is still there" is what 不满意 is for
        ctx.reply(f"#{ticket.id} 已办结。如果问题还在，请回复「不满意 #{ticket.id} {text}」，我们会重新处理。")
        return
    if ticket.status not in OPEN:
        ctx.reply(f"#{ticket.id} 已{STATUS_NAMES[ticket.status]}。问题还在的话，请直接描述问题和位置，我会重新登记。")
        return
    ctx.desk.event(ticket, "note", ctx.sender, ctx.inbox_id, from_status=ticket.status, note=text)
    ctx.notify.reporter_added(ticket, text)
    # "火很大" about an urgent ticket: what to do now comes before the paperwork
    first = f"{safety.safety_line(ticket, ctx.settings.emergency)}\n" if ticket.urgent else ""
    ctx.reply(f"{first}已把您的补充转给 #{ticket.id} 的处理人员，谢谢！")


def called_off(ctx: Context, t: Ticket, text: str) -> None:
    """The reporter says it is over ("不用来了", or 「撤销 #N」 on an urgent ticket): its holder hears
    it, an urgent one's lead too. An urgent ticket is never closed on the reporter's word alone: it
    stays open until a worker on scene has seen it is safe."""
    ctx.desk.event(t, "cancel_request", ctx.sender, ctx.inbox_id, from_status=t.status, note=text)
    people = [ctx.org.people.get(t.holder_person_id)] + ([ctx.org.lead(t.unit_id)] if t.urgent else [])
    check = f"紧急事项请到场确认安全后再「办结 #{t.id}」。" if t.urgent else "上报人可能撤销，请留意。"
    ctx.notify.to_unit(ctx.notify.holder_groups(t), lambda pf: [Text(f"🔕 #{t.id} 上报人说：“{text}”\n{check} ")]
                       + ctx.notify.mentions(pf, people), t)
    if t.urgent:  # safety first: if it is not over after all
        ctx.reply(f"{safety.safety_line(t, ctx.settings.emergency)}\n"
                  f"已转告 #{t.id} 的处理人员。这是紧急事项，工作人员到场确认安全后才会办结。")


@router.message(command("escalate"))
async def call_up(ctx: Context, cmd: Command):
    """呼叫: hand the ticket to the next tier up the ladder."""
    ticket = await resolve_target(ctx, cmd, Action.escalate)
    if ticket is None or ticket is SKIP:
        return ticket
    if ctx.desk.escalation_target(ticket, ctx.sender) is None:
        ctx.reply(f"#{ticket.id} 已在最高一级，无法再呼叫。请派单给职能部门：「派单 #{ticket.id} 部门」。")
        return
    await apply(ctx, ticket, Action.escalate, note=cmd.arg or None)


@router.message(command("transfer"))
async def send_to_department(ctx: Context, cmd: Command):
    """派单/转: to the named department, or the item's default department."""
    ticket = await resolve_target(ctx, cmd, Action.transfer)
    if ticket is None or ticket is SKIP:
        return ticket
    wanted = normalise(cmd.arg) or transfer.default_department(ctx.taxonomy, ticket)
    dept = transfer.find_department(ctx.org, wanted, ticket.unit_id)
    if dept is None:
        names = "、".join(sorted({u.kind for u in transfer.departments_near(ctx.org, ticket.unit_id)})) or "（未配置部门）"
        ctx.reply(f"没有找到部门「{wanted or '?'}」。可派单的部门：{names}。例如「派单 #{ticket.id} 消防救援」。")
        return
    await apply(ctx, ticket, Action.transfer, department=dept)


@router.message(command("return_"))
async def send_back(ctx: Context, cmd: Command):
    """退回: not a hazard, or not our area — a reason is required, the reporter is told."""
    ticket = await resolve_target(ctx, cmd, Action.return_)
    if ticket is None or ticket is SKIP:
        return ticket
    example = f"请写明退回原因，例如「退回 #{ticket.id} 不属于本辖区」。"
    agree = review.verdict(cmd.arg)
    if agree is not None and review.may_review(ctx.desk, ctx.sender, ticket):  # 复核 of a worker's 退回
        try:
            done = await review.decide(ctx.desk, ctx.notify, ticket, ctx.sender, agree, ctx.inbox_id)
        except Refused as exc:
            ctx.reply(f"{exc}{example}")
            return
        if not ctx.notify.posted_to(ctx.msg.chat):
            ctx.reply(done)
        return
    reason = cmd.arg
    if not reason or agree is not None:
        ctx.reply(example)
        return
    if review.needs_review(ctx.settings, ctx.sender):
        ctx.reply(review.request(ctx.desk, ctx.notify, ticket, ctx.sender, reason, ctx.inbox_id))
        return
    await apply(ctx, ticket, Action.return_, note=reason)


@router.message(command("grade"))
async def grade(ctx: Context, cmd: Command):
    """定级 小/中/大: sets the track (马上办/协商办/呼叫办) and the resolution deadline."""
    ticket = await resolve_target(ctx, cmd, Action.grade)
    if ticket is None or ticket is SKIP:
        return ticket
    size = cmd.arg[:1] if cmd.arg[:1] in SIZE_TRACK else None
    if size is None:
        ctx.reply(f"请写明大小，例如「定级 #{ticket.id} 大」（小事马上办、中事协商办、大事呼叫办）。")
        return
    await apply(ctx, ticket, Action.grade, size=size)
