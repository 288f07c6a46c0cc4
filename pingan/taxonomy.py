"""The hazard taxonomy (categories → items) loaded from an editable TOML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pingan.errors import ConfigError, read_toml

SIZES = ("小", "中", "大")
# 小事马上办, 中事协商办, 大事呼叫办 — the seed's three tracks.
SIZE_TRACK = {"小": "马上办", "中": "协商办", "大": "呼叫办"}
CATEGORY_CODES = (
    "fire", "facility", "security", "key_groups", "dispute",
    "food", "production", "traffic", "environment", "other",
)


@dataclass(frozen=True)
class Item:
    name: str
    category: str
    department: str
    size: str
    keywords: dict[str, float] = field(default_factory=dict)
    urgent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]
    source: str

    def category(self, code: str | None) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def item(self, name: str | None) -> Item | None:
        return next((i for c in self.categories for i in c.items if i.name == name), None)

    def items(self) -> list[Item]:
        return [i for c in self.categories for i in c.items]

    def label(self, category: str | None, item: str | None = None) -> str:
        """'消防·电瓶车违规充电' for people; falls back gracefully."""
        cat = self.category(category)
        head = cat.name if cat else "未分类"
        return f"{head}·{item}" if item else head


def parse_weighted_words(raw: list, where: str) -> dict[str, float]:
    """`["词:权重", "词"]` → {词: 权重} (default weight 1); `where` names the list in errors.
    The one reading of keyword weights, for the taxonomy and the parser lexicon alike."""
    out: dict[str, float] = {}
    for n, entry in enumerate(raw):
        if not isinstance(entry, str) or not entry.strip():
            raise ConfigError(f"{where}[{n}]: expected a non-empty string, got {entry!r}")
        word, _, weight = entry.partition(":")
        try:
            out[word.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise ConfigError(f"{where}[{n}]: weight in {entry!r} is not a number") from None
    return out


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy file; errors name the file and the entry."""
    if path is None:
        path = Path(str(resources.files("pingan.data").joinpath("taxonomy.toml")))
    source = str(path)
    data = read_toml(path)
    cats = []
    seen_items: set[str] = set()
    for ci, raw_cat in enumerate(data.get("category", [])):
        where = f"{source}: category[{ci}]"
        code = raw_cat.get("code")
        if not code or not isinstance(code, str):
            raise ConfigError(f"{where}.code: missing")
        items = []
        for ii, raw in enumerate(raw_cat.get("item", [])):
            iwhere = f"{where}.item[{ii}]"
            name = raw.get("name")
            if not name:
                raise ConfigError(f"{iwhere}.name: missing")
            if name in seen_items:
                raise ConfigError(f"{iwhere}.name: duplicate item {name!r}")
            seen_items.add(name)
            size = raw.get("size", "中")
            if size not in SIZES:
                raise ConfigError(f"{iwhere}.size: must be one of 小/中/大, got {size!r}")
            items.append(Item(
                name=name, category=code, department=raw.get("department", ""), size=size,
                keywords=parse_weighted_words(raw.get("keywords", []), f"{iwhere}.keywords"),
                urgent=tuple(raw.get("urgent", [])),
            ))
        cats.append(Category(code=code, name=raw_cat.get("name", code), items=tuple(items)))
    if not cats:
        raise ConfigError(f"{source}: no [[category]] entries")
    return Taxonomy(categories=tuple(cats), source=source)


@lru_cache(maxsize=8)
def default_taxonomy() -> Taxonomy:
    return load_taxonomy()
