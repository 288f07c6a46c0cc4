"""Safety first: the reply to an urgent report opens with what to do now and whom to call, for
that kind of danger, then says plainly that the bot calls no one. Numbers (and, per city, whole
lines) come from config `[emergency]`."""

from __future__ import annotations

import re

from pingan.config import EmergencySettings

HAZARD_NAMES = {
    "gas": "燃气泄漏", "fire": "火情", "electric": "触电/漏电", "collapse": "坍塌", "trapped_lift": "电梯困人",
    "casualty": "人员受伤", "violence": "暴力冲突", "drowning": "落水", "other": "紧急情况",
}
NOT_CALLING = "本助手不会替您报警，请您亲自拨打。"

# The parser's `hazard` comes first; these words are for an urgent ticket whose text, read again,
# gives no kind (a form report, a ticket made urgent by its category). First hit wins: "电梯里有人晕倒"
# is someone trapped before someone hurt.
_FALLBACK = [
    ("gas", re.compile(r"燃气|煤气|天然气|液化气|气罐")),
    ("trapped_lift", re.compile(r"电梯.{0,8}(困|关)|(困|关).{0,6}电梯")),
    ("fire", re.compile(r"火|冒烟|浓烟|烧|爆炸")),
    ("electric", re.compile(r"触电|漏电|电线.{0,4}(掉|断|打火)|电击")),
    ("collapse", re.compile(r"塌|垮|裂缝|倾斜|掉落|坠落")),
    ("drowning", re.compile(r"落水|溺水|掉.{0,3}河|掉.{0,3}水")),
    ("violence", re.compile(r"打架|斗殴|砍|持刀|拿刀|打人|家暴|抢劫|威胁")),
    ("casualty", re.compile(r"晕倒|昏迷|受伤|流血|不省人事|摔倒|没.{0,2}呼吸|不醒")),
]


def hazard_kind(hazard: str | None, item: str | None, text: str) -> str:
    """The parser's kind when it gave one, else a guess from the item and the words."""
    if hazard in HAZARD_NAMES:
        return hazard
    what = f"{item or ''} {text or ''}"
    return next((kind for kind, words in _FALLBACK if words.search(what)), "other")


def first_lines(kind: str, e: EmergencySettings) -> str:
    """What to do now, for this kind of danger, with the numbers to call."""
    if kind in e.texts:
        return e.texts[kind]
    gas = f"燃气公司抢修电话 {e.gas}" if e.gas else "燃气公司抢修电话"
    lines = {
        "gas": f"🚨 请立即离开房间，不要开关电器、不要打火、不要用手机（到室外再打）；安全的话打开门窗。"
               f"到室外后拨打 {e.fire} 或{gas}。",
        "fire": f"🚨 请立即拨打 {e.fire}！马上离开，不要乘电梯，用湿毛巾捂住口鼻、低姿沿楼梯撤离。",
        "violence": f"🚨 请立即拨打 {e.police}！远离对方，先保护好自己，不要上前制止。",
        "casualty": f"🚨 请立即拨打 {e.ambulance}！不要随意搬动伤者，留在旁边等待救护。",
        "trapped_lift": f"🚨 请按电梯里的警铃或对讲按钮，拨打电梯应急电话 {e.lift} 或 {e.fire}；"
                        "不要扒门、不要强行出来，保持冷静等待救援。",
        "electric": f"🚨 先切断电源（拉下电闸），不要直接用手碰触电的人；有人受伤请立即拨打 {e.ambulance}。",
        "collapse": f"🚨 请立即远离危险区域，提醒旁人不要靠近；有人被困或受伤请拨打 {e.fire} / {e.ambulance}。",
        "drowning": f"🚨 请立即拨打 {e.fire} / {e.ambulance}！大声呼救，抛救生圈、绳子或木板，不要贸然下水。",
    }
    return lines.get(kind, f"🚨 危及生命请立即拨打 {e.fire}（火警）/ {e.police}（报警）/ {e.ambulance}（急救），"
                           "并远离危险区域。")


def urgent_opening(kind: str, e: EmergencySettings) -> str:
    """The first two lines of the reply to an urgent report."""
    return f"{first_lines(kind, e)}\n{NOT_CALLING}"


def safety_line(t, e: EmergencySettings) -> str:
    """An urgent ticket's safety line for those who hear of it later (its group, the reporter when
    nobody came): the same per-hazard words as the first reply, under a ⚠️."""
    return "⚠️ " + first_lines(ticket_hazard(t), e).removeprefix("🚨").lstrip()


def ticket_hazard(t) -> str:
    """The kind of danger of an urgent ticket (its text read again: the ticket keeps no kind)."""
    from pingan.parser import parse

    return hazard_kind(parse(t.raw_text or "").hazard, t.item, t.raw_text)
