"""The sweep: one indexed query finds the tickets whose next check is due, claims them
(FOR UPDATE SKIP LOCKED, so two processes never act on the same ticket), acts on every due point
in order through its window's step (pingan/rules/) — each once, each an event, late ones marked
(补发); a 提醒 overtaken by a later step of its window (held back by quiet hours or downtime) is only
marked done — and stores the recomputed next_check_at in the same transaction as the events and the
outbox rows."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import select

from pingan.lifecycle import ACTIVE, Action
from pingan.models import Ticket
from pingan.models.stage import StagedEvent, pending_events
from pingan.models.ticket import SCHEDULER_SESSION
from pingan.notify import Notifier
from pingan.rules import SWEEPS, WINDOWS, announce
from pingan.rules.base import Point
from pingan.scheduler.plan import plan
from pingan.tickets import TicketDesk

log = logging.getLogger("pingan.scheduler")
SWEPT = sorted(ACTIVE)


def due_query(now: datetime, limit: int):
    return (select(Ticket)
            .where(Ticket.status.in_(SWEPT), Ticket.next_check_at <= now)
            .order_by(Ticket.next_check_at, Ticket.id)
            .limit(limit)
            .with_for_update(skip_locked=True))


async def sweep(bot, now: datetime | None = None) -> int:
    """Act on everything due at `now` (default: the bot's clock). Returns the number of actions."""
    now = now or bot.clock.now()
    batch = bot.settings.scheduler.batch_size
    acted = 0
    for run in SWEEPS:  # whole-bot sweeps first: SMS/voice pages, hand-over posts
        acted += await run(bot, now)
    while True:
        async with bot.write_lock, bot.sessions() as session:  # in-process writes take turns
            session.info[SCHEDULER_SESSION] = True
            tickets = list((await session.exec(due_query(now, batch))).all())
            if not tickets:
                return acted
            notifier = Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock)
            desk = TicketDesk(session, bot.org, bot.settings, bot.taxonomy, now)
            worker = Sweeper(bot, session, desk, notifier, now)
            for t in tickets:
                acted += await worker.ticket(t)
            await bot.enqueue(session, notifier.out, now)
            await session.commit()
        if len(tickets) < batch:
            return acted


class Sweeper:
    """What a window's steps act with: the desk, the notifier, the org, `now`, and the records."""

    def __init__(self, bot, session, desk: TicketDesk, notifier: Notifier, now: datetime) -> None:
        self.bot, self.session, self.desk, self.notifier, self.now = bot, session, desk, notifier, now
        self.org = bot.org
        self.grace = timedelta(seconds=bot.settings.scheduler.late_after_seconds)
        self.tz = bot.clock.tz

    async def ticket(self, t: Ticket) -> int:
        done = 0
        for _ in range(50):  # each action can change the plan (a 呼叫 starts a new window)
            p = plan(t, self.now, self.tz)
            if not p.due:
                break
            point = p.due[0]
            # held back (quiet hours, downtime) behind a later step of the same window: a 提醒 that
            # would say "已超时" next to the overdue call itself is noise; it is marked, not posted
            if not (point.kind == "remind" and any(q.window == point.window for q in p.due[1:])):
                await self.act(t, point, late=self.now - point.at > self.grace or point.missed > 0)
            if point.key:
                t.reminders_sent = [k for k in (t.reminders_sent or []) if not k.startswith("u:") or
                                    not point.key.startswith("u:")] + [point.key]
            done += 1
        else:
            log.error("ticket #%s: too many due actions in one sweep; will continue next sweep", t.id)
        nxt = plan(t, self.now, self.tz).next_at
        if nxt is not None and nxt <= self.now:
            nxt = self.now + timedelta(minutes=1)
        t.next_check_at = nxt
        self.session.add(t)
        return done

    async def act(self, t: Ticket, p: Point, late: bool) -> None:
        await WINDOWS[p.window].steps[p.kind](self, t, p, late)

    # --- what steps record ------------------------------------------------------------------------
    def record(self, t: Ticket, action: str, p: Point, late: bool, note: str | None = None, **data) -> StagedEvent:
        data = {"key": p.key, "due": p.due.isoformat(), **data}
        if p.deferred:
            data["deferred"] = True
        if late:
            data["late"] = True
        return self.desk.event(t, action, None, None, from_status=t.status, note=note, **data)

    async def move(self, t: Ticket, action: Action, p: Point, late: bool, note: str, **extra) -> None:
        """The system's own lifecycle move; its event also says what the scheduler knows (late, key)."""
        await self.desk.move(t, action, None, None, note=note)
        for obj in pending_events(self.session.sync_session):
            if obj.ticket_id == t.id and obj.action == str(action):
                data = {**(obj.data or {}), "auto": True, "key": p.key, "due": p.due.isoformat(), **extra}
                if late:
                    data["late"] = True
                obj.data = data

    async def announce(self, t: Ticket, action: Action, late: bool) -> None:
        announce(self.notifier, t, action, None, await self.desk.events(t.id), late)
