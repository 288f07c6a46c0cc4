"""处理中: the holder is dealing with it (by phone, waiting for a part); what is being done is posted
for the others. It does not count as 到场 for an urgent ticket (on_scene.py)."""

from __future__ import annotations

from pingan.lifecycle import Action
from pingan.rules.base import ActionRule, Said, Told, unchanged


def announce(k: Told) -> Said:
    why = k.note(Action.progress)  # "已电话联系燃气公司"
    return Said(group=f"🔧 {k.no} 处置中（{k.by}）" + (f"：{why}" if why else ""))


RULE = ActionRule(Action.progress, unchanged, announce)
