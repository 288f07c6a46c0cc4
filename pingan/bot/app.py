"""The bot core wiring: store every inbound message, handle it in one transaction that also writes
the replies to the outbox, and mark it handled. Adapters call `receive`/`process`; nothing here
knows a wire format."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pingan.clock import Clock, SystemClock
from pingan.config import Settings
from pingan.handlers import build_router
from pingan.handlers.context import Context, find_sender
from pingan.messages import Inbound, Outbound
from pingan.models import InboxMessage, OutboxMessage
from pingan.models.db import make_engine, session_factory, upgrade
from pingan.models.org_file import apply_org, parse_org_toml
from pingan.models.org_index import OrgIndex
from pingan.notify import Notifier
from pingan.taxonomy import Taxonomy, load_taxonomy
from pingan.tickets import TicketDesk

log = logging.getLogger("pingan.bot")


@dataclass
class Handled:
    inbox_id: int | None
    duplicate: bool
    outbound: list[Outbound]
    handled_by: str | None = None


class Bot:
    BATCH = 64  # messages per group commit
    def __init__(self, settings: Settings, clock: Clock, engine, org: OrgIndex, taxonomy: Taxonomy) -> None:
        self.settings, self.clock, self.engine = settings, clock, engine
        self.sessions = session_factory(engine)
        self.org, self.taxonomy = org, taxonomy
        self.router = build_router()
        # SQLite has one writer: in-process writes queue here rather than in SQLite's busy handler.
        self.write_lock = asyncio.Lock()
        self._to_store: list = []
        self._to_handle: list = []

    @classmethod
    async def create(cls, settings: Settings, clock: Clock | None = None, *, migrate: bool = True,
                     load_org: bool = True) -> "Bot":
        clock = clock or SystemClock(settings.bot.timezone)
        if migrate:
            await upgrade(settings.database.url)
        engine = make_engine(settings.database.url, settings.database.echo)
        taxonomy = load_taxonomy(settings.org.taxonomy)
        sessions = session_factory(engine)
        async with sessions() as session:
            if load_org and settings.org.file:
                await apply_org(session, parse_org_toml(settings.org.file), replace_structure=True)
                await session.commit()
            org = await OrgIndex.load(session)
        return cls(settings, clock, engine, org, taxonomy)

    async def reload_org(self) -> None:
        async with self.sessions() as session:
            self.org = await OrgIndex.load(session)

    async def close(self) -> None:
        await self.engine.dispose()

    # --- inbox ----------------------------------------------------------------------------------
    # Under load, messages are stored and handled in groups: whoever holds the write lock takes
    # everything waiting and commits it in one transaction ("group commit"). One message alone is
    # a group of one, so nothing waits for company.

    async def _grouped(self, waiting: list, item, run_batch):
        fut = asyncio.get_running_loop().create_future()
        waiting.append((item, fut))
        async with self.write_lock:
            if not fut.done():
                batch = waiting[: self.BATCH]
                del waiting[: self.BATCH]
                try:
                    results = await run_batch([i for i, _ in batch])
                except BaseException as exc:
                    for _, f in batch:
                        if not f.done():
                            f.set_exception(exc)
                    raise
                for (_, f), result in zip(batch, results):
                    f.set_result(result)
        return await fut

    async def receive(self, msg: Inbound) -> int | None:
        """Persist before anything else. Returns the inbox id, or None for a duplicate delivery."""
        msg.received_at = msg.received_at or self.clock.now()
        return await self._grouped(self._to_store, msg, self._store)

    async def _store(self, msgs: list[Inbound]) -> list[int | None]:
        rows = [InboxMessage(platform=m.chat.platform, account=m.chat.account, msg_id=m.msg_id,
                             payload=m.to_dict(), received_at=self.clock.now()) for m in msgs]
        async with self.sessions() as session:
            session.add_all(rows)
            try:
                await session.commit()
                return [r.id for r in rows]
            except IntegrityError:  # a retried delivery in the group: store one by one
                await session.rollback()
        ids = []
        for m, r in zip(msgs, rows):
            async with self.sessions() as session:
                session.add(InboxMessage(**r.model_dump(exclude={"id"})))
                try:
                    await session.commit()
                except IntegrityError:
                    log.info("duplicate delivery %s/%s/%s ignored", m.chat.platform, m.chat.account, m.msg_id)
                    ids.append(None)
                    continue
                ids.append((await session.exec(select(InboxMessage.id).where(
                    InboxMessage.platform == m.chat.platform, InboxMessage.account == m.chat.account,
                    InboxMessage.msg_id == m.msg_id))).one())
        return ids

    async def process(self, inbox_id: int) -> Handled:
        """Handle one stored message exactly once: handlers, ticket changes, outbox rows and the
        'handled' mark commit together (with whatever else is waiting to be handled)."""
        return await self._grouped(self._to_handle, inbox_id, self._handle_batch)

    async def _handle_batch(self, ids: list[int]) -> list[Handled]:
        async with self.sessions() as session:
            q = (select(InboxMessage).where(InboxMessage.id.in_(ids), InboxMessage.handled_at.is_(None))
                 .order_by(InboxMessage.id).with_for_update(skip_locked=True))
            rows = {r.id: r for r in (await session.exec(q)).all()}
            results = {}
            try:
                for inbox_id, row in rows.items():
                    results[inbox_id] = await self._handle_one(session, row)
                await session.commit()
            except Exception as exc:
                await session.rollback()
                if len(rows) == 1:
                    return [await self._record_failure(next(iter(rows)), exc)]
                # one bad message must not take the others down: handle each on its own
                return [(await self._handle_batch([i]))[0] for i in ids]
        return [results.get(i, Handled(i, True, [])) for i in ids]

    async def _handle_one(self, session, row: InboxMessage) -> Handled:
        msg = Inbound.from_dict(row.payload)
        now = self.clock.now()
        notifier = Notifier(self.org, self.settings, self.taxonomy, self.clock)
        ctx = Context(
            msg=msg, inbox_id=row.id, session=session, settings=self.settings, org=self.org,
            taxonomy=self.taxonomy, clock=self.clock, now=now,
            sender=await find_sender(session, self.org, msg.chat.platform, msg.sender_id),
            desk=TicketDesk(session, self.org, self.settings, self.taxonomy, now), notify=notifier,
        )
        try:
            await self.router.dispatch(ctx)
        except Exception:
            log.exception("handling inbox #%s failed", row.id)
            raise
        row.handled_at = now
        self.enqueue(session, notifier.out, now)
        if ctx.handled_by:
            log.info("inbox #%s %s:%s → %s, %d out", row.id, msg.chat.platform, msg.chat.chat_id,
                     ctx.handled_by, len(notifier.out))
        return Handled(row.id, False, notifier.out, ctx.handled_by)

    async def _record_failure(self, inbox_id: int, exc: Exception) -> Handled:
        """A handler bug must not lose the message or wedge the inbox: mark it, tell the admins."""
        now = self.clock.now()
        error = f"{type(exc).__name__}: {exc}"[:500]
        notifier = Notifier(self.org, self.settings, self.taxonomy, self.clock)
        notifier.to_admins(f"⚠️ 消息处理出错(收件 #{inbox_id}):{error}")
        async with self.sessions() as session:
            row = await session.get(InboxMessage, inbox_id)
            row.handled_at, row.error = now, error
            self.enqueue(session, notifier.out, now)
            await session.commit()
        return Handled(inbox_id, False, [])

    @staticmethod
    def enqueue(session, outbound: list[Outbound], now) -> None:
        for out in outbound:
            t = out.target
            session.add(OutboxMessage(platform=t.platform, account=t.account, chat_type=t.chat_type, chat_id=t.chat_id,
                                      payload=out.to_dict(), ticket_id=out.ticket_id, next_attempt_at=now, created_at=now))

    async def handle(self, msg: Inbound) -> Handled:
        inbox_id = await self.receive(msg)
        if inbox_id is None:
            return Handled(None, True, [])
        return await self.process(inbox_id)

    async def recover(self) -> int:
        """Handle what was stored but not handled before a crash, oldest first. Returns how many."""
        async with self.sessions() as session:
            q = select(InboxMessage.id).where(InboxMessage.handled_at.is_(None)).order_by(InboxMessage.id)
            pending = list((await session.exec(q)).all())
        for inbox_id in pending:
            await self.process(inbox_id)
        if pending:
            log.warning("recovered %d stored-but-unhandled message(s)", len(pending))
        return len(pending)
