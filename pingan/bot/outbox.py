"""The outbox worker: sends stored outbound messages with retries, exponential backoff, per-chat
ordering and a dead-letter state that alerts the admins. Survives restarts: the table is the queue."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Protocol

from sqlmodel import select

from pingan.clock import Clock
from pingan.config import OutboxSettings
from pingan.messages import ChatRef, Outbound, Text
from pingan.models import OutboxMessage
from pingan.models.org_index import OrgIndex

log = logging.getLogger("pingan.outbox")


class SendError(Exception):
    """A send failed. `retry_after` (seconds) when the platform said how long to wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Sender(Protocol):
    platform: str

    async def send(self, out: Outbound) -> str | None:
        """Deliver one message; return the platform's message id if it gives one. Raise SendError."""


class OutboxWorker:
    def __init__(self, sessions, clock: Clock, settings: OutboxSettings, senders: dict[str, Sender],
                 org: OrgIndex | None = None) -> None:
        self.sessions, self.clock, self.settings, self.senders, self.org = sessions, clock, settings, senders, org

    def backoff(self, attempts: int) -> timedelta:
        delay = min(self.settings.base_delay_seconds * 2 ** (attempts - 1), self.settings.max_delay_seconds)
        return timedelta(seconds=delay)

    async def run_once(self, limit: int = 200) -> int:
        """Send what is due, oldest first, one chat at a time in order. Returns messages sent."""
        sent = 0
        async with self.sessions() as session:
            q = (select(OutboxMessage).where(OutboxMessage.status == "pending")
                 .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True))
            rows = list((await session.exec(q)).all())
            blocked: set[tuple] = set()  # a chat whose earlier message is waiting: keep order
            now = self.clock.now()
            for row in rows:
                chat = (row.platform, row.account, row.chat_type, row.chat_id)
                if chat in blocked:
                    continue
                if row.next_attempt_at > now or row.platform not in self.senders:
                    blocked.add(chat)
                    continue
                target = ChatRef(row.platform, row.account, row.chat_type, row.chat_id)
                out = Outbound.from_dict(target, row.payload, row.ticket_id)
                try:
                    row.remote_id = await self.senders[row.platform].send(out)
                except Exception as exc:  # any failure is retried; never lose the message
                    blocked.add(chat)
                    self._failed(session, row, exc, now)
                else:
                    row.status, row.sent_at, row.attempts = "sent", self.clock.now(), row.attempts + 1
                    sent += 1
                session.add(row)
            await session.commit()
        return sent

    def _failed(self, session, row: OutboxMessage, exc: Exception, now) -> None:
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:500]
        if row.attempts >= self.settings.max_attempts:
            row.status = "dead"
            log.error("outbox #%s dead after %d attempts: %s", row.id, row.attempts, row.last_error)
            if self.org is not None and not row.payload.get("alert"):
                for g in self.org.admin_groups():
                    text = (f"⚠️ 消息发送失败已放弃(发件 #{row.id},{row.platform}:{row.chat_id},"
                            f"{row.attempts} 次):{row.last_error}")
                    session.add(OutboxMessage(
                        platform=g.platform, account=g.account, chat_type="group", chat_id=g.chat_id,
                        payload={**Outbound(ChatRef(g.platform, g.account, "group", g.chat_id), [Text(text)]).to_dict(),
                                 "alert": True},
                        next_attempt_at=now, created_at=now))
            return
        wait = self.backoff(row.attempts)
        if isinstance(exc, SendError) and exc.retry_after:
            wait = max(wait, timedelta(seconds=exc.retry_after))
        row.next_attempt_at = now + wait
        log.warning("outbox #%s attempt %d failed (%s); retry in %ss", row.id, row.attempts, row.last_error,
                    int(wait.total_seconds()))

    async def run_forever(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox pass failed")
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except asyncio.TimeoutError:
                pass
