"""Hand-over (交班) posts: a unit's open and overdue tickets with their holders, @-mentioning the
incoming shift; the morning one (at the end of quiet hours) sums up the night in the figures of
rules/night.py (reports, the urgent ones' response time, SMS pages and answers, shifts nobody was
on) and @-mentions the holders of the night's reports that
waited (nobody is woken for a report that is not urgent).

Automatic ones are claimed once in `scheduler_runs` (job `handover`), from the scheduler's sweep
(rules.SWEEPS); 「交班」 in chat (handlers/duty.py) posts the same."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pingan.lifecycle import HELD
from pingan.messages import Text
from pingan.models import Person, Ticket
from pingan.models.roster import DUTY_ROLES
from pingan.models.ticket import SchedulerRun
from pingan.notify import Notifier
from pingan.rules import night

LATE = timedelta(minutes=30)  # an automatic hand-over later than this after its time is skipped
LISTED = 15  # tickets listed by number in one post


def overdue(t: Ticket, now: datetime) -> bool:
    return bool((t.resolve_due and t.resolve_due < now and t.resolved_at is None)
                or (t.on_scene_due and t.on_scene_due < now and t.on_scene_at is None))


async def open_tickets(session, org, unit_id: str) -> list[Ticket]:
    q = (select(Ticket).where(Ticket.unit_id.in_(org.descendants(unit_id)),
                              Ticket.status.in_([str(s) for s in HELD])).order_by(Ticket.id))
    return list((await session.exec(q)).all())


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
    last_night = night.nights(bot.settings.policy, tz, now - LATE, now, most=1)
    async with bot.write_lock, bot.sessions() as session:
        if last_night:
            start, end = last_night[0]
            figs = await night.collect(session, last_night)
            gaps = night.unstaffed(org.roster, figs, last_night)
            held = list((await session.exec(select(Ticket).where(  # ix on created_at
                Ticket.created_at >= start, Ticket.created_at < end, Ticket.urgent == False,  # noqa: E712
                Ticket.status.in_([str(s) for s in HELD])).order_by(Ticket.id))).all())
            for unit_id in sorted(u for u in figs if u):
                figs[unit_id].unstaffed = gaps.get(unit_id, [])
                due[f"{unit_id}@morning@{end.date().isoformat()}"] = (
                    unit_id, [], [t for t in held if t.unit_id == unit_id], figs[unit_id].line("昨夜", org.units))
        if not due:
            return 0
        done = set((await session.exec(select(SchedulerRun.key).where(
            SchedulerRun.job == "handover", SchedulerRun.key.in_(list(due))))).all())
        n = Notifier(org, bot.settings, bot.taxonomy, bot.clock)
        for key, (unit_id, people, waiting, summary) in due.items():
            if key not in done:
                session.add(SchedulerRun(job="handover", key=key, at=now))
                post(n, unit_id, await open_tickets(session, org, unit_id), now, people, waiting, summary=summary)
        try:
            await session.flush()
        except IntegrityError:  # another process posted them first
            await session.rollback()
            return 0
        await bot.enqueue(session, n.out, now)
        await session.commit()
    return len(n.out)
