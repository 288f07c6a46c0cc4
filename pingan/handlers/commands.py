"""Recognise status keywords: '到场 #12', '#12 到场', '＃12到场', '到场12', '办结 #12 已清理',
'转 #12 消防', or a bare keyword on a quote-reply. Keywords come from config."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from pingan.config import KeywordSettings
from pingan.text import to_simplified

_NUMBER = r"(\d{1,9})"
TICKET_NUMBER = re.compile(r"#\s*" + _NUMBER)  # '#12', '# 12' ('＃12' after normalise)
_BARE_NUMBER = re.compile(r"^\s*" + _NUMBER + r"\s*号?(?!\d)(?:\s|$|[,，])")  # '到场12', '到场 12', '到场3号'
_LEADING_AT = re.compile(r"^(?:@\S+\s*)+")
_SEPARATORS = " \t\r\n,，.。:：;；!！、-—~～"
# A keyword that is only digits or punctuation must be the whole message ('1' must not eat '1号楼…').
_SHORT = re.compile(r"^[\d?？!！]+$")
# '3号到了': a worker's number first, as people say it ('3号楼…' is a place: no keyword follows it)
_NUMBER_FIRST = re.compile(r"^(\d{1,9})\s*号\s*(?=[^\d楼栋幢单元院])")


@dataclass
class Command:
    name: str  # a KeywordSettings field: ack, on_scene, progress, resolve, escalate, transfer, return_, ...
    ticket_id: int | None
    arg: str
    word: str = ""  # the keyword as configured
    more_ids: list[int] = field(default_factory=list)  # further #numbers: one ticket per command


def normalise(text: str) -> str:
    """Full-width → half-width, and traditional → simplified ('辦結 #8' is 办结)."""
    return to_simplified(unicodedata.normalize("NFKC", text or "").strip())


_TABLES: dict[int, tuple[KeywordSettings, list[tuple[str, str, str]]]] = {}


def _table(keywords: KeywordSettings) -> list[tuple[str, str, str]]:
    """(word, lowercased, name), longest first: '不满意' before '满意', '已到场' before '已到'. Built
    once per settings object (every message is checked against it)."""
    got = _TABLES.get(id(keywords))
    if got is None or got[0] is not keywords:
        pairs = [(word, word.lower(), name) for name, words in keywords.model_dump().items() for word in words]
        got = _TABLES[id(keywords)] = (keywords, sorted(pairs, key=lambda p: -len(p[0])))
    return got[1]


def parse_command(text: str, keywords: KeywordSettings) -> Command | None:
    s = _LEADING_AT.sub("", normalise(text))
    ticket_id = None
    ref = TICKET_NUMBER.search(s)
    if ref:
        ticket_id = int(ref.group(1))
        s = (s[: ref.start()] + " " + s[ref.end():]).strip(_SEPARATORS)
    more_ids = [n for n in dict.fromkeys(int(m) for m in TICKET_NUMBER.findall(s)) if n != ticket_id]
    if ticket_id is None and (lead := _NUMBER_FIRST.match(s)):  # '3号到了'
        ticket_id, s = int(lead.group(1)), s[lead.end():]
    lowered = s.lower()
    for word, lower, name in _table(keywords):
        if not lowered.startswith(lower):
            continue
        rest = s[len(word):]
        if _SHORT.match(word) and rest.strip(_SEPARATORS):
            continue
        if ticket_id is None:
            m = _BARE_NUMBER.match(rest)
            if m:
                ticket_id, rest = int(m.group(1)), rest[m.end():]
        arg = rest.strip(_SEPARATORS)
        # "到场 #7 #8" names two tickets; "退回 #8 与 #7 重复" names one and mentions another
        listed = not TICKET_NUMBER.sub("", arg).strip(_SEPARATORS + "和与及")
        return Command(name=name, ticket_id=ticket_id, arg=as_written(arg, text), word=word,
                       more_ids=more_ids if listed else [])
    return None


def as_written(part: str, text: str) -> str:
    """`part` of the normalised text as the person typed it ('，' stays '，', '辦' stays '辦'): users'
    words are quoted as written. Normalising keeps one character for one here; where it did not
    (rare compatibility forms), the normalised words are kept."""
    norm, orig = normalise(text), (text or "").strip()
    i = norm.rfind(part) if part else -1
    return orig[i:i + len(part)] if i >= 0 and len(norm) == len(orig) else part
