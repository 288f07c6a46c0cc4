"""派单: a department takes the ticket (its liaison on duty), with a resolution window of its own.
With nobody of it registered the bot cannot reach it: the dispatcher, who has to phone the
department, holds it and is chased (else the last holder), and both groups are told so."""

from __future__ import annotations

import re

from pingan.lifecycle import Action
from pingan.messages import Text
from pingan.models import Level, Ticket, Unit
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

# What people call departments → the kinds an organisation file uses.
DEPARTMENT_WORDS = {
    "煤气": "燃气", "天然气": "燃气", "燃气": "燃气", "消防": "消防", "火警": "消防", "119": "消防", "警察": "派出所",
    "公安": "派出所", "民警": "派出所", "110": "派出所", "房管": "住建", "住建": "住建", "住房": "住建", "建设": "住建",
    "城管": "城管", "执法": "城管", "市场": "市场监管", "工商": "市场监管", "食药": "市场监管", "安监": "应急",
    "应急": "应急", "电梯": "市场监管", "特种设备": "市场监管", "交警": "交警", "环保": "生态环境", "环境": "生态环境",
}
_DEPT_SUFFIX = re.compile(r"(公司|大队|中队|支队|队|局|所|部门|站|中心|委员会|委|办)$")


def find_department(org, wanted: str, unit_id: str | None) -> Unit | None:
    """A department as people name it: its kind or name, or loosely ('煤气公司' is the 燃气公司,
    '消防队' 消防救援, '警察' the 派出所, '房管局' 住建)."""
    dept = org.department(wanted, unit_id)
    if dept is None and wanted:
        stem = _DEPT_SUFFIX.sub("", wanted) or wanted
        kind = next((k for w, k in DEPARTMENT_WORDS.items() if w in wanted), None)
        dept = org.department(stem, unit_id) or (org.department(kind, unit_id) if kind else None)
    return dept


def default_department(taxonomy, t: Ticket) -> str:
    """The department the ticket's item names (a bare 「派单 #N」), else nothing."""
    item = taxonomy.item(t.item)
    return item.department if item else ""


def departments_near(org, unit_id: str | None) -> list[Unit]:
    """The departments a ticket of `unit_id` can be sent to: those attached to it or above it."""
    return [u for a in org.ancestors(unit_id) for u in map(org.units.get, org.children[a.id])
            if u.level == Level.department]
