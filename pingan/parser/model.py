"""The statistical side of the parser: two linear models over character n-grams, pure Python.

Trained by scripts/train_parser_model.py (scikit-learn logistic regression, at training time
only: `pip install -e .[train]`) from the labelled JSONL in tests/data (held-out files excluded)
plus the taxonomy keywords, exported to pingan/data/parser_model.json and loaded lazily once,
offline. Scoring is a sparse dot product: no scikit-learn, numpy or jieba at run time.

Features: the distinct character 1–3-grams inside runs of CJK/letters/digits (digits folded to
'0') of the first `MAX_CHARS` characters, each worth 1/sqrt(number of distinct n-grams) (an
L2-normalised binary vector), so short and long messages score on the same scale.

Three heads share the file:
  `report` yes/no: is this a hazard report at all (binary logistic regression);
  `topic`  item names, or "cat:<code>" for reports filed with a category only (multinomial);
  `urgent` yes/no among reports: danger to life now (binary), used only to calm a longer message
           the urgent rules flagged (a past incident, a hypothetical, a long complaint).

The rule engine stays in charge (pingan/parser/engine.py): the model gates reports (a message
the words would file but the model clearly takes for no report is not filed; one it clearly takes
for a report that the words cannot file makes the bot ask) and settles ties and thin evidence for
the category and item. It never files a report on its own.
"""

from __future__ import annotations

import json
import math
import re
from importlib import resources
from itertools import repeat

_RUN = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
_DIGITS = re.compile(r"[0-9]+")
MAX_N = 3
MAX_CHARS = 400  # a long complaint says what it is about early on; keeps the cost bounded


def features(text: str) -> list[str]:
    """Character n-grams (1..3) inside runs of CJK/letters/digits; digits folded to '0'."""
    out: list[str] = []
    for run in _RUN.findall(text[:MAX_CHARS].lower()):
        run = _DIGITS.sub("0", run)
        n_run = len(run)
        for n in range(1, MAX_N + 1):
            for i in range(n_run - n + 1):
                out.append(run[i:i + n])
    return out


def vector(text: str) -> tuple[list[str], float]:
    """The distinct n-grams and the value each carries (1/sqrt(count)): the model's input."""
    feats = list(dict.fromkeys(features(text)))
    return feats, (1.0 / math.sqrt(len(feats)) if feats else 0.0)


def _dot(weights: dict[str, float], feats: list[str]) -> float:
    """The sum of the features' weights (map over dict.get: the scoring's hot loop, no generator frames)."""
    return sum(map(weights.get, feats, repeat(0.0, len(feats))))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softmax(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    top = max(scores.values())
    ex = {k: math.exp(v - top) for k, v in scores.items()}
    z = sum(ex.values())
    return {k: v / z for k, v in ex.items()}


class ParserModel:
    def __init__(self, data: dict):
        if data.get("version") != 2:
            raise ValueError("not a linear parser model")
        rep = data["report"]
        self.report_bias: float = float(rep["bias"])
        self.report_w: dict[str, float] = rep["w"]
        urg = data["urgent"]
        self.urgent_bias: float = float(urg["bias"])
        self.urgent_w: dict[str, float] = urg["w"]
        top = data["topic"]
        self.labels: list[str] = list(top["labels"])
        self.topic_bias: list[float] = [float(b) for b in top["bias"]]
        # feature -> [(label index, weight), ...]; stored as flat [i, w, i, w, ...] lists
        self.topic_w: dict[str, list[tuple[int, float]]] = {
            f: list(zip(v[0::2], v[1::2])) for f, v in top["w"].items()}
        self.label_cat: dict[str, str] = data["label_cat"]
        self._last: tuple = (None, [])

    @staticmethod
    def ngrams(text: str) -> tuple[list[str], float]:
        return vector(text)

    def _topic_scores(self, vec: tuple[list[str], float]) -> list[float]:
        last = self._last  # one read: a parse on another thread may replace it meanwhile
        if vec is last[0]:
            return last[1]  # one message asks for its category, then its item: scored once
        feats, value = vec
        scores = list(self.topic_bias)
        tw = self.topic_w
        for f in feats:
            ws = tw.get(f)
            if ws:
                for i, w in ws:
                    scores[i] += value * w
        self._last = (vec, scores)
        return scores

    def categories(self, text: str, feats=None) -> dict[str, float]:
        """P(category | text), summing the item labels of each category."""
        scores = self._topic_scores(feats or self.ngrams(text))
        post = _softmax(dict(zip(self.labels, scores)))
        out: dict[str, float] = {}
        for lb, p in post.items():
            c = self.label_cat.get(lb)
            if c:
                out[c] = out.get(c, 0.0) + p
        return out

    def items(self, text: str, category: str, feats=None) -> dict[str, float]:
        """P(label | text, category) over that category's labels ("cat:<code>" = no item)."""
        scores = self._topic_scores(feats or self.ngrams(text))
        return _softmax({lb: s for lb, s in zip(self.labels, scores) if self.label_cat.get(lb) == category})

    def p_report(self, text: str, feats=None) -> float:
        """P(hazard report | text)."""
        fs, value = feats or self.ngrams(text)
        return _sigmoid(self.report_bias + value * _dot(self.report_w, fs))

    def p_urgent(self, text: str, feats=None) -> float:
        """P(danger to life now | a hazard report and its text)."""
        fs, value = feats or self.ngrams(text)
        return _sigmoid(self.urgent_bias + value * _dot(self.urgent_w, fs))


_MODEL: ParserModel | None = None
_LOADED = False


def get_model() -> ParserModel | None:
    """The packaged model, loaded once; None if the file is missing or unreadable."""
    global _MODEL, _LOADED
    if not _LOADED:
        _LOADED = True
        try:
            raw = resources.files("pingan.data").joinpath("parser_model.json").read_text("utf-8")
            _MODEL = ParserModel(json.loads(raw))
        except (OSError, ValueError, KeyError, TypeError):
            _MODEL = None
    return _MODEL


# -- training (scripts/train_parser_model.py; needs the `train` extra: scikit-learn) ----------
REPORT_C = 16.0     # inverse L2 strength of the report head
URGENT_C = 16.0     # inverse L2 strength of the urgent head
TOPIC_C = 32.0      # inverse L2 strength of the topic head
MIN_DF = 2          # an n-gram must occur in at least this many training documents
PRUNE = 0.17        # exported weights smaller than this (in absolute value) are dropped (the package stays under 2.5 MB)


def _matrix(vecs: list[tuple[list[str], float]], vocab: dict[str, int]):
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for r, (feats, value) in enumerate(vecs):
        for f in feats:
            j = vocab.get(f)
            if j is not None:
                rows.append(r)
                cols.append(j)
                vals.append(value)
    return csr_matrix((vals, (rows, cols)), shape=(len(vecs), len(vocab)), dtype="float64")


def _vocab(vecs: list[tuple[list[str], float]], min_df: int) -> dict[str, int]:
    df: dict[str, int] = {}
    for feats, _ in vecs:
        for f in feats:
            df[f] = df.get(f, 0) + 1
    return {f: j for j, f in enumerate(sorted(f for f, n in df.items() if n >= min_df))}


def train(rows: list[dict], taxonomy, prepare, report_c: float = REPORT_C, topic_c: float = TOPIC_C,
          urgent_c: float = URGENT_C, min_df: int = MIN_DF, prune: float = PRUNE) -> dict:
    """rows: labelled dicts (text, report, category, item). `prepare(text)` gives the text the
    parser scores (cleaned, rewritten, forwarding lead-ins blanked). Taxonomy keywords are added
    to the topic head as short documents. Deterministic: the same data gives the same model."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    label_cat: dict[str, str] = {}
    for cat in taxonomy.categories:
        label_cat[f"cat:{cat.code}"] = cat.code
        for it in cat.items:
            label_cat[it.name] = cat.code
    rep_vecs, rep_y, rep_rows = [], [], []
    top_vecs, top_y, top_wt = [], [], []
    for r in rows:
        vec = vector(prepare(r["text"]))
        if not vec[0]:
            continue
        rep_vecs.append(vec)
        rep_rows.append(r)
        rep_y.append(1 if r.get("report") else 0)
        if not r.get("report"):
            continue
        lb = r.get("item") if r.get("item") in label_cat else f"cat:{r.get('category') or 'other'}"
        if lb in label_cat:
            top_vecs.append(vec)
            top_y.append(lb)
            top_wt.append(1.0)
    for it in taxonomy.items():
        for word, weight in it.keywords.items():
            vec = vector(prepare(word))
            if vec[0]:
                top_vecs.append(vec)
                top_y.append(it.name)
                top_wt.append(0.5 * min(weight, 3.0))

    def binary(vecs, y, c):
        vocab = _vocab(vecs, min_df)
        names = sorted(vocab, key=vocab.get)
        clf = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, tol=1e-6)
        clf.fit(_matrix(vecs, vocab), np.array(y))
        coef = clf.coef_[0]
        return {"bias": round(float(clf.intercept_[0]), 4),
                "w": {names[j]: round(float(coef[j]), 3) for j in range(len(names)) if abs(coef[j]) >= prune}}

    report = binary(rep_vecs, rep_y, report_c)
    urgent = binary([v for v, r in zip(rep_vecs, rep_rows) if r.get("report")],
                    [1 if r.get("urgent") else 0 for r in rep_rows if r.get("report")], urgent_c)

    # topic head
    topic_labels = [lb for lb in label_cat if lb in set(top_y)]
    vocab = _vocab(top_vecs, min_df)
    names = sorted(vocab, key=vocab.get)
    clf = LogisticRegression(C=topic_c, max_iter=5000, tol=1e-6)
    clf.fit(_matrix(top_vecs, vocab), np.array([topic_labels.index(y) for y in top_y]),
            sample_weight=np.array(top_wt))
    classes = [int(c) for c in clf.classes_]
    coef = clf.coef_
    tw: dict[str, list] = {}
    for j, f in enumerate(names):
        flat = []
        for k, ci in enumerate(classes):
            v = float(coef[k, j])
            if abs(v) >= prune:
                flat += [ci, round(v, 3)]
        if flat:
            tw[f] = flat
    bias = [0.0] * len(topic_labels)
    for k, ci in enumerate(classes):
        bias[ci] = round(float(clf.intercept_[k]), 4)
    return {
        "version": 2,
        "kind": "logistic regression (scikit-learn, exported)",
        "features": f"distinct char 1-{MAX_N} grams of the first {MAX_CHARS} characters, L2-normalised binary",
        "training": {"documents": len(rep_vecs), "topic_documents": len(top_vecs), "report_c": report_c,
                     "topic_c": topic_c, "urgent_c": urgent_c, "min_df": min_df, "prune": prune},
        "label_cat": {lb: label_cat[lb] for lb in topic_labels},
        "report": report,
        "urgent": urgent,
        "topic": {"labels": topic_labels, "bias": bias, "w": tw},
    }
