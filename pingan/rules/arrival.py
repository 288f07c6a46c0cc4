"""到场: someone is on scene (the 15-minute window is met or missed, see on_scene.py); the sweep
chases the resolution deadline next. The reporter is told; a tier that was alerted that nobody had
come (an urgent ticket's repeats) hears that someone has."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.messages import Text
from pingan.notify import span
from pingan.rules.base import ActionRule, Move, Said, Told


def apply(m: Move) -> None:
    t = m.ticket
    t.on_scene_at = t.on_scene_at or m.desk.now
    t.next_check_at = t.resolve_due


def announce(k: Told) -> Said:
    n, t = k.n, k.t
    took = f"，用时 {span(t.on_scene_at - t.dispatched_at)}" if t.dispatched_at and t.on_scene_at else ""
    group = f"✅ {k.no} {k.by} 已到场（{n.hhmm(t.on_scene_at)}{took}）"
    alerted = {ev.data["above"] for ev in k.events if ev.action in ("urgent_repeat", "urge_alert") and (ev.data or {}).get("above")}
    for unit_id in alerted:
        if n.reaches_others(unit_id, t.unit_id):
            n.to_unit(unit_id, lambda pf: [Text(group + "，无需再协调")], t)
    return Said(group=group, resident=f"您反映的 {k.no}（{n.label(t)}）工作人员已到场处置。")


RULE = ActionRule(Action.on_scene, apply, announce)
