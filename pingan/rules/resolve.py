"""办结: done, with what was done; the reporter is asked 满意/不满意 (the feedback window starts,
see feedback.py)."""

from __future__ import annotations

from pingan import policy
from pingan.lifecycle import Action
from pingan.rules import feedback
from pingan.rules.base import ActionRule, Move, Said, Told


def apply(m: Move) -> None:
    t = m.ticket
    t.resolved_at, t.resolution_note = m.desk.now, m.note
    t.next_check_at = feedback.due(policy.of(t), t.resolved_at)


def announce(k: Told) -> Said:
    t = k.t
    note = f"：{t.resolution_note}" if t.resolution_note else ""
    return Said(group=f"✅ {k.no} 已办结（{k.by}）{note}",
                resident=(f"您反映的 {k.no}（{k.n.label(t)}）已办结{note}。\n"
                          "满意请回复「满意」，不满意请回复「不满意」，我们会重新处理。"))


RULE = ActionRule(Action.resolve, apply, announce)
