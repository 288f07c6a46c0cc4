"""呼叫: the ticket goes up the ladder (ladder.escalation_target) to that unit's on-duty person, with
a resolution window of its own. The new tier's group gets the call-up with two lines of history
and the ask to 签收 or 派单; the community's group and the reporter hear where it went."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.messages import Text
from pingan.models import LEVEL_NAMES
from pingan.notify import LATE, excerpt
from pingan.rules import ladder, resolution
from pingan.rules.base import ActionRule, Move, Said, Told


def apply(m: Move) -> None:
    t, desk = m.ticket, m.desk
    up = ladder.escalation_target(desk.org, t, m.actor)
    t.escalations += 1
    desk.hold(t, up.id, up.level, desk.org.on_duty(up.id))
    resolution.new_window(t, desk.now, desk.tz)


def announce(k: Told) -> Said:
    n, t = k.n, k.t
    unit = n.org.units[t.holder_unit_id]
    person = n.org.people.get(t.holder_person_id)
    origin = "系统自动（超期）" if k.actor is None else k.actor.name
    # a person's reason tells the upper tier what is needed; the system's own note only repeats 超期
    why = k.note(Action.escalate) if k.actor is not None else None
    body = (f"📣【呼叫 {k.no}】{LATE if k.late else ''}{n.label(t)}（{t.size}事）📍{t.location or '—'}\n"
            f"“{excerpt(t.raw_text)}” — 由{origin}呼叫{LEVEL_NAMES.get(unit.level, '')}\n"
            + (f"原因：{why}\n" if why else "")
            + f"历史：{n.history(t, k.events)}\n")
    ask = f"请签收，回复「签收 {k.no}」；需部门处理请回复「派单 {k.no} 部门」"
    n.to_unit(unit.id, lambda pf: [Text(body)] + n.ask(pf, [person], ask), t)
    here = {g.id for g in n.org.coordination_groups(t.unit_id)}
    if here != {g.id for g in n.org.coordination_groups(unit.id)}:
        n.to_unit(t.unit_id, lambda pf: [Text(f"⬆️ {k.no} 已呼叫 {unit.name}")], t)
    return Said(resident=f"您反映的 {k.no} 已呼叫{unit.name}协调处理。", confirm=f"⬆️ {k.no} 已呼叫{unit.name}协调处理。")


RULE = ActionRule(Action.escalate, apply, announce)
