"""Chinese text helpers shared by the parser and place matching."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _traditional_only() -> frozenset[str]:
    import zhconv.zhconv as zz  # lazy: loads a bundled table, no network

    zz.loaddict()
    return frozenset(zz.zhcdicts["TRADONLY"])


def to_simplified(text: str) -> str:
    """Traditional → simplified, skipping the (slow) conversion when nothing traditional is present."""
    if _traditional_only().isdisjoint(text):
        return text
    import zhconv

    return zhconv.convert(text, "zh-cn")
