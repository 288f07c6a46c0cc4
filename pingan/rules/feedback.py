"""回访: a resolved ticket waits for its reporter's 满意 or 不满意; unrated after `feedback_days` it
closes itself as 未评价, and the reporter is told how to reopen it (a 不满意 still does)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pingan import policy
from pingan.lifecycle import Action, Status
from pingan.models import Ticket
from pingan.rules.base import Owed, Point, WindowRule

NAME = "feedback"


def due(snap: dict, resolved_at: datetime | None) -> datetime | None:
    days = snap["feedback_days"]
    return resolved_at + timedelta(days=days) if days and resolved_at else None


def points(o: Owed) -> None:
    t = o.t
    if t.status == Status.resolved and (at := due(o.snap, t.resolved_at)) is not None:
        o.out.append(Point("auto_close", at, o.quiet(at), "fb", window=NAME))  # once per resolution: no key check


async def auto_close(s, t: Ticket, p: Point, late: bool) -> None:
    await s.move(t, Action.close, p, late, note="未评价")
    s.notifier.to_reporter(t, f"您反映的 #{t.id} 办结已 {policy.of(t)['feedback_days']} 天，没有收到评价，已自动关闭。"
                              f"如果问题还在，回复「不满意 #{t.id}」可以重新打开。")


WINDOW = WindowRule(NAME, points, {"auto_close": auto_close})
