"""Hand-over (交班) posts: a unit's open and overdue tickets with their holders, @-mentioning the
incoming shift; the morning one (at the end of quiet hours) sums up the night (reports, the urgent
ones' response time, SMS pages and answers) and @-mentions the holders of the night's reports that
waited (nobody is woken for a report that is not urgent).

Automatic ones are claimed once in `scheduler_runs` (job `handover`), from the scheduler's sweep
(rules.SWEEPS); 「交班」 in chat (handlers/duty.py) posts the same."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pingan.lifecycle import HELD
from pingan.messages import Text
from pingan.models import Person, Ticket, TicketEvent
from pingan.models.roster import DUTY_ROLES
from pingan.models.ticket import SchedulerRun
from pingan.notify import Notifier, span
from pingan.rules.paging import ANSWERED, PAGE

LATE = timedelta(minutes=30)  # an automatic hand-over later than this after its time is skipped
LISTED = 15  # tickets listed by number in one post


def overdue(t: Ticket, now: datetime) -> bool:
    return bool((t.resolve_due and t.resolve_due < now and t.resolved_at is None)
                or (t.on_scene_due and t.on_scene_due < now and t.on_scene_at is None))


async def open_tickets(session, org, unit_id: str) -> list[Ticket]:
    q = (select(Ticket).where(Ticket.unit_id.in_(org.descendants(unit_id)),
                              Ticket.status.in_([str(s) for s in HELD])).order_by(Ticket.id))
    return list((await session.exec(q)).all())


def night_line(reports: list[Ticket], pages: dict[int, int], answered: set[int]) -> str:
    """The night in one line: reports, the urgent ones' response time (签收 or 到场), pages."""
    urgent = [t for t in reports if t.urgent]
    took = [min(x for x in (t.acknowledged_at, t.on_scene_at) if x) - t.dispatched_at
            for t in urgent if t.dispatched_at and (t.acknowledged_at or t.on_scene_at)]
    line = f"🌙 昨夜上报 {len(reports)} 件，其中紧急 {len(urgent)} 件"
    if took:
        line += f"，平均 {span(sum(took, timedelta()) / len(took))} 响应"
    paged = [t.id for t in reports if pages.get(t.id)]
    if paged:
        line += f"；短信呼叫 {sum(pages[i] for i in paged)} 次（{len(paged)} 件），{len(answered & set(paged))} 件有人响应"
    return line + "。"


def post(n: Notifier, unit_id: str, tickets: list[Ticket], now: datetime, incoming: list[Person],
         night: list[Ticket] = (), by: Person | None = None, summary: str | None = None) -> None:
    """The hand-over post in the unit's coordination group(s)."""
    late = [t for t in tickets if overdue(t, now)]
    head = f"🔄【交班】{n.org.units[unit_id].name} {n.hhmm(now)}" + (f"（{by.name}交班）" if by else "")
    lines = [head, f"在办 {len(tickets)} 件，超期 {len(late)} 件。"] + ([summary] if summary else [])
    for t in tickets[:LISTED]:
        lines.append(f"#{t.id} {n.label(t)} {t.location or ''} —— {n.holder_name(t)}{'（超期）' if t in late else ''}")
    if len(tickets) > LISTED:
        lines.append(f"……另有 {len(tickets) - LISTED} 件，回复「超期」查看超期工单。")
    holders = [p for p in (n.org.answering(t.holder_person_id, t.holder_unit_id, now) for t in night) if p]
    if night:
        lines.append(f"🌙 夜间非紧急上报 {len(night)} 件：" + "、".join(f"#{t.id}" for t in night)
                     + "，请责任人今早按时到场。")
    lines.append("接班人员请回复「接班」确认。")

    def build(pf):
        parts = [Text("\n".join(lines) + "\n")]
        for p in list({p.id: p for p in incoming + holders}.values()):
            parts += [n.mention(p, pf), Text(" ")]
        return parts

    n.to_unit(unit_id, build)


def incoming(org, unit_id: str, at: datetime) -> list[Person]:
    """Who comes on duty at the unit's next shift change (from the roster), else who is on duty."""
    duties = org.roster.next(unit_id, at) if org.roster is not None and org.roster.has(unit_id) else []
    people = [org.people[d.person_id] for d in duties if d.person_id in org.people]
    return people or [p for p in (org.on_duty(unit_id, at), org.lead(unit_id, at)) if p]


def shift_line(org, unit_id: str, at: datetime) -> str:
    """'值班员 王书记、带班领导 陈主任' for the roster's shift at the moment."""
    duties = org.roster.at(unit_id, at) if org.roster is not None else []
    return "、".join(f"{DUTY_ROLES.get(d.role, d.role)} {org.people[d.person_id].name}" for d in duties
                     if d.person_id in org.people)


async def _pages(session, ids: list[int]) -> tuple[dict[int, int], set[int]]:
    """Per ticket, how many numbers were paged; and the tickets whose pages someone answered."""
    pages: dict[int, int] = {}
    answered: set[int] = set()
    if ids:
        for ev in (await session.exec(select(TicketEvent).where(
                TicketEvent.ticket_id.in_(ids), TicketEvent.action.in_([PAGE, ANSWERED])))).all():
            if ev.action == PAGE:
                pages[ev.ticket_id] = pages.get(ev.ticket_id, 0) + len((ev.data or {}).get("people", []))
            elif ev.actor_id:
                answered.add(ev.ticket_id)
    return pages, answered


async def sweep(bot, now: datetime) -> int:
    """Automatic hand-overs: at each rostered shift change, and at the end of quiet hours in every
    community that had night reports. Each claimed once; returns posts queued."""
    org, tz = bot.org, bot.clock.tz
    due: dict[str, tuple] = {}  # claim key → (unit, incoming, night reports waiting, night summary)
    for unit_id in sorted(org.roster.units if org.roster is not None else ()):
        for d in org.roster.at(unit_id, now):
            if now - d.starts < LATE:
                key = f"{unit_id}@{d.starts.isoformat()}"
                people = due.get(key, (unit_id, []))[1]
                due[key] = (unit_id, people + [org.people[d.person_id]] if d.person_id in org.people else people,
                            [], None)
    p = bot.settings.policy
    qs, qe = time.fromisoformat(p.quiet_start), time.fromisoformat(p.quiet_end)
    local = now.astimezone(tz)
    end = datetime.combine(local.date(), qe, tzinfo=tz)
    async with bot.write_lock, bot.sessions() as session:
        if qs != qe and timedelta(0) <= local - end < LATE:
            start = datetime.combine(local.date() - timedelta(days=1) if qs > qe else local.date(), qs, tzinfo=tz)
            night = list((await session.exec(select(Ticket).where(  # ix on created_at
                Ticket.created_at >= start, Ticket.created_at < end).order_by(Ticket.id))).all())
            pages, answered = await _pages(session, [t.id for t in night])
            for unit_id in sorted({t.unit_id for t in night if t.unit_id}):
                mine = [t for t in night if t.unit_id == unit_id]
                waiting = [t for t in mine if not t.urgent and t.status in HELD]
                due[f"{unit_id}@morning@{local.date().isoformat()}"] = (
                    unit_id, [], waiting, night_line(mine, pages, answered))
        if not due:
            return 0
        done = set((await session.exec(select(SchedulerRun.key).where(
            SchedulerRun.job == "handover", SchedulerRun.key.in_(list(due))))).all())
        n = Notifier(org, bot.settings, bot.taxonomy, bot.clock)
        for key, (unit_id, people, night, summary) in due.items():
            if key not in done:
                session.add(SchedulerRun(job="handover", key=key, at=now))
                post(n, unit_id, await open_tickets(session, org, unit_id), now, people, night, summary=summary)
        try:
            await session.flush()
        except IntegrityError:  # another process posted them first
            await session.rollback()
            return 0
        await bot.enqueue(session, n.out, now)
        await session.commit()
    return len(n.out)
