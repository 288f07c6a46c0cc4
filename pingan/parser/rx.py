"""Building the lexicon's big regular expressions so that Python's engine runs them fast.

Both helpers change how a pattern is written, never what it matches: the parser scans every
message with alternations of a thousand words and dozens of hand-written expressions, and the
engine tries each alternative at each position unless it can rule a position out first.
"""

from __future__ import annotations

import re

try:  # the engine's own parser; private, so any surprise just means no first-character check
    from re import _constants as _C, _parser as _P
except ImportError:  # pragma: no cover
    _P = None


def word_tree(words: list[str], depth: int = 2, split_above: int = 200) -> str:
    """`words` (longest first) as an alternation with the same matches as the flat
    "煤气味|煤气罐|火灾|火": words grouped by first character ("煤(?:气味|气罐)|火(?:灾|)"), so at
    each position only the words that can start there are tried. Alternatives that all start with
    a character let the engine skip to where one of them occurs; with hundreds of first characters
    trying each in turn costs more than that saves, so they are split into ranges behind a
    character-class look-ahead (measured on the lexicon: the keyword scan ~4x faster, small lists
    ~3x slower if split)."""
    groups: dict[str, list[str]] = {}
    for w in words:
        groups.setdefault(w[:1], []).append(w)
    firsts = sorted(ch for ch in groups if ch)
    if len(firsts) > split_above:
        k = -(-len(firsts) // 2)
        parts = [firsts[i:i + k] for i in range(0, len(firsts), k)]
        alts = ["(?=[" + "".join(re.escape(ch) for ch in part) + "])(?:"
                + word_tree([w for ch in part for w in groups[ch]], depth, 32) + ")" for part in parts]
        return "|".join(alts + ([""] if "" in groups else []))  # the empty tail of a shorter word last
    if depth == 0 or len(words) <= 3:
        return "|".join(re.escape(w) for w in words)
    alts = []
    for ch in firsts:
        tails = [w[1:] for w in groups[ch]]
        alts.append(re.escape(ch) + (f"(?:{word_tree(tails, depth - 1, 32)})" if tails != [""] else ""))
    return "|".join(alts + ([""] if "" in groups else []))


class _Unknown(Exception):
    """A construct whose first character cannot be told (".", "\\s", a back-reference...)."""


def _first(items) -> tuple[list[str], bool]:
    """Character-class items for the first character a parsed sequence can match, and whether
    it can match the empty string."""
    out: list[str] = []
    for op, av in items:
        if op is _C.LITERAL:
            return out + [re.escape(chr(av))], False
        if op is _C.IN:
            for iop, iav in av:
                if iop is _C.LITERAL:
                    out.append(re.escape(chr(iav)))
                elif iop is _C.RANGE:
                    out.append(re.escape(chr(iav[0])) + "-" + re.escape(chr(iav[1])))
                else:
                    raise _Unknown  # negated class, \s inside a class ...
            return out, False
        if op is _C.BRANCH:
            nullable = False
            for alt in av[1]:
                chars, empty = _first(alt)
                out += chars
                nullable |= empty
        elif op is _C.SUBPATTERN:
            if av[1] or av[2]:
                raise _Unknown  # "(?i:…)": flags change what a character matches
            chars, nullable = _first(av[3])
            out += chars
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            chars, empty = _first(av[2])
            out += chars
            nullable = av[0] == 0 or empty
        elif op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue  # zero width: the next item gives the first character
        else:
            raise _Unknown
        if not nullable:
            return out, False
    return out, True


def _engine_scans_itself(items) -> bool:
    """Python's compiler already skips ahead when a pattern starts with a literal, a class, or
    alternatives that all start with a literal ("好久不见|最近…")."""
    while items and items[0][0] is _C.SUBPATTERN:
        items = items[0][1][3]
    if not items:
        return False
    op, av = items[0]
    if op in (_C.LITERAL, _C.IN):
        return True
    return op is _C.BRANCH and all(alt and alt[0][0] is _C.LITERAL for alt in av[1])


def with_first_char_check(pattern: str) -> str:
    """`pattern` behind a look-ahead for the characters a match can start with ("(?=[燃天煤电…])"),
    so positions where nothing can start are passed over in one test; unchanged when the engine
    does that itself or the first characters cannot be told."""
    if _P is None:
        return pattern
    try:
        parsed = _P.parse(pattern)
        items = list(parsed)
        if parsed.state.flags & (re.IGNORECASE | re.VERBOSE) or _engine_scans_itself(items):
            return pattern
        chars, nullable = _first(items)
    except (_Unknown, re.error, AttributeError, TypeError, IndexError):
        return pattern
    if nullable or not chars:
        return pattern
    return "(?=[" + "".join(dict.fromkeys(chars)) + "])(?:" + pattern + ")"


def top_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of `pattern`, as written ("a|(?:b|c)" → "a", "(?:b|c)")."""
    out, cur, depth, i = [], [], 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            cur.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[":  # a class: "|", "(" and ")" inside it are characters ("[^()|]", "[]x]")
            j = i + 1 + (pattern[i + 1:i + 2] == "^")
            j += pattern[j:j + 1] == "]"
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            cur.append(pattern[i:j + 1])
            i = j + 1
            continue
        depth += (ch == "(") - (ch == ")")
        if ch == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    return out + ["".join(cur)]


# an alternative that reaches back over the words before its own ("[^,。]{0,8}(?:那场戏|的戏)", "(?:像|跟)?[^,。]{0,6}?着火")
_REACH_BACK = re.compile(r"(?:\(\?:[^()\[\]\\]*\)\?)?\[\^(?:\\.|[^\]\\])*\]\{0,\d+\}\??")


class Blanker:
    """One alternation for `sub`, with the alternatives that reach back over the words before their own
    run apart: any character can start those, so in one alternation the engine tries every alternative at
    every position (a sixth of a long message's parse). They run after the rest, and only on a text that
    holds their own words (the gate), on what the rest left."""

    def __init__(self, patterns: list[str]) -> None:
        reach, rest = [], []  # (alternative, where its own words start); the others
        for a in (a for p in patterns for a in top_alternatives(p)):
            m = _REACH_BACK.match(a)
            if m is not None:
                reach.append((a, m.end()))
            else:
                rest.append(a)
        self.main = re.compile(with_first_char_check("|".join(f"(?:{a})" for a in rest))) if rest else None
        self.reach = re.compile("|".join(f"(?:{a})" for a, _ in reach)) if reach else None
        gate = with_first_char_check("|".join(f"(?:{a[k:]})" for a, k in reach))
        # a gate the engine can skip ahead in, or none (the reaching ones then always run)
        self.gate = re.compile(gate) if reach and (gate.startswith("(?=[") or _starts_literal(gate)) else None

    def sub(self, repl, text: str) -> str:
        out = self.main.sub(repl, text) if self.main is not None else text
        if self.reach is not None and (self.gate is None or self.gate.search(out)):
            out = self.reach.sub(repl, out)
        return out


def _starts_literal(pattern: str) -> bool:
    try:
        return _P is not None and _engine_scans_itself(list(_P.parse(pattern)))
    except re.error:
        return False
