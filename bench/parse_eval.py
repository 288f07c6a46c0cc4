"""Measure the hazard parser against a labelled JSONL file.

    python bench/parse_eval.py [FILE] [--errors]

FILE defaults to tests/data/parser_dev.jsonl; each line holds
{"text", "report", "category", "item", "location", "urgent"} and optionally "hazard" and
"why_not". Messages go through `pingan.parser.jsonl.parse_line`, the same path as
`pingan parse --jsonl`. Prints report precision/recall/F1, specificity on non-reports, category
and item accuracy, location hit rate, urgent recall/precision and false alarms (share of true
reports marked urgent that are not), hazard-kind accuracy, a category confusion table, and the
recorded first (untuned) run of each fresh holdout (bench/parse_first_runs.json).
`--errors` also lists the misses. Always exits 0.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "tests" / "data" / "parser_dev.jsonl"
# the score each fresh holdout got the first time the parser saw it, before any tuning on it
FIRST_RUNS = ROOT / "bench" / "parse_first_runs.json"


def location_hit(gold: str | None, got: str | None) -> bool:
    """Raw containment either way, no normalisation: '翠竹苑３棟' does not match '翠竹苑3栋'.
    This is what an outside evaluator comparing strings as written will do."""
    g, p = (gold or "").strip(), (got or "").strip()
    return bool(g and p) and (g in p or p in g)


def evaluate(path: str | Path) -> dict:
    from pingan.parser.jsonl import parse_line

    rows = [json.loads(line) for line in Path(path).read_text("utf-8").splitlines() if line.strip()]
    c: Counter = Counter()
    confusion: Counter = Counter()
    errors: list[str] = []
    for row in rows:
        out = parse_line(json.dumps({"text": row["text"]}, ensure_ascii=False))
        _score_row(row, out.get("parsed") or {"report": False}, c, confusion, errors)

    def ratio(a, b):
        return a / b if b else 0.0

    prec, rec = ratio(c["tp"], c["tp"] + c["fp"]), ratio(c["tp"], c["tp"] + c["fn"])
    chat_prec, chat_rec = ratio(c["tn"], c["tn"] + c["fn"]), ratio(c["tn"], c["tn"] + c["fp"])
    return {
        "n": len(rows),
        "report_precision": prec, "report_recall": rec, "report_f1": ratio(2 * prec * rec, prec + rec),
        "chatter_precision": chat_prec, "chatter_recall": chat_rec,
        "chatter_f1": ratio(2 * chat_prec * chat_rec, chat_prec + chat_rec),
        "category_accuracy": ratio(c["cat_ok"], c["cat_n"]), "category_n": c["cat_n"],
        "item_accuracy": ratio(c["item_ok"], c["item_n"]), "item_n": c["item_n"],
        "location_hit": ratio(c["loc_ok"], c["loc_n"]), "location_n": c["loc_n"],
        "urgent_recall": ratio(c["u_tp"], c["u_tp"] + c["u_fn"]),
        "urgent_precision": ratio(c["u_tp"], c["u_tp"] + c["u_fp"]), "urgent_n": c["u_tp"] + c["u_fn"],
        "specificity": chat_rec, "nonreport_n": c["tn"] + c["fp"],
        "urgent_false_alarm": ratio(c["u_false_report"], c["cat_n"]),
        "hazard_accuracy": ratio(c["hz_ok"], c["hz_n"]), "hazard_n": c["hz_n"],
        "confusion": confusion, "errors": errors,
    }


def _score_row(row: dict, p: dict, c: Counter, confusion: Counter, errors: list[str]) -> None:
    text = row["text"][:80]
    gold_r, got_r = bool(row.get("report")), bool(p.get("report"))
    c[{(True, True): "tp", (False, True): "fp", (True, False): "fn", (False, False): "tn"}[gold_r, got_r]] += 1
    if gold_r != got_r:
        errors.append(f"REPORT gold={gold_r} got={got_r}: {text}")
    if gold_r:
        c["cat_n"] += 1
        gc, pc = row.get("category"), p.get("category") if got_r else None
        confusion[(gc, pc)] += 1
        if gc == pc:
            c["cat_ok"] += 1
        elif got_r:
            errors.append(f"CAT {gc}→{pc} {p.get('matched')}: {text}")
        if row.get("item"):
            c["item_n"] += 1
            if p.get("item") == row["item"]:
                c["item_ok"] += 1
            elif got_r:
                errors.append(f"ITEM {row['item']}→{p.get('item')} {p.get('matched')}: {text}")
        if row.get("location"):
            c["loc_n"] += 1
            if location_hit(row["location"], p.get("location")):
                c["loc_ok"] += 1
            else:
                errors.append(f"LOC {row['location']!r}→{p.get('location')!r}: {text}")
    gu, pu = bool(row.get("urgent")), bool(p.get("urgent"))
    c["u_false_report"] += gold_r and pu and not gu
    if gu and row.get("hazard"):
        c["hz_n"] += 1
        if p.get("hazard") == row["hazard"]:
            c["hz_ok"] += 1
        elif pu:
            errors.append(f"HAZARD {row['hazard']}→{p.get('hazard')}: {text}")
    c["u_tp"] += gu and pu
    c["u_fp"] += (not gu) and pu
    c["u_fn"] += gu and not pu
    if gu != pu:
        errors.append(f"URGENT gold={gu} got={pu} {p.get('matched')}: {text}")


TARGETS = {"report_f1": 0.95, "specificity": 0.90, "category_accuracy": 0.90, "item_accuracy": 0.85,
           "location_hit": 0.85, "urgent_recall": 0.97, "urgent_precision": 0.80}
# at most: non-urgent true reports marked urgent, as a share of true reports
MAX_URGENT_FALSE_ALARM = 0.02


def below_target(m: dict) -> list[str]:
    out = [k for k, t in TARGETS.items() if m[k] < t]
    return out + (["urgent_false_alarm"] if m["urgent_false_alarm"] > MAX_URGENT_FALSE_ALARM else [])


def first_runs() -> dict:
    try:
        return json.loads(FIRST_RUNS.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


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
    print(f"specificity (non-reports left alone, n={m['nonreport_n']}): {m['specificity']:.3f}")
    print(f"category accuracy (true reports, n={m['category_n']}): {m['category_accuracy']:.3f}")
    print(f"item accuracy     (gold item,    n={m['item_n']}): {m['item_accuracy']:.3f}")
    print(f"location hit      (gold located, n={m['location_n']}): {m['location_hit']:.3f}")
    print(f"urgent   R={m['urgent_recall']:.3f}  P={m['urgent_precision']:.3f}  (n={m['urgent_n']})"
          f"  false alarms {m['urgent_false_alarm']:.3f} of reports")
    print(f"hazard kind       (gold urgent,  n={m['hazard_n']}): {m['hazard_accuracy']:.3f}")
    missed = below_target(m)
    print("targets: " + ("all met" if not missed else "below target: " + ", ".join(missed)))

    conf = m["confusion"]
    golds = sorted({g for g, _ in conf}, key=str)
    preds = sorted({p for _, p in conf}, key=str)
    width = max(10, *(len(str(p)) + 1 for p in preds))
    print("\ncategory confusion (rows gold, columns parsed; None = not a report):")
    print(" " * 12 + "".join(f"{str(p):>{width}}" for p in preds))
    for g in golds:
        print(f"{str(g):<12}" + "".join(f"{conf.get((g, p), 0) or '.':>{width}}" for p in preds))
    runs = first_runs()
    if runs:
        print("\nfirst untuned run of each fresh holdout (bench/parse_first_runs.json):")
        for name, r in runs.items():
            print(f"  {name}: " + "  ".join(f"{k}={v}" for k, v in r.items()))
    if "--record-first-run" in argv:
        keys = ("report_f1", "specificity", "category_accuracy", "item_accuracy", "location_hit",
                "urgent_recall", "urgent_false_alarm", "hazard_accuracy")
        runs.setdefault(path.name, {k: round(m[k], 3) for k in keys})
        FIRST_RUNS.write_text(json.dumps(runs, ensure_ascii=False, indent=1) + "\n", "utf-8")
    if "--errors" in argv:
        print("\nerrors:")
        for e in m["errors"]:
            print("  " + e)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
    sys.exit(0)
