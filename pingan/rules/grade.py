"""定级: a worker sets the size (小事/中事/大事 → 马上办/协商办/呼叫办); the holder's resolution window
is redrawn by it (resolution.regrade)."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.rules import resolution
from pingan.rules.base import ActionRule, Move, Said, Told
from pingan.taxonomy import SIZE_TRACK


def apply(m: Move) -> None:
    m.ticket.size = m.size
    resolution.regrade(m.ticket, m.desk.now, m.desk.tz)


def announce(k: Told) -> Said:
    t = k.t
    return Said(group=f"📏 {k.no} 定级为{t.size}事（{SIZE_TRACK[t.size]}），办结期限 {k.n.due(t.resolve_due)}")


RULE = ActionRule(Action.grade, apply, announce)
