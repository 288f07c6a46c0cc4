"""The sweep: one indexed query finds the tickets whose next check is due, claims them
(FOR UPDATE SKIP LOCKED, so two processes never act on the same ticket), acts on every due point
in order — each once, each an event, late ones marked (补发); a 提醒 overtaken by a later step of its
window (held back by quiet hours or downtime) is only marked done — and stores the recomputed
next_check_at in the same transaction as the events and the outbox rows."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import select

from pingan.lifecycle import Action
from pingan.models import Level, Person, Ticket
from pingan.models.ticket import SCHEDULER_SESSION, TicketEvent, pending_events
from pingan.notify import Notifier
from pingan.paging.policy import sweep as page_sweep
from pingan.roster.handover import sweep as handover_sweep
from pingan.scheduler import render
from pingan.scheduler.plan import SUPERVISION_ORDER, SWEPT, Point, plan, snap_of
from pingan.tickets import TicketDesk

log = logging.getLogger("pingan.scheduler")


def due_query(now: datetime, limit: int):
    return (select(Ticket)
            .where(Ticket.status.in_([str(s) for s in SWEPT]), Ticket.next_check_at <= now)
            .order_by(Ticket.next_check_at, Ticket.id)
            .limit(limit)
            .with_for_update(skip_locked=True))


async def sweep(bot, now: datetime | None = None) -> int:
    """Act on everything due at `now` (default: the bot's clock). Returns the number of actions."""
    now = now or bot.clock.now()
    batch = bot.settings.scheduler.batch_size
    # SMS/voice pages for urgent tickets nobody has answered; hand-over posts at shift changes
    acted = await page_sweep(bot, now) + await handover_sweep(bot, now)
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
    def __init__(self, bot, session, desk: TicketDesk, notifier: Notifier, now: datetime) -> None:
        self.bot, self.session, self.desk, self.n, self.now = bot, session, desk, notifier, now
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

    # --- people -----------------------------------------------------------------------------------
    def holder(self, t: Ticket) -> Person | None:
        return self.org.answering(t.holder_person_id, t.holder_unit_id)

    def community_lead(self, t: Ticket) -> Person | None:
        """The community's lead now (OrgIndex.lead)."""
        community = self.org.up_to(t.unit_id or t.holder_unit_id, Level.community)
        return self.org.lead(community.id if community else (t.unit_id or t.holder_unit_id))

    def above_community(self, t: Ticket) -> str | None:
        """The tier above the ticket's community, or above its holder if that is higher."""
        base = t.unit_id if t.holder_level in (Level.grid, Level.community) else t.holder_unit_id
        up = self.org.next_up(base) if base in self.org.units else None
        return up.id if up else None

    def supervisor_unit(self, t: Ticket) -> str | None:
        here = t.holder_unit_id
        if here not in self.org.units:
            return None
        if self.org.units[here].level == Level.department:
            return self.org.units[here].parent_id
        up = self.org.next_up(here)
        return up.id if up else None

    # --- actions ------------------------------------------------------------------------------------
    def record(self, t: Ticket, action: str, p: Point, late: bool, note: str | None = None, **data) -> TicketEvent:
        data = {"key": p.key, "due": p.due.isoformat(), **data}
        if p.deferred:
            data["deferred"] = True
        if late:
            data["late"] = True
        return self.desk.event(t, action, None, None, from_status=t.status, note=note, **data)

    def _mark_move_event(self, t: Ticket, action: str, p: Point, late: bool, **extra) -> None:
        """desk.move recorded the lifecycle event; add what the scheduler knows (late, key)."""
        for obj in pending_events(self.session.sync_session):
            if obj.ticket_id == t.id and obj.action == action:
                data = {**(obj.data or {}), "auto": True, "key": p.key, "due": p.due.isoformat(), **extra}
                if late:
                    data["late"] = True
                obj.data = data

    async def act(self, t: Ticket, p: Point, late: bool) -> None:
        n, now = self.n, self.now
        if p.kind == "dispatch":
            if t.holder_unit_id is None:
                self.desk.route(t, t.unit_id)
            await self.desk.move(t, Action.dispatch, None, None, note="系统补派发")
            self._mark_move_event(t, "dispatch", p, late)
            reporter = await self.session.get(Person, t.reporter_id) if t.reporter_id else None
            n.new_ticket(t, reporter or Person(id="?", name="居民", role="resident"))
        elif p.kind == "remind":
            self.record(t, "remind", p, late, window=p.window, fraction=p.fraction)
            render.reminder(n, t, p, self.holder(t), now, late)
        elif p.kind == "overdue_on_scene":
            lead = self.community_lead(t)
            self.record(t, "overdue_on_scene", p, late, lead=lead.id if lead else None)
            render.on_scene_overdue(n, t, p, self.holder(t), lead, now, late)
        elif p.kind == "urgent_repeat":
            lead = self.community_lead(t)
            every = snap_of(t)["urgent_call_above_every"]
            # nobody reached a danger to life: past the community (its lead is @-mentioned from the
            # start), the tier above hears of it too, every few repeats, so a night of nagging one group
            # that sleeps is not all that happens
            above = self.above_community(t) if every and p.repeat % every == 0 else None
            self.record(t, "urgent_repeat", p, late, repeat=p.repeat, missed=p.missed, above=above)
            render.urgent_repeat(n, t, p, self.holder(t), lead, now, late, above,
                                 self.org.on_duty(above) if above else None)
        elif p.kind == "overdue":
            snap = snap_of(t)
            target = self.desk.escalation_target(t)
            # the system calls a missed deadline up once, out of the community (小事不出社区); above
            # that, a person decides whether to call further, and the scheduler supervises (督办)
            if (snap["on_overdue"] == "escalate" and t.holder_level in (Level.grid, Level.community)
                    and target is not None):
                tag = "(补发)" if late else ""
                await self.desk.move(t, Action.escalate, None, None, note=f"办结超期,系统自动呼叫{tag}")
                self._mark_move_event(t, "escalate", p, late, overdue_since=p.deadline.isoformat())
                n.moved(t, Action.escalate, None, await self.desk.events(t.id), late=late)
            else:
                await self.supervise(t, p, "普通", late)
        elif p.kind == "auto_close":
            await self.desk.move(t, Action.close, None, None, note="未评价")
            self._mark_move_event(t, "close", p, late)
            n.to_reporter(t, f"您反映的 #{t.id} 办结已 {snap_of(t)['feedback_days']} 天,没有收到评价,已自动关闭。"
                             f"如果问题还在,回复「不满意 #{t.id}」可以重新打开。")
        elif p.kind == "supervise":
            await self.supervise(t, p, p.level, late)

    async def supervise(self, t: Ticket, p: Point, level: str, late: bool) -> None:
        if SUPERVISION_ORDER.get(level, 0) > SUPERVISION_ORDER.get(t.supervision, 0):
            t.supervision = level
        above = self.supervisor_unit(t)
        above_person = self.org.on_duty(above) if above else None
        self.record(t, "supervise", p, late, level=level, holder=t.holder_unit_id, supervisor=above)
        render.supervision(self.n, t, p, level, self.holder(t), above, above_person, self.now, late)
