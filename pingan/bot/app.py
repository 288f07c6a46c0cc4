"""The bot core wiring: store every inbound message, handle it in one transaction that also writes
the replies to the outbox, and mark it handled. Adapters call `receive`/`process`; nothing here
knows a wire format."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from pingan.clock import Clock, SystemClock
from pingan.config import Settings
from pingan.handlers import build_router
from pingan.handlers.context import Context, KnownSenders
from pingan.handlers.filters import parsed_already
from pingan.messages import ChatRef, Inbound, Outbound, Text
from pingan.models import InboxMessage, OutboxMessage, Person
from pingan.models.bulk import insert_returning_ids
from pingan.models.db import SERVER_LOCK_WAIT, make_engine, serialised, session_factory, transient, upgrade
from pingan.models.org_file import apply_org, parse_org_toml
from pingan.models.org_index import OrgIndex
from pingan.models.queries import chats_with_queued, expired_leases, people_by_identity
from pingan.notify import Notifier
from pingan.parser.pool import ParsePool
from pingan.reports.chart import ChartPool
from pingan.taxonomy import Taxonomy, load_taxonomy
from pingan.tickets import TicketDesk

log = logging.getLogger("pingan.bot")


INBOX, OUTBOX = InboxMessage.__table__, OutboxMessage.__table__

INSERT_INBOX = insert(INBOX).returning(INBOX.c.id)
MAX_ID_BYTES = 128  # a longer platform message id is stored as its hash (PostgreSQL's index rows are bounded)


class StoreUnavailable(Exception):
    """The database cannot take the message now (locked, down, disk full). Nothing was stored, so
    the platform must not be told it was: the adapter answers 503 and the platform delivers again."""


class BadMessage(ValueError):
    """This one message cannot be stored, whatever is tried; the rest of its group were."""


def _clean_text(s: str) -> str:
    """Text every database takes: no NUL (PostgreSQL refuses it), no lone surrogates (unencodable)."""
    if "\x00" in s:
        s = s.replace("\x00", "")
    if s.isascii():  # most of a message's strings (its keys, ids): nothing to encode
        return s
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return s


def _clean(value):
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # JSON has no NaN (PostgreSQL refuses it)
    if isinstance(value, dict):
        return {_clean_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def inbox_row(msg: Inbound, now: datetime) -> dict:
    """The inbox row of a message, cleaned so that it stores on SQLite and PostgreSQL alike: a
    resident's report with a stray NUL byte or a broken location is kept, not refused."""
    if msg.location is not None and not all(isinstance(v, (int, float)) and math.isfinite(v)
                                            for v in (msg.location.lat, msg.location.lon)):
        msg.location = None
    msg_id = _clean_text(str(msg.msg_id))
    if len(msg_id.encode()) > MAX_ID_BYTES:  # still one key per id: a re-delivery hashes the same
        msg_id = "sha256:" + hashlib.sha256(msg_id.encode()).hexdigest()
    msg.msg_id = msg_id
    # the chat as stored: what is later looked up by it (a passive reply's claim) must match the row
    c = msg.chat
    msg.chat = dataclasses.replace(c, platform=_clean_text(c.platform), account=_clean_text(c.account),
                                   chat_id=_clean_text(c.chat_id))
    return {"platform": msg.chat.platform, "account": msg.chat.account, "chat_id": msg.chat.chat_id,
            "msg_id": msg_id, "payload": _clean(msg.to_dict()), "received_at": now}


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
    passive: Outbound | None = None  # the reply marked sent to go back in the HTTP response (Bot.ingest)


def outbox_rows(outbound: list[Outbound], now: datetime, hold_until: datetime | None = None,
                held_chat: ChatRef | None = None) -> list[dict]:
    return [{"platform": o.target.platform, "account": o.target.account, "chat_type": o.target.chat_type,
             "chat_id": o.target.chat_id, "payload": o.to_dict(), "ticket_id": o.ticket_id, "status": "pending",
             "attempts": 0, "created_at": now, "claimed_by": None, "claimed_until": None, "sent_at": None,
             "last_error": None,  # every row has every key: one INSERT for many rows
             "next_attempt_at": hold_until if hold_until and o.target == held_chat else now} for o in outbound]


class Lanes(Protocol):
    """The running outbox worker's side of sending from memory (OutboxWorker implements it)."""

    worker_id: str
    lease: timedelta

    def lane_for(self, target: ChatRef):
        """The lane a new row to `target` joins, leased to this worker at insert; None if it cannot
        be sent from here now."""

    def holds(self, target: ChatRef, row_id: int) -> bool:
        """Is the chat's pending row `row_id` in one of this worker's lanes?"""

    def holds_any(self, target: ChatRef) -> bool:
        """Does a lane of this worker hold a pending row of the chat?"""

    def offer(self, rows: list) -> None:
        """Rows just committed, leased to this worker: send them, each chat in order."""

    def wake(self) -> None:
        """Rows were queued for the claim loop."""

    def unplaced(self, targets: set[ChatRef]) -> set[ChatRef]:
        """Those of `targets` with rows this worker claimed that are not in their lane yet."""

    def take_outcomes(self) -> list:
        """The rows the lanes sent since the last record, for the caller's transaction to record."""

    async def record_in(self, session, outcomes: list, now: datetime) -> None:
        """Write `outcomes` in the caller's transaction."""

    def recorded(self, outcomes: list, committed: bool) -> None:
        """The caller's transaction committed them (the lanes let go), or not (the worker records them)."""


async def insert_ids(session, table, rows: list[dict]) -> list[int]:
    """One multi-row INSERT (on SQLite straight to the driver, pingan.models.bulk); the new ids in the
    rows' order. On the session's connection, so staged rows are written at commit, not before it."""
    return await insert_returning_ids(await session.connection(), table, rows)


async def queued_behind(session, targets: set[ChatRef], lanes: Lanes | None, now: datetime) -> set[ChatRef]:
    """The chats among `targets` with a pending row that no lane of the worker holds (backing off,
    waiting for a connection, another server's, claimed and not yet in a lane): a new row to them
    must queue behind it in the table; with no worker sending from memory (`lanes` None), any
    pending row. One probe per chat that stops at the first such row (`chats_with_queued`), so the
    cost does not grow with what a chat has waiting; only rows of this worker's expired leases in a
    chat whose lane holds rows are fetched, to be checked against the lane."""
    by_key = {(t.platform, t.account, t.chat_type, t.chat_id): t for t in targets}
    held = {k for k, t in by_key.items() if lanes is not None and lanes.holds_any(t)}
    worker = lanes.worker_id if lanes is not None else None
    behind = {by_key[k] for k in await chats_with_queued(session, list(by_key), held, worker, now)}
    if lanes is None:
        return behind
    check = [k for k in held if by_key[k] not in behind]
    behind |= {by_key[k] for k, row_id in await expired_leases(session, check, worker, now)
               if not lanes.holds(by_key[k], row_id)}
    return behind | lanes.unplaced(targets)


async def insert_outbox(session, rows: list[dict]) -> None:
    """Plain table inserts, one statement for many rows: the outbox is written, not read, here."""
    if rows:
        await session.exec(insert(OUTBOX), params=rows)


class GroupCommit:
    """Under load, messages are stored and handled in groups: callers queue their item, and one
    drain task runs what is waiting, a batch at a time, each batch one transaction under the write
    lock ("group commit"). One message alone is a group of one, so nothing waits for company; and
    the lock's queue stays short, so the outbox and the scheduler get their turns. `run_batch`
    returns one result per item, or an exception for an item that failed alone."""

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
                    if f.done():
                        continue
                    if isinstance(result, Exception):  # this item failed alone
                        f.set_exception(result)
                    else:
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
        self._ingest_group = GroupCommit(self.write_lock, self._ingest_batch, self.BATCH)
        # the running outbox worker (serve sets it): new rows are leased to it at insert and sent
        # from memory once committed; None (tests, the console, the CLI): the worker claims them
        self.lanes: Lanes | None = None
        # parser worker processes (serve starts them): the hot path's texts are parsed there while
        # the loop handles the group before; None: parsed in this process as handlers ask
        self.parse_pool: ParsePool | None = None
        self.followups: set[asyncio.Task] = set()  # after-commit jobs still running
        # platforms this process can send to (make_app sets it from its senders; None: all, e.g. tests).
        # Messages for the others are not queued: nothing would ever send them (the demo's console
        # groups under `serve` left thousands pending).
        self.outbox_platforms: set[str] | None = None
        self._unsendable_logged: set[str] = set()
        self._transient_tries: Counter[int] = Counter()  # inbox id → transient failures so far
        self.charts = ChartPool(settings.scheduler.chart_processes, settings.scheduler.chart_font)

    @classmethod
    async def create(cls, settings: Settings, clock: Clock | None = None, *, migrate: bool = True,
                     load_org: bool = True) -> "Bot":
        clock = clock or SystemClock(settings.bot.timezone)
        if migrate:
            await upgrade(settings.database.url)
        db = settings.database
        engine = make_engine(db.url, db.echo, synchronous=db.synchronous, lock_wait=SERVER_LOCK_WAIT)
        report_engine = (make_engine(db.url, db.echo, inline=False, synchronous=db.synchronous)
                         if engine.dialect.name == "sqlite" else None)
        taxonomy = load_taxonomy(settings.org.taxonomy)
        sessions = session_factory(engine)
        async with sessions() as session:
            if load_org and settings.org.file:
                await serialised(session, "pingan:org")  # two servers starting at once
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
        """Persist before anything else. Returns the inbox id, or None for a duplicate delivery.
        A busy or failing database is retried for `server.store_budget_seconds` (without blocking
        the event loop), then StoreUnavailable; a message that cannot be stored raises BadMessage."""
        msg.received_at = msg.received_at or self.clock.now()
        row = inbox_row(msg, self.clock.now())
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self.settings.server.store_budget_seconds, 0.02
        while True:
            try:
                return await self._store_group(row)
            except Exception as exc:
                if not transient(exc):
                    raise
                if loop.time() + delay > deadline:
                    raise StoreUnavailable(f"database unavailable: {type(exc).__name__}: {exc}"[:300]) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _store(self, rows: list[dict]) -> list[int | None | Exception]:
        async with self.sessions() as session:
            try:  # one statement for the whole group (a plain table insert: no ORM objects needed)
                ids = await insert_ids(session, INBOX, rows)
                await session.commit()
                return ids
            except Exception as exc:
                await session.rollback()
                if transient(exc):
                    raise
                # a re-delivery or a row the database refuses: store one by one, so it fails alone
        return [await self._store_one(row) for row in rows]

    async def _store_one(self, row: dict) -> int | None | Exception:
        async with self.sessions() as session:
            try:
                inbox_id = (await session.exec(INSERT_INBOX, params=[row])).scalar_one()
                await session.commit()
                return inbox_id
            except IntegrityError:
                log.info("duplicate delivery %s/%s/%s/%s ignored", row["platform"], row["account"],
                         row["chat_id"], row["msg_id"])
                return None
            except Exception as exc:
                if transient(exc):
                    return exc
                log.warning("message %s/%s refused by the database: %s", row["platform"], row["msg_id"], exc)
                return BadMessage(f"message cannot be stored: {type(exc).__name__}")

    async def forget_old_keys(self) -> int:
        """Past `server.dedupe_days` a platform message id no longer marks a re-delivery (OneBot
        reuses its 32-bit ids). Returns how many keys were forgotten."""
        cutoff = self.clock.now() - timedelta(days=self.settings.server.dedupe_days)
        async with self.write_lock, self.sessions() as session:
            res = await session.exec(update(INBOX).where(INBOX.c.msg_id.is_not(None), INBOX.c.received_at < cutoff)
                                     .values(msg_id=None))
            await session.commit()
        return res.rowcount or 0

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
                senders = await self._senders(session, msgs := [Inbound.from_dict(p) for _, p in rows])
                for (inbox_id, _), msg in zip(rows, msgs):
                    results[inbox_id] = handled = await self._handle_one(session, inbox_id, msg, senders)
                    outbox += outbox_rows(self.sendable(handled.outbound), self.clock.now(), hold[inbox_id],
                                          handled.chat)
                if rows:
                    await session.exec(update(INBOX).where(INBOX.c.id.in_(list(results)))
                                       .values(handled_at=self.clock.now()))
                    await insert_outbox(session, outbox)
                await session.commit()
            except Exception as exc:
                await session.rollback()
                if transient(exc) and not self._hopeless([i for i, _ in rows]):
                    raise  # nothing is wrong with the messages: the caller tries again later
                if len(rows) == 1:
                    return [await self._record_failure(rows[0][0], exc)]
                # one bad message must not take the others down: handle each on its own
                return [await self._handle_alone(item) for item in items]
        self._committed(list(results.values()))
        return [results.get(i, Handled(i, True, [])) for i in ids]

    LOG_EACH = 4  # a group of up to this many messages is logged a line each; a larger one in one line

    def _committed(self, handled: list[Handled]) -> None:
        done = [h for h in handled if h.handled_by]
        if 0 < len(done) <= self.LOG_EACH:
            for h in done:
                log.info("inbox #%s %s:%s → %s, %d out", h.inbox_id, h.chat.platform, h.chat.chat_id, h.handled_by,
                         len(h.outbound))
        elif done:  # under load a line per message was a few per cent of the CPU, and unreadable
            by = Counter(h.handled_by for h in done)
            log.info("inbox #%s–#%s (%d messages) → %s, %d out", min(h.inbox_id for h in done),
                     max(h.inbox_id for h in done), len(done), ", ".join(f"{k} ×{n}" for k, n in by.most_common()),
                     sum(len(h.outbound) for h in done))
        for h in handled:
            self._transient_tries.pop(h.inbox_id, None)
            if h.sender:
                self.known.remember(h.chat.platform, *h.sender)
            h.followups = [self._follow_up(h.chat, h.inbox_id, job) for job in h.later]

    # --- the hot path: store + handle + mark in one transaction -----------------------------------
    async def ingest(self, msg: Inbound, passive_until: datetime | None = None) -> Handled | None:
        """The hot path, for a transport that acknowledges nothing (OneBot's WebSocket) or only
        once handled: store, handle and mark the message in one transaction with whatever else is
        waiting, and hand its replies to the outbox worker from memory once committed. None if the
        group's transaction failed for any reason (a re-delivery, a bad message, a busy database):
        then the caller takes the long way, `receive` then `process`, each message alone (their
        retries, duplicates, StoreUnavailable, isolation and parking).

        `passive_until`: the platform answers in the HTTP response (WeChat, WeCom) until then: the
        first text reply to the message's chat is written as sent and returned as `passive`, if
        the chat has nothing pending before it and the transaction writes it in time."""
        msg.received_at = msg.received_at or self.clock.now()
        row = inbox_row(msg, self.clock.now())
        text = row["payload"].get("text")  # as stored: what handling reads
        parsing = self.parse_pool.parse(text) if self.parse_pool is not None and text else None
        try:
            handled = await self._ingest_group((row, passive_until, parsing))
        except Exception:  # the group's drain failed outside its transaction
            return None
        return handled

    async def _ingest_batch(self, items: list[tuple[dict, datetime | None, asyncio.Future | None]]
                            ) -> list[Handled | None]:
        """Handled per (row, passive_until, parsing), or None for all of them: the group's
        transaction failed. `parsing`: the parse pool's answer for the message's text, if asked."""
        now, lanes = self.clock.now(), self.lanes  # serve may let go of the worker meanwhile
        rows = [r for r, _, _ in items]
        outcomes: list = []
        async with self.sessions() as session:
            try:
                ids = await insert_ids(session, INBOX, [{**r, "handled_at": now} for r in rows])
                senders = await self._senders(session, msgs := [Inbound.from_dict(r["payload"]) for r in rows])
                handled = []
                for i, m, (_, _, parsing) in zip(ids, msgs, items):
                    handled.append(await self._handle_one(session, i, m, senders, parsing))
                    # SQLite runs on this thread, so a group would hold the loop for its whole
                    # handling: let the lanes send what earlier groups committed meanwhile (a
                    # coordination group's posts go one round trip at a time)
                    await asyncio.sleep(0)
                outbound, passive = self._passive_candidates(handled, [until for _, until, _ in items])
                leased, queued, answered = await self._write_outbox(session, outbound, now, lanes, passive)
                # what the lanes sent meanwhile is recorded here, not in a transaction of its own
                outcomes = lanes.take_outcomes() if lanes is not None else []
                if outcomes:
                    await lanes.record_in(session, outcomes, now)
                await session.commit()
            except Exception as exc:
                await session.rollback()
                if outcomes:
                    lanes.recorded(outcomes, False)
                log.info("a group of %d handled apart: %s: %s", len(rows), type(exc).__name__, str(exc)[:200])
                return [None] * len(rows)
        if outcomes:
            lanes.recorded(outcomes, True)
        self._committed(handled)
        for h, o in answered:
            h.passive = o
        if leased:
            lanes.offer(leased)
        if queued and lanes is not None:
            lanes.wake()
        return handled

    # a passive reply is written as sent only with this much of its window left for the commit
    # and the HTTP response; later, it is the outbox's to send
    PASSIVE_MARGIN = timedelta(milliseconds=500)

    def _passive_candidates(self, handled: list[Handled], until: list[datetime | None]
                            ) -> tuple[list[Outbound], dict[int, Handled]]:
        """The group's outbound messages, and by position the one each passive message may answer
        in its HTTP response: its first text reply to its own chat, while there is time."""
        outbound: list[Outbound] = []
        passive: dict[int, Handled] = {}
        now = self.clock.now()
        for h, deadline in zip(handled, until):
            out = self.sendable(h.outbound)
            if deadline is not None and now + self.PASSIVE_MARGIN < deadline:
                k = next((k for k, o in enumerate(out) if o.target == h.chat and not (o.image or o.file)), None)
                if k is not None:
                    passive[len(outbound) + k] = h
            outbound += out
        return outbound, passive

    async def _write_outbox(self, session, outbound: list[Outbound], now: datetime, lanes: Lanes | None,
                            passive: dict[int, Handled]) -> tuple[list, bool, list]:
        """One INSERT for the group's outbound messages. A passive candidate (`passive`, by
        position) to a chat with nothing pending and no row before it in the group is written as
        sent (returned with its message, as it goes in the HTTP response). With a running worker
        (`lanes`), a row to a chat with no pending row outside its lanes is leased to it right away
        (returned with its lane, to be offered once committed); the others wait in the table for
        the claim loop, behind what is pending (returns whether there are any)."""
        rows = outbox_rows(outbound, now)
        if not rows:
            return [], False, []
        targets = {o.target for o in outbound}
        if lanes is None and not passive:
            await insert_outbox(session, rows)
            return [], True, []
        behind = await queued_behind(session, targets, lanes, now)
        # a passive reply overtakes nothing: neither what waits in the table nor rows in flight
        held = {t for t in targets if lanes.holds_any(t)} if lanes is not None else set()
        joins, seen, answered = {}, set(), []
        for k, (row, o) in enumerate(zip(rows, outbound)):
            first = o.target not in seen
            seen.add(o.target)
            if k in passive and first and o.target not in behind and o.target not in held:
                row.update(status="sent", sent_at=now, attempts=1, last_error="passive reply")
                answered.append((passive[k], o))
                continue
            if lanes is None:
                continue
            if o.target not in behind and o.target not in joins:
                joins[o.target] = lanes.lane_for(o.target)
            if o.target in behind or joins[o.target] is None:
                behind.add(o.target)  # the rest of this chat's rows queue behind this one
            else:
                row["claimed_by"], row["claimed_until"] = lanes.worker_id, now + lanes.lease
        ids = await insert_ids(session, OUTBOX, rows)
        leased = [(SimpleNamespace(id=i, **r), joins[o.target])
                  for i, r, o in zip(ids, rows, outbound) if r["claimed_by"] is not None]
        queued = any(r["status"] == "pending" and r["claimed_by"] is None for r in rows)
        return leased, queued, answered

    async def _senders(self, session, msgs: list[Inbound]) -> dict[tuple[str, str], Person]:
        """Who sent a group's messages: remembered ones, the rest in one query."""
        known = {(m.chat.platform, m.sender_id): self.known.get(m.chat.platform, m.sender_id) for m in msgs}
        found = await people_by_identity(session, {k for k, p in known.items() if p is None})
        return {k: p for k, p in known.items() if p is not None} | found

    async def _handle_one(self, session, inbox_id: int, msg: Inbound, senders: dict,
                          parsing: asyncio.Future | None = None) -> Handled:
        """`senders`: the group's, by (platform, external id); one made here is added for the next.
        `parsing`: the parse pool's result for the text (None in it: the handlers parse in process)."""
        now = self.clock.now()
        notifier = Notifier(self.org, self.settings, self.taxonomy, self.clock)
        ctx = Context(
            msg=msg, inbox_id=inbox_id, session=session, reports=self.reports, settings=self.settings, org=self.org,
            taxonomy=self.taxonomy, clock=self.clock, now=now,
            sender=senders.get((msg.chat.platform, msg.sender_id)),
            desk=TicketDesk(session, self.org, self.settings, self.taxonomy, now), notify=notifier,
        )
        if parsing is not None and (parsed := await parsing) is not None:
            parsed_already(ctx, parsed)
        try:
            await self.router.dispatch(ctx)
        except Exception:
            log.exception("handling inbox #%s failed", inbox_id)
            raise
        if ctx.sender is not None:
            senders[(msg.chat.platform, msg.sender_id)] = ctx.sender
        return Handled(inbox_id, False, notifier.out, ctx.handled_by, msg.chat,
                       (msg.sender_id, ctx.sender) if ctx.sender else None, ctx.later)

    TRANSIENT_LIMIT = 20  # a message that keeps meeting "transient" errors is parked after this many

    def _hopeless(self, ids: list[int]) -> bool:
        """Count a transient failure of a message handled alone; True once it is past the limit
        (an error that is not the database's, only looking like it, must not retry forever)."""
        if len(ids) != 1:
            return False
        self._transient_tries[ids[0]] += 1
        return self._transient_tries[ids[0]] >= self.TRANSIENT_LIMIT

    async def _handle_alone(self, item: tuple[int, datetime | None]) -> Handled | Exception:
        try:
            return (await self._handle_batch([item]))[0]
        except Exception as exc:  # transient: this one is retried; the others' results stand
            return exc

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
            notifier.out = [Outbound(chat, [Text("抱歉，这次没有办完，请稍后再试。")])]
        if notifier.out:
            async with self.write_lock, self.sessions() as session:
                await self.enqueue(session, notifier.out, self.clock.now())
                await session.commit()

    async def _record_failure(self, inbox_id: int, exc: Exception) -> Handled:
        """A message that fails deterministically (a handler bug, data the database refuses) must
        not wedge the inbox: park it (handled, with its error), tell the admins. `pingan inbox
        retry` runs parked messages again once the cause is fixed."""
        self._transient_tries.pop(inbox_id, None)
        now = self.clock.now()
        error = f"{type(exc).__name__}: {exc}"[:500]
        notifier = Notifier(self.org, self.settings, self.taxonomy, self.clock)
        notifier.to_admins(f"⚠️ 消息处理出错（收件 #{inbox_id}）：{error}")
        async with self.sessions() as session:
            await session.exec(update(INBOX).where(INBOX.c.id == inbox_id).values(handled_at=now, error=error))
            await self.enqueue(session, notifier.out, now)
            await session.commit()
        return Handled(inbox_id, False, [])

    async def enqueue(self, session, outbound: list[Outbound], now: datetime) -> None:
        await insert_outbox(session, outbox_rows(self.sendable(outbound), now))

    def sendable(self, outbound: list[Outbound]) -> list[Outbound]:
        if self.outbox_platforms is None:
            return outbound
        for o in outbound:
            p = o.target.platform
            if p not in self.outbox_platforms and p not in self._unsendable_logged:
                self._unsendable_logged.add(p)
                log.warning("no sender for platform %r in this process: its messages are not queued", p)
        return [o for o in outbound if o.target.platform in self.outbox_platforms]

    async def handle(self, msg: Inbound) -> Handled:
        handled = await self.ingest(msg)
        if handled is None:
            inbox_id = await self.receive(msg)
            if inbox_id is None:
                return Handled(None, True, [])
            handled = await self.process(inbox_id)
        await asyncio.gather(*handled.followups)  # the console and tests want the whole answer
        return handled

    async def retry_parked(self, ids: list[int] | None = None) -> tuple[int, int]:
        """Run parked messages (a deterministic failure, see _record_failure) again, oldest first,
        e.g. after the bug is fixed. Returns (how many ran, how many failed again)."""
        parked = INBOX.c.error.is_not(None)
        if ids:
            parked &= INBOX.c.id.in_(ids)
        async with self.write_lock, self.sessions() as session:
            q = update(INBOX).where(parked).values(handled_at=None, error=None).returning(INBOX.c.id)
            again = sorted((await session.exec(q)).scalars().all())
            await session.commit()
        failed = 0
        for inbox_id in again:
            await self.process(inbox_id)
            async with self.sessions() as session:
                failed += (await session.exec(select(INBOX.c.error).where(INBOX.c.id == inbox_id))).scalar() is not None
        return len(again), failed

    async def recover(self) -> int:
        """Handle what was stored but not handled before a crash, oldest first. Returns how many."""
        async with self.sessions() as session:
            q = select(INBOX.c.id).where(INBOX.c.handled_at.is_(None)).order_by(INBOX.c.id)
            pending = list((await session.exec(q)).scalars().all())
        for inbox_id in pending:
            try:
                await self.process(inbox_id)
            except Exception as exc:  # the next one may fare better; this one is tried next sweep
                if not transient(exc):
                    raise
                log.warning("recovering inbox #%s: %s; left for the next sweep", inbox_id, type(exc).__name__)
        if pending:
            log.warning("recovered %d stored-but-unhandled message(s)", len(pending))
        return len(pending)
