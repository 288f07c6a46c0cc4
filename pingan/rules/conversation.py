"""Read a resident's message in the context of their tickets: is it a new report, or about one they
already have (urging, more details, cancelling, rating), or a question, a complaint about the
service, thanks, chatter? Pure: the words and the tickets in, a Reading out; the handler
(pingan/handlers/converse.py) acts on it. When the tickets leave it truly open, the reading is
`ask`: one short question with numbered answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from pingan.lifecycle import HELD
from pingan.models import Status
from pingan.parser import ParseResult, vague_place

REPLY_TO_RETURN = timedelta(days=2)
MERGED = "已合并"  # the 退回 reason of a ticket merged into another (rules/corrections.py)
DETAILS_WINDOW = timedelta(hours=2)  # a report of the same item this soon after is more about it
N = r"[\d一二三四五六七八九十半两几俩]+"


class Intent(StrEnum):
    report = "report"  # a new hazard: intake files it
    urge = "urge"
    details = "details"
    cancel = "cancel"  # "不用来了", "燃气公司已经来了", "已经好了"
    satisfied = "satisfied"
    unsatisfied = "unsatisfied"
    question = "question"
    complaint = "complaint"
    thanks = "thanks"
    ask = "ask"  # ambiguous: ask which ticket with numbered answers
    objection = "objection"  # a reply to a 退回: the lead looks again (rules/review.py)
    other = "other"  # nothing for this layer (a place answer, chatter): later handlers decide


RATING_BAD = re.compile(r"不满意|不太满意|不怎么满意|不是很满意|很不满|没(有)?(解决|修好|处理好|弄好|搞好|整好|改)|"
                        r"还是(坏|不行|没|老样子|一样|那样|有|在)|(还|又)在(充|堆|漏|响|吵|停|放|烧|冒)|又(坏|来|开始|有)|"
                        r"差评|敷衍|没用|根本没|不行|不合格|糊弄|应付")
RATING_GOOD = re.compile(r"满意|好评|点赞|很好|挺好|不错|太好了|给力|很快|及时|解决了|修好了|弄好了|处理好了|好了|"
                         r"没问题|可以了|👍|💯|赞")
CANCEL = re.compile(r"不用(来|过来|处理|管|麻烦)了?|(莫|别|不要|不必)(来|过来)了?|不来了|不需要(来|处理|了)|搞错|弄错|误报|看错|报错了|没事了|没事儿了|"
                    r"已经好了|已经没(有)?了|(自己|我们|我)(已经)?(处理|解决|弄|搞|修|关)好了|已经(修|弄|处理|解决|搞|整)好|"
                    r"(火|气)?已经(灭|扑灭|关|关掉|熄|停)了?|撤了吧|撤销吧|算了|没有(漏|着火|冒烟)")
NEWS = re.compile(r"(燃气公司|煤气公司|天然气公司|燃气|物业|消防|消防队|消防车|警察|民警|派出所|师傅|保安|电梯公司|"
                  r"维修|救护车|医生|120|119|110)[^，。,.!！]{0,4}(已经)?(来了|到了|在处理|处理了|过来了|赶到)")
URGE = re.compile(rf"怎么还没|还没(有)?(人|来|到|处理|动静)|还不来|咋还没|怎么没人|没人来|没有人来|人呢|人在哪|"
                  rf"什么时候(来|到|处理|能|过来)|多久(能|才|来|到)|要等多久|(都|已经)(快|过了)?{N}(个)?(分钟|分|小时|钟头|天)了|"
                  rf"快点|快来|快些|赶紧|赶快|催一下|催催|催办|到底有没有人|有人管吗|没人管|没人理|没人回|等了(好久|半天|很久|{N})|"
                  rf"还要等|急死|等不及|能不能快|到底(来不来|有没有|什么时候|啥时候)|来不来|来没来|咋个还|啥时候(来|到)|"
                  rf"好久(来|到|才)|搞快|有人没|有人吗|有人管|管不管|管没得|有没有人|没得人|理都不理|还没回")
COMPLAINT = re.compile(r"投诉|态度(太|很|真)?(差|不好|恶劣|冷漠)|服务(太|很|真)?差|不作为|踢皮球|推诿|推脱|不负责|"
                       r"(电话|热线)(打不通|没人接)|什么破|垃圾(服务|系统|机器人)|形式主义|官僚")
QUESTION = re.compile(r"[?？]|(吗|呢|么|嘛|不|没)\s*[哦啊呀嘞~～。.]*$|^(请问|问一下|问下|想问|咨询|怎么|如何|能不能|"
                      r"可不可以|几点|哪里|在哪|谁|为什么|为啥)|是不是|有没有|能不能|可不可以|要不要|怎么办|咋办|咋个")
THANKS = re.compile(r"谢|感谢|辛苦|👍|🙏|多谢|好的|收到|知道了|明白|^(ok|好|嗯|行)[!！。.~～]*$", re.I)
# words that open another matter ("另外3栋电梯也坏了"): never more about the report before
ANOTHER = re.compile(r"另外|另一|此外|还有一(个|处|件|栋|辆|家)|别的地方|其他地方|也有人")
# Residents' ratings are for what is done; 已办结 waits for one, a closed one may still be reopened.
RATEABLE = frozenset({Status.resolved})
REOPENABLE = frozenset({Status.resolved, Status.closed})


@dataclass
class Reading:
    intent: Intent
    ticket: object | None = None  # the Ticket it is about
    options: list = field(default_factory=list)  # for `ask`: [(intent, ticket)] in answer order


def classify(text: str, parsed: ParseResult, tickets: list, named: int | None = None,
             now: datetime | None = None) -> Reading:
    """`tickets`: the sender's recent tickets, newest first; `named`: a #number in the message."""
    if named is not None:
        tickets = [t for t in tickets if t.id == named] or tickets
    if tickets and _disputable(tickets[0], now) and not THANKS.search(text) and not _new_hazard(parsed, tickets[0]):
        return Reading(Intent.objection, tickets[0])
    held = [t for t in tickets if t.status in HELD]
    done = [t for t in tickets if t.status in REOPENABLE]
    if done and done[0].status in RATEABLE and (not held or done[0].id > held[0].id):
        rating = _rating(text)
        if rating is not None:
            return Reading(rating, done[0])
    if not held:
        if done and RATING_BAD.search(text) and not _new_hazard(parsed, done[0]):
            return Reading(Intent.unsatisfied, done[0])  # "还是坏的" after a closed ticket: reopen
        return Reading(_no_ticket_intent(text, parsed))
    target = held[0]
    if parsed.report and parsed.urgent and not target.urgent:
        return Reading(Intent.report)  # a danger now ("电梯里还关了个人"): its own urgent ticket, never a note
    if CANCEL.search(text) or NEWS.search(text):
        return Reading(Intent.cancel, target)
    if URGE.search(text):
        unreached = [t for t in held if t.urgent and t.on_scene_at is None]
        return Reading(Intent.urge, unreached[0] if unreached and named is None else target)
    if COMPLAINT.search(text):
        return Reading(Intent.complaint, target)
    if parsed.report and parsed.item:
        return Reading(Intent.report) if ANOTHER.search(text) else _report_or_details(parsed, held, now)
    if QUESTION.search(text):
        return Reading(Intent.question, target)
    if THANKS.search(text):
        return Reading(Intent.thanks, target)
    return Reading(Intent.other, target)


def _disputable(t, now: datetime | None) -> bool:
    """Sent back (not merged into another) in the last REPLY_TO_RETURN: a reply disputes it."""
    if t.status != Status.returned or MERGED in (t.return_reason or "") or t.closed_at is None:
        return False
    return now is None or now - _aware(t.closed_at, now) < REPLY_TO_RETURN


def _rating(text: str) -> Intent | None:
    if RATING_BAD.search(text):
        return Intent.unsatisfied
    if RATING_GOOD.search(text) or re.search(r"谢|感谢|辛苦|🙏", text):
        return Intent.satisfied
    return None


def _new_hazard(parsed: ParseResult, t) -> bool:
    return bool(parsed.report and parsed.item and parsed.item != t.item)


def _report_or_details(parsed: ParseResult, held: list, now: datetime | None) -> Reading:
    """A report of an item one of the open tickets has. Soon after it, the same place (or none
    said) is more about it and another place may be another hazard: ask. Later, the same place
    may be the same hazard again (ask), anything else is a new report (a place that names no estate,
    "楼道", is no same place by then). Another item is new."""
    same = [t for t in held if t.item == parsed.item]
    if not same:
        return Reading(Intent.report)
    t = same[0]
    placed = bool(parsed.location and t.location)
    one = placed and _one_place(parsed.location, t.location)
    fresh = now is None or t.created_at is None or now - _aware(t.created_at, now) < DETAILS_WINDOW
    if fresh and not (placed and not one):
        return Reading(Intent.details, t)
    if fresh or (one and not vague_place(parsed.location)):
        return Reading(Intent.ask, t, options=[(Intent.details, t), (Intent.report, None)])
    return Reading(Intent.report)


def _aware(dt: datetime, now: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=now.tzinfo)


def _one_place(a: str, b: str) -> bool:
    from pingan.models.places import place_key

    a, b = place_key(a), place_key(b)
    return a in b or b in a


def another_report(text: str, parsed: ParseResult, t, place: str | None, placed: bool, only_place: bool) -> bool:
    """In the follow-up window of ticket `t` (`placed`: it knows where), is this text plainly a new
    report rather than more about `t`? Another matter said so, a danger on a ticket that was not
    urgent (its own urgent ticket), another hazard (unless the text is `only_place`, which a
    misread word must not turn into a hazard: 「二单元门口」 is no 单元门 report), or another place
    than `t`'s that names its estate or road."""
    if ANOTHER.search(text) or (parsed.urgent and not t.urgent):
        return True
    if parsed.report and parsed.item and parsed.item != t.item and not only_place:
        return True
    return bool(placed and place and t.location and not vague_place(place) and not _one_place(place, t.location))


def _no_ticket_intent(text: str, parsed: ParseResult) -> Intent:
    """Without an open ticket, only words that are plainly not a hazard report are kept from intake."""
    if not_a_report(text, parsed):
        if COMPLAINT.search(text):
            return Intent.complaint
        return Intent.question if QUESTION.search(text) or URGE.search(text) else Intent.other
    return Intent.other


def not_a_report(text: str, parsed: ParseResult) -> bool:
    """Urging, cancelling, complaining, asking or thanking with no hazard named ("怎么还没有人来"):
    the parser may take it for a vague report, but filed it would be a ticket about nothing."""
    if parsed.urgent or parsed.item:
        return False
    return any(p.search(text) for p in (URGE, CANCEL, NEWS, COMPLAINT, THANKS)) or (
        QUESTION.search(text) is not None and not parsed.location)
