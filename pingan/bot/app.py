"""The bot core wiring: store every inbound message, handle it in one transaction that also writes
the replies to the outbox, and mark it handled. Adapters call `receive`/`process`; nothing here
knows a wire format."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from pingan.clock import Clock, SystemClock
from pingan.config import Settings
from pingan.handlers import build_router
from pingan.handlers.context import Context, KnownSenders, find_sender
from pingan.messages import ChatRef, Inbound, Outbound, Text
from pingan.models import InboxMessage, OutboxMessage, Person
from pingan.models.db import make_engine, session_factory, upgrade
from pingan.models.org_file import apply_org, parse_org_toml
from pingan.models.org_index import OrgIndex
from pingan.notify import Notifier
from pingan.reports.chart import ChartPool
from pingan.taxonomy import Taxonomy, load_taxonomy
from pingan.tickets import TicketDesk

log = logging.getLogger("pingan.bot")


INBOX, OUTBOX = InboxMessage.__table__, OutboxMessage.__table__

INSERT_INBOX = insert(INBOX).returning(INBOX.c.id, sort_by_parameter_order=True)


@dataclass
class Handled:
    inbox_id: int | None
    duplicate: bool
    outbound: list[Outbound]
    handled_by: str | None = None
    chat: ChatRef | None = None
    sender: tuple[str, Person] | None = None  # (external id, person) once known
    later: list = field(default_factory=list)  # Context.after_commit jobs
    followups: list[asyncio.Task] = field(default_factory=list)  # those jobs, running once committed


def outbox_rows(outbound: list[Outbound], now: datetime, hold_until: datetime | None = None,
                held_chat: ChatRef | None = None) -> list[dict]:
    return [{"platform": o.target.platform, "account": o.target.account, "chat_type": o.target.chat_type,
             "chat_id": o.target.chat_id, "payload": o.to_dict(), "ticket_id": o.ticket_id, "status": "pending",
             "attempts": 0, "created_at": now,
             "next_attempt_at": hold_until if hold_until and o.target == held_chat else now} for o in outbound]


async def insert_outbox(session, rows: list[dict]) -> None:
    """Plain table inserts, one statement for many rows: the outbox is written, not read, here."""
    if rows:
        await session.exec(insert(OUTBOX), params=rows)


class GroupCommit:
    """Under load, messages are stored and handled in groups: callers queue their item, and one
    drain task runs what is waiting, a batch at a time, each batch one transaction under the write
    lock ("group commit"). One message alone is a group of one, so nothing waits for company; and
    the lock's queue stays short, so the outbox and the scheduler get their turns."""

    def __init__(self, lock, run_batch, size: int) -> None:  # lock: the write lock, or a nullcontext
        self.lock, self.run_batch, self.size = lock, run_batch, size
        self.waiting: list[tuple[object, asyncio.Future]] = []
        self.drain: asyncio.Task | None = None

    async def __call__(self, item):
        fut = asyncio.get_running_loop().create_future()
        self.waiting.append((item, fut))
        if self.drain is None:  # a task of its own: a caller that is cancelled must not strand the rest
            self.drain = asyncio.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        batch: list = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[: self.size], self.waiting[self.size:]
                try:
                    async with self.lock:
                        results = await self.run_batch([item for item, _ in batch])
                except Exception as exc:
                    for _, f in batch:
                        if not f.done():
                            f.set_exception(exc)
                    continue
                for (_, f), result in zip(batch, results):
                    if not f.done():
                        f.set_result(result)
                batch = []
        finally:
            self.drain = None
            for _, f in batch + self.waiting:  # only when cancelled (shutdown)
                f.cancel()
            self.waiting = []


class Bot:
    BATCH = 64  # messages per group commit
    def __init__(self, settings: Settings, clock: Clock, engine, org: OrgIndex, taxonomy: Taxonomy,
                 report_engine=None, org_revision: int | None = None) -> None:
        self.settings, self.clock, self.engine = settings, clock, engine
        self.sessions = session_factory(engine)
        # long read-only reports (digests, ledgers, officials' queries): on SQLite their own engine,
        # off the event loop's thread, so messages keep flowing while a city's digest is computed
        self.report_engine = report_engine or engine
        self.reports = session_factory(self.report_engine)
        self.org, self.taxonomy = org, taxonomy
        self.org_revision = org_revision  # the last organisation import this process has loaded
        self.router = build_router()
        self.known = KnownSenders()
        # SQLite has one writer: in-process writes queue here rather than in SQLite's busy handler.
        self.write_lock = asyncio.Lock()
        self._store_group = GroupCommit(self.write_lock, self._store, self.BATCH)
        self._handle_group = GroupCommit(self.write_lock, self._handle_batch, self.BATCH)
        self.followups: set[asyncio.Task] = set()  # after-commit jobs still running
        self.charts = ChartPool(settings.scheduler.chart_processes, settings.scheduler.chart_font)

    @classmethod
    async def create(cls, settings: Settings, clock: Clock | None = None, *, migrate: bool = True,
                     load_org: bool = True) -> "Bot":
        clock = clock or SystemClock(settings.bot.timezone)
        if migrate:
            await upgrade(settings.database.url)
        engine = make_engine(settings.database.url, settings.database.echo)
        report_engine = (make_engine(settings.database.url, settings.database.echo, inline=False)
                         if engine.dialect.name == "sqlite" else None)
        taxonomy = load_taxonomy(settings.org.taxonomy)
        sessions = session_factory(engine)
        async with sessions() as session:
            if load_org and settings.org.file:
                await apply_org(session, parse_org_toml(settings.org.file), replace_structure=True, now=clock.now())
                await session.commit()
            revision = await OrgIndex.revision(session)
            org = await OrgIndex.load(session, clock)
        return cls(settings, clock, engine, org, taxonomy, report_engine, revision)

    async def refresh_org(self) -> bool:
        """Reload the organisation if it was imported again since this process loaded it: a new
        grid worker's 到场 at 2 a.m. must not wait for a restart. True if it reloaded."""
        async with self.sessions() as session:
            revision = await OrgIndex.revision(session)  # before the load: a later import is seen next time
            if revision == self.org_revision:
                return False
            org = await OrgIndex.load(session, self.clock)
        self.org, self.org_revision = org, revision
        self.known = KnownSenders()  # people may have new roles
        log.info("organisation reloaded (import #%s): %d units", revision, len(org.units))
        return True

    async def close(self) -> None:
        if self.followups:
            await asyncio.wait(list(self.followups), timeout=10)
        await self.charts.close()
        await self.engine.dispose()
        if self.report_engine is not self.engine:
            await self.report_engine.dispose()

    # --- inbox ----------------------------------------------------------------------------------
    async def receive(self, msg: Inbound) -> int | None:
        """Persist before anything else. Returns the inbox id, or None for a duplicate delivery."""
        msg.received_at = msg.received_at or self.clock.now()
        return await self._store_group(msg)

    async def _store(self, msgs: list[Inbound]) -> list[int | None]:
        now = self.clock.now()
        rows = [{"platform": m.chat.platform, "account": m.chat.account, "msg_id": m.msg_id,
                 "payload": m.to_dict(), "received_at": now} for m in msgs]
        async with self.sessions() as session:
            try:  # one statement for the whole group (a plain table insert: no ORM objects needed)
                ids = (await session.exec(INSERT_INBOX, params=rows)).scalars().all()
                await session.commit()
                return list(ids)
            except IntegrityError:  # a retried delivery in the group: store one by one
                await session.rollback()
        ids = []
        for m, row in zip(msgs, rows):
            async with self.sessions() as session:
                try:
                    ids.append((await session.exec(INSERT_INBOX, params=[row])).scalar_one())
                    await session.commit()
                except IntegrityError:
                    log.info("duplicate delivery %s/%s/%s ignored", m.chat.platform, m.chat.account, m.msg_id)
                    ids.append(None)
        return ids

    async def process(self, inbox_id: int, hold_replies_until: datetime | None = None) -> Handled:
        """Handle one stored message exactly once: handlers, ticket changes, outbox rows and the
        'handled' mark commit together (with whatever else is waiting to be handled).
        `hold_replies_until`: the replies to the message's own chat wait for the outbox worker until
        then, because the adapter means to claim one for a passive (in-response) reply."""
        return await self._handle_group((inbox_id, hold_replies_until))

    async def _handle_batch(self, items: list[tuple[int, datetime | None]]) -> list[Handled]:
        ids = [i for i, _ in items]
        async with self.sessions() as session:
            q = (select(INBOX.c.id, INBOX.c.payload).where(INBOX.c.id.in_(ids), INBOX.c.handled_at.is_(None))
                 .order_by(INBOX.c.id).with_for_update(skip_locked=True))
            rows = (await session.exec(q)).all()
            hold = dict(items)
            results, outbox = {}, []
            try:
                for inbox_id, payload in rows:
                    results[inbox_id] = handled = await self._handle_one(session, inbox_id, payload)
                    outbox += outbox_rows(handled.outbound, self.clock.now(), hold[inbox_id], handled.chat)
                if rows:
                    await session.exec(update(INBOX).where(INBOX.c.id.in_(list(results)))
                                       .values(handled_at=self.clock.now()))
                    await insert_outbox(session, outbox)
                await session.commit()
            except Exception as exc:
                await session.rollback()
                if len(rows) == 1:
                    return [await self._record_failure(rows[0][0], exc)]
                # one bad message must not take the others down: handle each on its own
                return [(await self._handle_batch([item]))[0] for item in items]
        for h in results.values():
            if h.sender:
                self.known.remember(h.chat.platform, *h.sender)
            h.followups = [self._follow_up(h.chat, h.inbox_id, job) for job in h.later]
        return [results.get(i, Handled(i, True, [])) for i in ids]

    async def _handle_one(self, session, inbox_id: int, payload: dict) -> Handled:
        msg = Inbound.from_dict(payload)
        now = self.clock.now()
        notifier = Notifier(self.org, self.settings, self.taxonomy, self.clock)
        ctx = Context(
            msg=msg, inbox_id=inbox_id, session=session, reports=self.reports, settings=self.settings, org=self.org,
            taxonomy=self.taxonomy, clock=self.clock, now=now,
            sender=(self.known.get(msg.chat.platform, msg.sender_id)
                    or await find_sender(session, self.org, msg.chat.platform, msg.sender_id)),
            desk=TicketDesk(session, self.org, self.settings, self.taxonomy, now), notify=notifier,
        )
        try:
            await self.router.dispatch(ctx)
        except Exception:
            log.exception("handling inbox #%s failed", inbox_id)
            raise
        if ctx.handled_by:
            log.info("inbox #%s %s:%s → %s, %d out", inbox_id, msg.chat.platform, msg.chat.chat_id,
                     ctx.handled_by, len(notifier.out))
        return Handled(inbox_id, False, notifier.out, ctx.handled_by, msg.chat,
                       (msg.sender_id, ctx.sender) if ctx.sender else None, ctx.later)

    def _follow_up(self, chat: ChatRef, inbox_id: int, job) -> asyncio.Task:
        task = asyncio.create_task(self._run_follow_up(chat, inbox_id, job), name=f"inbox-{inbox_id}-after-commit")
        self.followups.add(task)
        task.add_done_callback(self.followups.discard)
        return task

    async def _run_follow_up(self, chat: ChatRef, inbox_id: int, job) -> None:
        """An after-commit job's messages are enqueued on their own. It only reads: if it fails, or
        the process stops first, the asker gets an apology or nothing, never a half-done change."""
        notifier = Notifier(self.org, self.settings, self.taxonomy, self.clock)
        try:
            await job(notifier)
        except Exception:
            log.exception("after-commit job of inbox #%s failed", inbox_id)
            notifier.out = [Outbound(chat, [Text("抱歉,这次没有办完,请稍后再试。")])]
        if notifier.out:
            async with self.write_lock, self.sessions() as session:
                await self.enqueue(session, notifier.out, self.clock.now())
                await session.commit()

    async def _record_failure(self, inbox_id: int, exc: Exception) -> Handled:
        """A handler bug must not lose the message or wedge the inbox: mark it, tell the admins."""
        now = self.clock.now()
        error = f"{type(exc).__name__}: {exc}"[:500]
        notifier = Notifier(self.org, self.settings, self.taxonomy, self.clock)
        notifier.to_admins(f"⚠️ 消息处理出错(收件 #{inbox_id}):{error}")
        async with self.sessions() as session:
            await session.exec(update(INBOX).where(INBOX.c.id == inbox_id).values(handled_at=now, error=error))
            await self.enqueue(session, notifier.out, now)
            await session.commit()
        return Handled(inbox_id, False, [])

    @staticmethod
    async def enqueue(session, outbound: list[Outbound], now: datetime) -> None:
        await insert_outbox(session, outbox_rows(outbound, now))

    async def handle(self, msg: Inbound) -> Handled:
        inbox_id = await self.receive(msg)
        if inbox_id is None:
            return Handled(None, True, [])
        handled = await self.process(inbox_id)
        await asyncio.gather(*handled.followups)  # the console and tests want the whole answer
        return handled

    async def recover(self) -> int:
        """Handle what was stored but not handled before a crash, oldest first. Returns how many."""
        async with self.sessions() as session:
            q = select(INBOX.c.id).where(INBOX.c.handled_at.is_(None)).order_by(INBOX.c.id)
            pending = list((await session.exec(q)).scalars().all())
        for inbox_id in pending:
            await self.process(inbox_id)
        if pending:
            log.warning("recovered %d stored-but-unhandled message(s)", len(pending))
        return len(pending)
