"""The ticket lifecycle as data: which action may move a ticket from which status to which.

new → dispatched → acknowledged (签收) → on_scene (到场) → in_progress (处置中) → resolved (办结) → closed,
plus escalated (呼叫), transferred (派单), returned (退回), withdrawn (撤销) and reopened (不满意)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    new = "new"
    dispatched = "dispatched"
    acknowledged = "acknowledged"
    on_scene = "on_scene"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"
    escalated = "escalated"
    transferred = "transferred"
    returned = "returned"
    withdrawn = "withdrawn"
    reopened = "reopened"


S = Status


class Action(StrEnum):
    dispatch = "dispatch"
    ack = "ack"
    on_scene = "on_scene"
    progress = "progress"
    resolve = "resolve"
    close = "close"
    escalate = "escalate"
    transfer = "transfer"
    return_ = "return"
    withdraw = "withdraw"
    reopen = "reopen"
    grade = "grade"


ACTION_NAMES = {
    Action.dispatch: "派发", Action.ack: "签收", Action.on_scene: "到场", Action.progress: "处理中",
    Action.resolve: "办结", Action.close: "满意（关闭）", Action.escalate: "呼叫", Action.transfer: "派单",
    Action.return_: "退回", Action.withdraw: "撤销", Action.reopen: "不满意（重新打开）", Action.grade: "定级",
}

# The status sets, defined once. HELD: someone holds the ticket and is expected to act. OPEN: not yet
# resolved (the digests' 待化解). CLOSED: finished, nothing more is owed. ACTIVE: not closed, so the
# scheduler still owes it something (a resolved ticket awaits its reporter's rating, see feedback).
HELD = frozenset({S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened})
OPEN = HELD | {S.new}
CLOSED = frozenset({S.closed, S.returned, S.withdrawn})
ACTIVE = frozenset(S) - CLOSED
# A new holder (after 呼叫, 派单 or reopening) starts from the top: 签收 or 到场 next.
AWAITING_ARRIVAL = frozenset({S.dispatched, S.acknowledged, S.escalated, S.transferred, S.reopened})

TRANSITIONS: dict[Action, tuple[frozenset[S], S | None]] = {
    Action.dispatch: (frozenset({S.new}), S.dispatched),
    Action.ack: (frozenset({S.dispatched, S.escalated, S.transferred, S.reopened}), S.acknowledged),
    Action.on_scene: (AWAITING_ARRIVAL | {S.in_progress}, S.on_scene),  # 处理中 by phone, then 到场
    Action.progress: (AWAITING_ARRIVAL | {S.on_scene}, S.in_progress),
    # not before anyone has it in hand (dispatched); a new holder after 呼叫/派单/不满意 may, though:
    # the worker on scene who called for help finishes the job with the street's help
    Action.resolve: (frozenset({S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened}),
                     S.resolved),
    Action.close: (frozenset({S.resolved}), S.closed),
    Action.escalate: (HELD, S.escalated),
    Action.transfer: (HELD, S.transferred),
    Action.return_: (HELD, S.returned),
    Action.withdraw: (HELD | {S.new}, S.withdrawn),
    Action.reopen: (frozenset({S.resolved, S.closed, S.returned}), S.reopened),  # 不满意, or disputing a 退回
    Action.grade: (HELD | {S.new}, None),  # None: status unchanged
}


def target(action: Action, status: str) -> S:
    """The status after `action`; raises IllegalMove when the move is not allowed."""
    allowed_from, to = TRANSITIONS[action]
    if S(status) not in allowed_from:
        raise IllegalMove(action, S(status))
    return to or S(status)


def allowed(status: str) -> list[Action]:
    """What may be done next from a status (for the refusal message), in lifecycle order."""
    return [a for a, (src, _) in TRANSITIONS.items() if a != Action.dispatch and S(status) in src]


class IllegalMove(Exception):
    def __init__(self, action: Action, status: S) -> None:
        super().__init__(f"{action} not allowed from {status}")
        self.action, self.status = action, status
