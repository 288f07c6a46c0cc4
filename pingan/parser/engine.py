"""Hazard-report parser: rules and weighted keywords, all driven by data files.

`parse` runs these steps (each data-driven; see pingan/data/parser_lexicon.toml):

1. `_prepare`: clean (full-width → half-width, traditional → simplified, emoji out, punctuation
   runs folded), read forms (`上报 类别:… 地点:…`), dialect/typo rewrites, blank forwarding
   lead-ins ("转发一下:") and other senses of hazard words ("燃气费", "手机在充电"); find
   all-clear, no-longer and denial zones.
2. `_scan`: keywords (taxonomy items + category words; negated hits dropped except missing safety
   equipment; title words of a long message weigh more, landmark uses less) and urgent rules
   (triggers, `with`/`unless` words, cancelled when negated, hypothetical, a rule, or past).
3. `_rank`: category totals; a near-tie goes to the statistical model (pingan/parser/model.py).
4. `_gate` and `_scope`: report or not, and `why_not` (chatter, notice, all_clear, question,
   billing, licensing, service_complaint, suggestion, other_sense, past, weak, unsure), then the
   model's veto, keep and ask (`_decide`) and, for danger now, its calm. The model never files a
   report alone: it can only make the bot ask (`ask`), drop a report or calm an urgency.
5. `_report`: item (`_choose`), place nearest the hazard (`_locate`, location.py), confidence,
   and for danger now the `hazard` kind and size 大.
"""

from __future__ import annotations

import re
from datetime import date as _date
from dataclasses import dataclass, field

from pingan.parser.forms import FormReader
from pingan.parser.lexicon import HAZARDS, Lexicon, get_lexicon
from pingan.parser.location import LocationFinder
from pingan.parser.model import get_model
from pingan.parser.normalise import as_written, clean, rewrite
from pingan.parser.result import ParseResult
from pingan.taxonomy import Taxonomy, default_taxonomy

_SIZES = ("小", "中", "大")
_SENT_END = re.compile(r"[。!?\n;]")
_CLAUSE_END = re.compile(r"[。!?\n;,:]| (?=\S)")
_STRIP_CHATTER = re.compile(r"[\s!?。,.~:;…\"'()()\[\]【】-]+")
_ITEM_NEG = re.compile("并没有|没有|并非|不是|没|无|未")
# "修好了没?" asks; "救出来了 没受伤" (a new clause after a space) does not
_QUESTION_AFTER = re.compile(r"^(?:[^\s,。!;]{0,3}?(?:吗|没有|没|不|么)|.{0,3}?\?)")
# phrases that contain a cue word by accident ("今天天气" has "天天")
_CUE_BLANK = ("有没有", "今天天", "明天天", "昨天天", "每天天", "后天天")
# "not yet": negated or still to come ("手机要被收走了", "快要修好了")
_NEG_BEFORE_CLEAR = re.compile(r"(?:没|未|不|没有|还没|无法|不能|要被|快被|将被|会被|快要|就要)$")
# the linear models (pingan/parser/model.py): when they are consulted and how far they are trusted
_MODEL_TIE = 1.0       # keyword categories closer than this are a near-tie
_MODEL_TIE_WEIGHT = 2.0  # a near-tie is settled by keyword score + weight × P(category)
_MODEL_CAT_MIN = 0.55  # no category words at all: take the model's category above this
_MODEL_ITEM_MIN = 0.6  # no item decided by keywords: take the model's item above this
_MODEL_REPORT_MIN = 0.85  # a weak message with some evidence reads like a report above this: ask
_MODEL_VETO = 0.4      # the words would file it but P(report) is below this and no defect, problem word or
                       # request is stated: not filed (asked when no scope cue says why)
_MODEL_VETO_ANY = 0.15 # below this it is not filed even so (never a danger now: those are always filed)
_MODEL_SURE_NONE = 0.05  # a problem word but no hazard named ("这里好危险哦"): asked unless P(report) is below this
_MODEL_CALM = 0.2      # the urgent rules fired on a message of _CALM_LEN+ characters with no cry for help,
_CALM_LEN = 40         # but P(danger now | report) is below this: a report, not an emergency
# never calmed: a person already hurt, trapped, missing or in the water (the worst misses to make)
_NEVER_CALM = frozenset({"casualty", "trapped_lift", "drowning"})
_MODEL_RESCUE = 0.6    # a report the words file, no urgent rule fired, but P(danger now) is at least this (and
_RESCUE_REPORT = 0.5   # P(report) at least this): danger now all the same, a missed emergency being the worst error
_MODEL_MAYBE_DANGER = 0.5  # an asked message the urgent head reads as danger now: the question opens with a
                           # safety line (dev parts: 11 of 12 asked emergencies, 13 of 221 other asked messages)
_JOKING = re.compile("哈哈|呵呵|嘿嘿|笑死|笑哭|😂|🤣|😆|😄")  # "哈哈笑死 救命" is no cry for help
_MODEL_KEEP = 0.9      # the words file it, a soft scope cue (question, suggestion, …) would not: kept at this
_MODEL_CORROBORATE = 0.95  # a thin keyword score (1.0-2.0) and no problem word: filed when P(report) is at least this
_MODEL_ASK = 0.9       # the words cannot file it but P(report) is at least this: ask, don't drop it silently
_HEAD_WEIGHT = 1.5     # keyword weight in the title / first sentence of a long message
_LANDMARK_WEIGHT = 0.3 # a keyword used as a landmark ("变压器正对面") counts this much
_LONG = 80             # characters from which a message is "long" (title weighs more, scope from title)
_SCOPE_TOPIC = 3.0     # keyword score at which a hazard is named plainly enough to keep a question in scope
_CASUALTY_TOPIC = 2.0  # a person hurt now: below this keyword score no category is named, it is "other"
_ASK_BELOW = 0.5       # a report below this confidence is not filed silently: the bot asks first
_VENUE_MIN = 1.0       # keyword score at which an item naming a kind of place ([items] venue) is named plainly


class _Stats:
    """Lazy model look-ups for one message."""

    def __init__(self, text: str, tax: Taxonomy):
        self.text, self.tax = text, tax
        self.model = get_model()
        self._cats: dict[str, float] | None = None
        self._feats: tuple[list[str], float] | None = None
        self._p: float | None = None
        self._pu: float | None = None

    def feats(self) -> tuple[list[str], float]:
        """The message's n-grams, computed once for all the look-ups below."""
        if self._feats is None:
            self._feats = self.model.ngrams(self.text)
        return self._feats

    def categories(self) -> dict[str, float]:
        if self._cats is None:
            codes = {c.code for c in self.tax.categories}
            got = self.model.categories(self.text, self.feats()) if self.model else {}
            self._cats = {k: v for k, v in got.items() if k in codes}
        return self._cats

    def item(self, category: str, among: set[str] | None = None) -> tuple[str | None, float]:
        if not self.model:
            return None, 0.0
        post = self.model.items(self.text, category, self.feats())
        names = {i.name for i in (self.tax.category(category).items if self.tax.category(category) else ())}
        if among is not None:
            names &= among
            post = {k: v for k, v in post.items() if k in names}
            z = sum(post.values()) or 1.0
            post = {k: v / z for k, v in post.items()}
        if not post:
            return None, 0.0
        best = max(post, key=post.get)
        return (best if best in names else None), post[best]

    def p_urgent(self) -> float:
        if self._pu is None:
            self._pu = self.model.p_urgent(self.text, self.feats()) if self.model else 1.0
        return self._pu

    def p_report(self) -> float:
        if self._p is None:
            self._p = self.model.p_report(self.text, self.feats()) if self.model else 0.0
        return self._p


@dataclass
class _Runtime:
    lex: Lexicon
    forms: FormReader
    places: LocationFinder


_RT: dict[int, _Runtime] = {}


def _runtime(tax: Taxonomy) -> _Runtime:
    lex = get_lexicon(tax)
    rt = _RT.get(id(lex))
    if rt is None or rt.lex is not lex:
        rt = _Runtime(lex=lex, forms=FormReader(lex), places=LocationFinder(lex))
        if len(_RT) > 16:
            _RT.clear()
        _RT[id(lex)] = rt
    return rt


@dataclass
class _Scan:
    item_score: dict[str, float] = field(default_factory=dict)
    item_words: dict[str, list[str]] = field(default_factory=dict)
    item_first: dict[str, int] = field(default_factory=dict)
    cat_score: dict[str, float] = field(default_factory=dict)
    cat_words: dict[str, list[str]] = field(default_factory=dict)
    cat_first: dict[str, int] = field(default_factory=dict)
    urgent_words: list[str] = field(default_factory=list)
    urgent_items: dict[str, float] = field(default_factory=dict)
    urgent_cats: dict[str, float] = field(default_factory=dict)
    urgent_pos: int | None = None
    urgent_size: str | None = None
    hazards: set[str] = field(default_factory=set)
    urgent_cancelled: bool = False  # a danger word was found but told as negated, past, hypothetical, …
    live_hits: int = 0
    live_pos: list[int] = field(default_factory=list)
    named: set[str] = field(default_factory=set)  # categories a keyword names as the topic, not as a landmark

    def add(self, kind: str, target: str, weight: float, word: str, pos: int, topic: str | None = None) -> None:
        """A hit for an item or a category; `topic`: the category it names as the topic (None: a landmark)."""
        score, words, first = (self.item_score, self.item_words, self.item_first) if kind == "item" \
            else (self.cat_score, self.cat_words, self.cat_first)
        score[target] = score.get(target, 0.0) + weight
        words.setdefault(target, []).append(word)
        first.setdefault(target, pos)
        if topic is not None:
            self.named.add(topic)

    @property
    def hazard(self) -> str | None:
        """The gravest kind of danger found (fire before gas before electric, ...)."""
        return next((h for h in HAZARDS if h in self.hazards), None)


# ------------------------------------------------------------------------------------------
def _bounds(text: str, pos: int, pattern: re.Pattern, limit: int = 60) -> tuple[int, int]:
    lo = max(0, pos - limit)
    start = lo
    # endpos one past `pos`: a boundary's look-ahead (" (?=\S)") must see the character at `pos`
    for m in pattern.finditer(text, lo, pos + 1):
        start = min(m.end(), pos)
    m = pattern.search(text, pos)
    end = m.start() if m and m.start() - pos <= limit else min(len(text), pos + limit)
    return start, end


def _clear_zones_kinds(w: str, lex: Lexicon) -> list[tuple[int, int, str]]:
    """Spans of text described as fine/solved ("巡查了消防通道,没发现问题"), no longer happening
    ("没有人充电了") or denied ("不是着火,是…"), each with its kind: "clear", "stopped" or "not".
    Hits inside don't count."""
    zones: list[tuple[int, int, str]] = []
    # (match, kind): "clear" and "stopped" zones run from the sentence start, "not" is just the denial
    found = [(m, "clear") for m in lex.clear_re.finditer(w)] if lex.clear_re is not None else []
    if lex.stopped_re is not None:
        found += [(m, "stopped") for m in lex.stopped_re.finditer(w)]
    if lex.stopped_thanks_re is not None and lex.thanks_re is not None and lex.thanks_re.search(w) \
            and not (lex.request_re is not None and lex.request_re.search(w)):
        found += [(m, "stopped") for m in lex.stopped_thanks_re.finditer(w)]
    if lex.not_this_re is not None:
        found += [(m, "not") for m in lex.not_this_re.finditer(w)]
    if len(found) > 1:
        found.sort(key=lambda x: x[0].start())
    for m, kind in found:
        if _QUESTION_AFTER.match(w[m.end():m.end() + 4]):
            continue
        if not m.group(0)[0] in "没未无并暂尚" and _NEG_BEFORE_CLEAR.search(w[max(0, m.start() - 2):m.start()]):
            continue
        if lex.reopen_re is not None and lex.reopen_re.search(_blank(lex.reopen_not_re, w)[0], m.end(), m.end() + 20):
            continue  # "修好了,但是又坏了" (not "味道散了,但还是不放心")
        if kind == "stopped" and lex.absence_re is not None:
            c0, _ = _bounds(w, m.start(), _CLAUSE_END, limit=20)
            if lex.absence_re.search(w, c0, m.end()):
                continue  # "灭火器已经没有了": missing equipment is the hazard
        if kind == "not":
            start = m.start()
        elif kind == "stopped" or kind == "clear" and _SAID_BEFORE.search(w, max(0, m.start() - 3), m.start()):
            # "no longer", or an all-clear someone else claims ("物业说没问题"): it speaks of its own clause only,
            # not of the problem the writer states before it ("一直有焦糊味 已经闻了好几天了 物业说没问题")
            # "no longer" speaks of its own clause: "堆了好多杂物,没有人充电了" keeps the 杂物
            start = _bounds(w, m.start(), _CLAUSE_END, limit=40)[0]
        else:
            start = _bounds(w, m.start(), _SENT_END, limit=80)[0]
        for z0, z1, _ in zones:
            if z0 <= start < z1:
                start = z1
        if start < m.end():
            zones.append((start, m.end(), kind))
    return zones


# reported speech right before an all-clear: "物业说没问题", "他们说是已经修好了"
_SAID_BEFORE = re.compile(r"说(?:是|都|已经)?$")


def _closed_regions(w: str, zones_k) -> list[tuple[int, int]]:
    """What an all-clear / no-longer zone speaks for: the zone and the rest of its last clause
    ("修好了电梯"). Denials ("不是X,是Y") speak for nothing: Y is asserted."""
    return [(a, _bounds(w, max(a, b - 1), _CLAUSE_END, limit=40)[1]) for a, b, k in zones_k if k != "not"]


def _in_zones(pos: int, zones) -> bool:
    return any(z0 <= pos < z1 for z0, z1 in zones)


def _clause_start(text: str, pos: int, limit: int) -> int:
    """`_bounds(text, pos, _CLAUSE_END, limit)[0]` without looking for the clause's end."""
    start = max(0, pos - limit)
    for m in _CLAUSE_END.finditer(text, start, pos + 1):
        start = min(m.end(), pos)
    return start


def _negated(w: str, pos: int, cues: re.Pattern | None, span: int) -> bool:
    """One of the `cues` in the `span` characters before `pos`, within its clause."""
    return _has_in(cues, w, max(_clause_start(w, pos, span + 2), pos - span), pos)


def _negates_trigger(w: str, pos: int, cues: re.Pattern | None, span: int = 5,
                     nouns: re.Pattern | None = None) -> bool:
    """A negation cue in the `span` characters before an urgent trigger, within its clause, that is
    not the modifier of a noun in between ("没盖的坑里摔了": 没 belongs to 盖的, not to 摔了) nor part
    of a noun (`nouns`: "防护网整个倒下来了" has no 防 of prevention)."""
    if cues is None:
        return False
    lo = max(_clause_start(w, pos, span + 2), pos - span)
    return any("的" not in w[m.end():pos] and not _in_noun(w, m, nouns) for m in cues.finditer(w, lo, pos))


def _in_noun(w: str, m: re.Match, nouns: re.Pattern | None) -> bool:
    """The cue `m` lies inside one of the `nouns` ("消防通道", "防盗门")."""
    if nouns is None:
        return False
    return any(n.start() <= m.start() < n.end() for n in nouns.finditer(w, max(0, m.start() - 3), m.end() + 3))


def _has_in(pat: re.Pattern | None, text: str, start: int, end: int) -> bool:
    """`pat` occurs inside text[start:end]."""
    return pat is not None and start < end and pat.search(text, start, end) is not None


def _scan(w: str, lex: Lexicon, zones, head_end: int = 0) -> _Scan:
    """Keywords, regular-expression keywords and urgent rules over the analysis text. Hits
    before `head_end` (the title or first sentence of a long message) weigh more."""
    sc = _Scan()
    _scan_keywords(w, lex, zones, head_end, sc)
    for rx, kind, target, weight in lex.patterns:
        m = rx.search(w)
        if m is None or _in_zones(m.start(), zones):
            continue
        sc.live_hits += 1
        sc.live_pos.append(m.start())
        sc.add(kind, target, weight, m.group(0), m.start(), _category_of(kind, target, lex))
    if lex.urgent_re is not None:
        _scan_urgent(w, lex, zones, sc)
    return sc


def _scan_keywords(w: str, lex: Lexicon, zones, head_end: int, sc: _Scan) -> None:
    seen: set[str] = set()
    if lex.keyword_re is None:
        return
    where = [m.span() for m in lex.landmark_clause_re.finditer(w)] if lex.landmark_clause_re is not None else []
    for m in lex.keyword_re.finditer(w):
        word, pos = m.group(0), m.start()
        if _in_zones(pos, zones):
            continue
        if word not in lex.absence_is_hazard and _negated(w, pos, _ITEM_NEG, 3):
            continue
        targets = lex.keywords[word]
        if not targets:
            continue  # neutral phrase
        sc.live_hits += 1
        sc.live_pos.append(pos)
        if word in seen:
            continue  # each distinct word counts once
        seen.add(word)
        factor = _HEAD_WEIGHT if pos < head_end else 1.0
        landmark = lex.landmark_re is not None and lex.landmark_re.match(w, m.end()) is not None \
            or _has_in(lex.landmark_before_re, w, max(0, pos - 14), pos) or _in_zones(pos, where)
        if landmark:
            factor *= _LANDMARK_WEIGHT  # "变压器正对面", "消防通道口": the hazard word only says where
        for kind, target, weight in targets:
            sc.add(kind, target, weight * factor, word, pos, None if landmark else _category_of(kind, target, lex))


def _category_of(kind: str, target: str, lex: Lexicon) -> str:
    return lex.item_category.get(target, target) if kind == "item" else target


def _urgent_cancelled(w: str, lex: Lexicon, zones, m: re.Match, emergency: bool) -> bool:
    """Negated ("没有闻到煤气味"), hypothetical ("万一着火"), a rule ("着火时") or past
    ("上个月着过火") unless the sentence says it is still going on."""
    pos, end = m.start(), m.end()
    suspected = any(r.hazard in _SUSPECTED for r in lex.urgent_by_trigger.get(m.group(0), ()))
    if _in_zones(pos, zones) or _negates_trigger(_suspect(w, pos) if suspected else w, pos, lex.negation_before_re,
                                                   nouns=lex.not_negation_re):
        return True
    if pos > 0 and w.endswith(lex.negation_immediate, 0, pos):
        return True
    after = lex.negation_after_re
    c0, c1 = _bounds(w, pos, _CLAUSE_END, limit=40)
    if not emergency and after is not None and any(after.match(w, p) for p in range(end, min(end + 3, c1))):
        return True  # a word starting right after, or one or two characters later, in the trigger's clause
    if _has_in(lex.past_re, w, c0, pos) and not _has_in(lex.present_re, w, c0, c1) \
            and not _has_in(lex.still_now_re, w, c1, min(len(w), c1 + _PRESENT_AFTER)):
        return True
    if not emergency and _habitual(w, lex, c0, c1, pos):
        return True  # "楼道头偶尔有股煤气味", "一到下雨就闪火花", "输了钱就打架": it recurs, it is not on now
    if not emergency and lex.gone_now_re is not None and lex.gone_now_re.search(w, end, _bounds(w, pos, _SENT_END, limit=80)[1]):
        return True  # "…有股煤气味,一阵一阵的,这会儿又闻不到了": gone by now
    # a time long gone earlier in the sentence ("上个月电梯困过人,老人在里面关了一个小时")
    s0, _ = _bounds(w, pos, _SENT_END, limit=50)
    if not emergency and _has_in(lex.hypothetical_re, w, s0, pos) and not _has_in(lex.present_re, w, c0, c1):
        return True  # "如果遇到有人落水,不会游泳应该怎么救", "假如说晚上电梯坏了把人关在里头"
    # a present cue must be near: in a run-on the "又" of a later complaint does not revive the story
    c1 = min(c1, end + _PRESENT_AFTER)
    return (_has_in(lex.past_narrative_re, w, s0, pos) or _past_year(w, s0, pos)) \
        and not _has_in(lex.present_re, w, s0, c1)


def _habitual(w: str, lex: Lexicon, c0: int, c1: int, pos: int) -> bool:
    """A frequency or habit cue in the trigger's clause ("偶尔", "时不时", "一到下雨就") and no present
    cue after it ("经常停电 现在又冒烟了" is on now)."""
    if lex.habitual_re is None:
        return False
    m = lex.habitual_re.search(w, c0, c1)
    return m is not None and not _has_in(lex.present_re, w, m.end() if m.start() < pos else c0, c1)


_PRESENT_AFTER = 12  # how far after a trigger told as past a word saying it is still so may stand
_YEAR = re.compile(r"((?:19|20)\d\d)年(?!代)")  # "记得2019年…", "2020年8月,我们小区5号楼的电梯…"


def _past_year(w: str, start: int, end: int) -> bool:
    """A year before this one, written in full, in w[start:end]: the story of an incident long over."""
    this_year = _date.today().year
    return any(int(m.group(1)) < this_year for m in _YEAR.finditer(w, start, end))


_SUSPECT = "是不是"
_SUSPECTED = frozenset({"gas", "electric", "fire", "collapse", "casualty"})  # a leak is reported as a suspicion: "是不是漏气了"


def _suspect(w: str, pos: int) -> str:
    """`w` with a suspicion ("是不是漏电了", "是不是哪家漏气了", "是不是被车撞了") just before `pos`
    blanked: its 不是 asks whether the danger is there, it does not deny it."""
    i = w.rfind(_SUSPECT, max(0, pos - 7), pos)
    return w if i < 0 else w[:i] + "   " + w[i + 3:]


def _unless_near(w: str, rule, m: re.Match, s0: int, s1: int, lex: Lexicon | None) -> bool:
    """One of the rule's `unless` words within 20 characters of the trigger (whole span: "在烧|烤摊" is
    烧烤), but not inside a name that only contains it ("防火门") nor a past word a present cue between
    it and the trigger revives ("去年就塌过一回,今天又在掉砖头了")."""
    if not rule.unless:
        return False
    a = max(s0, m.start() - 20)
    near = w[a:min(s1, m.end() + 20)]
    if lex is not None and lex.unless_masks_re is not None:
        near = lex.unless_masks_re.sub(lambda x: "~" * len(x.group(0)), near)
    for u in rule.unless:
        i = near.find(u)
        while i >= 0:
            j = a + i + len(u)
            if not (lex is not None and u in lex.past_words and j <= m.start()
                    and _has_in(lex.present_re, w, j, m.end())):
                return True
            i = near.find(u, i + 1)
    return False


def _rule_fires(w: str, rule, m: re.Match, s0: int, s1: int, lex: Lexicon | None = None) -> bool:
    pos, end = m.start(), m.end()
    if _unless_near(w, rule, m, s0, s1, lex):
        return False
    if not rule.with_:
        return True
    if rule.window:
        ctx = w[max(0, pos - rule.window):pos] + "|" + w[end:end + rule.window]
    else:
        ctx = w[s0:pos] + "|" + w[end:s1]
    ctx = _NOT_WITH.sub("~", ctx)
    return any(x in ctx for x in rule.with_)


# context words that only look like a rule's `with` words: nobody there ("莫得人管"), a place name
# ("人民路", "人行道"), a request ("尽快来看看" is not 快来), a door or a call that fails ("门打不开" is no 打)
_NOT_WITH = re.compile(r"没有?人|莫得人|无人|人民|人行(?!道)|尽快|[江河湖塘池](?:路|街|巷|大道)|打不[开通燃着]")


def _scan_urgent(w: str, lex: Lexicon, zones, sc: _Scan) -> None:
    emergency = lex.emergency_re is not None and lex.emergency_re.search(w) is not None
    at, shadow = 0, 0
    while (m := lex.urgent_re.search(w, at)) is not None:
        # a trigger none of whose rules fire does not hide one running past its end ("现在动手了" is 动手了,
        # not 在动); one inside it stays hidden ("都快打起来了" is no 打起来了)
        at = m.start() + 1
        if m.end() <= shadow:
            continue
        shadow = m.end()
        if _urgent_cancelled(w, lex, zones, m, emergency):
            sc.urgent_cancelled = True
            at = m.end()  # negated, past, hypothetical: so is what overlaps it ("要被困住了")
            continue
        word, pos = m.group(0), m.start()
        s0, s1 = _bounds(w, pos, _SENT_END, limit=30)
        for rule in lex.urgent_by_trigger.get(word, ()):
            if not _rule_fires(w, rule, m, s0, s1, lex):
                if _unless_near(w, rule, m, s0, s1, lex):
                    at = m.end()  # another sense: so is what overlaps it
                continue
            at = m.end()
            if word not in sc.urgent_words:
                sc.urgent_words.append(word)
            if sc.urgent_pos is None:
                sc.urgent_pos = pos
            sc.hazards.add(rule.hazard)
            if rule.item:
                sc.urgent_items[rule.item] = max(sc.urgent_items.get(rule.item, 0.0), rule.boost)
            if rule.category:
                sc.urgent_cats[rule.category] = max(sc.urgent_cats.get(rule.category, 0.0), rule.boost)
            if rule.size and _SIZES.index(rule.size) > _SIZES.index(sc.urgent_size or "小"):
                sc.urgent_size = rule.size


def _category_code(value: str | None, lex: Lexicon) -> str | None:
    if not value:
        return None
    v = clean(str(value)).strip()
    codes = {c.code for c in lex.taxonomy.categories}
    if v in codes:
        return v
    if v in lex.category_names:
        return lex.category_names[v]
    if lex.category_name_re is not None:
        m = lex.category_name_re.search(v)
        if m:
            return lex.category_names[m.group(0)]
    item = lex.taxonomy.item(v)
    return item.category if item else None


def _truthy(value, lex: Lexicon) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in lex.urgent_yes


# ------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------
def find_place(text: str, taxonomy: Taxonomy | None = None) -> str | None:
    """The place a message names, as written ("锦城花园A区5栋2单元"), whether or not it is a report:
    for answers to "where is it?"."""
    c = clean(text or "")
    return as_written(text, _runtime(taxonomy or default_taxonomy()).places.best(c)) if c else None


def vague_place(place: str | None, taxonomy: Taxonomy | None = None) -> bool:
    """A place that names no estate or road ("3栋", "5号楼电梯口"): in a community of several
    estates nobody can go there without asking."""
    c = clean(place or "")
    return bool(c) and _runtime(taxonomy or default_taxonomy()).places.vague(c)


@dataclass
class _Msg:
    """One message, prepared for matching."""
    text: str                 # as written
    c: str                    # cleaned (what locations are found in)
    w: str                    # analysis text: rewritten, lead-ins and other senses blanked
    form: object | None
    form_fields: dict
    f_desc: object
    forced_cat: str | None
    forced_item: object | None
    senses: bool              # a hazard word in another sense was blanked ("燃气费")
    unblanked: str            # the analysis text before that: scope cues read it ("燃气费" is a bill)
    head_end: int             # end of the title / first sentence of a long message, else 0
    field_note: bool = False  # it opens with a worker's field-note head ("巡查:")
    chatter: bool = False
    zones_k: list = field(default_factory=list)
    zones: list = field(default_factory=list)
    bare: str = ""


def _blank(rx: re.Pattern | None, w: str) -> tuple[str, bool]:
    if rx is None:
        return w, False
    out = rx.sub(lambda m: " " * len(m.group(0)), w)
    return out, out != w


def _prepare(text: str, fields: dict, rt: _Runtime) -> _Msg:
    lex = rt.lex
    c = clean(text or "")
    form = rt.forms.read(c) if c else None
    form_fields = form.fields if form else {}
    f_desc = fields.get("description")
    analysis = c
    if form is not None and form.category_span:
        a, b = form.category_span
        analysis = c[:a] + " " * (b - a) + c[b:]
    if isinstance(f_desc, str) and f_desc.strip():
        extra = clean(f_desc)
        if extra not in analysis:
            analysis = (analysis + "。" + extra) if analysis else extra
    w = rewrite(analysis, lex.rewrite, lex.rewrite_re)
    # forwarding lead-ins ("转发一下:", "帮邻居问下") say nothing about the hazard
    w, _ = _blank(lex.lead_in_re, w)
    note = lex.field_note_re.match(w) if lex.field_note_re is not None else None
    if note:
        w = " " * note.end() + w[note.end():]  # "报备核查:" names the note, not a licence question
    unblanked = w
    w, senses = _blank(lex.senses_re, w)
    forced_cat = _category_code(fields.get("category"), lex) or _category_code(form_fields.get("category"), lex)
    forced_item = lex.taxonomy.item(fields.get("item")) if fields.get("item") else None
    if forced_item is not None:
        forced_cat = forced_item.category
    head_end = 0
    if len(w) >= _LONG:
        m = _SENT_END.search(w)
        head_end = m.start() if m and m.start() <= 60 else min(len(w), 40)
    msg = _Msg(text=text, c=c, w=w, form=form, form_fields=form_fields, f_desc=f_desc, forced_cat=forced_cat,
               forced_item=forced_item, senses=senses, unblanked=unblanked, head_end=head_end,
               field_note=note is not None)
    msg.bare = _STRIP_CHATTER.sub("", w)
    msg.chatter = not msg.bare or (lex.chatter_re is not None and lex.chatter_re.fullmatch(msg.bare) is not None)
    msg.zones_k = _clear_zones_kinds(w, lex)
    msg.zones = [(a, b) for a, b, _ in msg.zones_k]
    return msg


@dataclass
class _Rank:
    item_score: dict[str, float]
    best_cat: str | None
    best_score: float
    runner_up: float


def _rank(sc: _Scan, msg: _Msg, lex: Lexicon, stats: _Stats) -> _Rank:
    """Category totals (best item + category words + urgent boosts); a near-tie goes to the model."""
    tax = lex.taxonomy
    item_score = dict(sc.item_score)
    for name, boost in sc.urgent_items.items():
        item_score[name] = item_score.get(name, 0.0) + boost
    cat_only = dict(sc.cat_score)
    for code, boost in sc.urgent_cats.items():
        cat_only[code] = cat_only.get(code, 0.0) + boost
    totals: dict[str, float] = {}
    firsts: dict[str, int] = {}
    scored = set(cat_only) | {lex.item_category[i] for i in item_score if i in lex.item_category}
    for cat in tax.categories:
        if cat.code not in scored:
            continue  # nothing for it: its total is 0
        t = max((item_score.get(i.name, 0.0) for i in cat.items), default=0.0) + cat_only.get(cat.code, 0.0)
        if t > 0:
            totals[cat.code] = t
            pos = [sc.item_first[i.name] for i in cat.items if i.name in sc.item_first]
            if cat.code in sc.cat_first:
                pos.append(sc.cat_first[cat.code])
            firsts[cat.code] = min(pos) if pos else 10 ** 9
    ranked = sorted(totals, key=lambda k: (-totals[k], -sc.urgent_cats.get(k, 0.0), firsts.get(k, 0)))
    if not msg.forced_cat and len(ranked) >= 2 and totals[ranked[0]] - totals[ranked[1]] < _MODEL_TIE:
        close = [k for k in ranked if totals[ranked[0]] - totals[k] < _MODEL_TIE]
        p = stats.categories()
        ranked = sorted(close, key=lambda k: -(totals[k] + _MODEL_TIE_WEIGHT * p.get(k, 0.0))) \
            + [k for k in ranked if k not in close]
    # a category only landmarks point at ("消防栓旁边那个排水沟盖板没了") is not the topic: the next one named
    # as one, else category other
    if not msg.forced_cat and ranked and ranked[0] not in sc.named and ranked[0] not in sc.urgent_cats \
            and not any(lex.item_category.get(i) == ranked[0] for i in sc.urgent_items):
        topic = [k for k in ranked if k in sc.named or k in sc.urgent_cats]
        if not topic:
            totals["other"] = max(totals.get("other", 0.0), totals[ranked[0]])  # the gate still weighs the words
        ranked = (topic or ["other"]) + [k for k in ranked if k not in topic]
    best_cat = msg.forced_cat or (ranked[0] if ranked else None)
    return _Rank(item_score=item_score, best_cat=best_cat, best_score=totals.get(best_cat, 0.0) if best_cat else 0.0,
                 runner_up=next((totals[k] for k in ranked if k != best_cat), 0.0))


def _urgent_flag(sc: _Scan, fields: dict, msg: _Msg, lex: Lexicon) -> bool:
    if "urgent" in fields and fields["urgent"] is not None:
        return _truthy(fields["urgent"], lex)
    return bool(sc.urgent_words) or bool(msg.form_fields.get("urgent") and _truthy(msg.form_fields["urgent"], lex))


@dataclass
class _Evidence:
    """What the report gate looks at, beyond the scores."""
    live: str                 # analysis text with all-clear zones and accidental cue phrases blanked
    problem: int
    strong: bool
    discovery: bool
    rest_problem: bool        # a problem named outside what the all-clear wording speaks for
    thanks_clear: bool


def _evidence(msg: _Msg, sc: _Scan, lex: Lexicon) -> _Evidence:
    w, zones = msg.w, msg.zones
    live = _mask(w, zones)
    for phrase in _CUE_BLANK:
        live = live.replace(phrase, " " * len(phrase))
    strong = _has(lex.strong_problem_re, live)
    # all clear only if nothing outside what the all-clear / no-longer wording speaks for names a
    # problem: "水箱已经不漏了,但墙上全是裂缝,谢谢" is a report
    closed = _closed_regions(w, msg.zones_k)
    rest = _mask(live, closed)
    rest_problem = _has(lex.problem_re, rest) or _has(lex.strong_problem_re, rest)
    return _Evidence(
        live=live, problem=len(lex.problem_re.findall(live)) if lex.problem_re is not None else 0,
        strong=strong, discovery=_has(lex.discovery_re, live) or strong, rest_problem=rest_problem,
        thanks_clear=bool(closed) and _has(lex.thanks_re, w) and not rest_problem
        and all(_in_zones(p, closed) for p in sc.live_pos))


def _mask(text: str, zones) -> str:
    """`text` with the zones blanked (same length, so positions still line up)."""
    for a, b in zones:
        b = min(b, len(text))
        if a < b:
            text = text[:a] + " " * (b - a) + text[b:]
    return text


def _has(pat: re.Pattern | None, text: str) -> bool:
    return pat is not None and pat.search(text) is not None


def _gate(msg: _Msg, sc: _Scan, rank: _Rank, urgent: bool, ev: _Evidence, stats: _Stats,
          lex: Lexicon) -> tuple[bool, str]:
    """Report or not, and why not: chatter, notice, all_clear, weak or unsure (the model alone
    thinks it reads like a report: the bot asks instead of filing)."""
    w, form, zones, score = msg.w, msg.form, msg.zones, rank.best_score
    if msg.chatter:
        return False, "other_sense" if msg.senses and not msg.bare else "chatter"
    if urgent:
        if _has(lex.notice_strong_re, _blank(lex.notice_not_re, w)[0]) and not ev.discovery and not _has(lex.emergency_re, w):
            return False, "notice"  # "温馨提示:发现有人溺水不要盲目施救"
        return True, ""
    marker = form is not None and form.marker
    if _has(lex.elsewhere_re, w) and not _has(lex.discovery_re, lex.elsewhere_re.sub(" ", ev.live)) and not marker:
        return False, "notice"  # "新闻上说外地有个小区着火了"
    if marker and not msg.form_fields and not msg.forced_cat and score == 0 and sc.live_hits == 0 \
            and not _has(lex.problem_re, form.rest) and not _has(lex.strong_problem_re, form.rest) \
            and (len(_STRIP_CHATTER.sub("", form.rest)) < 6 or _Stats(form.rest, stats.tax).p_report() < _MODEL_REPORT_MIN):
        return False, "weak"  # "上报一下", "上报街道了,等回复": a marker naming no hazard
    if marker or msg.form_fields:
        all_clear = bool(zones) and sc.live_hits == 0 and not msg.forced_cat
        return (False, "all_clear") if all_clear else (True, "")
    head = _blank(lex.notice_not_re, w[:msg.head_end] if msg.head_end else w)[0]
    if _has(lex.notice_re, head) and not ev.discovery:
        return False, "notice"  # a long complaint that mentions 安排 or 组织 is no group notice
    if zones and (sc.live_hits == 0 and not ev.rest_problem or ev.thanks_clear) \
            and not _has(lex.reopen_re, w[zones[-1][1]:]):
        return False, "all_clear"
    if (_has(lex.positive_re, ev.live) or _has(lex.inquiry_re, ev.live)) and not ev.strong:
        return False, "chatter"
    problem, long_enough = ev.problem, len(msg.bare)
    if score >= 2.0 or (score >= 1.0 and problem >= 1) or (score > 0 and problem >= 2):
        return True, ""
    if score >= 1.0 and long_enough >= 8 and not zones and stats.p_report() >= _MODEL_CORROBORATE:
        return True, ""  # a hazard word the rules trust a little ("全堆出来", "后面睡人") and a model sure it is a report
    if (problem >= 2 or ev.strong and problem >= 1) and long_enough >= 8 and not zones:
        # problem words but no hazard named: the model would have to pick the topic alone
        return (True, "") if score > 0 else (False, "unsure")
    if (score > 0 or problem >= 1) and long_enough >= 6 and not zones and (
            stats.p_report() >= _MODEL_REPORT_MIN or score == 0 and (ev.strong or stats.p_report() >= _MODEL_SURE_NONE)):
        # the words are thin but the message reads like a report, or it says something is wrong
        # without naming a hazard and the model is not sure it is none, or says so strongly ("这里好危险哦",
        # whatever the model says): ask
        return False, "unsure"
    return False, "weak"


def _story(msg: _Msg, lex: Lexicon) -> bool:
    """A story of something long over ("前年冬天我们楼下那家人…后来…"): a narrative or past opening,
    told as a story, and no word saying it is still so (`[story] ongoing`, the urgent rules' `present`)."""
    w = msg.unblanked.lstrip()
    if _has(lex.story_resolved_re, w) and not _has(lex.reopen_re, w):
        return True  # "以前这条巷子天天有人打架,自从装了监控安静多了": over, and fixed since
    if lex.story_open_re is None or lex.story_open_re.search(w) is None or not _has(lex.story_told_re, w):
        return False
    if len(w) >= _LONG:
        # a long story's "还是城乡结合部" is part of the tale: only its close can say it is still so
        close = _blank(lex.story_reflection_re, w[int(len(w) * (1 - lex.story_ongoing_tail)):])[0]
        return not _has(lex.story_still_re, close)
    now = _blank(lex.story_reflection_re, w)[0]
    return not _has(lex.story_ongoing_re, now) and not _has(lex.present_re, now)


def _describes_defect(live: str, lex: Lexicon) -> bool:
    """A defect or hazard stated, not denied ("家里也没漏水" states none)."""
    if lex.defect_re is None:
        return False
    return any(not _negated(live, m.start(), _ITEM_NEG, 2) for m in lex.defect_re.finditer(live))


def _scope(msg: _Msg, ev: _Evidence, score: float, lex: Lexicon, request_topic: bool = False) -> str | None:
    """Why a message is outside the bot's scope (question, billing, licensing, service_complaint,
    suggestion, ...): one of the reason's cues, no defect or hazard described anywhere, and no
    hazard named strongly enough to stand alone ("散装汽油"). A suggestion whose topic is an item
    that is a request by nature (`request_topic`: "建议开展消防宣传") is a report of that item."""
    firm = next((reason for reason, rx in lex.scope_firm.items() if rx.search(msg.unblanked)), None)
    if firm is not None:
        return firm
    if len(ev.live) >= _LONG:
        title = next((reason for reason, rx in lex.scope_title.items() if rx.match(msg.unblanked.lstrip())), None)
        if title is not None and not (request_topic and title == "suggestion"):
            return title  # a message-board post titled as a suggestion or an opinion
    if not lex.scope or score >= _SCOPE_TOPIC and len(ev.live) < _LONG or _describes_defect(ev.live, lex):
        return None
    reason = next((reason for reason, rx in lex.scope.items() if rx.search(msg.unblanked)), None)
    return None if request_topic and reason == "suggestion" else reason


def _request_topic(rank: _Rank, lex: Lexicon) -> bool:
    """The leading item of the best category is one whose reports are requests ("消防宣传")."""
    if not lex.request_items or rank.best_cat is None:
        return False
    cat = lex.taxonomy.category(rank.best_cat)
    scored = [(rank.item_score.get(i.name, 0.0), i.name) for i in (cat.items if cat else ())]
    top = max(scored, default=(0.0, None))
    return top[0] > 0 and top[1] in lex.request_items


def _decide(msg: _Msg, sc: _Scan, rank: _Rank, urgent: bool, ev: _Evidence, stats: _Stats, fields: dict,
            lex: Lexicon) -> tuple[bool, str]:
    """Report or not and why not: the rules' gate, the scope, then the model's veto and ask."""
    report, reason = _gate(msg, sc, rank, urgent, ev, stats, lex)
    free_text = not msg.forced_cat and not msg.form_fields and not (msg.form and msg.form.marker)
    if report and not urgent and free_text:
        out_of_scope = _scope(msg, ev, rank.best_score, lex, _request_topic(rank, lex))
        if _story(msg, lex):
            report, reason = False, "past"
        elif out_of_scope and stats.model and stats.p_report() >= _MODEL_KEEP \
                and not any(rx.search(msg.unblanked) for rx in lex.scope_firm.values()):
            pass  # a scope cue in a message that plainly reads as a hazard report ("能不能组织一次…")
        elif out_of_scope:
            report, reason = False, out_of_scope
        elif stats.model and stats.p_report() < _MODEL_VETO and (
                stats.p_report() < _MODEL_VETO_ANY and not _named_with_request(rank, ev, lex)
                or not ev.strong and not ev.problem and not _describes_defect(ev.live, lex)):
            # hazard words, but the message reads like none of the reports the model was trained on
            report, reason = False, "other_sense" if msg.senses else "unsure"
    if not report and reason in ("weak", "chatter", "unsure") and not msg.chatter:
        reason = _scope(msg, ev, rank.best_score, lex, _request_topic(rank, lex)) or ("other_sense" if msg.senses else reason)
    if not report and reason == "weak" and free_text and not msg.zones and len(msg.bare) >= 6 \
            and stats.model and stats.p_report() >= _MODEL_ASK:
        reason = "unsure"  # no hazard words the rules trust, but it reads like a report: ask
    if not report and reason in ("weak", "unsure") and free_text and msg.field_note and (rank.best_score > 0 or ev.problem):
        report, reason = True, ""  # a worker's field note naming a hazard or a problem thinly: filed
    if "report" in fields and fields["report"] is not None:
        report = bool(fields["report"])
    if msg.forced_cat and "report" not in fields:
        report = True
    return report, reason


def _said_now(w: str, pos: int | None, lex: Lexicon) -> bool:
    """The first danger word's clause says it is going on now ("刚才掉了一大片砸在车棚上"): told calmly in a
    long message, it is still an emergency, whatever the model reads in the calm."""
    return pos is not None and _has_in(lex.said_now_re, w, _clause_start(w, pos, 30), min(len(w), pos + _PRESENT_AFTER))


def _titled_not_now(msg: _Msg, lex: Lexicon) -> bool:
    """A message-board post with a title ("标题:…内容:…", "【电梯安全】…") whose words never say the danger
    is on now ("现在", "正在", "刚才", "紧急", "着火了"): written at leisure, a complaint, not a cry for help."""
    return lex.title_re is not None and lex.title_re.match(msg.w) is not None and not _has(lex.now_re, msg.w)


def _named_with_request(rank: _Rank, ev: _Evidence, lex: Lexicon) -> bool:
    """A hazard named plainly (keyword score >= _SCOPE_TOPIC) and a request to act on it ("那个塘很深
    前年淹死过人的 你们管一下"): the model's lowest veto does not drop it (the < 0.4 veto still may)."""
    return rank.best_score >= _SCOPE_TOPIC and _has(lex.act_request_re, ev.live)


def parse(text: str, fields: dict | None = None, taxonomy: Taxonomy | None = None) -> ParseResult:
    """Classify one message. `fields` (category/item/location/description/urgent/report) override."""
    tax = taxonomy or default_taxonomy()
    rt = _runtime(tax)
    lex, fields = rt.lex, fields or {}
    msg = _prepare(text, fields, rt)
    sc = _scan(msg.w, lex, msg.zones, msg.head_end) if not msg.chatter else _Scan()
    stats = _Stats(msg.unblanked, tax)
    rank = _rank(sc, msg, lex, stats)
    urgent = _urgent_flag(sc, fields, msg, lex)
    if urgent and sc.urgent_words and fields.get("urgent") is None and not msg.form_fields.get("urgent") \
            and not _has(lex.emergency_re, msg.w) and _story(msg, lex):
        urgent = False  # "说起燃气泄漏,前年冬天我们楼下那家人…还好邻居闻到了"
    ev = _evidence(msg, sc, lex)
    report, reason = _decide(msg, sc, rank, urgent, ev, stats, fields, lex)
    if report and urgent and sc.urgent_words and fields.get("urgent") is None and not msg.form_fields.get("urgent") \
            and not _has(lex.emergency_re, msg.w) and (
                not (sc.hazards & _NEVER_CALM) and len(msg.bare) >= _CALM_LEN and stats.model is not None
                and stats.p_urgent() < _MODEL_CALM and not _said_now(msg.w, sc.urgent_pos, lex) or _titled_not_now(msg, lex)):
        # a past incident, a hypothetical or a long complaint naming a danger word (or a board post with a
        # title that never says it is happening now): a report, not an emergency, if it is still filed as
        # one without the danger (the model never drops an emergency)
        calm = _decide(msg, sc, rank, False, ev, stats, fields, lex)
        if calm[0]:
            urgent = False
        elif stats.model is not None and stats.p_report() < _MODEL_VETO_ANY:
            report, reason = calm  # both heads say no: a story or a question naming a danger, not filed
    if not report:
        cry = reason in ("weak", "unsure", "chatter") and _has(lex.help_cry_re, msg.w) and not _JOKING.search(text)
        if cry:
            reason = "unsure"  # "救命 我们被关起了": a cry for help is asked about, never dropped
        ask = reason == "unsure"
        return ParseResult(report=False, confidence=_nonreport_conf(reason, rank.best_score),
                           why_not=reason or "weak", ask=ask,
                           maybe_danger=cry or ask and stats.model is not None
                           and stats.p_urgent() >= _MODEL_MAYBE_DANGER)
    if not urgent and fields.get("urgent") is None and not msg.form_fields.get("urgent") and stats.model is not None \
            and not sc.urgent_words and not sc.urgent_cancelled and stats.p_urgent() >= _MODEL_RESCUE and stats.p_report() >= _RESCUE_REPORT \
            and not _story(msg, lex) and not _has(lex.no_rescue_re, msg.w):
        # danger now in wording no rule knows (not "里面没人", "真的要命"); where the rules found a danger word and judged it not now
        # (negated, past, hypothetical: "昨天有个娃娃落水了 幸好被救起来了") the model does not overrule them
        urgent = True
    return _report(msg, sc, rank, urgent, stats, fields, rt)


def _report(msg: _Msg, sc: _Scan, rank: _Rank, urgent: bool, stats: _Stats, fields: dict,
            rt: _Runtime) -> ParseResult:
    item, category = _choose(msg, sc, rank, stats, rt.lex.taxonomy, urgent and not fields.get("category"),
                             rt.lex.venue_items)
    matched: list[str] = []
    if item is not None:
        matched += sc.item_words.get(item.name, [])
    matched += sc.cat_words.get(category, [])
    matched += [u for u in sc.urgent_words if u not in matched]
    margin = rank.best_score - rank.runner_up
    conf = 0.3 + 0.12 * min(rank.best_score, 4) + 0.1 * min(margin, 2)
    if msg.form_fields.get("category") or msg.forced_cat:
        conf += 0.15
    if item is None:
        conf -= 0.1
    conf = round(max(0.05, min(1.0, conf)), 2)
    # a danger to life now is a 大事 whatever the item
    size = "大" if urgent else (item.size if item else "中")
    f_desc = msg.f_desc
    return ParseResult(
        report=True, category=category, item=item.name if item else None,
        location=_locate(msg, sc, item, fields, rt), urgent=urgent, size=size, confidence=conf,
        matched=list(dict.fromkeys(matched)),
        description=f_desc if isinstance(f_desc, str) and f_desc.strip() else (msg.form_fields.get("description") or msg.c),
        hazard=_hazard_kind(msg, sc, item, category, rt.lex) if urgent else None,
        ask=not urgent and conf < _ASK_BELOW,
    )


_UNDER = re.compile("压(?:到|住|在|着)")
_SHUT_IN = re.compile("梯|困|关在|卡在|dt", re.I)  # a lift ("dt" as residents type 电梯) or people shut in


def _hazard_kind(msg: _Msg, sc: _Scan, item, category: str, lex: Lexicon) -> str:
    """The kind of danger the emergency reply follows: the gravest a rule found, else the item's or the
    category's, else what the text says. A person hurt by a thing that fell ("花盆砸到人 头在流血") needs 120
    first, and so does one hurt by equipment that is no lift ("锅炉漏蒸汽 师傅被烫到了"); a wire or a gas pipe
    that came down is electric or gas."""
    hinted, kind = _hinted_hazard(msg.c, lex), sc.hazard
    of_item = _ITEM_HAZARD.get(item.name) if item else None
    if kind == "collapse" and of_item in ("electric", "gas"):
        return of_item  # what fell is a live wire or a gas pipe ("掉下来的电线"): that first
    if kind is None:
        kind = of_item
        if kind == "trapped_lift" and not _SHUT_IN.search(msg.c):
            kind = hinted or "other"
    if kind == "collapse" and hinted == "casualty" and not _UNDER.search(msg.c):
        return "casualty"  # (someone under it, "压到人了", is a rescue: collapse)
    return kind or _CAT_HAZARD.get(category) or hinted or "other"


# the hazard kind of an urgent report no rule named (the model's rescue): from its item or category, else
# from what the text says ([hazard_hints])
_ITEM_HAZARD = {"燃气管道": "gas", "电气设施": "electric", "特种设备": "trapped_lift", "夏季水面安全": "drowning",
                "老旧危房": "collapse", "失修围墙": "collapse"}
_CAT_HAZARD = {"fire": "fire", "security": "violence"}


def _hinted_hazard(text: str, lex: Lexicon) -> str | None:
    return next((kind for kind, rx in lex.hazard_hints if rx.search(text)), None)


def _choose(msg: _Msg, sc: _Scan, rank: _Rank, stats: _Stats, tax: Taxonomy, urgent: bool = False,
            venue_items: frozenset[str] = frozenset()):
    """The item (keywords first; the model settles ties and thin evidence) and the category."""
    item, best_cat = msg.forced_item, rank.best_cat
    if urgent and sc.hazard == "casualty" and not msg.forced_cat and item is None and rank.best_score < _CASUALTY_TOPIC:
        # a person collapsed, fallen or hurt and no group or place named plainly: the model's category if it
        # is sure (a fall into an open manhole is traffic, an old mother fallen at home key_groups), else
        # category other, no item
        p = stats.categories()
        top = max(p, key=p.get) if p else None
        if top is None or p[top] < _MODEL_CAT_MIN or top == "other":
            return None, "other"
        name, pi = stats.item(top)
        return (tax.item(name) if name and pi >= _MODEL_ITEM_MIN else None), top
    if item is None and best_cat:
        cat = tax.category(best_cat)
        cands = [(rank.item_score.get(i.name, 0.0), -sc.item_first.get(i.name, 10 ** 9), i)
                 for i in (cat.items if cat else ())]
        cands = sorted((x for x in cands if x[0] > 0), key=lambda x: (x[0], x[1]), reverse=True)
        venue = next((x for x in cands if x[2].name in venue_items and x[0] >= _VENUE_MIN), None)
        if venue is not None:
            item = venue[2]  # the kind of place the hazard is in decides ("幼儿园…牛奶过期": 托幼养老机构)
        elif cands:
            top, second = cands[0], (cands[1][0] if len(cands) > 1 else 0.0)
            if top[0] >= 1.0 and top[0] >= 0.3 * sc.cat_score.get(best_cat, 0.0) and top[0] > second:
                item = top[2]
            elif top[0] >= 1.0 and top[0] == second:
                item = top[2]  # tie: first mentioned
            elif len(cands) >= 2:
                name, p = stats.item(best_cat, {x[2].name for x in cands})
                item = tax.item(name) if name and p >= _MODEL_ITEM_MIN else None
        elif not sc.urgent_items and not sc.cat_score.get(best_cat):
            name, p = stats.item(best_cat)
            item = tax.item(name) if name and p >= _MODEL_ITEM_MIN else None
    if best_cat is None and not msg.forced_cat:
        p = stats.categories()
        top_cat = max(p, key=p.get) if p else None
        if top_cat and p[top_cat] >= _MODEL_CAT_MIN and top_cat != "other":
            best_cat = top_cat
            name, pi = stats.item(top_cat)
            item = tax.item(name) if name and pi >= _MODEL_ITEM_MIN else None
    return item, best_cat or "other"


def _locate(msg: _Msg, sc: _Scan, item, fields: dict, rt: _Runtime) -> str | None:
    """As written: the resident's own characters (full-width digits, traditional script), not the
    cleaned text the matchers ran on; routing normalises place names itself (models/places.py).
    Of several places, the one nearest the item's or the danger's first mention."""
    given = fields.get("location")
    if isinstance(given, str) and given.strip():
        return given.strip()
    if msg.form_fields.get("location"):
        return as_written(msg.text, msg.form_fields["location"].strip() or None)
    focus = sc.item_first.get(item.name) if item is not None else None
    if focus is None:
        focus = sc.urgent_pos
    return as_written(msg.text, rt.places.best(msg.c, focus)) or None


def model_text(text: str, taxonomy: Taxonomy | None = None) -> str:
    """The text the statistical model scores (and is trained on): cleaned, rewritten, forwarding
    lead-ins blanked; other senses of hazard words are kept, so the model learns them too."""
    return _prepare(text, {}, _runtime(taxonomy or default_taxonomy())).unblanked


def _nonreport_conf(reason: str, score: float) -> float:
    base = {"chatter": 0.95, "notice": 0.8, "all_clear": 0.85, "weak": 0.7, "unsure": 0.5}.get(reason, 0.8)
    return round(max(0.3, base - 0.08 * min(score, 4)), 2)
