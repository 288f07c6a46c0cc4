from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class ParseResult:
    """What the parser thinks a message is. `matched` lists the words that decided it."""

    report: bool
    category: str | None = None
    item: str | None = None
    location: str | None = None
    urgent: bool = False
    size: str | None = None
    confidence: float = 0.0
    matched: list[str] = field(default_factory=list)
    description: str | None = None
    # Danger to life now, when urgent: fire, gas, electric, collapse, trapped_lift, casualty,
    # violence, drowning or other; the emergency reply's first line is chosen by it.
    hazard: str | None = None
    # For a non-report, why not (question, service_complaint, chatter, other_sense, ...).
    why_not: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)
