"""派单: a department takes the ticket (its liaison on duty), with a resolution window of its own.
With nobody of it registered the bot cannot reach it: the dispatcher, who has to phone the
department, holds it and is chased (else the last holder), and both groups are told so."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.messages import Text
from pingan.models import Level
from pingan.notify import excerpt
from pingan.rules import resolution
from pingan.rules.base import ActionRule, Move, Said, Told


def apply(m: Move) -> None:
    t, desk, dept = m.ticket, m.desk, m.department
    t.department_id = dept.id
    # the department is responsible either way; a ticket held by no person would get reminders and
    # 督办 that @ nobody
    person = desk.org.on_duty(dept.id) or m.actor or desk.org.people.get(t.holder_person_id)
    desk.hold(t, dept.id, Level.department, person)
    resolution.new_window(t, desk.now, desk.tz)


def announce(k: Told) -> Said:
    n, t, no = k.n, k.t, k.no
    dept = n.org.units[t.department_id]
    holder = n.org.people.get(t.holder_person_id)
    group = f"📤 {no} 已派单 {dept.name}（{k.by}）"
    head = (f"📤【派单 {no}】{n.label(t)} 📍{t.location or '—'}\n"
            f"“{excerpt(t.raw_text)}”\n历史：{n.history(t, k.events)}\n")
    liaison = None if n.follower(t) else holder
    if liaison:
        n.to_unit(dept.id, lambda pf: [Text(head)] + n.ask(pf, [liaison], f"请签收，回复「签收 {no}」"), t)
    else:  # nobody there the bot can reach: say so, and who is following it up
        group += f"\n⚠️ {dept.name}未登记联络人，机器人无法通知，请电话联系该部门并跟进。"
        follow = f"，由{holder.name}电话跟进" if holder else "，请电话联系"
        n.to_unit(dept.id, lambda pf: [Text(f"{head}⚠️ {dept.name}未登记联络人{follow}。")], t)
    return Said(group=group)


RULE = ActionRule(Action.transfer, apply, announce)
