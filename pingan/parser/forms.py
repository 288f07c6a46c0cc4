"""Simple structured forms: `上报 类别:消防 地点:… 描述:…`, `【隐患上报】位置:… 问题:…`, `#隐患 地点 … 内容 …`.

Runs on cleaned text (colons already half-width). With a form marker at the start, labels
may be followed by a colon or just a space; without a marker, two or more `label:` pairs
still make a form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pingan.parser.lexicon import Lexicon


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)   # kind → value (category/location/description/urgent)
    marker: bool = False
    rest: str = ""                                          # text not inside any labelled field
    category_span: tuple[int, int] | None = None            # where `类别:…` sits in the text


class FormReader:
    def __init__(self, lex: Lexicon):
        f = lex.form
        self.kinds: dict[str, str] = {}
        for kind, key in (("category", "category_labels"), ("location", "location_labels"),
                          ("description", "description_labels"), ("urgent", "urgent_labels"),
                          ("other", "other_labels")):
            for label in f.get(key, []):
                self.kinds.setdefault(label, kind)
        labels = sorted(self.kinds, key=len, reverse=True)
        alt = "|".join(re.escape(x) for x in labels)
        lead = r"(?:(?<=^)|(?<=[\s,;。!?】\]\)#|/]))"
        self.colon_label = re.compile(rf"{lead}(?P<label>{alt})\s*[:=]\s*")
        self.space_label = re.compile(rf"{lead}(?P<label>{alt})(?:\s*[:=]\s*|\s+)")
        markers = sorted(f.get("markers", []), key=len, reverse=True)
        self.named = {m.rstrip(": ") for m in markers}  # each configured marker opens a form on its own
        self.marker = re.compile(
            r"^\s*(?:【[^】]{0,8}(?:上报|报告|隐患|报事)[^】]{0,8}】|\[[^\]]{0,8}(?:上报|报告|隐患|报事)[^\]]{0,8}\]|"
            + "|".join(re.escape(m) for m in markers)
            + r"|上报|报告|#\S{1,6})[\s:]*"
        )

    def read(self, text: str) -> Form | None:
        mk = self.marker.match(text)
        body = text[mk.end():] if mk else text
        offset = mk.end() if mk else 0
        pattern = self.space_label if mk else self.colon_label
        hits = list(pattern.finditer(body))
        if not hits or (not mk and len(hits) < 2):
            if mk and mk.group(0).strip():
                # "上报 3栋楼道堆满杂物" — a marker with free text: a form without fields
                head = mk.group(0).strip()
                if any(w in head for w in ("上报", "隐患", "报事", "报告")) or head.rstrip(": ") in self.named:
                    return Form(fields={}, marker=True, rest=body.strip())
            return None
        out: dict[str, str] = {}
        cat_span = None
        rest = [body[:hits[0].start()]] if hits[0].start() > 0 else []
        for n, h in enumerate(hits):
            end = hits[n + 1].start() if n + 1 < len(hits) else len(body)
            value = body[h.end():end].strip(" ,;。,\n\t")
            kind = self.kinds[h.group("label")]
            if kind == "category" and cat_span is None:
                cat_span = (offset + h.start(), offset + end)
            if kind == "other":
                continue
            if kind in out:
                out[kind] = out[kind] + " " + value
            else:
                out[kind] = value
        return Form(fields=out, marker=bool(mk), rest=" ".join(x.strip() for x in rest if x.strip()),
                    category_span=cat_span)
