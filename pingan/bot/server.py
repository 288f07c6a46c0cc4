"""The aiohttp server: /healthz and the platform adapters' endpoints; runs the outbox worker, the
recovery sweep and any other background tasks (e.g. the scheduler) beside it.

Request limits on the public endpoints (/onebot/, /wechat/, /wecom/, /open311/, /paging/): bodies over
`server.max_body_bytes` → 413, more than `server.rate_limit_per_minute` requests per source IP → 429
(for OneBot, which authenticates every request, only failed authentications count), and malformed
input is always a 4xx, never a 500."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from typing import Awaitable, Callable, Iterable

from aiohttp import web

from pingan.bot.app import Bot, StoreUnavailable
from pingan.bot.http import HttpClient
from pingan.bot.outbox import OutboxWorker
from pingan.bot.pipeline import Pipeline
from pingan.bot.ratelimit import IPAllowList, SlidingWindow
from pingan.models.db import WalCheckpointer
from pingan.paging.tencent import SmsReplyCallback, paging_senders
from pingan.parser.pool import ParsePool

log = logging.getLogger("pingan.server")
BOT = web.AppKey("bot", Bot)
PIPELINE = web.AppKey("pipeline", Pipeline)
WORKER = web.AppKey("worker", OutboxWorker)
ADAPTERS = web.AppKey("adapters", dict)

PUBLIC_PREFIXES = ("/onebot/", "/wechat/", "/wecom/", "/open311/", "/paging/")

# A background task: `async def task(bot, stop: asyncio.Event)`, run beside the server until stop is set.
Background = Callable[[Bot, asyncio.Event], Awaitable[None]]


HEALTH_BUDGET = 2.0  # seconds: a database that cannot take a write by then is not healthy


async def _write_probe(bot: Bot) -> None:
    """A real committed write (the schema version row, rewritten as it is), in its turn at the
    write lock: a held lock or a full disk shows here, as it would for a message."""
    from sqlalchemy import text

    async with bot.write_lock, bot.sessions() as session:
        await session.exec(text("UPDATE alembic_version SET version_num = version_num"))
        await session.commit()


async def healthz(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    try:
        await asyncio.wait_for(_write_probe(bot), HEALTH_BUDGET)
    except Exception as exc:  # report, don't crash: the orchestrator decides what to do
        return web.json_response({"ok": False, "database": f"{type(exc).__name__}: {exc}"[:200]}, status=503)
    adapters = request.app[ADAPTERS]
    onebot = adapters.get("qq")
    return web.json_response({"ok": True, "platforms": sorted(adapters),
                              **({"onebot_accounts": sorted(onebot.connections)} if onebot else {})})


def _guard(settings):
    limiter = SlidingWindow()
    exempt = IPAllowList(settings.server.rate_limit_exempt)
    cap, per_minute = settings.server.max_body_bytes, settings.server.rate_limit_per_minute

    @web.middleware
    async def guard(request: web.Request, handler):
        onebot = request.path.startswith("/onebot/")
        if request.path.startswith(PUBLIC_PREFIXES):
            if request.content_length is not None and request.content_length > cap:
                return web.json_response({"error": f"body larger than {cap} bytes"}, status=413)
            ip = request.remote or "?"
            # public callbacks: every request counts; OneBot clients authenticate (a busy QQ group
            # must not be throttled), so only their failed attempts count
            wait = 0.0 if ip in exempt else (limiter.wait if onebot else limiter.acquire)(ip, per_minute, 60.0)
            if wait > 0:
                return web.json_response({"error": "too many requests"}, status=429,
                                         headers={"Retry-After": str(int(wait) + 1)})
        try:
            resp = await handler(request)
        except web.HTTPException:
            raise
        except StoreUnavailable as exc:  # nothing stored, nothing acknowledged: deliver again later
            log.warning("%s %s: 503 (%s)", request.method, request.path, exc)
            return web.json_response({"error": "database busy, try again"}, status=503, headers={"Retry-After": "5"})
        except (ValueError, KeyError, TypeError, UnicodeError, LookupError, ArithmeticError, RecursionError) as exc:
            # a malformed request an adapter did not anticipate: the client's fault, not a 500
            log.warning("%s %s: bad request (%s: %s)", request.method, request.path, type(exc).__name__, exc)
            return web.json_response({"error": "bad request"}, status=400)
        if onebot and resp.status in (401, 403) and request.remote not in exempt:
            limiter.acquire(request.remote or "?", per_minute, 60.0)
        return resp

    return guard


def build_adapters(bot: Bot, pipeline: Pipeline, http: HttpClient, env: dict[str, str] | None = None) -> dict:
    """The enabled platforms' adapters, by platform name ('qq', 'wechat', 'wecom')."""
    p = bot.settings.platforms
    env = dict(os.environ) if env is None else env
    adapters: dict = {}
    if p.onebot.enabled:
        from pingan.bot.onebot import OneBotAdapter

        adapters["qq"] = OneBotAdapter(bot, pipeline, p.onebot, http, max_frame_bytes=max(
            bot.settings.server.max_body_bytes, 1 << 20))
    if p.wechat.enabled:
        from pingan.bot.wechat_mp import WeChatMPAdapter

        adapters["wechat"] = WeChatMPAdapter(bot, pipeline, p.wechat, http)
    if p.wecom.enabled:
        from pingan.bot.wecom import WeComAdapter

        adapters["wecom"] = WeComAdapter(bot, pipeline, p.wecom, http, env=env)
    return adapters


def make_app(bot: Bot, *, env: dict[str, str] | None = None, http: HttpClient | None = None,
             extra_senders: dict | None = None) -> web.Application:
    """The web app with every enabled adapter mounted. The outbox worker is built (app[WORKER])
    but not started: `serve` runs it; tests call `run_once()` with their clock."""
    settings = bot.settings
    app = web.Application(client_max_size=settings.server.max_body_bytes, middlewares=[_guard(settings)])
    http = http or HttpClient()
    pipeline = Pipeline(bot)
    adapters = build_adapters(bot, pipeline, http, env)
    senders = {name: a.sender for name, a in adapters.items() if getattr(a, "sender", None) is not None}
    senders.update(extra_senders or {})
    senders.update(paging_senders(settings.paging))  # SMS/voice pages (pingan.paging)
    bot.outbox_platforms = set(senders)
    worker = OutboxWorker(bot.sessions, bot.clock, settings.outbox, senders, bot.org, write_lock=pipeline.gate)
    pipeline.on_enqueued = worker.wake
    for a in adapters.values():
        a.register(app)
    if settings.paging.enabled and settings.paging.reply_token:
        SmsReplyCallback(bot).register(app)  # a paged person's 「1」 by SMS
    app[BOT], app[PIPELINE], app[WORKER], app[ADAPTERS] = bot, pipeline, worker, adapters
    app.router.add_get("/healthz", healthz)
    from pingan.web import mount  # the officials' workbench, /metrics, Open311 (issue #18)

    mount(app, bot, worker)

    async def on_shutdown(app: web.Application) -> None:
        for a in adapters.values():
            await a.close()

    async def on_cleanup(app: web.Application) -> None:
        await pipeline.drain()
        await http.close()

    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


async def every(seconds: float, stop: asyncio.Event):
    """Yield every `seconds` until `stop` is set."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        if stop.is_set():
            return
        yield


async def org_watch(bot: Bot, worker, stop: asyncio.Event) -> None:
    """Pick up organisation imports (`pingan org import`) without a restart."""
    async for _ in every(bot.settings.org.watch_seconds, stop):
        try:
            if await bot.refresh_org():
                worker.org = bot.org  # its admins' groups, for dead-letter alerts
                # the old index may be frozen: let it go, freeze the new one
                settle_heap(load_parser=bot.parse_pool is None)
        except Exception:
            log.exception("organisation reload failed; keeping the one loaded")


async def recovery_sweep(bot: Bot, stop: asyncio.Event) -> None:
    """Handle anything stored but left unhandled (a processing error, a crash elsewhere)."""
    async for _ in every(bot.settings.server.recover_seconds, stop):
        try:
            await bot.recover()
            await bot.forget_old_keys()
        except Exception:
            log.exception("recovery sweep failed")


# allocations between two young-generation collections (CPython's default is 700): the hot path
# makes short-lived rows and dicts by the thousand, and each collection of the young had a report pay
# for the older generations' scans too
GC_YOUNG = 20_000


def settle_heap(load_parser: bool = True) -> None:
    """Before listening: load the parser's lexicon and model now, not on the first resident's
    message (about 0.6 s; `load_parser` False: the parse pool's workers parse, and this process
    loads them, 40 MB, only if it ever has to parse itself), then take everything loaded so far
    (model, lexicon, org index, ORM metadata: it lives as long as the server) out of the cyclic
    collector's scans, which cost
    about 6% of a report's CPU (100 concurrent reports in process: 0.043 → 0.001 ms each). Frozen
    objects dropped later inside a reference cycle would stay until exit: after an org reload this
    runs again, unfreezing first."""
    if load_parser:
        from pingan.parser import parse

        parse("锦城花园3栋楼道里有人给电瓶车充电")
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


async def serve(bot: Bot, host: str, port: int, stop: asyncio.Event | None = None,
                background: Iterable[Background] = (), *, env: dict[str, str] | None = None) -> None:
    """Run until `stop` is set. `background` tasks (e.g. the scheduler: `async def run(bot, stop)`)
    start after the server is listening and are cancelled when it stops."""
    stop = stop or asyncio.Event()
    checkpointer = WalCheckpointer(bot.engine, write_lock=bot.write_lock) if bot.engine.dialect.name == "sqlite" else None
    if checkpointer is not None:
        await checkpointer.start()
    app = make_app(bot, env=env)
    recovered = await bot.recover()  # what a crash left stored-but-unhandled, before anything new
    if recovered:
        app[WORKER].wake()
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    pool = ParsePool(bot.settings.server.parse_processes)
    await pool.start()  # the workers load the parser before the first message
    bot.parse_pool = pool if pool.running else None
    settle_heap(load_parser=not pool.running)
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("pingan listening on http://%s:%s (platforms: %s)", host, port, ", ".join(app[ADAPTERS]) or "none")
    bot.lanes = app[WORKER]  # replies are leased to the running worker at insert and sent from memory
    tasks = [asyncio.create_task(app[WORKER].run_forever(stop), name="outbox"),
             asyncio.create_task(recovery_sweep(bot, stop), name="recovery"),
             asyncio.create_task(org_watch(bot, app[WORKER], stop), name="org-watch")]
    if checkpointer is not None:
        tasks.append(asyncio.create_task(checkpointer.run(stop), name="wal-checkpoint"))
    tasks += [asyncio.create_task(fn(bot, stop), name=getattr(fn, "__name__", "background")) for fn in background]
    from pingan.scheduler.jobs import run_scheduler  # deadlines, reminders, ladder, digests (issue #5)
    tasks.append(asyncio.create_task(run_scheduler(bot, stop), name="scheduler"))
    try:
        await stop.wait()
    finally:
        stop.set()
        bot.lanes = None  # from now on replies wait in the table
        bot.parse_pool = None
        outbox, others = tasks[0], tasks[1:]
        for t in others:
            t.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        # the worker ends by `stop`: its lanes finish and what they sent is recorded (a cancelled
        # worker would leave sent rows leased, to be sent again once the lease ends)
        done, _ = await asyncio.wait([outbox], timeout=bot.settings.outbox.send_timeout_seconds + 5)
        if not done:
            outbox.cancel()
            await asyncio.gather(outbox, return_exceptions=True)
        await runner.cleanup()
        await pool.close()
        if checkpointer is not None:
            await checkpointer.close()
