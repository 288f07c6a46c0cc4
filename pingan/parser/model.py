"""A small statistical fallback: character 1–3-gram multinomial Naive Bayes, pure Python.

Trained by scripts/train_parser_model.py from the labelled JSONL in tests/data (holdout files
excluded) plus the taxonomy keywords, written to pingan/data/parser_model.json and loaded
lazily once, offline. The rule engine stays in charge; this model is consulted only when the
keywords are unsure: no category words at all, a near-tie between categories, a category
with no item, or a message the rules would drop as too weak to be a report.

Two models share the file:
  `topic`  labels are item names, or "cat:<code>" for reports filed with a category only;
  `report` labels are "yes" / "no" (hazard report or chatter/notice).
"""

from __future__ import annotations

import json
import math
import re
from importlib import resources

_RUN = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
MAX_N = 3


def features(text: str) -> list[str]:
    """Character n-grams (1..3) inside runs of CJK/letters/digits; digits folded to '0'."""
    out: list[str] = []
    for run in _RUN.findall(text.lower()):
        run = re.sub(r"[0-9]+", "0", run)
        n_run = len(run)
        for n in range(1, MAX_N + 1):
            for i in range(n_run - n + 1):
                out.append(run[i:i + n])
    return out


class NaiveBayes:
    def __init__(self, data: dict, alpha: float = 0.3):
        self.labels: list[str] = list(data["labels"])
        self.counts: dict[str, dict[str, int]] = data["counts"]
        self.totals: dict[str, int] = data["totals"]
        self.docs: dict[str, int] = data["docs"]
        self.vocab = max(1, int(data["vocab"]))
        self.alpha = alpha
        self.known = frozenset(f for c in self.counts.values() for f in c)
        n_docs = sum(self.docs.values()) or 1
        self.log_prior = {lb: math.log((self.docs.get(lb, 0) + 1) / (n_docs + len(self.labels))) for lb in self.labels}
        self.log_denom = {lb: math.log(self.totals.get(lb, 0) + alpha * self.vocab) for lb in self.labels}
        # computed once at load: each label's log-likelihood of an n-gram it never saw, and for each
        # n-gram the labels that did see it with how much more likely it is there; a message is then
        # scored by the few labels per n-gram that saw it, not by every label
        self.log_unseen = [math.log(alpha) - self.log_denom[lb] for lb in self.labels]
        self.index = {lb: i for i, lb in enumerate(self.labels)}
        self.seen: dict[str, list[tuple[int, float]]] = {}
        for i, lb in enumerate(self.labels):
            for f, n in self.counts.get(lb, {}).items():
                self.seen.setdefault(f, []).append((i, math.log(n + alpha) - math.log(alpha)))

    def log_scores(self, feats: list[str], labels=None) -> dict[str, float]:
        feats = [f for f in feats if f in self.known]  # unseen n-grams say nothing about any label
        scores = [self.log_prior[lb] + len(feats) * self.log_unseen[i] for i, lb in enumerate(self.labels)]
        for f in feats:
            for i, gain in self.seen[f]:
                scores[i] += gain
        return {lb: scores[self.index[lb]] for lb in (self.labels if labels is None else labels)}

    @staticmethod
    def posterior(scores: dict[str, float]) -> dict[str, float]:
        if not scores:
            return {}
        top = max(scores.values())
        ex = {k: math.exp(v - top) for k, v in scores.items()}
        z = sum(ex.values())
        return {k: v / z for k, v in ex.items()}


class ParserModel:
    def __init__(self, data: dict):
        self.topic = NaiveBayes(data["topic"])
        self.report = NaiveBayes(data["report"])
        self.label_cat: dict[str, str] = data["label_cat"]

    @staticmethod
    def ngrams(text: str) -> list[str]:
        return features(text)[:600]  # long complaints: the first few hundred n-grams are plenty

    def categories(self, text: str, feats: list[str] | None = None) -> dict[str, float]:
        """P(category | text), summing the item labels of each category."""
        post = NaiveBayes.posterior(self.topic.log_scores(feats or self.ngrams(text)))
        out: dict[str, float] = {}
        for lb, p in post.items():
            c = self.label_cat.get(lb)
            if c:
                out[c] = out.get(c, 0.0) + p
        return out

    def items(self, text: str, category: str, feats: list[str] | None = None) -> dict[str, float]:
        """P(label | text, category) over that category's labels ("cat:<code>" = no item)."""
        labels = [lb for lb in self.topic.labels if self.label_cat.get(lb) == category]
        return NaiveBayes.posterior(self.topic.log_scores(feats or self.ngrams(text), labels))

    def p_report(self, text: str, feats: list[str] | None = None) -> float:
        return NaiveBayes.posterior(self.report.log_scores(feats or self.ngrams(text))).get("yes", 0.5)


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
        except (OSError, ValueError, KeyError):
            _MODEL = None
    return _MODEL


# -- training (used by scripts/train_parser_model.py) -----------------------------------------
def _nb_data(docs: list[tuple[list[str], str, float]], labels: list[str], min_count: int) -> dict:
    counts: dict[str, dict[str, float]] = {lb: {} for lb in labels}
    n_docs: dict[str, float] = {lb: 0 for lb in labels}
    total_df: dict[str, float] = {}
    for feats, lb, weight in docs:
        n_docs[lb] += weight
        c = counts[lb]
        for f in feats:
            c[f] = c.get(f, 0) + weight
            total_df[f] = total_df.get(f, 0) + weight
    keep = {f for f, n in total_df.items() if n >= min_count}
    out_counts = {lb: {f: round(n, 2) for f, n in c.items() if f in keep} for lb, c in counts.items()}
    return {
        "labels": labels,
        "counts": out_counts,
        "totals": {lb: round(sum(c.values()), 2) for lb, c in out_counts.items()},
        "docs": {lb: round(n, 2) for lb, n in n_docs.items()},
        "vocab": len(keep),
    }


def train(rows: list[dict], taxonomy, prepare, min_count: int = 2) -> dict:
    """rows: labelled dicts (text, report, category, item). `prepare(text)` gives the text the
    parser matches on (cleaned + rewritten). Taxonomy keywords are added as short documents."""
    label_cat: dict[str, str] = {}
    for cat in taxonomy.categories:
        label_cat[f"cat:{cat.code}"] = cat.code
        for it in cat.items:
            label_cat[it.name] = cat.code
    topic_docs: list[tuple[list[str], str, float]] = []
    report_docs: list[tuple[list[str], str, float]] = []
    for r in rows:
        feats = features(prepare(r["text"]))
        report_docs.append((feats, "yes" if r.get("report") else "no", 1.0))
        if not r.get("report"):
            continue
        lb = r.get("item") if r.get("item") in label_cat else f"cat:{r.get('category') or 'other'}"
        if lb in label_cat:
            topic_docs.append((feats, lb, 1.0))
    for it in taxonomy.items():
        for word, weight in it.keywords.items():
            topic_docs.append((features(prepare(word)), it.name, 0.5 * min(weight, 3.0)))
    topic_labels = [lb for lb in label_cat if any(d[1] == lb for d in topic_docs)]
    return {
        "version": 1,
        "features": f"char 1-{MAX_N} grams",
        "label_cat": {lb: label_cat[lb] for lb in topic_labels},
        "topic": _nb_data(topic_docs, topic_labels, min_count),
        "report": _nb_data(report_docs, ["yes", "no"], min_count),
    }
