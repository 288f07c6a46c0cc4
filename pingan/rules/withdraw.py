"""撤销: the reporter takes the report back; whoever holds it now (called up, sent out) hears too."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.messages import Text
from pingan.rules.base import ActionRule, Move, Said, Told


def apply(m: Move) -> None:
    m.ticket.closed_at, m.ticket.next_check_at = m.desk.now, None


def announce(k: Told) -> Said:
    n, t = k.n, k.t
    why = k.note(Action.withdraw)
    group = f"🚫 {k.no} 已由上报人撤销" + (f"：{why}" if why else "")
    holder, there = n.org.people.get(t.holder_person_id), n.holder_groups(t)
    if n.reaches_others(there, t.unit_id):
        n.to_unit(there, lambda pf: [Text(group + "，无需再处理")] + n.after(pf, holder), t)
    return Said(group=group, resident=f"已撤销 {k.no}。")


RULE = ActionRule(Action.withdraw, apply, announce, by_reporter=True)
