"""退回: not ours, a duplicate, not a hazard — closed with the reason, which the reporter is told."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.rules.base import ActionRule, Move, Said, Told


def apply(m: Move) -> None:
    t = m.ticket
    t.return_reason = m.note
    t.closed_at, t.next_check_at = m.desk.now, None


def announce(k: Told) -> Said:
    why = k.t.return_reason or "未说明原因"
    return Said(group=f"↩️ {k.no} 已退回（{k.by}）：{why}",
                resident=f"您反映的 {k.no} 经核实已退回：{why}。如有疑问请回复或联系社区。")


RULE = ActionRule(Action.return_, apply, announce)
