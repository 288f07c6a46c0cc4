"""The server: request limits (413, 429), no 500 on garbage, /healthz, recovery at start.
Also the helpers the platform tests share (a running app on a real loopback port, polling)."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func
from sqlmodel import select

from pingan.bot.console import group_chat, message
from pingan.bot.server import BOT, PIPELINE, WORKER, make_app, serve
from pingan.models import InboxMessage, OutboxMessage, Ticket

REPORT = "锦城花园3栋楼道里有人给电瓶车充电"


async def wait_until(pred, timeout: float = 5.0, interval: float = 0.01):
    """Poll an (async or sync) predicate until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def count(bot, model, *where) -> int:
    async with bot.sessions() as s:
        return (await s.exec(select(func.count()).select_from(model).where(*where))).one()


async def wait_count(bot, model, n: int, *where, timeout: float = 5.0) -> None:
    """Wait until at least n rows of model match."""

    async def ok():
        return await count(bot, model, *where) >= n

    await wait_until(ok, timeout)


async def rows(bot, model, *where) -> list:
    async with bot.sessions() as s:
        return list((await s.exec(select(model).where(*where).order_by(model.id))).all())


async def settled(app) -> None:
    """Every stored message handled and no handling task left."""
    bot = app[BOT]
    await wait_until(lambda: not app[PIPELINE].tasks)

    async def done():
        return await count(bot, InboxMessage, InboxMessage.handled_at.is_(None)) == 0

    await wait_until(done)


class Running:
    """The app on a real 127.0.0.1 port, with a test client."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.server = TestServer(app, host="127.0.0.1")
        self.client: TestClient | None = None

    async def __aenter__(self) -> "Running":
        await self.server.start_server()
        self.client = TestClient(self.server)
        await self.client.start_server()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.close()
        await self.server.close()

    @property
    def worker(self):
        return self.app[WORKER]

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


async def stub_server(routes: list[tuple[str, str, object]]) -> TestServer:
    """A local HTTP peer (WeCom webhook, WeChat API, OneBot HTTP API)."""
    app = web.Application()
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    return srv


# --- tests --------------------------------------------------------------------------------------

@pytest.fixture
def enabled(settings):
    p = settings.platforms
    p.onebot.enabled = p.wechat.enabled = p.wecom.enabled = True
    p.onebot.access_token = "tok"
    p.wechat.token, p.wechat.app_id = "wxtoken", "wx123"
    p.wecom.bot_token, p.wecom.bot_aes_key = "wctoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    settings.server.max_body_bytes = 4096
    return settings


ENDPOINTS = ["/onebot/v11/http", "/wechat/mp?signature=x&timestamp=1&nonce=2",
             "/wecom/bot?msg_signature=x&timestamp=1&nonce=2"]
GARBAGE = [b"", b"\x00\xff\xfe", b"{", b"[]", b"null", b'{"post_type":"message"}', b"<xml>", b"<xml></xml>",
           "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><xml>&a;</xml>".encode(),
           b'{"encrypt": 5}', b'{"encrypt": "!!notbase64"}', "锦城花园".encode("gbk")]


async def test_garbage_never_500(bot, enabled):
    async with Running(make_app(bot, env={})) as r:
        for path in ENDPOINTS:
            for body in GARBAGE:
                resp = await r.client.post(path, data=body)
                assert 400 <= resp.status < 500, (path, body, resp.status, await resp.text())
        for path in ["/wechat/mp", "/wecom/bot", "/wechat/mp?signature=1", "/wecom/bot?echostr=x"]:
            resp = await r.client.get(path)
            assert 400 <= resp.status < 500, (path, resp.status)
        assert await count(bot, InboxMessage) == 0


async def test_body_cap_413(bot, enabled):
    async with Running(make_app(bot, env={})) as r:
        for path in ENDPOINTS:
            resp = await r.client.post(path, data=b"x" * 5000)
            assert resp.status == 413, path

        async def chunks():  # no Content-Length: the cap applies while reading
            for _ in range(10):
                yield b"y" * 1000

        resp = await r.client.post("/onebot/v11/http", data=chunks())
        assert resp.status == 413


async def test_rate_limit_429_per_ip(bot, enabled):
    enabled.server.rate_limit_per_minute = 5
    async with Running(make_app(bot, env={})) as r:
        statuses = [(await r.client.post("/onebot/v11/http", data=b"{}")).status for _ in range(7)]
        assert 429 not in statuses[:5] and statuses[5:] == [429, 429]
        resp = await r.client.post("/onebot/v11/http", data=b"{}")
        assert resp.headers.get("Retry-After")
        assert (await r.client.get("/healthz")).status == 200  # not a public endpoint


async def test_rate_limit_exempt(bot, enabled):
    enabled.server.rate_limit_per_minute = 1
    enabled.server.rate_limit_exempt = ["127.0.0.0/8"]
    async with Running(make_app(bot, env={})) as r:
        assert all([(await r.client.post("/onebot/v11/http", data=b"{}")).status == 401 for _ in range(3)])


async def test_healthz_lists_platforms(bot, enabled):
    async with Running(make_app(bot, env={})) as r:
        body = await (await r.client.get("/healthz")).json()
        assert body["ok"] and body["platforms"] == ["qq", "wechat", "wecom"]


async def test_serve_recovers_then_stops(bot, settings):
    """`serve` handles what was stored before it started, runs background tasks, stops cleanly."""
    settings.platforms.onebot.enabled, settings.platforms.onebot.access_token = True, "tok"
    inbox_id = await bot.receive(message(group_chat("新联社区平安工作群"), "张阿姨", REPORT))
    assert inbox_id
    stop = asyncio.Event()
    ran = asyncio.Event()

    async def background(b, s):
        ran.set()
        await s.wait()

    task = asyncio.create_task(serve(bot, "127.0.0.1", 0, stop, [background], env={}))
    await asyncio.wait_for(ran.wait(), 5)
    assert await count(bot, Ticket) == 1
    assert await count(bot, InboxMessage, InboxMessage.handled_at.is_(None)) == 0
    stop.set()
    await asyncio.wait_for(task, 5)
    # the post to the community's QQ group is queued; its console group (no sender here) is not
    assert {r.platform for r in await rows(bot, OutboxMessage)} == {"qq"}


async def test_the_wal_is_checkpointed_off_the_event_loop(bot):
    """SQLite: the server's own connections never copy the WAL back (that ran inside a commit on
    the loop's thread); the checkpointer's thread does."""
    from sqlalchemy import text

    from pingan.models.db import WalCheckpointer

    if bot.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's WAL")
    cp = WalCheckpointer(bot.engine)
    await cp.start()
    try:
        await bot.handle(message(group_chat("新联社区平安工作群"), "张阿姨", REPORT))
        async with bot.sessions() as s:
            assert (await s.exec(text("PRAGMA wal_autocheckpoint"))).scalar() == 0
        busy, frames, copied = await cp.checkpoint()
        assert busy == 0 and frames > 0 and copied == frames
    finally:
        await cp.close()


async def test_a_long_wal_is_finished_under_the_write_lock_and_started_over(bot):
    """Under steady load a checkpoint never finishes and the WAL would grow by every page committed:
    when a pass leaves more than LONG_WAL frames, a second pass runs holding the writer lock, finishes,
    and the next commit starts the WAL from its beginning."""
    import sqlite3

    from sqlalchemy import text

    from pingan.models.db import WalCheckpointer

    if bot.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's WAL")
    reader = sqlite3.connect(WalCheckpointer(bot.engine).path)  # a snapshot the first pass cannot pass

    class Watched(WalCheckpointer):
        LONG_WAL = 2
        passes: list[tuple[bool, tuple]] = []

        async def checkpoint(self):
            got = await super().checkpoint()
            self.passes.append((self.write_lock.locked(), got))
            if len(self.passes) == 1:
                reader.rollback()  # the "commits meanwhile" are over: the locked pass can finish
            else:
                stop.set()
            return got

    cp, stop = Watched(bot.engine, interval=0.0, write_lock=bot.write_lock), asyncio.Event()
    await cp.start()
    try:
        await bot.handle(message(group_chat("新联社区平安工作群"), "张阿姨", REPORT))
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM inbox").fetchone()  # holds the WAL as it is now
        await bot.handle(message(group_chat("新联社区平安工作群"), "李大爷", "5栋门口的消防栓被人偷了"))
        await asyncio.wait_for(cp.run(stop), 10)
        (first_locked, (_, frames, copied)), (second_locked, (_, frames2, copied2)) = cp.passes
        assert not first_locked and copied < frames  # the reader kept the first pass from finishing
        assert second_locked and copied2 == frames2 > 0
        async with bot.write_lock, bot.sessions() as s:  # the next commit: the WAL starts over
            await s.exec(text("UPDATE tickets SET id = id"))
            await s.commit()
        _, after, _ = await cp.checkpoint()
        assert after < frames2
    finally:
        reader.close()
        await cp.close()


async def test_serve_checkpoints_in_the_background(bot, settings, monkeypatch):
    from pingan.models.db import WalCheckpointer

    if bot.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's WAL")
    runs = []
    monkeypatch.setattr(WalCheckpointer, "run", lambda self, stop: runs.append(self) or stop.wait())
    stop = asyncio.Event()
    task = asyncio.create_task(serve(bot, "127.0.0.1", 0, stop, env={}))
    await wait_until(lambda: runs or task.done())
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(runs) == 1


async def test_unexpected_client_errors_are_4xx(bot, enabled):
    async with Running(make_app(bot, env={})) as r:
        for body in [b'{"post_type":"message","message_type":"group","self_id":1,"user_id":2,"message_id":3}',
                     b'{"post_type":"message","message_type":"private","self_id":[],"user_id":{},"message_id":3}',
                     b'{"post_type":"message","message_type":"private","self_id":1,"user_id":2,"message_id":3,'
                     b'"message":7}']:
            resp = await r.client.post("/onebot/v11/http", data=body, headers={"Authorization": "Bearer tok"})
            assert resp.status == 400, body


async def test_fuzzing_every_endpoint_gives_no_5xx(bot):
    """bench/fuzz.py's mutated-but-signed requests (CI also runs it with 1,000 per endpoint): every
    answer a 2xx or 4xx, a 4xx stores nothing, no WebSocket frame closes the socket."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("fuzz", path)
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    stats = await fuzz.fuzz(bot, 100)
    for name, st in stats.items():
        assert st["cases"] == 100 and st["5xx"] == 0 and st["4xx that stored"] == 0, (name, st)
    assert stats["onebot ws"]["closed the socket"] == 0 and stats["onebot ws"]["valid event after the junk stored"] == 1
    assert stats["wechat mp"]["4xx"] and stats["wechat mp"]["2xx"]  # the cases reach past the signature
