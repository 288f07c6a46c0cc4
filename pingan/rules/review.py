"""复核 of a 退回: a grid worker's 退回 ("not a hazard", "not our grid") does not close a ticket by
itself — the community lead confirms or refuses it (`[bot] review_returns`; 「退回 #7 同意/不同意」
in chat, the ticket page's buttons on the workbench: both through `decide`). A reporter who
disagrees with a 退回 (不满意, or any reply to it) reopens it, held by the community lead."""

from __future__ import annotations

from pingan.lifecycle import HELD, Action
from pingan.messages import Text
from pingan.models import Level, Person, Role, Ticket, TicketEvent
from pingan.notify import Notifier
from pingan.rules import act
from pingan.rules.base import Refused

APPROVE = ("同意", "确认", "批准", "属实")
REJECT = ("不同意", "驳回", "不批准", "不属实")
REQUEST, REFUSED = "return_request", "return_refused"  # the events of a request and of its refusal


def needs_review(settings, actor: Person | None) -> bool:
    return settings.bot.review_returns and actor is not None and actor.role == Role.grid_worker


def request(desk, n: Notifier, t: Ticket, actor: Person, reason: str, inbox_id: int | None) -> str:
    """Record the worker's 退回 and ask the community lead to confirm it; the ticket stays open."""
    desk.event(t, REQUEST, actor, inbox_id, from_status=t.status, note=reason)
    lead = n.org.lead(t.unit_id)
    ask = f"请复核：同意退回请回复「退回 #{t.id} 同意」；不同意请回复「退回 #{t.id} 不同意」，或「改派 #{t.id} …」。"
    n.to_unit(t.unit_id, lambda pf: [Text(f"↩️ #{t.id} {actor.name}申请退回：{reason}\n")]
              + n.ask(pf, [lead] if lead else [], ask), t)
    n.to_reporter(t, f"您反映的 #{t.id}，工作人员认为：{reason}。社区正在复核，如有不同意见请直接回复。")
    return f"已提交社区复核，#{t.id} 在复核前仍由您处理。"


def verdict(words: str) -> bool | None:
    """'同意…' → True, '不同意…' → False, anything else (a reason) → None."""
    if words.startswith(REJECT):
        return False
    return True if words.startswith(APPROVE) else None


def pending(t: Ticket, events: list[TicketEvent]) -> TicketEvent | None:
    """The worker's request still awaiting 复核: the latest, unless decided since."""
    if t.status not in HELD:
        return None
    for ev in reversed(events):
        if ev.action in (str(Action.return_), REFUSED):
            return None
        if ev.action == REQUEST:
            return ev
    return None


def may_review(desk, actor: Person | None, t: Ticket) -> bool:
    """Staff on the ticket's chain whose own 退回 would need no review (not the grid workers)."""
    return desk.on_chain(actor, t) and not needs_review(desk.settings, actor)


async def decide(desk, n: Notifier, t: Ticket, actor: Person, agree: bool, inbox_id: int | None) -> str:
    """The 复核 of the pending request by someone `may_review` allows. Agreed: the ticket is returned
    with the worker's reason. Refused: the holder carries on and is told, and so is the reporter.
    Returns the actor's confirmation; raises Refused when nothing awaits 复核."""
    asked = pending(t, await desk.events(t.id))
    if asked is None:
        raise Refused(f"#{t.id} 没有待复核的退回申请。")
    if agree:
        return await act(desk, n, t, Action.return_, actor, inbox_id, note=f"{asked.note}（社区复核同意）")
    desk.event(t, REFUSED, actor, inbox_id, from_status=t.status, note=asked.note)
    holder = n.org.people.get(t.holder_person_id)
    n.to_unit(t.unit_id, lambda pf: [Text(f"↩️ #{t.id} 退回申请（{asked.note}）经{actor.name}复核不同意。")]
              + n.ask(pf, [holder], f"请继续处理 #{t.id}。"), t)
    n.to_reporter(t, f"您反映的 #{t.id} 经社区复核，将继续处理。")
    return f"已复核：不同意退回，#{t.id} 由{n.holder_name(t)}继续处理。"


async def reopen_to_lead(desk, n: Notifier, t: Ticket, reporter: Person, said: str,
                         inbox_id: int | None) -> str:
    """The reporter disputes a 退回: open again, held by the community lead, who hears why."""
    await desk.move(t, Action.reopen, reporter, inbox_id, note=said)
    lead = n.org.lead(t.unit_id)
    community = n.org.up_to(t.unit_id, Level.community)
    if community is not None:
        t.holder_unit_id, t.holder_level = community.id, community.level
        t.holder_person_id = lead.id if lead else None
    n.to_unit(t.unit_id, lambda pf: [Text(f"🔁 #{t.id} 退回后上报人有异议：“{said}”\n已重新打开，请社区负责人复核处理。")]
              + ([Text(" "), n.mention(lead, pf)] if lead else []), t)
    return f"已收到，#{t.id} 已重新打开，由社区负责人{lead.name if lead else ''}复核处理。"
