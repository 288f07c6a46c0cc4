"""签收: the holder takes the ticket ("on my way"): no more on-scene reminders, only its deadline."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.rules.base import ActionRule, Move, Said, Told


def apply(m: Move) -> None:
    m.ticket.acknowledged_at = m.ticket.acknowledged_at or m.desk.now


def announce(k: Told) -> Said:
    return Said(group=f"✅ {k.no} 已签收（{k.by}）")


RULE = ActionRule(Action.ack, apply, announce)
