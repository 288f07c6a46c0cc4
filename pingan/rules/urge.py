"""催办: a reporter asks where the help is. They get the ticket's state, holder and times, never a
new ticket; the holder hears it; on an urgent ticket nobody has reached yet the group is alerted
again at once (@ the holder and the community lead), and from `[emergency] urge_street_after`
urges on, the street too. Each urge is counted on the ticket (催办次数: ledger and digests)."""

from __future__ import annotations

from pingan.messages import Text
from pingan.models import STATUS_NAMES, Level, Person, Ticket
from pingan.notify import Notifier, excerpt, span
from pingan.rules.safety import HAZARD_NAMES, ticket_hazard


def unreached(t: Ticket) -> bool:
    return t.urgent and t.on_scene_at is None


def state_line(n: Notifier, t: Ticket) -> str:
    """Where the ticket stands, with its times: what the reporter is owed when they ask."""
    parts = [f"#{t.id}（{n.label(t)}）现在「{STATUS_NAMES.get(t.status, t.status)}」，责任人：{n.holder_name(t)}",
             f"{n.hhmm(t.created_at)} 上报"]
    if t.acknowledged_at:
        parts.append(f"{n.hhmm(t.acknowledged_at)} 已签收")
    if t.on_scene_at:
        parts.append(f"{n.hhmm(t.on_scene_at)} 已到场")
    elif t.on_scene_due:
        parts.append(f"要求 {n.hhmm(t.on_scene_due)} 前到场，还没有人到场")
    if t.on_scene_at and t.resolve_due and t.resolved_at is None:
        parts.append(f"办结期限 {n.due(t.resolve_due)}")
    return "，".join(parts) + "。"


def urge(desk, n: Notifier, t: Ticket, reporter: Person, inbox_id: int | None, said: str) -> str:
    """Record the urge, alert whoever must act, and return the reporter's answer."""
    t.urges = (t.urges or 0) + 1
    t.updated_at = desk.now
    desk.event(t, "urge", reporter, inbox_id, from_status=t.status, note=said, urges=t.urges)
    holder = n.org.people.get(t.holder_person_id)
    if not unreached(t):
        n.to_unit(n.holder_groups(t), lambda pf: [Text(f"📢 #{t.id} 上报人催办（第 {t.urges} 次）：“{excerpt(said)}”\n"
                                                     f"{state_line(n, t)}")]
                  + ([Text(" "), n.mention(holder, pf)] if holder else []), t)
        return f"{state_line(n, t)}\n已把您的催办转告处理人员。"
    lead = n.org.lead(t.unit_id)
    people = [p for p in (holder, lead if lead is not holder else None) if p is not None]
    waited = span(desk.now - t.created_at) if t.created_at else ""
    body = (f"🚨{HAZARD_NAMES[ticket_hazard(t)]}【催办 #{t.id}】上报人第 {t.urges} 次催办：“{excerpt(said)}”\n"
            f"📍{n.place(t)}  {n.hhmm(t.created_at)} 上报，已过 {waited}，还没有人到场！\n")
    ask = f"请立即到场，到了回复「到场 #{t.id}」"
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body)] + n.ask(pf, people, ask), t)
    every = n.settings.emergency.urge_street_after
    street = n.org.up_to(t.unit_id, Level.street) if t.unit_id else None
    if every and t.urges >= every and street is not None:
        n.to_unit(street.id, lambda pf: [Text(f"{body}请街道协调。")], t)
        desk.event(t, "urge_alert", None, inbox_id, from_status=t.status, above=street.id)
    told = "、".join(p.name for p in people) or "社区值班人员"
    return f"{state_line(n, t)}\n已再次紧急通知{told}。"

