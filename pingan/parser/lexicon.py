"""Compiled matchers built from the taxonomy file plus pingan/data/parser_lexicon.toml.

Everything the parser listens for is data: item keywords/urgent words come from the
taxonomy, cue words / urgent rules / form labels / place suffixes from the lexicon. A
`Lexicon` is built once per (taxonomy, lexicon file) and cached.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pingan.errors import ConfigError
from pingan.parser.rx import Blanker, with_first_char_check, word_tree
from pingan.taxonomy import Taxonomy, parse_weighted_words


def _alternation(words, prefix: str = "", suffix: str = "") -> re.Pattern | None:
    words = sorted({w for w in words if w}, key=lambda w: (-len(w), w))
    if not words:
        return None
    return re.compile(with_first_char_check(prefix + "(?:" + word_tree(words) + ")" + suffix))


# "尽快来看看" is a request and "紧急呼叫按钮" a device, not a cry for help
_NOT_A_CRY = "(?!呼叫|按钮|出口|通道|联系|电话|疏散|预案|避险|情况下|处置|演练)"


@dataclass
class UrgentRule:
    name: str
    triggers: tuple[str, ...]
    with_: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    window: int | None = None
    item: str | None = None
    category: str | None = None
    boost: float = 2.0
    size: str | None = None  # minimum ticket size when the rule fires ("大" for fire, gas, collapse)
    hazard: str = "other"    # kind of danger to life (fire, gas, electric, collapse, ...)


@dataclass
class Lexicon:
    taxonomy: Taxonomy
    rewrite: dict[str, str]
    rewrite_re: re.Pattern | None
    # keyword → [(kind, target, weight)], kind "item" (target item name) or "cat" (category code)
    keywords: dict[str, list[tuple[str, str, float]]]
    keyword_re: re.Pattern | None
    urgent_rules: list[UrgentRule]
    urgent_by_trigger: dict[str, list[UrgentRule]]
    urgent_re: re.Pattern | None
    # negation / past / present word lists, each one alternation searched within a span
    negation_before_re: re.Pattern | None
    negation_immediate: tuple[str, ...]
    negation_after_re: re.Pattern | None
    emergency_re: re.Pattern | None
    help_cry_re: re.Pattern | None  # a cry for help alone ("救命"): never dropped, asked with a safety line
    past_re: re.Pattern | None
    past_narrative_re: re.Pattern | None
    hypothetical_re: re.Pattern | None
    present_re: re.Pattern | None
    still_now_re: re.Pattern | None
    field_note_re: re.Pattern | None  # a worker's field note's head ("巡查:")
    elsewhere_re: re.Pattern | None
    # regular-expression keywords ("住了十几个人", "摆了五十桌"): (pattern, kind, target, weight)
    patterns: list[tuple[re.Pattern, str, str, float]]
    positive_re: re.Pattern | None
    inquiry_re: re.Pattern | None
    strong_problem_re: re.Pattern | None
    notice_strong_re: re.Pattern | None
    absence_is_hazard: frozenset[str]
    clear_re: re.Pattern | None
    # "no longer" wording ("没有人充电了", "已经不漏了"): clear unless it names missing equipment;
    # `stopped_thanks_re` only when the message also thanks someone and asks for nothing
    stopped_re: re.Pattern | None
    stopped_thanks_re: re.Pattern | None
    request_re: re.Pattern | None
    # "不是着火,是…": the denied part (the match itself) does not count
    not_this_re: re.Pattern | None
    absence_re: re.Pattern | None
    # "转发一下:", "帮邻居问下": forwarding lead-ins, blanked before analysis
    lead_in_re: re.Pattern | None
    reopen_re: re.Pattern | None
    problem_re: re.Pattern | None
    notice_re: re.Pattern | None
    discovery_re: re.Pattern | None
    chatter_re: re.Pattern | None
    thanks_re: re.Pattern | None
    form: dict
    category_names: dict[str, str]
    category_name_re: re.Pattern | None
    urgent_yes: frozenset[str]
    # other senses of hazard words ("燃气费", "手机在充电"): blanked before anything is matched
    senses_re: Blanker | None = None
    # out-of-scope messages (question, billing, ...): reason → cue pattern, in the order tried
    scope: dict[str, re.Pattern] = field(default_factory=dict)
    # cues so plain (a price, how to pay a fee, what to do "if") that they hold whatever hazard or
    # defect the question names: "灭火器过期了,哪里充装,多少钱一瓶"
    scope_firm: dict[str, re.Pattern] = field(default_factory=dict)
    # cues that open a long message ("建议在城区主要路口增设…"): they hold even when the body
    # describes a defect; the model's keep still applies
    scope_title: dict[str, re.Pattern] = field(default_factory=dict)
    # a defect or hazard actually described ("坏了", "堵死", "没有护栏"): keeps a message in scope
    defect_re: re.Pattern | None = None
    # a story of something long over: its opening frame, and words that say it is still going on
    story_open_re: re.Pattern | None = None
    story_told_re: re.Pattern | None = None
    story_ongoing_re: re.Pattern | None = None
    story_reflection_re: re.Pattern | None = None  # "现在想起来都后怕": looking back, not still so
    story_ongoing_tail: float = 1.0                 # the closing share of a long story read for `story_still_re`
    story_still_re: re.Pattern | None = None        # a long story's close saying it is still so ("现在还是")
    # a story ending in how things are now, fixed ("以前…自从装了监控安静多了")
    story_resolved_re: re.Pattern | None = None
    # a request to act on a named hazard ("你们管一下", "能不能组织一次消防讲座")
    act_request_re: re.Pattern | None = None
    # right after a keyword, it is only a landmark: "变压器正对面", "消防通道口那家店"
    landmark_re: re.Pattern | None = None
    # right before a keyword, the same: "就在消防栓旁边" is handled above, "挨到配电房那段", "下面就是消防车道"
    landmark_before_re: re.Pattern | None = None
    # a clause that only says where: keywords inside it are landmarks ("就在消防栓旁边")
    landmark_clause_re: re.Pattern | None = None
    # places named after what goes on there ("社区活动中心", "会议室"): no group notice
    notice_not_re: re.Pattern | None = None
    location: dict = field(default_factory=dict)
    item_category: dict[str, str] = field(default_factory=dict)  # item name → its category code
    # the kind of danger of an urgent report that neither a rule nor its item or category names, by
    # what the text says, in order: a person hurt or unresponsive, then a thing coming down ([hazard_hints])
    hazard_hints: tuple[tuple[str, re.Pattern], ...] = ()
    # danger now or not, beyond negation/past/hypothetical (see [negation] in the lexicon): a recurring
    # condition ("偶尔有股煤气味", "一到下雨就闪火花"), gone by now ("这会儿又闻不到了"), a titled board
    # post that never says it is happening now, what the model's rescue must not overrule ("里面没人")
    habitual_re: re.Pattern | None = None
    gone_now_re: re.Pattern | None = None
    now_re: re.Pattern | None = None
    said_now_re: re.Pattern | None = None
    title_re: re.Pattern | None = None
    no_rescue_re: re.Pattern | None = None
    # names that contain a rule's `unless` word without its sense ("防火门" is no 防火 campaign)
    unless_masks_re: re.Pattern | None = None
    # nouns that hold a negation cue ("防护网", "消防通道"): the cue inside them negates nothing
    not_negation_re: re.Pattern | None = None
    # the `unless` words that only say "in the past": they do not veto a trigger a present cue revives
    past_words: frozenset[str] = frozenset()
    # wording that looks like a re-opening but only voices a worry ("但还是不放心")
    reopen_not_re: re.Pattern | None = None
    # items whose reports are requests by nature ("消防宣传"): a suggestion cue does not drop them
    request_items: frozenset[str] = frozenset()
    venue_items: frozenset[str] = frozenset()  # items naming a kind of place: they win where named plainly


_CLEAR_PATTERNS = [
    # "没发现什么安全隐患", "未发现明显异常", "无任何问题"
    r"(?:没有|没|未|无|并无|暂无|尚未)(?:发现|看到|查到|检查出|见|发生)?(?:什么|任何|明显|其他|啥|大的)?(?:的)?(?:安全)?(?:问题|隐患|异常|情况)",
    # "没有发现电瓶车入户充电的情况", "未发现群租现象", "没有群租情况"
    r"(?:没有|没|未)(?:发现|查到|看到|检查到)[^,。!?;]{1,14}?(?:的)?(?:情况|现象|问题|隐患|行为)",
    r"(?:没有|不存在|无)[^,。!?;]{1,8}?(?:情况|现象)",
]


def _blanker(patterns, source: str, where: str) -> Blanker | None:
    """Expressions only blanked (`sub`), built to run fast (rx.Blanker)."""
    patterns = [str(p) for p in patterns if p]
    try:
        return Blanker(patterns) if patterns else None
    except re.error as exc:
        raise ConfigError(f"{source}: {where}: bad regular expression ({exc})") from None


def _regexes(patterns, source: str, where: str) -> re.Pattern | None:
    """One alternation of regular expressions from the lexicon."""
    patterns = [str(p) for p in patterns if p]
    if not patterns:
        return None
    try:
        return re.compile(with_first_char_check("|".join(f"(?:{p})" for p in patterns)))
    except re.error as exc:
        raise ConfigError(f"{source}: {where}: bad regular expression ({exc})") from None


def _read_lexicon_text(path: str | Path | None) -> tuple[str, str]:
    if path is None:
        return resources.files("pingan.data").joinpath("parser_lexicon.toml").read_text("utf-8"), \
            "pingan/data/parser_lexicon.toml"
    try:
        return Path(path).read_text("utf-8"), str(path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read parser lexicon ({exc.strerror})") from None


# gravest first: when several rules fire the first kind found here is the result's
HAZARDS = ("fire", "gas", "electric", "trapped_lift", "collapse", "drowning", "violence", "casualty", "other")
# the hazard kind of the taxonomy's own per-item urgent words
_ITEM_HAZARD = {"燃气管道": "gas", "夏季水面安全": "drowning", "特种设备": "trapped_lift", "电气设施": "electric"}


def build_lexicon(taxonomy: Taxonomy, path: str | Path | None = None) -> Lexicon:
    data, source = _load(path)
    keywords = _keywords(data, taxonomy, source)
    rules = _urgent_rules(data, taxonomy, source)
    by_trigger: dict[str, list[UrgentRule]] = {}
    for rule in rules:
        for t in rule.triggers:
            by_trigger.setdefault(t, []).append(rule)
    rewrite = {str(k): str(v) for k, v in data.get("rewrite", {}).items()}
    neg = data.get("negation", {})
    clauses = data.get("clauses", {})
    cues = data.get("cues", {})
    forms = data.get("forms", {})
    cat_names = {str(k): str(v) for k, v in forms.get("category_names", {}).items()}
    for c in taxonomy.categories:
        cat_names.setdefault(c.name, c.code)
        cat_names.setdefault(c.code, c.code)
    scope_raw = data.get("scope", {})
    scope = {reason: rx for reason, pats in scope_raw.get("reasons", {}).items()
             if (rx := _regexes(pats, source, f"scope.reasons.{reason}")) is not None}
    scope_firm = {reason: rx for reason, pats in scope_raw.get("firm", {}).items()
                  if (rx := _regexes(pats, source, f"scope.firm.{reason}")) is not None}
    scope_title = {reason: rx for reason, pats in scope_raw.get("title", {}).items()
                   if (rx := _regexes(pats, source, f"scope.title.{reason}")) is not None}
    return Lexicon(
        taxonomy=taxonomy, rewrite=rewrite, rewrite_re=_alternation(rewrite),
        keywords=keywords, keyword_re=_alternation(keywords),
        urgent_rules=rules, urgent_by_trigger=by_trigger, urgent_re=_alternation(by_trigger),
        negation_before_re=_alternation(neg.get("before", [])),
        negation_immediate=tuple(neg.get("immediately_before", [])),
        negation_after_re=_alternation(neg.get("after", [])),
        emergency_re=_alternation(neg.get("emergency", []), "(?<!尽)", _NOT_A_CRY),
        help_cry_re=_alternation(neg.get("help_cry", []), "", _NOT_A_CRY),
        past_re=_alternation(neg.get("past", [])),
        past_narrative_re=_alternation(neg.get("past_narrative", [])),
        hypothetical_re=_alternation(neg.get("hypothetical", [])),
        present_re=_alternation(neg.get("present", [])),
        still_now_re=_alternation(neg.get("still_now", [])),
        field_note_re=re.compile(r"\s*(?:%s)\s*[:：]" % "|".join(map(re.escape, forms["field_notes"])))
        if forms.get("field_notes") else None,
        elsewhere_re=_alternation(cues.get("elsewhere", [])),
        habitual_re=_regexes(neg.get("habitual", []), source, "negation.habitual"),
        gone_now_re=_regexes(neg.get("gone_now", []), source, "negation.gone_now"),
        now_re=_alternation(neg.get("now", [])),
        said_now_re=_alternation(neg.get("said_now", [])),
        title_re=_regexes(cues.get("title", []), source, "cues.title"),
        no_rescue_re=_alternation(neg.get("no_rescue", [])),
        unless_masks_re=_alternation(neg.get("unless_not", [])),
        not_negation_re=_alternation(neg.get("not_negation", [])),
        past_words=frozenset(neg.get("past", [])) | frozenset(neg.get("past_narrative", [])),
        reopen_not_re=_alternation(clauses.get("reopen_not", [])),
        patterns=_patterns(data, taxonomy, source),
        positive_re=_alternation(cues.get("positive", []), prefix="(?<![不没])"),  # 不舒服 is no praise
        inquiry_re=_alternation(cues.get("inquiry", [])),
        strong_problem_re=_alternation(cues.get("strong_problem", [])),
        notice_strong_re=_alternation(cues.get("notice_strong", [])),
        absence_is_hazard=frozenset(neg.get("absence_is_hazard", [])),
        **_clause_matchers(clauses, cues, source),
        request_re=_alternation(clauses.get("request", [])),
        absence_re=_alternation(neg.get("absence_is_hazard", [])),
        reopen_re=_alternation(clauses.get("reopen", [])),
        problem_re=_alternation(cues.get("problem", [])), notice_re=_alternation(cues.get("notice", [])),
        discovery_re=_alternation(cues.get("discovery", [])),
        notice_not_re=_alternation(cues.get("notice_not", [])),
        thanks_re=_alternation(cues.get("thanks", [])),
        form=forms, category_names=cat_names, category_name_re=_alternation(cat_names),
        urgent_yes=frozenset(str(v).lower() for v in forms.get("urgent_values", {}).get("yes", [])),
        senses_re=_blanker(data.get("senses", {}).get("other", []), source, "senses.other"),
        scope=scope, scope_firm=scope_firm, scope_title=scope_title, defect_re=_regexes(scope_raw.get("defect", []), source, "scope.defect"),
        story_open_re=_regexes(data.get("story", {}).get("opener", []), source, "story.opener"),
        story_told_re=_regexes(data.get("story", {}).get("told", []), source, "story.told"),
        story_ongoing_re=_regexes(data.get("story", {}).get("ongoing", []), source, "story.ongoing"),
        story_reflection_re=_regexes(data.get("story", {}).get("reflection", []), source, "story.reflection"),
        story_ongoing_tail=float(data.get("story", {}).get("ongoing_tail", 1.0)),
        story_still_re=_regexes(data.get("story", {}).get("still", []), source, "story.still"),
        story_resolved_re=_regexes(data.get("story", {}).get("resolved", []), source, "story.resolved"),
        act_request_re=_regexes(cues.get("act_request", []), source, "cues.act_request"),
        landmark_re=_regexes(data.get("location", {}).get("landmark_after", []), source, "location.landmark_after"),
        landmark_before_re=_regexes([f"(?:{x})$" for x in data.get("location", {}).get("landmark_before", [])],
                                    source, "location.landmark_before"),
        landmark_clause_re=_regexes(data.get("location", {}).get("landmark_clause", []), source, "location.landmark_clause"),
        request_items=frozenset(scope_raw.get("request_items", [])),
        venue_items=frozenset(data.get("items", {}).get("venue", [])),
        location=data.get("location", {}),
        item_category={i.name: c.code for c in taxonomy.categories for i in c.items},
        hazard_hints=_hazard_hints(data.get("hazard_hints", {}), source),
    )


def _hazard_hints(raw: dict, source: str) -> tuple[tuple[str, re.Pattern], ...]:
    out = []
    for kind, pats in raw.items():
        if kind not in HAZARDS:
            raise ConfigError(f"{source}: hazard_hints.{kind}: not a hazard kind (one of {', '.join(HAZARDS)})")
        if (rx := _regexes(pats, source, f"hazard_hints.{kind}")) is not None:
            out.append((kind, rx))
    return tuple(out)


def _load(path: str | Path | None) -> tuple[dict, str]:
    text, source = _read_lexicon_text(path)
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None


def _keywords(data: dict, taxonomy: Taxonomy, source: str) -> dict[str, list[tuple[str, str, float]]]:
    """keyword → [(kind, target, weight)]: taxonomy item words, neutral phrases, category words."""
    keywords: dict[str, list[tuple[str, str, float]]] = {}
    for item in taxonomy.items():
        for word, weight in item.keywords.items():
            keywords.setdefault(word, []).append(("item", item.name, weight))
    for word in data.get("neutral", {}).get("words", []):
        keywords.setdefault(str(word), [])
    codes = {c.code for c in taxonomy.categories}
    for code, raw in data.get("category_keywords", {}).items():
        if code not in codes:
            continue  # a lexicon may mention categories a local taxonomy dropped
        for word, weight in parse_weighted_words(raw, f"{source}: category_keywords.{code}").items():
            keywords.setdefault(word, []).append(("cat", code, weight))
    return keywords


def _patterns(data: dict, taxonomy: Taxonomy, source: str) -> list[tuple[re.Pattern, str, str, float]]:
    codes = {c.code for c in taxonomy.categories}
    patterns: list[tuple[re.Pattern, str, str, float]] = []
    items = {i.name for i in taxonomy.items()}
    for n, raw in enumerate(data.get("patterns", [])):
        target_item, target_cat = raw.get("item"), raw.get("category")
        if target_item and target_item not in items or target_cat and target_cat not in codes:
            continue
        try:
            rx = re.compile(str(raw["re"]))
        except (KeyError, re.error) as exc:
            raise ConfigError(f"{source}: patterns[{n}]: bad or missing `re` ({exc})") from None
        kind, target = ("item", target_item) if target_item else ("cat", target_cat)
        if target:
            patterns.append((rx, kind, target, float(raw.get("weight", 2.0))))
    return patterns


def _urgent_rules(data: dict, taxonomy: Taxonomy, source: str) -> list[UrgentRule]:
    rules: list[UrgentRule] = []
    for n, raw in enumerate(data.get("urgent", [])):
        if raw.get("size") not in (None, "小", "中", "大"):
            raise ConfigError(f"{source}: urgent[{n}].size: must be one of 小/中/大, got {raw['size']!r}")
        if raw.get("hazard", "other") not in HAZARDS:
            raise ConfigError(f"{source}: urgent[{n}].hazard: must be one of {', '.join(HAZARDS)}, "
                              f"got {raw['hazard']!r}")
        rules.append(UrgentRule(
            name=raw.get("name", f"rule{n}"), triggers=tuple(raw.get("any", [])),
            with_=tuple(raw.get("with", [])), unless=tuple(raw.get("unless", [])),
            window=raw.get("window"), item=raw.get("item"), category=raw.get("category"),
            boost=float(raw.get("boost", 2.0)), size=raw.get("size"), hazard=raw.get("hazard", "other"),
        ))
    # the taxonomy's own per-item urgent words are rules pointing at that item, with one shared `unless`
    item_unless = tuple(data.get("urgent_items", {}).get("unless", []))
    for item in taxonomy.items():
        if item.urgent:
            rules.append(UrgentRule(name=f"item:{item.name}", triggers=tuple(item.urgent), item=item.name,
                                    boost=2.0, unless=item_unless, hazard=_ITEM_HAZARD.get(item.name, "other")))
    return rules


def _clause_matchers(clauses: dict, cues: dict, source: str) -> dict:
    """All-clear, no-longer, denial, lead-in and chatter matchers (Lexicon fields by name)."""
    clear_words = [re.escape(w) for w in sorted(set(clauses.get("clear", [])), key=len, reverse=True)]
    clear_rx = _CLEAR_PATTERNS + list(clauses.get("clear_patterns", []))
    clear_re = _regexes(clear_rx + clear_words, source, "clauses.clear_patterns")
    stopped_re = _regexes(clauses.get("stopped", []), source, "clauses.stopped")
    stopped_thanks_re = _regexes(clauses.get("stopped_with_thanks", []), source, "clauses.stopped_with_thanks")
    not_this_re = _regexes(clauses.get("not_this", []), source, "clauses.not_this")
    lead_in = _regexes(cues.get("lead_in", []), source, "cues.lead_in")
    # at the start of the message, or as a clause of its own anywhere
    lead_in_re = re.compile(r"^\s*(?:" + lead_in.pattern + r")[\s,。!?;:~…]*|(?<=[,。!?;:\s])(?:"
                            + lead_in.pattern + r")(?=[,。!?;:~…\s]|$)") if lead_in else None
    chatter = sorted(set(cues.get("chatter", [])), key=len, reverse=True)
    chatter_re = re.compile("(?:" + "|".join(re.escape(w) for w in chatter) + ")+", re.I) if chatter else None
    return dict(clear_re=clear_re, stopped_re=stopped_re, stopped_thanks_re=stopped_thanks_re,
                not_this_re=not_this_re, lead_in_re=lead_in_re, chatter_re=chatter_re)


_CACHE: dict[tuple[int, str | None], tuple[Taxonomy, Lexicon]] = {}


def get_lexicon(taxonomy: Taxonomy, path: str | Path | None = None) -> Lexicon:
    key = (id(taxonomy), str(path) if path else None)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is taxonomy:
        return hit[1]
    lex = build_lexicon(taxonomy, path)
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[key] = (taxonomy, lex)
    return lex
