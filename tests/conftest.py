"""Shared fixtures. Every database test runs on SQLite, and again on PostgreSQL when
PINGAN_TEST_PG is set (e.g. postgresql://postgres@127.0.0.1/test)."""

from __future__ import annotations

import itertools
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pingan.bot.app import Bot
from pingan.bot.console import ConsoleSender, group_chat, message, private_chat
from pingan.bot.outbox import OutboxWorker
from pingan.clock import FrozenClock
from pingan.config import load_settings
from pingan.models.db import normalise_url

PG = os.environ.get("PINGAN_TEST_PG")
TZ = ZoneInfo("Asia/Shanghai")
COORD = "新联社区平安工作群"
STREET = "永丰街道平安社区工作群"


_dbs = itertools.count()


async def _admin(url: str, sql: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(sql))
    await engine.dispose()


@pytest.fixture(scope="session")
def pg_template():
    """A migrated PostgreSQL database, made once per run; each test copies it (CREATE … TEMPLATE)."""
    if not PG:
        return None
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from pingan.models.db import upgrade

    name = f"pingan_tmpl{os.getpid()}"
    url = PG.rsplit("/", 1)[0] + "/" + name

    async def make():
        await _admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await _admin(PG, f'CREATE DATABASE "{name}"')
        await upgrade(url)

    def run(coro_fn):  # the test's event loop may be running already: use a private one in a thread
        with ThreadPoolExecutor(1) as pool:
            pool.submit(lambda: asyncio.run(coro_fn())).result()

    run(make)
    yield name
    run(lambda: _admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request, tmp_path):
    """A fresh database per test: a SQLite file, or a new PostgreSQL database (so parallel runs
    sharing one server never see each other's rows)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not PG:
        pytest.skip("PostgreSQL tests need PINGAN_TEST_PG=postgresql://user@host/db (CI sets it)")
    name = f"pingan_t{os.getpid()}_{next(_dbs)}"
    await _admin(PG, f'CREATE DATABASE "{name}" TEMPLATE "{request.getfixturevalue("pg_template")}"')
    yield PG.rsplit("/", 1)[0] + "/" + name
    await _admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock():
    return FrozenClock(datetime(2019, 4, 8, 9, 0, tzinfo=TZ))


@pytest.fixture
def settings(db_url):
    return load_settings(None, env={"PINGAN__DATABASE__URL": db_url})


class Harness:
    """Speak as anyone in the console platform, run the outbox, read what the bot said."""

    def __init__(self, bot: Bot, clock: FrozenClock) -> None:
        self.bot, self.clock = bot, clock
        self.sender = ConsoleSender()
        self.worker = OutboxWorker(bot.sessions, clock, bot.settings.outbox, {"console": self.sender}, bot.org)
        self.seen = 0

    async def say(self, who: str, text: str = "", group: str | None = COORD, **kw) -> list[tuple[str, str]]:
        chat = group_chat(group) if group else private_chat(who)
        handled = await self.bot.handle(message(chat, who, text, **kw))
        self.last = handled
        await self.worker.run_once()
        return self.new()

    def new(self) -> list[tuple[str, str]]:
        """(chat id, plain text) of messages delivered since the last call."""
        from pingan.bot.console import render

        fresh = self.sender.delivered[self.seen:]
        self.seen = len(self.sender.delivered)
        return [(target.chat_id, render(out)) for _, target, out in fresh]

    def remote_id_of(self, needle: str) -> str:
        """The id of the last bot message containing `needle` (to quote-reply to it)."""
        from pingan.bot.console import render

        for rid, _, out in reversed(self.sender.delivered):
            if needle in render(out):
                return rid
        raise AssertionError(f"no bot message contains {needle!r}")


@pytest.fixture
async def bot(settings, clock):
    b = await Bot.create(settings, clock)
    yield b
    await b.close()


@pytest.fixture
async def h(bot, clock):
    return Harness(bot, clock)

