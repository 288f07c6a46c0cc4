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
    def __init__(self, settings: Settings, clock: Clock, engine, org: OrgIndex, taxonomy: Taxonomy) -> None:
        self.settings, self.clock, self.engine = settings, clock, engine
        self.sessions = session_factory(engine)
        self.org, self.taxonomy = org, taxonomy
        self.router = build_router()
        # SQLite has one writer; serialising handling in-process avoids 'database is locked' retries.
        self._lock = asyncio.Lock()

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
    async def receive(self, msg: Inbound) -> int | None:
        """Persist before anything else. Returns the inbox id, or None for a duplicate delivery."""
        msg.received_at = msg.received_at or self.clock.now()
        row = InboxMessage(platform=msg.chat.platform, account=msg.chat.account, msg_id=msg.msg_id,
                           payload=msg.to_dict(), received_at=self.clock.now())
        async with self.sessions() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                log.info("duplicate delivery %s/%s/%s ignored", msg.chat.platform, msg.chat.account, msg.msg_id)
                return None
            return row.id

    async def process(self, inbox_id: int) -> Handled:
        """Handle one stored message exactly once: handlers, ticket changes, outbox rows and the
        'handled' mark commit together."""
        async with self._lock, self.sessions() as session:
            q = select(InboxMessage).where(InboxMessage.id == inbox_id).with_for_update(skip_locked=True)
            row = (await session.exec(q)).first()
            if row is None or row.handled_at is not None:
                return Handled(inbox_id, True, [])
            msg = Inbound.from_dict(row.payload)
            now = self.clock.now()
            notifier = Notifier(self.org, self.settings, self.taxonomy, self.clock)
            ctx = Context(
                msg=msg, inbox_id=inbox_id, session=session, settings=self.settings, org=self.org,
                taxonomy=self.taxonomy, clock=self.clock, now=now,
                sender=await find_sender(session, self.org, msg.chat.platform, msg.sender_id),
                desk=TicketDesk(session, self.org, self.settings, self.taxonomy, now), notify=notifier,
            )
            try:
                await self.router.dispatch(ctx)
            except Exception as exc:  # a handler bug must not lose the message or wedge the inbox
                log.exception("handling inbox #%s failed", inbox_id)
                await session.rollback()
                row = await session.get(InboxMessage, inbox_id)
                row.handled_at, row.error = now, f"{type(exc).__name__}: {exc}"[:500]
                notifier.out.clear()
                notifier.to_admins(f"⚠️ 消息处理出错(收件 #{inbox_id}):{row.error}")
                self.enqueue(session, notifier.out, now)
                await session.commit()
                return Handled(inbox_id, False, [])
            row.handled_at = now
            self.enqueue(session, notifier.out, now)
            await session.commit()
            if ctx.handled_by:
                log.info("inbox #%s %s:%s → %s, %d out", inbox_id, msg.chat.platform, msg.chat.chat_id,
                         ctx.handled_by, len(notifier.out))
            return Handled(inbox_id, False, notifier.out, ctx.handled_by)

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
