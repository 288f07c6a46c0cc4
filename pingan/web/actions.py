"""The dispatcher's actions from the ticket page: 改类、改地点、改派、合并、退回复核、派单, through the
chat's own rule functions and authorisation (rules/corrections.py, rules/review.py, rules/transfer.py,
TicketDesk.check), recorded as the signed-in person's and announced in the groups as if typed there:
the posts are written to the outbox in the action's own transaction. No HTTP here (views.py)."""

from __future__ import annotations

from dataclasses import dataclass

from pingan.lifecycle import ACTION_NAMES, ACTIVE, HELD, Action, IllegalMove
from pingan.models import STATUS_NAMES, Person, Ticket
from pingan.notify import Notifier
from pingan.rules import act, corrections, review, transfer
from pingan.rules.base import Refused
from pingan.tickets import NotAllowed, TicketDesk

NAMES = {"recategorise": "改类", "relocate": "改地点", "reassign": "改派", "merge": "合并", "review": "复核",
         "transfer": "派单"}
CORRECTIONS = ("recategorise", "relocate", "reassign", "merge")


class Denied(Exception):
    """The person may not take this action on this ticket (the chat would refuse them too)."""


@dataclass
class Outcome:
    status: int  # 303 done, else the HTTP status of the refusal
    text: str  # the announcement, or why not


async def perform(bot, person: Person, t: Ticket, kind: str, form, session) -> Outcome:
    """Take the action in `session` (the caller holds the write lock and has checked the viewer may
    see `t`); commits it with its outbox rows, or changes nothing."""
    now = bot.clock.now()
    desk = TicketDesk(session, bot.org, bot.settings, bot.taxonomy, now)
    n = Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock)
    value = str(form.get("value", "")).strip()
    try:
        done = await _take(desk, n, t, kind, value, person, form)
    except Denied as exc:
        return Outcome(403, str(exc))
    except Refused as exc:
        return Outcome(400, str(exc))
    except IllegalMove:
        return Outcome(409, f"#{t.id} 当前「{STATUS_NAMES[t.status]}」，不能「{NAMES[kind]}」。")
    await bot.enqueue(session, n.out, now)
    await session.commit()
    return Outcome(303, done)


async def _take(desk: TicketDesk, n: Notifier, t: Ticket, kind: str, value: str, person: Person, form) -> str:
    if kind in CORRECTIONS:
        refused = corrections.refusal(desk, person, t)
        if refused:
            raise Denied(refused)
        if not value:
            raise Refused(f"请填写{NAMES[kind]}的内容。")
        other = await desk.get(_number(value)) if kind == "merge" else None
        return await corrections.make(desk, n, t, kind, value, person, None, other)
    if kind == "review":
        if not review.may_review(desk, person, t):
            raise Denied(f"抱歉，#{t.id} 的退回由社区负责人或上级复核。")
        return await review.decide(desk, n, t, person, form.get("agree") == "1", None)
    try:
        desk.check(person, t, Action.transfer)
    except NotAllowed:
        raise Denied(f"抱歉，您不在 #{t.id} 的处置链上，不能「{ACTION_NAMES[Action.transfer]}」。") from None
    dept = transfer.find_department(desk.org, value or transfer.default_department(desk.taxonomy, t), t.unit_id)
    if dept is None:
        raise Refused(f"没有找到部门「{value or '?'}」，请从列表中选择。")
    return await act(desk, n, t, Action.transfer, person, None, department=dept)


def _number(value: str) -> int:
    digits = value.lstrip("#＃ ").strip()
    if not digits.isdigit():
        raise Refused("请填写要合并的工单编号，例如「12」。")
    return int(digits)


def offered(desk: TicketDesk, person: Person, t: Ticket, events) -> set[str]:
    """The actions the ticket page offers this person now (the server decides again on submission)."""
    if t.status not in ACTIVE:
        return set()
    out = set(CORRECTIONS) if corrections.refusal(desk, person, t) is None else set()
    if t.status in HELD and desk.on_chain(person, t):
        out.add("transfer")
    if review.pending(t, events) and review.may_review(desk, person, t):
        out.add("review")
    return out
