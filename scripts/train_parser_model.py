"""Train the parser's statistical model (pingan/parser/model.py): two logistic regressions.

    pip install -e '.[train]'      # scikit-learn, needed for training only
    python scripts/train_parser_model.py [--out pingan/data/parser_model.json] [--data FILE ...]

Reads every labelled JSONL file in tests/data except the held-out ones (parser_holdout*.jsonl,
the generated corpus's dev part parser_corpus_dev.jsonl, scripts/make_parser_corpus.py writes the corpus,
and the hand-written corpora's dev parts parser_heldwritten_*_dev.jsonl),
or just the --data files, plus the taxonomy keywords, and writes the model JSON (deterministic:
the same data gives the same file; lbfgs, no random state). Re-run after adding training messages,
keywords, rewrites or lead-ins, and commit the JSON. Scoring at run time is pure Python.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "pingan" / "data" / "parser_model.json"


# measured, never trained on: the hand-written holdouts, the generated corpus's dev part and the
# dev parts of the hand-written corpora (every 5th line of each; parser_written_*_train.jsonl is the rest)
HELD_OUT = ("parser_holdout", "parser_corpus_dev", "parser_heldwritten")


def training_files() -> list[Path]:
    return sorted(p for p in (ROOT / "tests" / "data").glob("*.jsonl") if not p.name.startswith(HELD_OUT))


def load_rows(paths) -> list[dict]:
    rows = []
    for p in paths:
        for line in Path(p).read_text("utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            if isinstance(r, dict) and isinstance(r.get("text"), str) and "report" in r:
                rows.append(r)
    return rows


def main(argv: list[str]) -> int:
    from pingan.parser.engine import model_text
    from pingan.parser.model import train
    from pingan.taxonomy import default_taxonomy

    out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else DEFAULT_OUT
    if "--data" in argv:
        i = argv.index("--data") + 1
        paths = []
        while i < len(argv) and not argv[i].startswith("--"):
            paths.append(Path(argv[i]))
            i += 1
    else:
        paths = training_files()
    if any(p.name.startswith(HELD_OUT) for p in paths):
        print("refusing to train on a holdout file", file=sys.stderr)
        return 2
    tax = default_taxonomy()
    rows = load_rows(paths)
    model = train(rows, tax, lambda t: model_text(t, tax))
    text = json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    out.write_text(text + "\n", "utf-8")
    print(f"trained on {len(rows)} messages from {', '.join(p.name for p in paths)}")
    print(f"wrote {out} ({len(text.encode()) / 1024:.0f} KiB, {len(model['label_cat'])} topic labels, "
          f"{len(model['report']['w'])} report / {len(model['topic']['w'])} topic n-grams)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
