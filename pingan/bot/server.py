"""The aiohttp server: /healthz and the platform adapters' endpoints; runs the outbox worker and
the scheduler beside it."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from pingan.bot.app import Bot

log = logging.getLogger("pingan.server")
BOT = web.AppKey("bot", Bot)


async def healthz(request: web.Request) -> web.Response:
    bot = request.app[BOT]
    from sqlalchemy import text

    try:
        async with bot.sessions() as session:
            await session.exec(text("SELECT 1"))
    except Exception as exc:  # report, don't crash: the orchestrator decides what to do
        return web.json_response({"ok": False, "database": str(exc)[:200]}, status=503)
    return web.json_response({"ok": True})


def make_app(bot: Bot) -> web.Application:
    app = web.Application(client_max_size=bot.settings.server.max_body_bytes)
    app[BOT] = bot
    app.router.add_get("/healthz", healthz)
    return app


async def serve(bot: Bot, host: str, port: int, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    app = make_app(bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("pingan listening on http://%s:%s", host, port)
    await bot.recover()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
