"""Train the learned place tagger (pingan/parser/place_model.py): a character CRF, CRFsuite's L-BFGS.

    python scripts/train_place_model.py [--out pingan/data/place_model.crfsuite] [--data FILE ...]
    python scripts/train_place_model.py --cv     # grouped cross-validation over the written train files

Trains on parser_written_*_train.jsonl, parser_corpus_train.jsonl and parser_train.jsonl: each true report whose
gold location is written in its text, every occurrence of it labelled a place (BIO). Reports without a
gold place are left out: taken as all-O they made the tagger too shy to help (cross-validation).
Deterministic: the same data gives the same file. Re-run after adding training messages or changing
the lexicon's suffixes, generic places or the rules' spans (they are features), and commit the model.

--cv holds out one parser_written_X_train.jsonl at a time, trains on the rest, and prints, per held-out
file, location hit (bench/parse_eval.py) with the rules alone and with the tagger, and report F1,
category accuracy and urgent recall, which the tagger must leave unchanged.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.train_parser_model import HELD_OUT, load_rows  # noqa: E402

DEFAULT_OUT = ROOT / "pingan" / "data" / "place_model.crfsuite"
DATA = ROOT / "tests" / "data"


def training_files() -> list[Path]:
    """The labelled training files only: train_parser_model.training_files() also takes parser_dev.jsonl,
    which is kept for measuring here."""
    return sorted(DATA.glob("parser_written_*_train.jsonl")) + [DATA / "parser_corpus_train.jsonl",
                                                                 DATA / "parser_train.jsonl"]


PARAMS = {"c1": 0.1, "c2": 0.01, "max_iterations": 150}


def examples(rows: list[dict]):
    """(features, labels) of each true report whose gold location is in its cleaned text."""
    from pingan.parser import place_model
    from pingan.parser.engine import _runtime
    from pingan.parser.normalise import clean
    from pingan.taxonomy import default_taxonomy

    finder = _runtime(default_taxonomy()).places
    for r in rows:
        if not r.get("report") or not r.get("location"):
            continue
        s = clean(r["text"])
        y = place_model.bio(s, clean(r["location"]))
        if y is not None:
            yield place_model.features(finder, s, finder.find_all(s)), y


def train(rows: list[dict], out: Path) -> int:
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    n = 0
    for x, y in examples(rows):
        trainer.append(x, y)
        n += 1
    trainer.set_params(PARAMS)
    trainer.train(str(out))
    return n


def cross_validate() -> None:
    from bench.parse_eval import evaluate
    from pingan.parser import place_model

    files = training_files()
    keys = ("report_f1", "category_accuracy", "urgent_recall")
    print(f"{'held-out file':<30}{'n loc':>6}{'rules':>8}{'tagger':>8}   report F1, category, urgent R (rules → tagger)")
    sums = [0.0, 0.0]
    learned, shipped = place_model.learned_place, place_model.tagger
    held = [p for p in files if p.name.startswith("parser_written_")]
    with tempfile.TemporaryDirectory() as tmp:
        for h in held:
            model = Path(tmp) / "fold.crfsuite"
            train(load_rows([p for p in files if p != h]), model)
            fold = place_model.PlaceTagger(model.read_bytes())
            place_model.learned_place = lambda *a: None  # noqa: E731  (the rules alone)
            base = evaluate(h)
            place_model.learned_place, place_model.tagger = learned, lambda: fold  # noqa: E731
            got = evaluate(h)
            place_model.tagger = shipped
            sums[0] += base["location_hit"]
            sums[1] += got["location_hit"]
            print(f"{h.name:<30}{got['location_n']:>6}{base['location_hit']:>8.3f}{got['location_hit']:>8.3f}   "
                  + "  ".join(f"{base[k]:.3f}→{got[k]:.3f}" for k in keys))
    print(f"{'mean':<30}{'':>6}{sums[0] / len(held):>8.3f}{sums[1] / len(held):>8.3f}")


def main(argv: list[str]) -> int:
    if "--cv" in argv:
        cross_validate()
        return 0
    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else DEFAULT_OUT
    paths = training_files()
    if "--data" in argv:
        i, paths = argv.index("--data") + 1, []
        while i < len(argv) and not argv[i].startswith("--"):
            paths.append(Path(argv[i]))
            i += 1
    if any(p.name.startswith(HELD_OUT + ("parser_dev",)) for p in paths):
        print("refusing to train on a holdout file", file=sys.stderr)
        return 2
    n = train(load_rows(paths), out)
    print(f"trained on {n} located reports from {', '.join(p.name for p in paths)}")
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
