"""Between an adapter and the core: an adapter stores a message (`bot.receive`) before it
acknowledges it, then submits the inbox id here; handling runs in a task this object keeps a
reference to, and the outbox worker is woken when replies were enqueued."""

from __future__ import annotations

import asyncio
import logging
from contextlib import nullcontext
from datetime import timedelta

from pingan.bot.app import Bot, GroupCommit, Handled, StoreUnavailable
from pingan.bot.outbox import claim_replies
from pingan.messages import ChatRef, Inbound, Outbound
from pingan.models.db import transient

log = logging.getLogger("pingan.pipeline")


def write_gate(bot: Bot):
    """SQLite has one writer, and a writer that finds the database busy sleeps in SQLite's busy
    handler (up to 100 ms a time): under load that, not the work, sets the pace. So on SQLite the
    outbox's writes queue on the bot's write lock too (storing and handling already do).
    PostgreSQL needs no gate (row locks)."""
    return bot.write_lock if bot.engine.dialect.name == "sqlite" else None


class Pipeline:
    def __init__(self, bot: Bot, on_enqueued=None) -> None:
        self.bot = bot
        self.on_enqueued = on_enqueued  # e.g. OutboxWorker.wake
        self.tasks: set[asyncio.Task] = set()
        self.gate = write_gate(bot)
        self._claims = GroupCommit(self.gate or nullcontext(), self._claim_batch, Bot.BATCH)

    async def receive(self, msg: Inbound, patient: bool = False) -> int | None:
        """Store a message (before acknowledging it). None for a duplicate delivery.
        `patient`: for a transport that never delivers again (OneBot's WebSocket has no ack), keep
        trying while the database is unavailable instead of raising StoreUnavailable; the frames
        behind it wait on their socket meanwhile."""
        while True:
            try:
                return await self.bot.receive(msg)
            except StoreUnavailable as exc:
                if not patient:
                    raise
                log.warning("%s; message %s kept waiting", exc, msg.msg_id)
            await asyncio.sleep(self.bot.settings.server.retry_base_seconds)

    async def ingest(self, msg: Inbound, patient: bool = False) -> Handled | None:
        """Store and handle a message in one transaction (Bot.ingest), or, if its group's
        transaction failed, the long way: stored (`receive`), then handled with retries (`submit`),
        waited for only when `patient` (a socket's frames wait behind it; an HTTP request is
        answered once the message is stored). None for a duplicate delivery or not handled yet."""
        handled = await self.bot.ingest(msg)
        if handled is not None:
            if self.bot.lanes is None:  # else the bot woke the running worker itself if it had to
                self._enqueued(handled)
            return handled
        inbox_id = await self.receive(msg, patient)
        if inbox_id is None:
            return None
        task = self.submit(inbox_id)
        return await asyncio.shield(task) if patient else None

    def submit(self, inbox_id: int, hold_replies_until=None) -> asyncio.Task:
        """Handle a stored message in the background; await the task (shielded) to wait for it."""
        task = asyncio.create_task(self._process(inbox_id, hold_replies_until), name=f"inbox-{inbox_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    RETRIES = 8  # in-process tries after a transient database error; then the recovery sweep's turn

    async def _process(self, inbox_id: int, hold_replies_until=None) -> Handled | None:
        server = self.bot.settings.server
        delay = server.retry_base_seconds
        for attempt in range(1, self.RETRIES + 1):
            try:
                handled = await self.bot.process(inbox_id, hold_replies_until)
                break
            except Exception as exc:  # stays stored and unhandled: retried, then swept up
                if not transient(exc) or attempt == self.RETRIES:
                    log.exception("processing inbox #%s failed; left for recovery", inbox_id)
                    return None
                log.warning("processing inbox #%s hit %s; again in %gs", inbox_id, type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, server.recover_seconds)
        self._enqueued(handled)
        return handled

    def _enqueued(self, handled: Handled) -> None:
        """Wake the outbox worker for the replies of a handled message."""
        if self.on_enqueued is not None:
            if handled.outbound:
                self.on_enqueued()
            for task in handled.followups:  # after-commit jobs enqueue their answers later
                task.add_done_callback(lambda _: self.on_enqueued())

    async def wait(self, task: asyncio.Task, budget: float) -> Handled | None:
        """Wait up to `budget` seconds for a submitted task; None if it is not done by then."""
        try:
            return await asyncio.wait_for(asyncio.shield(task), budget)
        except asyncio.TimeoutError:
            return None

    async def passive_reply(self, msg: Inbound, budget: float) -> Outbound | None:
        """For platforms that answer in the HTTP response (WeChat's 5-second rule, WeCom's stream):
        store the message, handle it, and if a reply to this chat is ready within `budget` seconds,
        claim that outbox row so the worker won't push it again. None → answer empty; the outbox
        sends whatever is owed later. A re-delivery of a stored message also gets None.

        First as one transaction with whatever else is waiting (Bot.ingest, the reply written as
        sent as it is inserted); if that group failed, the long way: stored, handled with the
        chat's replies held for the budget, and the reply claimed."""
        # no time limit on this wait: the answer must not go before the message is stored (the
        # platform would not deliver it again); a reply is marked passive only while
        # Bot.PASSIVE_MARGIN of the budget is left, else the outbox sends it
        handled = await self.bot.ingest(msg, self.bot.clock.now() + timedelta(seconds=budget))
        if handled is not None:
            if self.bot.lanes is None:
                self._enqueued(handled)
            return handled.passive
        inbox_id = await self.receive(msg)
        if inbox_id is None:
            return None
        # the outbox worker leaves this chat's replies alone until the budget is spent, so the one we
        # claim below is not pushed a second time through the platform's API meanwhile
        hold = self.bot.clock.now() + timedelta(seconds=budget)
        handled = await self.wait(self.submit(inbox_id, hold), budget)
        if handled is None or not handled.outbound:
            return None
        claimed = await self._claims(msg.chat)
        if claimed is None:
            return None
        if self.on_enqueued is not None:  # the claim may unblock later rows of this chat
            self.on_enqueued()
        return claimed[1]

    async def _claim_batch(self, chats: list[ChatRef]) -> list[tuple[int, Outbound] | None]:
        async with self.bot.sessions() as session:
            claimed = await claim_replies(session, self.bot.clock.now(), chats)
            await session.commit()
        return claimed

    async def drain(self, timeout: float = 10.0) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
