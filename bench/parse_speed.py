"""Parser throughput, single process: messages/second on short and long messages.

    python bench/parse_speed.py [--seconds 2]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "parser_dev.jsonl"


def _messages() -> tuple[list[str], list[str]]:
    texts = [json.loads(line)["text"] for line in DEV.read_text("utf-8").splitlines() if line.strip()]
    short = [t for t in texts if len(t) <= 60]
    long = [t for t in texts if len(t) > 120]
    # make some really long ones: a few complaints glued together (~600-900 chars)
    long += ["。".join(texts[i:i + 12]) for i in range(0, len(texts) - 12, 37)]
    return short, long


def bench(msgs: list[str], seconds: float) -> tuple[float, float]:
    from pingan.parser import parse

    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for m in msgs:
            parse(m)
        n += len(msgs)
    dt = time.perf_counter() - t0
    return n / dt, sum(map(len, msgs)) / len(msgs)


def main(argv: list[str]) -> None:
    seconds = float(argv[argv.index("--seconds") + 1]) if "--seconds" in argv else 2.0
    from pingan.parser import parse

    t0 = time.perf_counter()
    parse("楼道里有煤气味")  # first call builds the lexicon / loads tables
    print(f"warm-up (lexicon build + first parse): {(time.perf_counter() - t0) * 1000:.0f} ms")
    short, long = _messages()
    for label, msgs in (("short", short), ("long", long)):
        rate, avg = bench(msgs, seconds)
        print(f"{label:>5}: {rate:8.0f} messages/s  (avg {avg:.0f} chars, {len(msgs)} distinct)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
