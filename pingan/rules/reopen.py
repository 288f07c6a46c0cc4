"""不满意: the reporter reopens a resolved or closed ticket; its holder gets a new resolution window
and hears, @-mentioned, what is still wrong."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.messages import Text
from pingan.rules import resolution
from pingan.rules.base import ActionRule, Move, Said, Told


def apply(m: Move) -> None:
    t, now = m.ticket, m.desk.now
    t.feedback, t.resolved_at, t.closed_at = "不满意", None, None
    t.held_since = now
    resolution.new_window(t, now, m.desk.tz)
    t.next_check_at = now


def announce(k: Told) -> Said:
    n, t = k.n, k.t
    holder = n.org.people.get(t.holder_person_id)
    text = f"🔁 {k.no} 居民回访不满意，已重新打开，请再次处置。"
    why = k.note(Action.reopen)  # the resident's words tell the worker what is still wrong
    said = [Text(f"\n{'居民' if k.by_reporter else k.by}说：{why}")] if why else []
    n.to_unit(n.holder_groups(t), lambda pf: [Text(text)] + n.after(pf, holder) + said, t)
    return Said(resident=f"已收到，{k.no} 已重新打开，工作人员会再次处理。")


RULE = ActionRule(Action.reopen, apply, announce, by_reporter=True)
