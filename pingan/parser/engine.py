"""Minimal keyword parser (placeholder until the measured parser lands)."""

from __future__ import annotations

import re

from pingan.parser.result import ParseResult
from pingan.taxonomy import Taxonomy, default_taxonomy

_URGENT = ("煤气味", "燃气味", "天然气味", "漏气", "着火", "起火", "冒烟", "火灾", "困在", "被困", "拿刀", "溺水")
_LOCATION = re.compile(r"([\u4e00-\u9fa5A-Za-z0-9]{2,12}?(?:小区|花园|苑|院|广场|大厦|路|街|巷)(?:[A-Za-z0-9一二三四五六七八九十]+区)?(?:\d+(?:栋|号楼|幢|单元|号))*)")


def parse(text: str, fields: dict | None = None, taxonomy: Taxonomy | None = None) -> ParseResult:
    tax = taxonomy or default_taxonomy()
    text = text or ""
    best, best_score, best_words = None, 0.0, []
    for item in tax.items():
        words = [w for w in item.keywords if w in text]
        score = sum(item.keywords[w] for w in words)
        if score > best_score:
            best, best_score, best_words = item, score, words
    urgent_words = [w for w in _URGENT if w in text]
    loc = _LOCATION.search(text)
    if best is None and not urgent_words:
        return ParseResult(report=False)
    return ParseResult(
        report=True,
        category=best.category if best else "other",
        item=best.name if best else None,
        location=loc.group(1) if loc else None,
        urgent=bool(urgent_words),
        size=best.size if best else "中",
        confidence=min(1.0, best_score / 4),
        matched=best_words + urgent_words,
        description=text,
    )
