"""The rules, one module per mechanism, and the one table everything dispatches through (as an
escalation policy's steps are run by their type): the desk applies `RULES[action].apply`, the
announcement is `RULES[action].announce`, the sweep acts through `WINDOWS[point.window].steps`.

Actions — what the action does to a ticket, and what it announces to whom:
  dispatch 派发 · ack 签收 · arrival 到场 · progress 处理中 · resolve 办结 · close 满意 ·
  reopen 不满意 · escalate 呼叫 · transfer 派单 · return_ 退回 · withdraw 撤销 · grade 定级
Windows — deadline arithmetic, the points owed, what the sweep does and says at each:
  on_scene 15分钟到场 · resolution 办结期限 · supervision 督办 · feedback 回访 (dispatch: a ticket left new)
Sweeps — over all tickets at once, each with its own query:
  paging 短信/电话呼叫 (an urgent ticket nobody answered) · handover 交班 (shift changes, the morning)
The tier above is ladder.py. A new rule is a module and a line in a table below."""

from __future__ import annotations

from typing import Awaitable, Callable

from pingan.lifecycle import Action
from pingan.messages import Text
from pingan.models import Person, Ticket, TicketEvent
from pingan.notify import Notifier
from pingan.rules import (ack, arrival, close, dispatch, escalate, feedback, grade, handover, on_scene, paging,
                          progress, reopen, resolution, resolve, return_, supervision, transfer, withdraw)
from pingan.rules.base import ActionRule, Told, WindowRule
from pingan.rules.corrections import merged_into

RULES: dict[Action, ActionRule] = {r.action: r for r in (
    dispatch.RULE,
    ack.RULE,
    arrival.RULE,
    progress.RULE,
    resolve.RULE,
    close.RULE,
    reopen.RULE,
    escalate.RULE,
    transfer.RULE,
    return_.RULE,
    withdraw.RULE,
    grade.RULE,
)}

# Sweeps over the whole bot, not one ticket's plan, run by the scheduler's sweep before the windows:
# `async sweep(bot, now) -> int` (what it queued). Paging keys off dispatch time and the outbox, the
# hand-over off the roster's shift changes and the end of quiet hours.
SWEEPS: tuple[Callable[..., Awaitable[int]], ...] = (paging.sweep, handover.sweep)

WINDOWS: dict[str, WindowRule] = {w.name: w for w in (  # in this order a ticket's points are collected
    dispatch.WINDOW,
    on_scene.WINDOW,
    resolution.WINDOW,
    supervision.WINDOW,
    feedback.WINDOW,
)}


def announce(n: Notifier, t: Ticket, action: Action, actor: Person | None, events: list[TicketEvent],
             late: bool = False) -> str:
    """Tell the groups and the reporter of an accepted move; returns the actor's one-line confirmation."""
    told = Told(n, t, actor, events, late)
    said = RULES[action].announce(told)
    if said.group:
        n.to_unit(t.unit_id, lambda pf: [Text(said.group)], t)
    if said.resident and not told.by_reporter:
        n.to_reporter(t, said.resident)
    mine = said.resident if told.by_reporter else said.confirm or said.group
    return mine or said.resident or f"{told.no} 已更新"


async def act(desk, n: Notifier, t: Ticket, action: Action, actor: Person | None, inbox_id: int | None,
              **kw) -> str:
    """Take an authorised action (from chat or the workbench): move, record, announce; returns the
    actor's confirmation. Raises IllegalMove, changing nothing."""
    await desk.move(t, action, actor, inbox_id, **kw)
    events = await desk.events(t.id)
    confirmation = announce(n, t, action, actor, events)
    if action == Action.resolve:  # everyone whose report was merged into this one hears the outcome
        for merged in filter(None, [await desk.get(m) for m in merged_into(events)]):
            n.to_reporter(merged, f"您反映的 #{merged.id}（已并入 #{t.id}）已办结"
                          + (f"：{t.resolution_note}" if t.resolution_note else "") + "。")
    return confirmation
