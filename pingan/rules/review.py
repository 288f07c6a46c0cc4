"""复核 of a 退回: a grid worker's 退回 ("not a hazard", "not our grid") does not close a ticket by
itself — the community lead confirms it (`[bot] review_returns`). A reporter who disagrees with a
退回 (不满意, or any reply to it) reopens it, held by the community lead."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.messages import Text
from pingan.models import Level, Person, Role, Ticket
from pingan.notify import Notifier

APPROVE = ("同意", "确认", "批准", "属实")


def needs_review(settings, actor: Person | None) -> bool:
    return settings.bot.review_returns and actor is not None and actor.role == Role.grid_worker


def request(desk, n: Notifier, t: Ticket, actor: Person, reason: str, inbox_id: int | None) -> str:
    """Record the worker's 退回 and ask the community lead to confirm it; the ticket stays open."""
    desk.event(t, "return_request", actor, inbox_id, from_status=t.status, note=reason)
    lead = n.org.lead(t.unit_id)
    ask = f"请复核：同意退回请回复「退回 #{t.id} 同意」；不同意请「改派 #{t.id} …」或让网格员继续处理。"
    n.to_unit(t.unit_id, lambda pf: [Text(f"↩️ #{t.id} {actor.name}申请退回：{reason}\n")]
              + n.ask(pf, [lead] if lead else [], ask), t)
    n.to_reporter(t, f"您反映的 #{t.id}，工作人员认为：{reason}。社区正在复核，如有不同意见请直接回复。")
    return f"已提交社区复核，#{t.id} 在复核前仍由您处理。"


def approved_reason(events, words: str) -> str | None:
    """'退回 #7 同意' by the lead: the worker's reason, confirmed."""
    if not words or not words.startswith(APPROVE):
        return None
    asked = next((ev for ev in reversed(events) if ev.action == "return_request"), None)
    return f"{asked.note}（社区复核同意）" if asked is not None else None


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
