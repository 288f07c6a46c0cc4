"""The outbox worker: sends stored outbound messages with retries, exponential backoff, per-target
rate limits, per-chat ordering and a dead-letter state that alerts the admins. Survives restarts:
the table is the queue.

Several servers may run workers against one PostgreSQL database. A worker *claims* rows before
sending them (`claimed_until` lease, written under `FOR UPDATE SKIP LOCKED` with a conditional
UPDATE … RETURNING), and only ever claims a prefix of a chat's pending rows, so a chat's messages go
out in order and no row is sent by two workers. Delivery is at-least-once: a worker that dies after
the platform accepted a message but before marking it sent leaves the row to be retried once its
lease expires."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from contextlib import nullcontext
from datetime import timedelta
from typing import Protocol

from sqlalchemy import and_, bindparam, false, func, or_, update
from sqlmodel import select

from pingan.bot.ratelimit import SlidingWindow
from pingan.clock import Clock
from pingan.config import OutboxSettings
from pingan.messages import ChatRef, Outbound, Text
from pingan.models import OutboxMessage
from pingan.models.delivery import PENDING
from pingan.models.org_index import OrgIndex

log = logging.getLogger("pingan.outbox")


class SendError(Exception):
    """A send failed. `retry_after` (seconds) when the platform said how long to wait; `permanent`
    when retrying cannot help (the row goes straight to the dead letters); `unavailable` when
    nothing was tried because there is no way to the platform now (no client connected): the row
    waits, and no attempt is counted."""

    def __init__(self, message: str, retry_after: float | None = None, permanent: bool = False,
                 unavailable: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent
        self.unavailable = unavailable


class Sender(Protocol):
    platform: str

    async def send(self, out: Outbound) -> str | None:
        """Deliver one message; return the platform's message id if it gives one. Raise SendError."""

    # Optional: def rate_limit(self, target: ChatRef) -> tuple[str, int, float] | None
    #   (key, at most this many, per this many seconds) — checked before each send.
    # Optional: def accounts(self) -> set[str] | None
    #   the bot accounts this process can send for right now (None: any). Rows of other accounts
    #   are left unclaimed, for the server that holds their connection, or for later.
    # Optional: def merge_limit(self, target: ChatRef) -> int
    #   characters one message to this chat may carry when several queued text messages are sent
    #   as one (0: never merge).


def _chat(row: OutboxMessage) -> tuple[str, str, str, str]:
    return (row.platform, row.account, row.chat_type, row.chat_id)


CHAT_COLUMNS = (OutboxMessage.platform, OutboxMessage.account, OutboxMessage.chat_type, OutboxMessage.chat_id)
OUTBOX = OutboxMessage.__table__
MARK_SENT = (update(OUTBOX).where(OUTBOX.c.id == bindparam("row"))
             .values(status="sent", sent_at=bindparam("at"), attempts=OUTBOX.c.attempts + 1,
                     remote_id=bindparam("remote"), claimed_until=None, claimed_by=None))


def _unclaimed(now):
    return or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now)


SEPARATOR = Text("\n\n")


def _mergeable(row: OutboxMessage) -> bool:
    return not (row.payload.get("image") or row.payload.get("file"))


def _units(chain: list[OutboxMessage], limit: int) -> list[list[OutboxMessage]]:
    """The chain cut into messages: consecutive text rows merged while they fit in `limit`
    characters (a busy coordination group gets one post for several reports, not one round trip
    and one rate-limit slot each); a row with an image or file goes alone."""
    units: list[list[OutboxMessage]] = []
    size = 0
    for row in chain:
        n = sum(len(p["text"]) if "text" in p else 8 for p in row.payload["parts"])  # a mention counts 8
        if units and limit and _mergeable(row) and _mergeable(units[-1][-1]) and size + n <= limit:
            units[-1].append(row)
            size += n
        else:
            units.append([row])
            size = n
    return units


class Lane:
    """One chat's rows held by this worker in memory, sent in order by at most one task. `held`:
    the chat's pending rows the lane answers for (queued, in flight, or sent and not yet
    recorded); a pending row of the chat that no lane holds is queued in the table, and a new row
    must wait behind it. A lane is spoiled when a send did not go through (released, failed): from
    then on nothing new joins it, and what it still queued goes back to the table."""

    __slots__ = ("queue", "held", "task", "spoiled", "epoch", "wakes")

    def __init__(self) -> None:
        self.queue: list = []
        self.held: set[int] = set()
        self.task: asyncio.Task | None = None
        self.spoiled = False
        self.epoch = 0  # bumped per task: an idle lane is dropped only if no task ran since the snapshot
        self.wakes = 0  # the worker's wake count when its task started (see run_forever)

    @property
    def idle(self) -> bool:
        return self.task is None and not self.queue


def _ids(outcome: tuple) -> list[int]:
    return [r.id for r in outcome[1]] if outcome[0] == "sent" else (
        [outcome[1].id] if outcome[0] == "failed" else list(outcome[1]))


class OutboxWorker:
    RUN = 10  # messages to one chat per pass: a pass ends when its slowest chat is done, so a busy
    # chat (one coordination group @-ed for every report) must not hold up everyone else's replies
    ROWS = 200  # rows of one chat per pass (several may go as one merged message)
    # while groups keep committing, what the lanes sent waits this long for the next group's
    # transaction to record it (far inside the lease; the claim pass records it anyway)
    RECORD_GRACE = 0.25

    def __init__(self, sessions, clock: Clock, settings: OutboxSettings, senders: dict[str, Sender],
                 org: OrgIndex | None = None, *, worker_id: str | None = None, write_lock=None) -> None:
        self.sessions, self.clock, self.settings, self.senders, self.org = sessions, clock, settings, senders, org
        self.write_lock = write_lock  # on SQLite: the one in-process writer lock (see pipeline.write_gate)
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self.limiter = SlidingWindow(clock.now)
        self.lease = timedelta(seconds=settings.lease_seconds)
        self._wake = asyncio.Event()  # claim: rows wait in the table
        self._record_due = asyncio.Event()  # record: a lane finished sending
        self._wakes = 0
        self._last_offer = float("-inf")  # loop time of the last rows offered by a committed group
        # Sending from memory (Bot.lanes, while run_forever runs): rows leased to this worker at
        # insert, by chat; outcomes of sends not yet written to the table.
        self.lanes: dict[tuple, Lane] = {}
        self.finished: list[tuple] = []
        # chats whose rows a claim leased to this worker, from its commit until they join a lane
        # (Bot.queued_behind counts them as queued in the table: a new row waits behind them)
        self._claimed: set[tuple] = set()
        self._sem = asyncio.Semaphore(settings.concurrency)  # chats being sent at once

    def backoff(self, attempts: int) -> timedelta:
        delay = min(self.settings.base_delay_seconds * 2 ** (attempts - 1), self.settings.max_delay_seconds)
        return timedelta(seconds=delay)

    def _writing(self):
        return self.write_lock or nullcontext()

    def wake(self) -> None:
        """Something was enqueued: run a pass now instead of at the next interval."""
        self._wakes += 1
        self._wake.set()

    # --- sending from memory (the Lanes side of Bot) ------------------------------------------------
    def lane_for(self, target: ChatRef) -> Lane | None:
        """The lane a new row to `target` may join, leased to this worker at insert (made if the
        chat has none); None if it cannot be sent from here now (its platform; for OneBot, a
        connected account) or the chat's lane is spoiled."""
        sender = self.senders.get(target.platform)
        if sender is None:
            return None
        accounts = sender.accounts() if hasattr(sender, "accounts") else None
        if accounts is not None and target.account not in accounts:
            return None
        lane = self.lanes.setdefault((target.platform, target.account, target.chat_type, target.chat_id), Lane())
        return None if lane.spoiled else lane

    def take_outcomes(self) -> list[tuple]:
        """The rows sent since the last record (failures and releases stay for the worker's own)."""
        sent = [o for o in self.finished if o[0] == "sent"]
        if sent:
            self.finished = [o for o in self.finished if o[0] != "sent"]
        return sent

    async def record_in(self, session, outcomes: list[tuple], now) -> None:
        await self._apply(session, outcomes, now)

    def recorded(self, outcomes: list[tuple], committed: bool) -> None:
        if committed:
            self._recorded(outcomes, {})
        else:  # the caller's transaction failed: the worker records them
            self.finished[:0] = outcomes
            self._record_due.set()

    def unplaced(self, targets: set[ChatRef]) -> set[ChatRef]:
        return {t for t in targets if (t.platform, t.account, t.chat_type, t.chat_id) in self._claimed}

    def holds_any(self, target: ChatRef) -> bool:
        lane = self.lanes.get((target.platform, target.account, target.chat_type, target.chat_id))
        return lane is not None and bool(lane.held)

    def holds(self, target: ChatRef, row_id: int) -> bool:
        lane = self.lanes.get((target.platform, target.account, target.chat_type, target.chat_id))
        return lane is not None and row_id in lane.held

    def offer(self, rows: list[tuple]) -> None:
        """(row, lane) pairs just committed, the rows leased to this worker, ids ascending: send
        each chat's in order. A row whose lane is gone or spoiled since goes back to the table."""
        self._last_offer = asyncio.get_running_loop().time()
        for row, lane in rows:
            key = _chat(row)
            if self.lanes.get(key) is not lane or lane.spoiled:
                self._emit([("release", [row.id], None)])
                continue
            lane.queue.append(row)
            lane.held.add(row.id)
            self._start(key, lane)

    def _emit(self, outcomes: list[tuple], lane: Lane | None = None) -> None:
        """Outcomes of sends, for the next record. What did not go through leaves the lane and
        spoils it."""
        self.finished.extend(outcomes)
        for o in outcomes:
            if o[0] != "sent" and lane is not None:
                lane.held.difference_update(_ids(o))
                lane.spoiled = True
        self._record_due.set()

    def _start(self, key: tuple, lane: Lane) -> None:
        if lane.task is None and lane.queue:
            lane.epoch += 1
            lane.wakes = self._wakes
            lane.task = asyncio.create_task(self._run_lane(lane), name=f"outbox-{lane.queue[0].id}")

    async def _run_lane(self, lane: Lane) -> None:
        chain: list = []
        try:
            while lane.queue and not lane.spoiled:
                chain, lane.queue = lane.queue[: self.ROWS], lane.queue[self.ROWS:]
                async with self._sem:
                    await self._send_chain(chain, lambda outcomes: self._emit(outcomes, lane), run=None)
        except Exception:  # the chain stays leased and is tried again when the lease ends
            log.exception("outbox: sending chat of #%s failed", chain[0].id if chain else "?")
            lane.held.difference_update(r.id for r in chain)
            lane.spoiled = True
        finally:
            if lane.queue:  # spoiled: what it still queues goes back to the table, behind the rest
                self._emit([("release", [r.id for r in lane.queue], None)], lane)
                lane.queue = []
            lane.task = None
            self._record_due.set()

    # --- claiming -------------------------------------------------------------------------------
    def _servable(self):
        """Rows this process can send now: its platforms, and of those whose sender names its
        accounts (OneBot: the connected clients), only those accounts'."""
        conds = []
        for name, sender in self.senders.items():
            accounts = sender.accounts() if hasattr(sender, "accounts") else None
            if accounts is None:
                conds.append(OutboxMessage.platform == name)
            elif accounts:
                conds.append(and_(OutboxMessage.platform == name, OutboxMessage.account.in_(sorted(accounts))))
        return or_(*conds) if conds else false()

    async def _claim(self, limit: int, outcomes: list[tuple] = ()) -> list[list[OutboxMessage]]:
        """Claim, per chat, the longest run of that chat's oldest pending rows that are due and
        unclaimed. Returns the claimed rows grouped by chat, oldest first. `outcomes` of earlier
        sends are recorded first, in the same transaction (a chat just sent may go on at once)."""
        now = self.clock.now()
        async with self._writing(), self.sessions() as session:
            if outcomes and await self._apply(session, outcomes, now):
                self.wake()
            heads = await self._heads(session, now, limit)
            runs, by_id = await self._runs(session, heads, now, limit)
            got = await self._take(session, [rid for run in runs for rid in run], now)
            self._claimed |= {_chat(by_id[rid]) for rid in got}
            await session.commit()
        chains: list[list[OutboxMessage]] = []
        lost: list[int] = []
        for run in runs:  # a run keeps its claimed prefix; anything claimed after a gap goes back
            k = 0
            while k < len(run) and run[k] in got:
                by_id[run[k]].claimed_until = now + self.lease  # as _take wrote it
                k += 1
            if k:
                chains.append([by_id[rid] for rid in run[:k]])
            lost += [rid for rid in run[k:] if rid in got]
        if lost:
            try:
                await self._release(lost)
            except Exception as exc:  # they wait out their lease; the claimed chains still go now
                log.warning("outbox: releasing %d row(s) claimed after a gap failed: %s", len(lost), exc)
        chains.sort(key=lambda c: c[0].id)
        return chains

    async def _heads(self, session, now, limit: int) -> list[OutboxMessage]:
        """The oldest pending row of each chat, if it is due, unclaimed and servable here. Asking
        for due rows instead would let one stuck chat (its head backing off, hundreds queued
        behind it) fill every batch and starve all the others. The heads come from one pass over
        the pending-only index, grouped by chat: a row-by-row "no older pending row" test costs a
        probe per queued row, and with statistics PostgreSQL answered it by walking the primary key
        through every row ever sent (211 ms at 1M sent rows; this: 2 ms)."""
        oldest = (select(func.min(OutboxMessage.id)).where(OutboxMessage.status == PENDING)
                  .group_by(*CHAT_COLUMNS))
        q = (select(OutboxMessage)
             .where(OutboxMessage.id.in_(oldest), OutboxMessage.status == PENDING,
                    OutboxMessage.next_attempt_at <= now, self._servable(), _unclaimed(now))
             .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True))
        return list((await session.exec(q)).all())

    async def _runs(self, session, heads: list[OutboxMessage], now, limit: int):
        """Each head with up to ROWS-1 rows queued right behind it that are due and unclaimed too,
        `limit` rows in all, every head first (what is left stays for other workers). Returns
        (runs of ids, rows by id)."""
        if not heads:
            return [], {}
        chats = {_chat(r) for r in heads}
        place = (func.row_number().over(partition_by=CHAT_COLUMNS, order_by=OutboxMessage.id)
                 .label("place"))
        queued = (select(OutboxMessage.id, place)
                  .where(OutboxMessage.status == PENDING,
                         OutboxMessage.chat_id.in_(sorted({c[3] for c in chats})))
                  .subquery())
        q = (select(OutboxMessage).join(queued, queued.c.id == OutboxMessage.id)
             .where(queued.c.place > 1, queued.c.place <= self.ROWS).order_by(OutboxMessage.id))
        behind: dict[tuple, list[OutboxMessage]] = defaultdict(list)
        for row in (await session.exec(q)).all():
            if _chat(row) in chats:
                behind[_chat(row)].append(row)
        by_id = {r.id: r for r in heads}
        runs: list[list[int]] = []
        room = limit - len(heads)  # rows behind the heads
        for head in heads:
            run = [head.id]
            for row in behind[_chat(head)][: max(0, min(self.ROWS - 1, room))]:
                if row.next_attempt_at > now or not (row.claimed_until is None or row.claimed_until <= now):
                    break  # keep order: nothing after a row that must wait
                by_id[row.id] = row
                run.append(row.id)
            runs.append(run)
            room -= len(run) - 1
        return runs, by_id

    async def _take(self, session, ids: list[int], now) -> set[int]:
        """Lease the rows to this worker; returns those still pending and unclaimed (another
        worker may have been quicker)."""
        if not ids:
            return set()
        until = now + self.lease
        res = await session.exec(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == PENDING, _unclaimed(now))
            .values(claimed_until=until, claimed_by=self.worker_id)
            .returning(OutboxMessage.id))
        return {r[0] for r in res.all()}

    async def _release(self, ids: list[int], next_attempt_at=None) -> None:
        if not ids:
            return
        values: dict = {"claimed_until": None, "claimed_by": None}
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        async with self._writing(), self.sessions() as session:
            await session.exec(update(OutboxMessage)
                               .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == self.worker_id,
                                      OutboxMessage.status == PENDING)
                               .values(**values))
            await session.commit()

    # --- sending --------------------------------------------------------------------------------
    async def run_once(self, limit: int | None = None) -> int:
        """Send what is due, oldest first, each chat in order. Returns messages sent.

        Chats are sent in parallel; the outcomes of a pass are written in one transaction (one
        write, not one per message: on SQLite writes queue behind message handling). If that write
        fails (a busy database), the next pass writes them first: a sent row never stays leased."""
        earlier, self.finished = self.finished, []
        try:
            chains = await self._claim(limit or self.settings.batch, earlier)
        except Exception:
            self.finished[:0] = earlier
            raise
        finally:
            self._claimed.clear()  # this pass sends its chains itself, not through lanes
        if not chains:
            return 0
        outcomes: list[tuple] = []

        async def one(chain):
            async with self._sem:
                await self._send_chain(chain, outcomes.extend)

        await asyncio.gather(*(one(c) for c in chains))
        try:
            return await self._record(outcomes)
        except Exception:
            self.finished[:0] = outcomes
            raise

    async def _send_chain(self, chain: list[OutboxMessage], emit, merge: bool = True, run: int | None = RUN) -> None:
        """Send a chat's rows in order, handing each message's outcomes to `emit` as it goes.
        `run`: at most this many messages (a claim pass must end), the rest released; a lane (its
        own task) sends them all. A message goes only while its rows' lease has a send's time
        left, so no other claim can take them meanwhile."""
        sender = self.senders[chain[0].platform]
        head = chain[0]
        target = ChatRef(head.platform, head.account, head.chat_type, head.chat_id)
        limit = sender.merge_limit(target) if merge and hasattr(sender, "merge_limit") else 0
        units = _units(chain, limit)
        timeout = timedelta(seconds=self.settings.send_timeout_seconds)
        for i, unit in enumerate(units):
            ids = [r.id for u in units[i:] for r in u]
            if i == run or min(r.claimed_until for r in unit) - self.clock.now() < timeout:
                return emit([("release", ids, None)])  # the next pass takes them
            rule = sender.rate_limit(target) if hasattr(sender, "rate_limit") else None
            if rule is not None:
                wait = self.limiter.acquire(*rule)
                if wait > 0:  # not an attempt: just not yet
                    return emit([("release", ids, self.clock.now() + timedelta(seconds=wait))])
            try:
                async with asyncio.timeout(timeout.total_seconds()):  # no task per send, as wait_for makes
                    remote_id = await sender.send(self._message(target, unit))
            except Exception as exc:  # any failure is retried or dead-lettered; never lost
                if isinstance(exc, SendError) and exc.unavailable:  # no way there now: not an attempt
                    log.info("outbox #%s waits: %s", unit[0].id, exc)
                    return emit([("release", ids, None)])
                if isinstance(exc, SendError) and exc.permanent and len(unit) > 1:
                    # one of them is refused: each alone, so only that one is dead-lettered
                    return await self._send_chain([r for u in units[i:] for r in u], emit, False, run)
                if isinstance(exc, asyncio.TimeoutError):
                    exc = SendError(f"send timed out after {self.settings.send_timeout_seconds:g}s")
                return emit([("failed", unit[0], exc)] + ([("release", ids[1:], None)] if len(ids) > 1 else []))
            emit([("sent", unit, remote_id, self.clock.now())])

    @staticmethod
    def _message(target: ChatRef, unit: list[OutboxMessage]) -> Outbound:
        out = Outbound.from_dict(target, unit[0].payload, unit[0].ticket_id)
        for row in unit[1:]:
            out.parts += [SEPARATOR] + Outbound.from_dict(target, row.payload).parts
        return out

    async def _record(self, outcomes: list[tuple]) -> int:
        async with self._writing(), self.sessions() as session:
            wake = await self._apply(session, outcomes, self.clock.now())
            await session.commit()
        if wake:
            self.wake()
        return sum(len(o[1]) for o in outcomes if o[0] == "sent")

    async def _apply(self, session, outcomes: list[tuple], now) -> bool:
        """Write the outcomes of sends; True if a chat was freed by a dead letter."""
        wake = False
        done = [{"row": row.id, "at": at, "remote": None if remote_id is None else str(remote_id)}
                for _, unit, remote_id, at in (o for o in outcomes if o[0] == "sent") for row in unit]
        if done:  # one statement for all the sent rows
            await session.exec(MARK_SENT, params=done)
        for o in outcomes:
            if o[0] == "failed":
                wake |= await self._failed(session, o[1], o[2], now)
            elif o[0] == "release":
                values: dict = {"claimed_until": None, "claimed_by": None}
                if o[2] is not None:
                    values["next_attempt_at"] = o[2]
                await session.exec(update(OutboxMessage).where(
                    OutboxMessage.id.in_(o[1]), OutboxMessage.claimed_by == self.worker_id,
                    OutboxMessage.status == PENDING).values(**values))
        return wake

    async def _failed(self, session, row: OutboxMessage, exc: Exception, now) -> bool:
        """Record a failed attempt: back off, or dead-letter (True: wake, the chat is free again)."""
        attempts = row.attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:500]
        if (isinstance(exc, SendError) and exc.permanent) or attempts >= self.settings.max_attempts:
            await session.exec(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
                status="dead", attempts=attempts, last_error=error, claimed_until=None, claimed_by=None))
            log.error("outbox #%s dead after %d attempt(s): %s", row.id, attempts, error)
            self._alert(session, row, attempts, error, now)
            return True
        wait = self.backoff(attempts)
        if isinstance(exc, SendError) and exc.retry_after:
            wait = max(wait, timedelta(seconds=exc.retry_after))
        await session.exec(update(OutboxMessage).where(OutboxMessage.id == row.id).values(
            attempts=attempts, last_error=error, next_attempt_at=now + wait, claimed_until=None, claimed_by=None))
        log.warning("outbox #%s attempt %d failed (%s); retry in %ss", row.id, attempts, error,
                    int(wait.total_seconds()))
        return False

    def _alert(self, session, row: OutboxMessage, attempts: int, error: str, now) -> None:
        if self.org is None or row.payload.get("alert"):
            return  # never alert about a failed alert (no loops)
        for g in self.org.admin_groups():
            text = (f"⚠️ 消息发送失败已放弃（发件 #{row.id}，{row.platform}:{row.chat_id}，"
                    f"{attempts} 次）：{error}")
            session.add(OutboxMessage(
                platform=g.platform, account=g.account, chat_type="group", chat_id=g.chat_id,
                payload={**Outbound(ChatRef(g.platform, g.account, "group", g.chat_id), [Text(text)]).to_dict(),
                         "alert": True},
                next_attempt_at=now, created_at=now))

    async def run_forever(self, stop: asyncio.Event, interval: float | None = None) -> None:
        """Send without waiting for a pass to end. Rows the bot leased to this worker at insert
        (`offer`) and chats claimed from the table both go to a lane per chat, sent on their own,
        so one slow chat or round trip holds up no other. What was sent is recorded in the next
        transaction: the claim's when rows wait in the table (woken, or every `interval`), else
        a record of its own. A lane keeps its rows leased until recorded: its order holds."""
        interval = interval or self.settings.interval_seconds
        loop = asyncio.get_running_loop()
        next_claim = 0.0
        try:
            while not stop.is_set():
                claim = self._wake.is_set() or loop.time() >= next_claim
                self._wake.clear()
                self._record_due.clear()
                if not claim and self._offered_lately(loop) and all(o[0] == "sent" for o in self.finished):
                    # the next group's transaction records these (take_outcomes): under load a
                    # transaction of the worker's own per group was a third of the commits
                    until = min(next_claim, self._last_offer + self.RECORD_GRACE)
                    await self._pause(stop, max(0.0, until - loop.time()), recording=False)
                    continue
                outcomes, self.finished = self.finished, []
                idle = {k: lane.epoch for k, lane in self.lanes.items() if lane.idle}
                try:
                    if claim:
                        next_claim = loop.time() + interval
                        try:
                            self._take_up(await self._claim(self.settings.batch, outcomes))
                        finally:
                            self._claimed.clear()
                    elif outcomes:
                        await self._record(outcomes)
                except Exception:  # the outcomes are kept for the next try; claimed rows stay leased
                    log.exception("outbox claim failed")
                    self.finished[:0] = outcomes
                else:
                    self._recorded(outcomes, idle)
                await self._pause(stop, max(0.0, next_claim - loop.time()))
        finally:
            await self._settle()

    def _take_up(self, chains: list[list[OutboxMessage]]) -> None:
        """Claimed chains join their chats' lanes (a spoiled lane is done with: a new one)."""
        for chain in chains:
            key = _chat(chain[0])
            lane = self.lanes.get(key)
            if lane is None or lane.spoiled:
                lane = self.lanes[key] = Lane()
            chain = [r for r in chain if r.id not in lane.held]  # a lease that ran out, taken again
            lane.queue += chain
            lane.held.update(r.id for r in chain)
            self._start(key, lane)

    def _recorded(self, outcomes: list[tuple], idle: dict[tuple, int]) -> None:
        """What was sent is in the table now: the lanes let go of it, and an idle lane of it."""
        for o in outcomes:
            if o[0] == "sent" and (lane := self.lanes.get(_chat(o[1][0]))) is not None:
                lane.held.difference_update(_ids(o))
        for key, epoch in idle.items():
            lane = self.lanes.get(key)
            if lane is not None and lane.idle and lane.epoch == epoch:
                del self.lanes[key]
                if lane.wakes != self._wakes:  # rows queued in the table meanwhile may be this
                    self._wake.set()  # chat's, skipped while it was in flight: claim

    def _offered_lately(self, loop) -> bool:
        return loop.time() - self._last_offer < self.RECORD_GRACE

    async def _pause(self, stop: asyncio.Event, timeout: float, recording: bool = True) -> None:
        events = (stop, self._wake, self._record_due) if recording else (stop, self._wake)
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def _settle(self) -> None:
        """On stop: let the lanes finish (each send is bounded by send_timeout_seconds) and record."""
        tasks = [lane.task for lane in self.lanes.values() if lane.task is not None]
        if tasks:
            await asyncio.wait(tasks)
        if self.finished:
            try:
                await self._record(self.finished)
            except Exception:  # their leases expire and they are sent again (at least once)
                log.exception("outbox: recording the last sends failed")
        self.finished, self.lanes = [], {}


async def claim_replies(session, now, targets: list[ChatRef]) -> list[tuple[int, Outbound] | None]:
    """For passive (in-response) replies, in the caller's transaction: per target chat, take its
    oldest pending message (the k-th time a chat is named, its k-th), if it is text and no worker has
    claimed it, and mark it sent: it is about to leave in an HTTP response, so the worker must not
    push it again. One query and one update for all targets. Returns (row id, message) or None each."""
    place = func.row_number().over(partition_by=CHAT_COLUMNS, order_by=OUTBOX.c.id).label("place")
    queued = (select(OUTBOX.c.id, OUTBOX.c.platform, OUTBOX.c.account, OUTBOX.c.chat_type, OUTBOX.c.chat_id,
                     OUTBOX.c.payload, OUTBOX.c.ticket_id, OUTBOX.c.claimed_until, place)
              .where(OUTBOX.c.status == PENDING, OUTBOX.c.chat_id.in_(sorted({t.chat_id for t in targets})))
              .subquery())
    rows = {(r.platform, r.account, r.chat_type, r.chat_id, r.place): r
            for r in (await session.exec(queued.select().where(queued.c.place <= len(targets)))).all()}
    seen: dict[ChatRef, int] = defaultdict(int)
    last: dict[ChatRef, object] = {}
    picked: list = []
    for t in targets:
        seen[t] += 1
        row = rows.get((t.platform, t.account, t.chat_type, t.chat_id, seen[t]))
        ok = (row is not None and not (row.payload.get("image") or row.payload.get("file"))
              and (row.claimed_until is None or row.claimed_until <= now)
              and (seen[t] == 1 or last[t] is not None))  # in order: never past a row left behind
        last[t] = row if ok else None
        picked.append(last[t])
    ids = [r.id for r in picked if r is not None]
    if not ids:
        return [None] * len(targets)
    res = await session.exec(
        update(OUTBOX).where(OUTBOX.c.id.in_(ids), OUTBOX.c.status == PENDING,
                             or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until <= now))
        .values(status="sent", sent_at=now, attempts=OUTBOX.c.attempts + 1, remote_id=None,
                last_error="passive reply", claimed_until=None, claimed_by=None)
        .returning(OUTBOX.c.id))
    got = {r[0] for r in res.all()}
    return [(r.id, Outbound.from_dict(t, r.payload, r.ticket_id)) if r is not None and r.id in got else None
            for t, r in zip(targets, picked)]
