"""Measure the hazard parser against a labelled JSONL file.

    python bench/parse_eval.py [FILE] [--errors]

FILE defaults to tests/data/parser_dev.jsonl; each line holds
{"text", "report", "category", "item", "location", "urgent"}. Messages go through
`pingan.parser.jsonl.parse_line`, the same path as `pingan parse --jsonl`. Prints report
precision/recall/F1, category and item accuracy, location hit rate, urgent recall/precision
and a category confusion table. `--errors` also lists the misses. Always exits 0.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "data" / "parser_dev.jsonl"


def location_hit(gold: str | None, got: str | None) -> bool:
    """Raw containment either way, no normalisation: '翠竹苑３棟' does not match '翠竹苑3栋'.
    This is what an outside evaluator comparing strings as written will do."""
    g, p = (gold or "").strip(), (got or "").strip()
    return bool(g and p) and (g in p or p in g)


def evaluate(path: str | Path) -> dict:
    from pingan.parser.jsonl import parse_line

    rows = [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line.strip()]
    tp = fp = fn = tn = 0
    cat_ok = cat_n = item_ok = item_n = loc_ok = loc_n = 0
    u_tp = u_fp = u_fn = 0
    confusion: Counter = Counter()
    errors: list[str] = []
    for row in rows:
        out = parse_line(json.dumps({"text": row["text"]}, ensure_ascii=False))
        p = out.get("parsed") or {"report": False}
        gold_r, got_r = bool(row.get("report")), bool(p.get("report"))
        tp += gold_r and got_r
        fp += (not gold_r) and got_r
        fn += gold_r and not got_r
        tn += (not gold_r) and not got_r
        if gold_r != got_r:
            errors.append(f"REPORT gold={gold_r} got={got_r}: {row['text'][:80]}")
        if gold_r:
            cat_n += 1
            gc, pc = row.get("category"), p.get("category") if got_r else None
            confusion[(gc, pc)] += 1
            if gc == pc:
                cat_ok += 1
            elif got_r:
                errors.append(f"CAT {gc}→{pc} {p.get('matched')}: {row['text'][:80]}")
            if row.get("item"):
                item_n += 1
                if p.get("item") == row["item"]:
                    item_ok += 1
                elif got_r:
                    errors.append(f"ITEM {row['item']}→{p.get('item')} {p.get('matched')}: {row['text'][:80]}")
            if row.get("location"):
                loc_n += 1
                if location_hit(row["location"], p.get("location")):
                    loc_ok += 1
                else:
                    errors.append(f"LOC {row['location']!r}→{p.get('location')!r}: {row['text'][:80]}")
        gu, pu = bool(row.get("urgent")), bool(p.get("urgent"))
        u_tp += gu and pu
        u_fp += (not gu) and pu
        u_fn += gu and not pu
        if gu != pu:
            errors.append(f"URGENT gold={gu} got={pu} {p.get('matched')}: {row['text'][:80]}")

    def ratio(a, b):
        return a / b if b else 0.0

    prec, rec = ratio(tp, tp + fp), ratio(tp, tp + fn)
    chat_prec, chat_rec = ratio(tn, tn + fn), ratio(tn, tn + fp)
    return {
        "n": len(rows),
        "report_precision": prec, "report_recall": rec, "report_f1": ratio(2 * prec * rec, prec + rec),
        "chatter_precision": chat_prec, "chatter_recall": chat_rec,
        "chatter_f1": ratio(2 * chat_prec * chat_rec, chat_prec + chat_rec),
        "category_accuracy": ratio(cat_ok, cat_n), "category_n": cat_n,
        "item_accuracy": ratio(item_ok, item_n), "item_n": item_n,
        "location_hit": ratio(loc_ok, loc_n), "location_n": loc_n,
        "urgent_recall": ratio(u_tp, u_tp + u_fn), "urgent_precision": ratio(u_tp, u_tp + u_fp),
        "urgent_n": u_tp + u_fn,
        "confusion": confusion, "errors": errors,
    }


TARGETS = {"report_f1": 0.95, "category_accuracy": 0.92, "item_accuracy": 0.85, "location_hit": 0.85,
           "urgent_recall": 0.97, "urgent_precision": 0.80}


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else DEFAULT
    try:
        m = evaluate(path)
    except Exception as exc:  # CI prints, never gates
        print(f"evaluation failed: {exc!r}")
        return 0
    print(f"file: {path}  ({m['n']} messages)")
    print(f"report   P={m['report_precision']:.3f}  R={m['report_recall']:.3f}  F1={m['report_f1']:.3f}")
    print(f"chatter  P={m['chatter_precision']:.3f}  R={m['chatter_recall']:.3f}  F1={m['chatter_f1']:.3f}")
    print(f"category accuracy (true reports, n={m['category_n']}): {m['category_accuracy']:.3f}")
    print(f"item accuracy     (gold item,    n={m['item_n']}): {m['item_accuracy']:.3f}")
    print(f"location hit      (gold located, n={m['location_n']}): {m['location_hit']:.3f}")
    print(f"urgent   R={m['urgent_recall']:.3f}  P={m['urgent_precision']:.3f}  (n={m['urgent_n']})")
    missed = [k for k, t in TARGETS.items() if m[k] < t]
    print("targets: " + ("all met" if not missed else "below target: " + ", ".join(missed)))

    conf = m["confusion"]
    golds = sorted({g for g, _ in conf}, key=str)
    preds = sorted({p for _, p in conf}, key=str)
    width = max(10, *(len(str(p)) + 1 for p in preds))
    print("\ncategory confusion (rows gold, columns parsed; None = not a report):")
    print(" " * 12 + "".join(f"{str(p):>{width}}" for p in preds))
    for g in golds:
        print(f"{str(g):<12}" + "".join(f"{conf.get((g, p), 0) or '.':>{width}}" for p in preds))
    if "--errors" in argv:
        print("\nerrors:")
        for e in m["errors"]:
            print("  " + e)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
    sys.exit(0)
