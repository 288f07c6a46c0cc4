"""Place-name normalisation so '山水天成小区３号楼' and '山水天成3栋' meet on the same key."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import cn2an

from pingan.text import to_simplified

_BUILDING = re.compile(r"(号楼|号栋|号幢|幢|座|栋楼|栋|号院楼)")
_CN_NUM = re.compile(r"([零一二两三四五六七八九十百]+)(?=栋|单元|号|楼|层)")
_NOISE = re.compile(r"[\s,，。.、;；:：!！?？\"'“”‘’()（）\[\]【】<>《》~～·•@#＃]+")
_RANGE = re.compile(r"^(.*?)(\d+)-(\d+)栋$")


def _cn_digits(m: re.Match) -> str:
    try:
        return str(cn2an.cn2an(m.group(1).replace("两", "二"), "smart"))
    except ValueError:
        return m.group(1)


@lru_cache(maxsize=4096)  # the same estates and buildings come up all day
def place_key(text: str) -> str:
    """Normalise: NFKC (full-width → half-width), simplified script, no spaces/punctuation, one building word."""
    s = to_simplified(unicodedata.normalize("NFKC", text or "")).lower()
    s = _NOISE.sub("", s)
    s = _BUILDING.sub("栋", s)
    s = _CN_NUM.sub(_cn_digits, s)
    return s.replace("小区", "")


def expand_place(name: str) -> list[str]:
    """'山水天成1-4栋' → keys for each building; anything else → its own key."""
    key = place_key(name)
    m = _RANGE.match(key)
    if not m:
        return [key]
    prefix, lo, hi = m.group(1), int(m.group(2)), int(m.group(3))
    if hi < lo or hi - lo > 500:
        raise ValueError(f"building range {name!r} looks wrong")
    return [f"{prefix}{n}栋" for n in range(lo, hi + 1)]
