"""Text clean-up before matching: width, script, emoji, punctuation runs, dialect/typos."""

from __future__ import annotations

import functools
import re
import unicodedata

from pingan.text import to_simplified

# 【】 and 〔〕 are not folded by NFKC; keep 【】 (form headers use it) but fold others.
_EXTRA = str.maketrans({"〔": "[", "〕": "]", "〖": "【", "〗": "】", "「": '"', "」": '"', "『": '"', "』": '"',
                        "“": '"', "”": '"', "‘": "'", "’": "'", "、": ",", "～": "~", "〜": "~", "\u3000": " ",
                        "。": "。", "—": "-", "－": "-", "–": "-", "·": " "})
_PUNCT_RUN = re.compile(r"([!?。,.~;:\-…])\1+")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_ZW = re.compile(r"[\u200b-\u200f\u2060\ufeff]")
# never noise (ASCII but ^ and `, CJK ideographs, 、。【】…): most of any message, skipped in C
_PLAIN = re.compile(r"[\x00-\x5d\x5f\x61-\x7f\u3001\u3002\u3010\u3011\u2026\u4e00-\u9fff]+")


def _is_noise(ch: str) -> bool:
    cat = unicodedata.category(ch)
    # emoji and pictographs (So), modifiers (Sk), variation selectors / ZWJ (Mn/Cf in those ranges)
    if cat in ("So", "Sk", "Cs", "Co"):
        return True
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF or cp == 0x200D or 0xE0020 <= cp <= 0xE007F


def clean(text: str) -> str:
    """Width/script/emoji/punctuation normalisation. The result is what we show and store."""
    if not text:
        return ""
    t = unicodedata.normalize("NFKC", text)
    t = t.translate(_EXTRA)
    t = _ZW.sub("", t)
    if any(_is_noise(ch) for ch in _PLAIN.sub("", t)):
        t = "".join(" " if _is_noise(ch) else ch for ch in t)
    t = to_simplified(t)
    t = t.replace("...", "…").replace("..", "…")
    t = _PUNCT_RUN.sub(r"\1", t)
    t = _SPACES.sub(" ", t)
    return t.strip()


def rewrite(text: str, mapping: dict[str, str], pattern: re.Pattern | None) -> str:
    """Dialect and typo rewrites (lexicon [rewrite]); only used for matching."""
    if pattern is None:
        return text
    return pattern.sub(lambda m: mapping[m.group(0)], text)


@functools.lru_cache(maxsize=4096)
def _char_clean(ch: str) -> str:
    """`clean` for one character out of context (no run folding); "" for noise and spaces."""
    if _is_noise(ch) or _ZW.match(ch):
        return ""
    t = to_simplified(unicodedata.normalize("NFKC", ch).translate(_EXTRA))
    return "".join(c for c in t if not c.isspace())


def as_written(original: str, found: str | None) -> str | None:
    """The substring of `original` that cleans to `found` (a span of `clean(original)`), so a
    location comes back as the resident typed it: '翠竹苑３棟', not '翠竹苑3栋'. Spaces are
    ignored on both sides. Falls back to `found` when it cannot be traced."""
    if not found or not original:
        return found
    needle = "".join(found.split())
    if not needle:
        return found
    if needle in original:
        return found if found in original else needle
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(original):
        for c in _char_clean(ch):
            chars.append(c)
            where.append(i)
    k = "".join(chars).find(needle)
    if k < 0:
        return found
    return original[where[k]:where[k + len(needle) - 1] + 1]
