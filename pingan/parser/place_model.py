"""A learned place tagger: a character-level linear-chain CRF (CRFsuite) tagging BIO place spans.

The rules (location.py) know place-name suffixes but not the wording residents use around them;
the CRF learns from the labelled training messages where a place starts and stops. Its features
are the characters around each position, the character classes, the lexicon's suffixes and generic
places, and the spans the rules propose. (The distance to the hazard word is left out: the training
script would have to re-run the parser's scan to know it; of several spans the nearer one wins a
tie.) Trained by scripts/train_place_model.py into pingan/data/place_model.crfsuite, loaded lazily
once, offline.
"""

from __future__ import annotations

import functools
from importlib import resources

import pycrfsuite

MODEL_FILE = "place_model.crfsuite"
# a tagged span below this confidence is left to the rules (grouped cross-validation: 0.5-0.8 all gain, 0.7 is
# the most restrained of the gaining ones on messages whose gold has no place)
MIN_CONF = 0.7
_BOS, _EOS = "^", "$"


@functools.lru_cache(maxsize=8192)
def _klass(ch: str) -> str:
    if ch.isdigit():
        return "d"
    if ch.isascii() and ch.isalpha():
        return "l"
    if "\u4e00" <= ch <= "\u9fff":
        return "h"
    return "s" if ch.isspace() else "p"


def _marks(n: int, spans, tag: str, out: list[list[str]]) -> None:
    """`tag`B / `tag`I on the positions of each (start, end) span."""
    for a, b in spans:
        if 0 <= a < b <= n:
            out[a].append(tag + "B")
            for k in range(a + 1, b):
                out[k].append(tag + "I")
            if b < n:
                out[b].append(tag + "after")


def _mark_spans(finder, s: str, spans) -> list[tuple[str, list[tuple[int, int]]]]:
    """The marked spans by tag: place suffixes, generic places and the rules' candidates."""
    out = [("S", [(m.start(), m.end()) for m in finder.suffix_re.finditer(s)])]
    if finder.generic_place is not None:
        out.append(("G", [(m.start(), m.end()) for m in finder.generic_place.finditer(s)]))
    out += [("R" + ("n" if sp.named else "") + ("c" if sp.chain else ""), [(sp.start, sp.end)]) for sp in spans]
    return out


def features(finder, s: str, spans, marks=None) -> list[list[str]]:
    """One list of binary features per character of the cleaned text `s`; `spans` are the rules'
    candidates (location.Span)."""
    n = len(s)
    pad = _BOS * 2 + s + _EOS * 2
    k = "".join([_klass(ch) for ch in pad])
    # the characters two either side, the bigrams either side and the classes one either side (character
    # trigrams were tried: no better on cross-validation, a model half as large again); one comprehension
    # over shifted strings, as the tagger is on every place's path
    out = [["c" + c0, "p" + c1, "q" + c2, "n" + n1, "m" + n2, "b" + c1 + c0, "a" + c0 + n1, "k" + k0 + k1 + kn]
           for c2, c1, c0, n1, n2, k1, k0, kn in zip(pad, pad[1:], pad[2:], pad[3:], pad[4:], k[1:], k[2:], k[3:])]
    for tag, marked in marks if marks is not None else _mark_spans(finder, s, spans):
        _marks(n, marked, tag, out)
    return out


def bio(s: str, gold: str) -> list[str] | None:
    """Labels for `s` with every occurrence of `gold` a place; None when `gold` is not in `s`."""
    k = s.find(gold) if gold else -1
    if k < 0:
        return None
    y = ["O"] * len(s)
    while k >= 0:
        y[k] = "B"
        for j in range(k + 1, k + len(gold)):
            y[j] = "I"
        k = s.find(gold, k + len(gold))
    return y


class PlaceTagger:
    def __init__(self, model: bytes):
        self.model = model  # CRFsuite reads the model in place: the bytes must outlive the tagger
        self.tagger = pycrfsuite.Tagger()
        self.tagger.open_inmemory(model)

    def spans(self, xseq: list[list[str]]) -> list[tuple[int, int, float]]:
        """The tagged place spans, each with its confidence: the least marginal of its labels."""
        if not xseq:
            return []
        t = self.tagger
        t.set(xseq)
        y = t.tag()
        out: list[tuple[int, int, float]] = []
        k, n = 0, len(y)
        while k < n:
            if y[k] == "O":
                k += 1
                continue
            a = k
            conf = t.marginal(y[k], k)
            k += 1
            while k < n and y[k] == "I":
                conf = min(conf, t.marginal("I", k))
                k += 1
            out.append((a, k, conf))
        return out


@functools.lru_cache(maxsize=1)
def tagger() -> PlaceTagger:
    return PlaceTagger(resources.files("pingan.data").joinpath(MODEL_FILE).read_bytes())


def tagged(finder, s: str, spans) -> list[tuple[int, int, float]]:
    """The tagger's place spans in `s` (start, end, confidence) that overlap a place suffix, a generic place
    or a rules span, so a learned span is never a clause the rules see nothing of a place in ("老汉儿心口痛")."""
    marks = _mark_spans(finder, s, spans)
    if not any(marked for _, marked in marks):
        return []  # nothing a learned span could overlap: no need to tag
    xseq = features(finder, s, spans, marks)
    marked = [False] * len(s)  # inside a mark
    for _, found_spans in marks:
        for a, b in found_spans:
            marked[a:b] = [True] * (b - a)
    return [(a, b, p) for a, b, p in tagger().spans(xseq) if any(marked[a:b])]


def learned_place(finder, s: str, spans, focus: int | None, found=None) -> str | None:
    """The tagger's most confident span (the nearer the hazard on a tie), if confident enough and a place
    (`tagged`, or `found` when already tagged)."""
    found = [(a, b, p) for a, b, p in (tagged(finder, s, spans) if found is None else found) if p >= MIN_CONF]
    if not found:
        return None
    a, b, _ = max(found, key=lambda t: (t[2], -abs(t[0] - focus) if focus is not None else -t[0]))
    return s[a:b]
