"""China's administrative names (provinces, prefecture cities, counties and districts), from cpca's
adcode table, so a place's administrative prefix is known by name, not guessed from its last character.

Why: the suffix rules take 2–4 characters before 区/县/市 for a level, which cuts a city written
without 市 ("哈尔滨道里区" read as "尔滨道里区") and splits a district at a character that also ends a
place ("宁波江北区" read as the river "宁波江", "兰州城关区" as "兰州城"). The table is read from cpca's
installed data file (3,511 names) without importing cpca, which would load pandas.
"""

from __future__ import annotations

import csv
import functools
import importlib.metadata
import re

_LEVEL_END = re.compile(r"[省市区县旗州盟]")
# short forms people write: "四川", "哈尔滨", "凉山" (counties keep their full names: "江北", "鼓楼" are
# also words and landmarks)
_PROVINCE_SHORT = re.compile(r"(.{2,}?)(?:省|市|特别行政区|(?:壮族|回族|维吾尔)?自治区)")
_CITY_SHORT = re.compile(r"(.{2,}?)(?:市|地区|盟|(?:[\u4e00-\u9fff]{1,3}?族)*自治州)")
LONGEST = 9  # "新疆维吾尔自治区"; longer names are not looked for


class Gazetteer:
    def __init__(self, rows: list[tuple[str, str]]):
        full: set[str] = set()
        short: set[str] = set()
        for code, name in rows:
            if len(name) < 3 or "直辖" in name or name == "市辖区":
                continue  # "城区", "郊区", "南区" are words as often as counties; "市辖区" is a placeholder
            full.add(name)
            if code[2:6] == "0000":
                m = _PROVINCE_SHORT.fullmatch(name)
            elif code[4:6] == "00":
                m = _CITY_SHORT.fullmatch(name)
            else:
                m = None
            if m is not None:
                short.add(m.group(1))
        self.full = frozenset(full)
        self.names = frozenset(full | short)

    def level_before(self, s: str, end: int) -> int:
        """The start of the longest administrative name (full or short) ending at `end`, else `end`."""
        for k in range(min(LONGEST, end), 1, -1):
            if s[end - k:end] in self.names:
                return end - k
        return end

    def start_of(self, s: str, k: int) -> int:
        """The start of the longest administrative name that position `k` is inside of, else `k`."""
        for n in range(LONGEST, 1, -1):
            for a in range(max(0, k - n + 1), k):
                if s[a:a + n] in self.names:
                    return a
        return k

    def levels_in(self, s: str) -> list[tuple[int, int]]:
        """Where full administrative names stand in `s` (start, end): the characters inside one begin
        no place name of their own."""
        out = []
        for m in _LEVEL_END.finditer(s):
            end = m.end()
            for k in range(min(LONGEST, end), 2, -1):
                if s[end - k:end] in self.full:
                    out.append((end - k, end))
                    break
        return out


@functools.lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    path = importlib.metadata.distribution("cpca").locate_file("cpca/resources/adcodes.csv")
    with open(path, encoding="utf-8", newline="") as f:
        return Gazetteer([(r["adcode"], r["name"]) for r in csv.DictReader(f)])
