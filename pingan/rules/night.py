"""The night's figures (夜间), defined once: the morning hand-over (rules/handover.py) and the digests
(reports/digest.py) count and word them with these, so the two agree. (Here and not in reports/:
the hand-over is a rule, and rules import no reports.)

- a night: the quiet hours (policy quiet_start → quiet_end), attributed to the morning it ends;
- 上报: tickets created in a night, per the ticket's unit;
- 紧急 and how fast they were reached: dispatch → the first 签收 or 到场 (as of now), averaged;
  the urgent ones nobody has reached yet are counted apart;
- 短信呼叫: numbers paged (every step, rules/paging.py `page` events) and the tickets paged;
  有人响应: the paged tickets someone answered (a `page_answered` event with a person);
- 无人值班: stretches of a night that no shift on a unit's roster covers (units with a roster only:
  without one the organisation file's on-duty flags answer)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import and_, or_
from sqlmodel import select

from pingan.models import Ticket, TicketEvent
from pingan.notify import span
from pingan.rules.paging import ANSWERED, PAGE

Window = tuple[datetime, datetime]
LISTED = 3  # unstaffed stretches named in one line


def nights(policy, tz: tzinfo, ends_after: datetime, ends_by: datetime, most: int | None = None) -> list[Window]:
    """The nights (local, aware) ending in (ends_after, ends_by], oldest first; the last `most`."""
    qs, qe = time.fromisoformat(policy.quiet_start), time.fromisoformat(policy.quiet_end)
    if qs == qe:  # no quiet hours: no nights
        return []
    out, day = [], ends_after.astimezone(tz).date()
    while (end := datetime.combine(day, qe, tzinfo=tz)) <= ends_by:
        if end > ends_after:
            out.append((datetime.combine(day - timedelta(days=1) if qs > qe else day, qs, tzinfo=tz), end))
        day += timedelta(days=1)
    return out[-most:] if most else out


@dataclass
class Night:
    reports: int = 0
    urgent: int = 0
    reach_secs: list = field(default_factory=list)  # urgent ones reached: dispatch → 签收/到场
    paged: int = 0  # tickets paged
    pages: int = 0  # numbers paged, every step
    answered: int = 0  # paged tickets someone answered
    unstaffed: list = field(default_factory=list)  # (unit id, from, to), local

    def add(self, o: "Night") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(o, f.name))

    @property
    def empty(self) -> bool:
        return not (self.reports or self.unstaffed)

    def line(self, word: str, units: dict) -> str:
        """'🌙 昨夜上报 2 件，其中紧急 1 件，平均 10分钟 响应；短信呼叫 3 次（1 件），1 件有人响应；无人值班 …。'"""
        line = f"🌙 {word}上报 {self.reports} 件，其中紧急 {self.urgent} 件"
        if self.reach_secs:
            line += f"，平均 {span(timedelta(seconds=sum(self.reach_secs) / len(self.reach_secs)))} 响应"
        if self.urgent > len(self.reach_secs):
            line += f"，{self.urgent - len(self.reach_secs)} 件无人签收或到场"
        if self.paged:
            line += f"；短信呼叫 {self.pages} 次（{self.paged} 件），{self.answered} 件有人响应"
        if self.unstaffed:
            gaps = [f"{units[u].name if u in units else u} {a:%H:%M}–{b:%H:%M}"
                    for u, a, b in sorted(self.unstaffed, key=lambda g: (g[1], g[0]))]
            line += f"；⚠️ 无人值班 {len(gaps)} 段：" + "、".join(gaps[:LISTED]) + ("等" if len(gaps) > LISTED else "")
        return line + "。"


def _in(windows: list[Window]):
    return or_(*(and_(Ticket.created_at >= a, Ticket.created_at < b) for a, b in windows))  # ix on created_at


async def collect(session, windows: list[Window], where: list = ()) -> dict[str | None, Night]:
    """Per ticket unit, the figures of the tickets created in the nights (`where` narrows them):
    two queries, the tickets' times and their page events."""
    out: dict[str | None, Night] = {}
    if not windows:
        return out
    T = Ticket
    q = select(T.id, T.unit_id, T.urgent, T.dispatched_at, T.acknowledged_at, T.on_scene_at).where(_in(windows), *where)
    unit_of = {}
    for tid, unit, urgent, dispatched, acked, on_scene in (await session.exec(q)).all():
        unit_of[tid] = unit
        n = out.setdefault(unit, Night())
        n.reports += 1
        n.urgent += bool(urgent)
        reached = min((x for x in (acked, on_scene) if x), default=None)
        if urgent and dispatched and reached:
            n.reach_secs.append(max(0.0, (reached - dispatched).total_seconds()))
    eq = (select(TicketEvent.ticket_id, TicketEvent.action, TicketEvent.actor_id, TicketEvent.data)
          .join(T, T.id == TicketEvent.ticket_id).where(TicketEvent.action.in_([PAGE, ANSWERED]), _in(windows), *where))
    numbers, answered = {}, set()
    for tid, action, actor, data in (await session.exec(eq)).all():
        if action == PAGE:
            numbers[tid] = numbers.get(tid, 0) + len((data or {}).get("people", []))
        elif actor:
            answered.add(tid)
    for tid, count in numbers.items():
        n = out[unit_of[tid]]
        n.paged, n.pages, n.answered = n.paged + 1, n.pages + count, n.answered + (tid in answered)
    return out


def unstaffed(roster, unit_ids, windows: list[Window]) -> dict[str, list]:
    """Per unit with a roster, the stretches of the nights no shift covers."""
    out: dict[str, list] = {}
    if roster is None:
        return out
    for unit_id in sorted(set(unit_ids) & roster.units):
        for a, b in windows:
            days = sorted({a.astimezone(roster.tz).date(), (b - timedelta(microseconds=1)).astimezone(roster.tz).date()})
            merged: list[list[datetime]] = []
            for ga, gb in (g for d in days for g in roster.gaps(unit_id, d)):
                ga, gb = max(ga, a), min(gb, b)
                if gb <= ga:
                    continue
                if merged and merged[-1][1] >= ga:  # a gap to midnight and one from it: one stretch
                    merged[-1][1] = max(merged[-1][1], gb)
                else:
                    merged.append([ga, gb])
            out.setdefault(unit_id, []).extend((unit_id, ga, gb) for ga, gb in merged)
    return {u: g for u, g in out.items() if g}


def label(windows: list[Window]) -> str:
    """'夜间（4月8日22:00–07:00）', or '7 个夜间', for the digests."""
    if len(windows) != 1:
        return f"{len(windows)} 个夜间"
    a, b = windows[0]
    return f"夜间（{a.month}月{a.day}日{a:%H:%M}–{b:%H:%M}）"
