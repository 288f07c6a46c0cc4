"""The `pingan parse --jsonl` stream contract: one JSON object in, the same object plus `parsed` out."""

from __future__ import annotations

import json
from typing import IO

from pingan.parser.engine import parse


def parse_line(line: str) -> dict:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"invalid JSON: {exc.msg} (column {exc.colno})", "line": line.rstrip("\n")}
    if not isinstance(obj, dict):
        return {"error": "each line must be a JSON object", "line": line.rstrip("\n")}
    text = obj.get("text")
    if not isinstance(text, str):
        return {**obj, "error": "missing string field 'text'"}
    fields = obj.get("fields") if isinstance(obj.get("fields"), dict) else None
    return {**obj, "parsed": parse(text, fields).to_dict()}


def run_jsonl(src: IO[str], dst: IO[str]) -> int:
    """Stream lines in order; malformed lines get an `error` field, never a crash. Returns lines written."""
    n = 0
    for line in src:
        if not line.strip():
            continue
        dst.write(json.dumps(parse_line(line), ensure_ascii=False) + "\n")
        n += 1
    dst.flush()
    return n
