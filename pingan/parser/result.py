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
    # For a non-report, why not: chatter, notice, all_clear, question, service_complaint, billing,
    # licensing, suggestion, other_sense (a hazard word in another sense), past (a story of something
    # long over), weak or unsure (the model doubts it or alone takes it for a report: ask).
    why_not: str | None = None
    # Too unsure to file silently (a thin report, or a message only the statistical model takes for
    # one): the conversation layer asks one short question first.
    ask: bool = False
    # Asked, and the model reads danger now in it ("dt卡起了 出不来"): the question opens with what to
    # do now. The model alone files nothing, so this is no report and no emergency.
    maybe_danger: bool = False

    def to_dict(self) -> dict:
        return asdict(self)
