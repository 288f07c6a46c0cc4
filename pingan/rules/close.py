"""满意: the reporter is satisfied and the ticket closes (also the feedback window's 未评价)."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.rules.base import ActionRule, Move, Said, Told


def apply(m: Move) -> None:
    t = m.ticket
    t.closed_at, t.feedback = m.desk.now, m.note or t.feedback
    t.next_check_at = None


def announce(k: Told) -> Said:
    return Said(group=f"👍 {k.no} 居民回访：满意，已关闭", resident=f"感谢您的评价，{k.no} 已关闭。")


RULE = ActionRule(Action.close, apply, announce, by_reporter=True)
