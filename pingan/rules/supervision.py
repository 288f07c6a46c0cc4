"""督办: a ticket that stays overdue at one holder is supervised — 普通 at the deadline when the
system does not call it up (rules/resolution.py), 黄牌 and 红牌 when it is still open
`supervise_yellow` and `supervise_red` windows past it. The holder is @-mentioned; from 黄牌 on the
tier above (the unit a department is attached to) hears of it too. The ticket keeps its highest level."""

from __future__ import annotations

from pingan.lifecycle import HELD
from pingan.messages import Text
from pingan.models import Ticket
from pingan.notify import LATE, excerpt, left_or_over
from pingan.rules import ladder
from pingan.rules.base import Owed, Point, WindowRule
from pingan.rules.resolution import tier_key, tier_window

NAME = "supervision"
ORDER = {None: 0, "普通": 1, "黄牌": 2, "红牌": 3}
ICON = {"普通": "📌", "黄牌": "🟨", "红牌": "🟥"}


def points(o: Owed) -> None:
    t = o.t
    if t.status not in HELD:
        return
    start, deadline = tier_window(t, o.tz)
    for level, mult in (("黄牌", o.snap["supervise_yellow"]), ("红牌", o.snap["supervise_red"])):
        o.add("supervise", deadline + (deadline - start) * mult, f"{tier_key(t)}:{level}", NAME,
              deadline=deadline, level=level)


async def supervise(s, t: Ticket, p: Point, late: bool) -> None:
    n, org, level = s.notifier, s.org, p.level
    if ORDER.get(level, 0) > ORDER.get(t.supervision, 0):
        t.supervision = level
    up = ladder.above(org, t.holder_unit_id)
    s.record(t, "supervise", p, late, level=level, holder=t.holder_unit_id, supervisor=up.id if up else None)
    unit = org.units.get(t.holder_unit_id)
    body = (f"{ICON[level]}【督办·{level} #{t.id}】{LATE if late else ''}{n.label(t)}（{t.size}事）"
            f"📍{t.location or '—'}\n“{excerpt(t.raw_text, 30)}”\n"
            f"办结期限 {n.due(p.deadline)}，{left_or_over(p.deadline, s.now)}；责任：{unit.name if unit else '—'}\n")
    ask = f"请立即处置并回复进展（办结回复「办结 #{t.id} 处理结果」）。"
    n.to_unit(n.holder_groups(t), lambda pf: [Text(body)] + n.ask(pf, [ladder.holder(org, t)], ask), t)
    if level != "普通" and up is not None:
        mine = {g.id for g in org.coordination_groups(n.holder_groups(t))}
        theirs = {g.id for g in org.coordination_groups(up.id)}
        if theirs and theirs != mine:
            note = f"请{up.name}跟进督办。"
            n.to_unit(up.id, lambda pf: [Text(body)] + n.ask(pf, [org.on_duty(up.id)], note), t)


WINDOW = WindowRule(NAME, points, {"supervise": supervise})
