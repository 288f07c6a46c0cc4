"""The inbox's promises: a bad message fails alone in its group, a transient database error is
retried (never parked), a deterministic failure is parked and can be re-run, the dedupe key is per
chat and bounded in time, and a database that cannot write gets 503 at once, never an ack."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from sqlalchemy import text as _text
from pingan.bot.app import BadMessage, inbox_row
from pingan.bot.console import message, private_chat
from pingan.bot.pipeline import Pipeline
from pingan.bot.server import make_app
from pingan.messages import ChatRef, Inbound, Location
from pingan.models import InboxMessage, Ticket
from tests.test_server import REPORT, Running, count, rows, wait_until

EBIKE = "锦城花园3栋楼道里有人给电瓶车充电"


def qq(chat_id: str, msg_id: str, text: str = EBIKE, **kw) -> Inbound:
    return Inbound(chat=ChatRef("qq", "10001", "group", chat_id), msg_id=msg_id, sender_id="30001",
                   sender_name="张阿姨", text=text, **kw)


def sqlite_path(bot) -> str | None:
    return bot.engine.url.database if bot.engine.dialect.name == "sqlite" else None


async def test_poison_messages_in_a_group_commit_cost_nothing(bot):
    """The probe's triggers (unencodable id, NaN location, NUL byte, oversized id) arrive in one
    group with valid messages: every one is stored, the odd ones cleaned."""
    msgs = [qq("700001", f"ok{i}") for i in range(20)]
    msgs[3] = qq("700001", "bad\ud800id")
    msgs[7] = qq("700001", "nan", location=Location(float("nan"), 104.0))
    msgs[11] = qq("700001", "nul", text="楼道\x00里有人给电瓶车充电")
    msgs[15] = qq("700001", "x" * 10_000)
    ids = await asyncio.gather(*(bot.receive(m) for m in msgs))
    assert all(ids) and len(set(ids)) == 20
    assert await count(bot, InboxMessage) == 20
    again = await asyncio.gather(bot.receive(qq("700001", "bad\ud800id")), bot.receive(qq("700001", "x" * 10_000)))
    assert again == [None, None]  # the cleaned ids still dedupe a re-delivery


async def test_a_row_the_database_refuses_fails_alone(bot, clock):
    """Below the cleaning: whatever the database refuses in a batch (here an unencodable id that
    skipped inbox_row) costs only its own message, with BadMessage; the others commit."""
    good = [inbox_row(qq("700001", f"g{i}"), clock.now()) for i in range(5)]
    bad = {**good[0], "msg_id": "\ud800" if sqlite_path(bot) else "nul\x00"}
    results = await asyncio.gather(*(bot._store_group(r) for r in [good[0], bad, *good[1:]]),
                                   return_exceptions=True)
    assert isinstance(results[1], BadMessage)
    assert all(isinstance(r, int) for r in results[:1] + results[2:])
    assert await count(bot, InboxMessage) == 5


async def test_dedupe_key_is_per_chat_and_forgotten_after_the_window(bot, clock, settings):
    assert await bot.receive(qq("700001", "42")) is not None
    assert await bot.receive(qq("700002", "42")) is not None  # same 32-bit id, another group
    assert await bot.receive(qq("700001", "42")) is None
    clock.advance(days=settings.server.dedupe_days - 1)
    assert await bot.forget_old_keys() == 0
    assert await bot.receive(qq("700001", "42")) is None
    clock.advance(days=2)
    assert await bot.forget_old_keys() == 2
    assert await bot.receive(qq("700001", "42")) is not None  # a new message reusing the id


async def test_wechat_id_rule_kept(bot):
    """WeChat: one id per follower chat (the openid); a re-delivered MsgId is still a duplicate."""
    chat = ChatRef("wechat", "wx123", "private", "oOPENID")
    msg = Inbound(chat=chat, msg_id="23456789", sender_id="oOPENID", text=EBIKE)
    assert await bot.receive(msg) is not None
    assert await bot.receive(Inbound(chat=chat, msg_id="23456789", sender_id="oOPENID", text=EBIKE)) is None


class HeldLock:
    """Another process holding SQLite's write lock (BEGIN IMMEDIATE on its own connection)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


async def test_transient_error_after_the_ack_is_retried_not_parked(bot, settings):
    if not sqlite_path(bot):
        pytest.skip("a held write lock is SQLite's transient error")
    settings.server.retry_base_seconds = 0.05
    pipeline = Pipeline(bot)
    inbox_id = await pipeline.receive(message(private_chat("张阿姨"), "张阿姨", EBIKE))
    lock = HeldLock(sqlite_path(bot))
    task = pipeline.submit(inbox_id)
    await asyncio.sleep(0.4)  # a few tries fail on the lock
    lock.release()
    handled = await asyncio.wait_for(task, 10)
    assert handled is not None and handled.outbound
    (row,) = await rows(bot, InboxMessage)
    assert row.error is None and row.handled_at is not None
    assert await count(bot, Ticket) == 1


async def test_deterministic_failure_is_parked_and_can_be_retried(bot):
    async def boom(ctx):
        raise RuntimeError("handler bug")

    bot.router.handlers.insert(0, ((), boom))
    await bot.handle(message(private_chat("张阿姨"), "张阿姨", EBIKE))
    (row,) = await rows(bot, InboxMessage)
    assert "handler bug" in row.error and await count(bot, Ticket) == 0
    bot.router.handlers.pop(0)  # the bug is fixed
    assert await bot.retry_parked() == (1, 0)
    (row,) = await rows(bot, InboxMessage)
    assert row.error is None and await count(bot, Ticket) == 1
    assert await bot.retry_parked() == (0, 0)


async def test_held_sqlite_lock_gets_503_fast_and_nothing_acked(bot, enabled):
    if not sqlite_path(bot):
        pytest.skip("SQLite's write lock")
    enabled.server.store_budget_seconds = 0.5
    async with Running(make_app(bot, env={})) as r:
        lock = HeldLock(sqlite_path(bot))
        try:
            started = time.monotonic()
            health = await r.client.get("/healthz")
            assert health.status == 503 and time.monotonic() - started < 5
            body = (await r.client.post("/onebot/v11/http", json=onebot_event(1),
                                        headers={"Authorization": "Bearer tok"}))
            assert body.status == 503 and body.headers["Retry-After"]
            assert time.monotonic() - started < 8  # not SQLite's 30 s busy wait
        finally:
            lock.release()
        assert await count(bot, InboxMessage) == 0
        assert (await r.client.get("/healthz")).status == 200
        ok = await r.client.post("/onebot/v11/http", json=onebot_event(1), headers={"Authorization": "Bearer tok"})
        assert ok.status == 204  # the platform's re-delivery is stored
        await wait_until(lambda: count(bot, Ticket))


@pytest.fixture
def enabled(settings):
    settings.platforms.onebot.enabled = True
    settings.platforms.onebot.access_token = "tok"
    return settings


def onebot_event(message_id: int) -> dict:
    return {"time": 1554685200, "self_id": 10001, "post_type": "message", "message_type": "group",
            "sub_type": "normal", "message_id": message_id, "group_id": 700001, "user_id": 30001,
            "message": [{"type": "text", "data": {"text": REPORT}}], "raw_message": REPORT, "font": 0,
            "sender": {"user_id": 30001, "nickname": "张阿姨"}}


async def test_a_write_that_fails_is_not_healthy(bot, enabled):
    """/healthz writes: a read-only database (a full disk refuses writes alike) is 503."""
    async with Running(make_app(bot, env={})) as r:
        assert (await r.client.get("/healthz")).status == 200
        async with bot.sessions() as s:  # the database refuses writes to this table from now on
            if bot.engine.dialect.name == "sqlite":
                await s.exec(_text("CREATE TRIGGER ro BEFORE UPDATE ON alembic_version BEGIN "
                                   "SELECT RAISE(ABORT, 'disk full'); END"))
            else:
                await s.exec(_text("CREATE FUNCTION ro() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ "
                                   "LANGUAGE plpgsql"))
                await s.exec(_text("CREATE TRIGGER ro BEFORE UPDATE ON alembic_version FOR EACH ROW EXECUTE FUNCTION ro()"))
            await s.commit()
        resp = await r.client.get("/healthz")
        assert resp.status == 503 and "disk full" in (await resp.json())["database"]





async def test_two_servers_migrating_an_empty_postgresql_at_once(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's advisory lock")
    import sys

    from tests.conftest import PG, _admin

    name = db_url.rsplit("/", 1)[1] + "_empty"
    await _admin(PG, f'CREATE DATABASE "{name}"')
    try:  # three processes, as three servers starting together would be
        url = PG.rsplit("/", 1)[0] + "/" + name
        procs = [await asyncio.create_subprocess_exec(
            sys.executable, "-c", f"from pingan.models.db import upgrade_sync; upgrade_sync({url!r})",
            stderr=asyncio.subprocess.PIPE) for _ in range(3)]
        results = [(await p.wait(), (await p.stderr.read()).decode()[-500:]) for p in procs]
        assert all(rc == 0 for rc, _ in results), results
    finally:
        await _admin(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_inbox_retry_command_reruns_parked_messages(settings, clock):
    """`pingan inbox retry`: what a handler bug parked is handled once the bug is gone."""
    from typer.testing import CliRunner

    from pingan.bot.app import Bot
    from pingan.cli import app

    async def park() -> None:
        bot = await Bot.create(settings, clock)

        async def boom(ctx):
            raise RuntimeError("handler bug")

        bot.router.handlers.insert(0, ((), boom))
        await bot.handle(message(private_chat("张阿姨"), "张阿姨", EBIKE))
        await bot.close()

    async def tickets() -> int:
        bot = await Bot.create(settings, clock, load_org=False)
        try:
            return await count(bot, Ticket)
        finally:
            await bot.close()

    asyncio.run(park())
    r = CliRunner().invoke(app, ["inbox", "retry", "--db", settings.database.url])
    assert r.exit_code == 0 and "重新处理 1 条" in r.output, r.output
    assert asyncio.run(tickets()) == 1


async def test_a_group_stored_in_one_statement_gets_each_message_its_own_id(bot):
    """The group's inbox rows go in as one multi-row INSERT: every caller gets its own row's id."""
    from sqlalchemy import event

    statements = []
    event.listen(bot.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    msgs = [qq(f"7000{i % 3}", f"order{i}") for i in range(40)]
    ids = await asyncio.gather(*(bot.receive(m) for m in msgs))
    assert sum(1 for s in statements if s.lstrip().upper().startswith("INSERT")) == 1
    by_msg = {r.msg_id: r.id for r in await rows(bot, InboxMessage)}
    assert ids == [by_msg[f"order{i}"] for i in range(40)]


async def test_a_websocket_message_waits_out_a_held_lock(bot, enabled):
    """OneBot's WebSocket never delivers again: its message is stored once the lock is gone."""
    if not sqlite_path(bot):
        pytest.skip("SQLite's write lock")
    from tests.test_onebot import FakeOneBot

    enabled.server.store_budget_seconds, enabled.server.retry_base_seconds = 0.2, 0.05
    enabled.platforms.onebot.access_token = "tok"
    async with Running(make_app(bot, env={})) as r:
        ob = await FakeOneBot(r, token="tok").connect()
        lock = HeldLock(sqlite_path(bot))
        await ob.send(onebot_event(77))
        await asyncio.sleep(0.8)  # several store budgets
        lock.release()
        await wait_until(lambda: count(bot, InboxMessage))
        await ob.close()


async def test_an_error_that_only_looks_transient_is_parked_in_the_end(bot):
    """A handler that keeps raising ConnectionError is retried, then parked; recovery goes on
    past it meanwhile."""
    async def flaky(ctx):
        if ctx.msg.text == "坏":
            raise ConnectionError("a handler's socket")
        from pingan.handlers.router import SKIP
        return SKIP

    bot.router.handlers.insert(0, ((), flaky))
    bot.TRANSIENT_LIMIT = 3
    bad = await bot.receive(message(private_chat("李大爷"), "李大爷", "坏"))
    await bot.receive(message(private_chat("张阿姨"), "张阿姨", EBIKE))
    assert await bot.recover() == 2  # the bad one fails, the report behind it is handled
    assert await count(bot, Ticket) == 1
    with pytest.raises(ConnectionError):
        await bot.process(bad)
    await bot.process(bad)  # the third time: parked
    (row,) = await rows(bot, InboxMessage, InboxMessage.id == bad)
    assert row.handled_at is not None and "ConnectionError" in row.error
