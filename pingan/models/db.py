"""Engine and sessions. SQLite (WAL) by default; PostgreSQL via asyncpg when the URL says so."""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiosqlite
from sqlalchemy import event, exc as sa_exc, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from pingan.fastjson import dumps, loads

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("pingan.db")


def normalise_url(url: str) -> str:
    """Accept the DSNs people paste (postgresql://, sqlite:///) and pick the async drivers."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    return url


class InlineSQLite(aiosqlite.Connection):
    """aiosqlite's connection with each call run on the event loop's own thread.

    A SQLite call on a WAL database takes microseconds, while handing it to aiosqlite's worker
    thread and back costs two thread switches; with SQLAlchemy making several calls per statement,
    those hand-offs were most of the CPU a report cost (bench/ingest.py). The worker thread still
    opens and closes the connection."""

    async def _execute(self, fn, *args, **kwargs):
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


# On the event loop's thread SQLite's busy handler stops the whole server while another process
# holds the write lock (it waited 30 s): the bot waits briefly, fails, and retries asynchronously
# (or answers 503). One-shot commands keep the long wait.
SERVER_LOCK_WAIT = 0.1


def _inline_sqlite(path: str, lock_wait: float):
    async def connect() -> InlineSQLite:
        # opened on the worker thread, used on the loop's: hence check_same_thread=False
        return await InlineSQLite(lambda: sqlite3.connect(path, timeout=lock_wait, check_same_thread=False), 64)
    return connect


def make_engine(url: str, echo: bool = False, *, inline: bool = True, synchronous: str = "NORMAL",
                lock_wait: float = 30.0) -> AsyncEngine:
    """`inline=False` on SQLite: calls go to aiosqlite's thread, and SQLite lets go of the GIL while
    it works, so a long read (a city's digest, a ledger) does not stop the event loop.
    `synchronous`: SQLite's durability against power loss (see config `database.synchronous`);
    `lock_wait`: seconds an inline SQLite call waits for another process's write lock."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        creator = {"async_creator": _inline_sqlite(make_url(url).database, lock_wait)} if inline else {}
        engine = create_async_engine(url, echo=echo, json_serializer=dumps, json_deserializer=loads, **creator)
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):  # WAL lets the server read while the scheduler writes
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, json_serializer=dumps, json_deserializer=loads)


class WalCheckpointer:
    """SQLite: the server's WAL copied back into the database file on a thread of its own.

    Why: by default the connection whose commit takes the WAL past 1,000 pages copies them back and
    syncs the file, on the event loop's thread (commits averaged twice their cost). Here the
    server's connections never do (`wal_autocheckpoint=0`), and a connection of the
    checkpointer's own runs a PASSIVE checkpoint every `interval` seconds in a worker thread, where
    SQLite lets go of the GIL for the copy and the sync. A commit is as durable as before (the WAL
    is the database until copied; a crash replays it on the next open).

    Under steady load a checkpoint never finishes (commits land while it copies), and SQLite starts
    the WAL over only after one has: the WAL grew by every page ever committed (800 MB in 30,000
    reports) and each page read searched its whole index. So when a pass leaves the WAL past
    `LONG_WAL` frames, a second one runs holding `write_lock` (the server's one writer lock): it
    copies the few frames committed meanwhile, completes, and the next commit starts the WAL from its
    beginning. Writers wait for that pass only (run every pass, its sync had cost ~5% of throughput)."""

    LONG_WAL = 8192  # frames (32 MB of 4 KB pages)

    def __init__(self, engine: AsyncEngine, interval: float = 1.0, write_lock: asyncio.Lock | None = None) -> None:
        self.engine, self.interval, self.write_lock = engine, interval, write_lock
        self.path = make_url(engine.url).database
        self.conn: sqlite3.Connection | None = None
        # one thread for all its calls: closing waits for a checkpoint still running
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="wal-checkpoint")

    async def _call(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def start(self) -> None:
        @event.listens_for(self.engine.sync_engine, "connect")
        def _no_autocheckpoint(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.close()

        await self.engine.dispose()  # the connections opened before this get the pragma too
        self.conn = await self._call(sqlite3.connect, self.path)

    async def checkpoint(self) -> tuple[int, int, int]:
        """(busy, WAL frames, frames copied), as SQLite's wal_checkpoint answers."""
        return await self._call(lambda: self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
            try:
                _, frames, copied = await self.checkpoint()
                if self.write_lock is not None and frames > self.LONG_WAL and copied < frames:
                    async with self.write_lock:
                        await self.checkpoint()
            except sqlite3.Error as exc:  # e.g. the disk is full: the WAL keeps the commits meanwhile
                log.warning("WAL checkpoint failed: %s", exc)

    async def close(self) -> None:
        if self.conn is not None:
            await self._call(self.conn.close)
            self.conn = None
        self._thread.shutdown(wait=False)


# PostgreSQL error classes worth a retry: connection (08), serialization/deadlock (40), resources
# (53: e.g. disk full), operator intervention (57: shutdown), lock not available (55P03)
_PG_TRANSIENT = ("08", "40", "53", "57", "55P03")


@functools.cache
def transient(exc: BaseException) -> bool:
    """A database error that may go away if the same work is tried again later (a held lock, a
    dropped connection, a full disk), as opposed to one this input will always cause."""
    if isinstance(exc, (ConnectionError, TimeoutError)):  # e.g. a driver's socket, not a handler's file
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "__cause__", None), "sqlstate", None)
    return bool(code) and str(code).startswith(_PG_TRANSIENT)


async def serialised(session, name: str) -> None:
    """PostgreSQL: hold an advisory lock named `name` until the session's transaction ends, so two
    servers doing the same start-up write take turns (SQLite has one writer anyway)."""
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy import text

        await session.exec(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), params={"name": name})


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def _alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url))
    return cfg


def upgrade_sync(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Run Alembic migrations (env.py drives the async engine in its own loop, so use a thread)."""
    await asyncio.to_thread(upgrade_sync, url, revision)
