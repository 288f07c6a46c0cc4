"""Free text (and simple forms) → a hazard-report guess. See `parse`."""

from pingan.parser.result import ParseResult
from pingan.parser.engine import find_place, parse, vague_place

__all__ = ["ParseResult", "find_place", "parse", "vague_place"]
