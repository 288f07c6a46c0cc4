"""Paging (短信/电话呼叫): who is paged when, and its sweep (rules.SWEEPS, run by the scheduler's sweep).

An urgent ticket with nobody's 签收/到场 `after_minutes` after dispatch: step 1 pages its holder (or,
on leave, the duty person) and its community's lead on duty; every `every_minutes` more, the next
tier up: its on-duty person and lead, up to the top of the ladder. Any word on the ticket from staff
(a keyword, a 说明) answers it, and so does a paged person's SMS reply 「1」 or 「收到」 (`answer_by_sms`,
from the provider's reply callback): pages not yet sent are cancelled. Each step is a `page` event
(who, which numbers, SMS/voice) and the answer a `page_answered` event (who, how long after the first
page, and `via` sms when it came by SMS)."""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import select

from pingan.lifecycle import AWAITING_ARRIVAL, HELD
from pingan.messages import ChatRef, Outbound, Text
from pingan.models import Level, OutboxMessage, Person, Ticket, TicketEvent
from pingan.models.delivery import PENDING
from pingan.models.stage import stage_event
from pingan.notify import Notifier, excerpt, span
from pingan.rules import ladder

log = logging.getLogger("pingan.paging")
PAGE, ANSWERED = "page", "page_answered"
PAGE_PLATFORMS = ("sms", "voice")
PARAM_CHARS = 12  # a template parameter's length the provider accepts


def chain(org, t: Ticket) -> list[list[Person]]:
    """The people of each step, nearest first; nobody twice in a step."""
    steps = [[ladder.holder(org, t), ladder.community_lead(org, t)]]
    community = org.up_to(t.unit_id or t.holder_unit_id, Level.community)
    unit = ladder.above(org, community.id if community else t.holder_unit_id)
    while unit is not None:
        steps.append([org.on_duty(unit.id), org.lead(unit.id)])
        unit = ladder.above(org, unit.id)
    return [list({p.id: p for p in step if p is not None}.values()) for step in steps]


def due_step(t: Ticket, now: datetime, s, steps: int) -> int:
    """The step the ticket should have reached by `now` (0: not yet)."""
    first = t.dispatched_at + timedelta(minutes=s.after_minutes)
    if now < first:
        return 0
    return min(steps, 1 + int((now - first) / timedelta(minutes=s.every_minutes)))


def answer(t: Ticket, events: list[TicketEvent]) -> TicketEvent | None:
    """The first word from staff on the ticket since dispatch (the reporter's own does not count)."""
    return next((e for e in events if e.actor_id and e.actor_id != t.reporter_id and e.action != "report"
                 and t.dispatched_at and e.at >= t.dispatched_at), None)


def params(n: Notifier, t: Ticket) -> list[Text]:
    """The template's parameters: {1} ticket number, {2} what, {3} where."""
    return [Text(f"#{t.id}"), Text(excerpt(n.label(t), PARAM_CHARS)), Text(excerpt(t.location or "位置待补充", PARAM_CHARS))]


def waiting_query(now: datetime, s):
    """Urgent tickets nobody has 签收/到场 since dispatch, past the first page's time (indexed:
    ix_tickets_urgent_dispatched)."""
    return select(Ticket).where(
        Ticket.urgent == True,  # noqa: E712 (= true, the form the index serves)
        Ticket.dispatched_at > now - timedelta(hours=s.horizon_hours),
        Ticket.dispatched_at <= now - timedelta(minutes=s.after_minutes),
        Ticket.acknowledged_at.is_(None), Ticket.on_scene_at.is_(None),
        Ticket.status.in_([str(x) for x in AWAITING_ARRIVAL]))


async def next_page_at(session, now: datetime, s) -> datetime | None:
    """The next moment a page step may fall due (for a replay that jumps between due moments, as
    `pingan demo` does; the server's sweep runs every minute)."""
    if not s.enabled:
        return None
    every, after = timedelta(minutes=s.every_minutes), timedelta(minutes=s.after_minutes)
    soon = [t.dispatched_at + after for t in (await session.exec(waiting_query(now + after, s))).all()]
    return min((first + every * (int((now - first) / every) + 1) if first <= now else first for first in soon),
               default=None)


async def sweep(bot, now: datetime) -> int:
    """Page the due steps and stop the answered; returns pages queued. Off unless paging.enabled."""
    s = bot.settings.paging
    if not s.enabled:
        return 0
    since = now - timedelta(hours=s.horizon_hours)
    async with bot.write_lock, bot.sessions() as session:
        waiting = list((await session.exec(waiting_query(now, s).with_for_update(skip_locked=True))).all())
        def recent(action):  # ix_ticket_events_action_at
            return select(TicketEvent.ticket_id).where(TicketEvent.action == action, TicketEvent.at > since)

        paged_ids = set((await session.exec(recent(PAGE))).all()) - set((await session.exec(recent(ANSWERED))).all())
        ids = paged_ids | {t.id for t in waiting}
        if not ids:
            return 0
        events: dict[int, list[TicketEvent]] = {i: [] for i in ids}
        for ev in (await session.exec(select(TicketEvent).where(TicketEvent.ticket_id.in_(ids))
                                      .order_by(TicketEvent.id))).all():
            events[ev.ticket_id].append(ev)
        tickets = {t.id: t for t in waiting}
        for tid in paged_ids - set(tickets):
            tickets[tid] = await session.get(Ticket, tid)
        n = Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock)
        queued, unanswered = 0, {w.id for w in waiting}
        for tid, t in sorted(tickets.items()):
            queued += await _ticket(session, n, t, events[tid], now, s, waiting=tid in unanswered)
        await bot.enqueue(session, n.out, now)
        await session.commit()
    return queued


async def _ticket(session, n: Notifier, t: Ticket, events: list[TicketEvent], now, s, waiting: bool) -> int:
    if any(e.action == ANSWERED for e in events):
        return 0
    pages = [e for e in events if e.action == PAGE]
    said = answer(t, events)
    if pages and (said is not None or t.status not in HELD or t.acknowledged_at or t.on_scene_at):
        await _stop(session, n, t, pages[0], n.org.people.get(said.actor_id) if said else None,
                    said.at if said else now, now)
        return 0
    if not waiting or said is not None:
        return 0
    steps = chain(n.org, t)
    done = max((e.data["step"] for e in pages), default=0)
    step = due_step(t, now, s, len(steps))
    if step <= done:
        return 0
    people = [p for p in steps[step - 1] if p.mobile]
    kinds = PAGE_PLATFORMS if s.voice else PAGE_PLATFORMS[:1]
    for p in people:
        for kind in kinds:
            n.out.append(Outbound(ChatRef(kind, "", "phone", p.mobile), params(n, t), ticket_id=t.id))
    stage_event(session.sync_session, TicketEvent(
        ticket_id=t.id, at=now, action=PAGE, to_status=t.status,
        note="、".join(p.name for p in people) or "无人登记手机号",
        data={"step": step, "people": [p.id for p in people], "mobiles": [p.mobile for p in people],
              "kinds": list(kinds)}))
    names = "、".join(p.name for p in people)
    text = (f"📞 #{t.id} 紧急隐患 {span(now - t.dispatched_at)} 无人签收或到场，已{'电话、' if s.voice else ''}"
            f"短信呼叫 {names}。任何人在群里回复「签收 #{t.id}」或「到场 #{t.id}」即停止呼叫。") if people else \
        f"⚠️ #{t.id} 紧急隐患无人响应，第{step}级无人登记手机号，无法短信呼叫，请管理员电话联系。"
    n.to_unit(t.holder_unit_id, lambda pf: [Text(text)], t)
    log.info("ticket #%s: paging step %d → %s", t.id, step, names or "nobody with a mobile")
    return len(people) * len(kinds)


async def _stop(session, n: Notifier, t: Ticket, first: TicketEvent, who: Person | None, at: datetime, now,
                via: str = "chat") -> None:
    """Answered by `who` at `at` (or, nobody, no longer open): cancel what has not gone out, and
    record who answered."""
    res = await session.exec(update(OutboxMessage).where(
        OutboxMessage.ticket_id == t.id, OutboxMessage.platform.in_(PAGE_PLATFORMS),
        OutboxMessage.status == PENDING).values(status="cancelled", last_error=f"answered ({via})"))
    if who is not None:
        how = "已短信回复收到" if via == "sms" else "已响应"
        n.to_unit(t.holder_unit_id, lambda pf: [Text(f"📵 #{t.id} {who.name} {how}，停止短信和电话呼叫。")], t)
    stage_event(session.sync_session, TicketEvent(
        ticket_id=t.id, at=now, actor_id=who.id if who else None, action=ANSWERED, to_status=t.status,
        note=who.name if who else f"工单{t.status}",
        data={"by": who.id if who else None, "answered_at": at.isoformat(), "cancelled": res.rowcount,
              "after_seconds": int((at - first.at).total_seconds()), "via": via}))


SMS_ACK = ("1", "收到")  # the page's SMS asks for one of these in reply


def acknowledges(text: str) -> bool:
    """「1」, 「１」, 「收到。」 …: the reply that answers a page."""
    return unicodedata.normalize("NFKC", text).strip().rstrip("。.!! ") in SMS_ACK


async def answer_by_sms(bot, person: Person, text: str, at: datetime) -> list[int]:
    """A paged person's SMS reply: 「1」/「收到」 answers every open page sent to them, as a word in chat
    answers a ticket's (the group hears it, queued pages are cancelled). Returns the tickets answered."""
    if not acknowledges(text):
        return []
    now = bot.clock.now()
    at = min(at, now)
    since = now - timedelta(hours=bot.settings.paging.horizon_hours)
    async with bot.write_lock, bot.sessions() as session:
        events = (await session.exec(select(TicketEvent).where(  # ix_ticket_events_action_at
            TicketEvent.action.in_([PAGE, ANSWERED]), TicketEvent.at > since).order_by(TicketEvent.id))).all()
        first: dict[int, TicketEvent] = {}
        paged_them: set[int] = set()
        for e in events:
            if e.action == PAGE:
                first.setdefault(e.ticket_id, e)
                if person.id in (e.data or {}).get("people", []):
                    paged_them.add(e.ticket_id)
        mine = sorted(paged_them - {e.ticket_id for e in events if e.action == ANSWERED})
        n = Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock)
        for tid in mine:
            await _stop(session, n, await session.get(Ticket, tid), first[tid], person, at, now, via="sms")
        await bot.enqueue(session, n.out, now)
        await session.commit()
    log.info("SMS reply from %s answered the pages of %s", person.id, mine or "no ticket")
    return mine
