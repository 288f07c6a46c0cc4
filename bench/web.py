"""Web workbench benchmark: the wall of a city (4,351 communities, 1,000,000 tickets, loaded as
bench/scale.py does) rendered by the real server over HTTP, and message handling with 200 live
(SSE) viewers of the wall against none.

    .venv/bin/python bench/web.py                        # SQLite (a temporary file)
    .venv/bin/python bench/web.py --db /tmp/city.db      # reuse a file loaded before (--keep)
    .venv/bin/python bench/web.py --pg postgresql://postgres@127.0.0.1/pingan_bench   (schema is DROPPED)

Targets: the city's wall < 1 s server-side; 200 SSE viewers leave the reply latency as it was."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scale  # noqa: E402

from pingan.bot.console import group_chat, message  # noqa: E402
from pingan.clock import FrozenClock  # noqa: E402
from pingan.config import load_settings  # noqa: E402


async def timed_get(client, path: str, n: int = 5) -> tuple[float, int]:
    """Median seconds of n GETs (the server's own time: loopback, no browser) and the body size."""
    times, size = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        resp = await client.get(path)
        body = await resp.read()
        assert resp.status == 200, (path, resp.status)
        times.append(time.perf_counter() - t0)
        size = len(body)
    return statistics.median(times), size


async def handle_latency(bot, n: int, offset: int) -> list[float]:
    """Reports handled one after another (each moves the wall): seconds from arrival to replies queued."""
    out = []
    for i in range(n):
        msg = message(group_chat(f"群-c{(i * 37) % 4351:04d}"), f"居民{uuid.uuid4().hex[:8]}",  # new: no follow-up
                      f"小区{offset + i}栋楼道堆放杂物堵塞消防通道")
        t0 = time.perf_counter()
        await bot.handle(msg)
        out.append(time.perf_counter() - t0)
        await asyncio.sleep(0.02)  # let the viewers' updates go out between reports
    return out


async def viewer(client, path: str, got: list, stop: asyncio.Event) -> None:
    async with client.get(path) as resp:
        async for line in resp.content:
            if line.startswith(b"event: tiles"):
                got.append(time.perf_counter())
            if stop.is_set():
                return


async def with_viewers(bot, client, viewers: int) -> tuple[list[float], int]:
    """Reports handled while `viewers` SSE streams watch the city, a district and two streets."""
    stop, got = asyncio.Event(), []
    units = ["city", "d00", "s000", "s001"]
    tasks = [asyncio.create_task(viewer(client, f"/web/live/{units[i % len(units)]}", got, stop))
             for i in range(viewers)]
    while len(got) < viewers:  # every viewer has its first picture
        await asyncio.sleep(0.05)
    got.clear()
    latencies = await handle_latency(bot, 60, 1000)
    await asyncio.sleep(1.0)
    pushes = len(got)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies, pushes


async def measure(url: str, label: str, n: int, n_open: int, load: bool, viewers: int) -> dict:
    from aiohttp import ClientSession, ClientTimeout, CookieJar, TCPConnector
    from aiohttp.test_utils import TestServer

    from pingan.bot.app import Bot
    from pingan.bot.server import make_app
    from pingan.models.db import upgrade
    from pingan.web.auth import sign_in_link

    f: dict = {"backend": label}
    if load:
        await upgrade(url)
        print(f"[{label}] loading {n:,} tickets …", flush=True)
        t0 = time.perf_counter()
        if url.startswith("sqlite"):
            await scale.load_sqlite(Path(url.split("///", 1)[1]), n, n_open)
        else:
            await scale.load_pg(url.replace("postgresql+asyncpg://", "postgresql://"), n, n_open)
        f["load_s"] = time.perf_counter() - t0
    settings = load_settings(None, env={"PINGAN__DATABASE__URL": url})
    settings.web.live_seconds = 0.2
    settings.platforms.onebot.enabled = False
    bot = await Bot.create(settings, FrozenClock(scale.NOW), load_org=False)
    app = make_app(bot, env={})
    server = TestServer(app, host="127.0.0.1")
    t0 = time.perf_counter()
    await server.start_server()  # the live hub counts the city at start-up
    from pingan.web import WORKBENCH
    from pingan.web.views import LIVE

    hub = app[WORKBENCH][LIVE]
    while hub.per is None:
        await asyncio.sleep(0.05)
    f["warmup_s"] = time.perf_counter() - t0
    async with bot.sessions() as session:
        link = await sign_in_link(session, settings, "p-city", bot.clock.now())
        await session.commit()
    base = str(server.make_url("/")).rstrip("/")
    async with ClientSession(base, connector=TCPConnector(limit=0), timeout=ClientTimeout(total=None),
                             cookie_jar=CookieJar(unsafe=True)) as client:  # unsafe: a cookie from 127.0.0.1
        resp = await client.post("/web/login", data={"t": link.split("t=", 1)[1]})
        assert resp.status == 200 and "pingan_session" in {c.key for c in client.cookie_jar}, await resp.text()
        f["wall_s"], f["wall_bytes"] = await timed_get(client, "/web/wall/city")
        f["district_s"], _ = await timed_get(client, "/web/wall/d00")
        f["unit_s"], _ = await timed_get(client, "/web/unit/city", 3)
        f["street_page_s"], _ = await timed_get(client, "/web/unit/s000", 3)
        f["trend_s"], _ = await timed_get(client, "/web/unit/city/trend.svg", 1)
        f["alone"] = await handle_latency(bot, 60, 0)
        f["watched"], f["pushes"] = await with_viewers(bot, client, viewers)
    await server.close()
    await bot.close()
    return f


def report(f: dict, viewers: int) -> None:
    ok = lambda v, limit: "✓" if v < limit else "✗"  # noqa: E731
    ms = lambda xs: f"median {statistics.median(xs) * 1000:.1f} ms, p95 {sorted(xs)[int(len(xs) * .95)] * 1000:.1f} ms"  # noqa: E731
    print(f"\n== {f['backend']}" + (f" (loaded in {f['load_s']:.0f} s)" if "load_s" in f else ""))
    print(f"  live hub start-up (whole city counted once): {f['warmup_s']:.2f} s")
    print(f"  city wall, HTTP GET /web/wall/city:  {f['wall_s'] * 1000:.0f} ms ({f['wall_bytes']:,} bytes)  {ok(f['wall_s'], 1)} < 1 s")
    print(f"  district wall /web/wall/d00:        {f['district_s'] * 1000:.0f} ms")
    print(f"  city unit page (wall, the first 50 tickets): {f['unit_s'] * 1000:.0f} ms")
    print(f"  street unit page /web/unit/s000:    {f['street_page_s'] * 1000:.0f} ms")
    print(f"  city 30-day chart (its own request, off the page): {f['trend_s']:.2f} s")
    print(f"  reports handled, no viewers:        {ms(f['alone'])}")
    print(f"  reports handled, {viewers} SSE viewers: {ms(f['watched'])}  ({f['pushes']:,} wall updates pushed)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--db", help="an SQLite file already loaded by this benchmark (skips loading)")
    ap.add_argument("--keep", help="load into this SQLite file and keep it")
    ap.add_argument("--pg", help="PostgreSQL DSN (its schema is reset and loaded)")
    ap.add_argument("--viewers", type=int, default=200)
    args = ap.parse_args()
    n_open = args.tickets // 10
    if args.db:
        report(asyncio.run(measure(f"sqlite+aiosqlite:///{args.db}", "SQLite", 0, 0, False, args.viewers)), args.viewers)
    elif args.pg:
        asyncio.run(scale.reset_pg(args.pg))
        url = "postgresql+asyncpg://" + args.pg.split("://", 1)[1]
        report(asyncio.run(measure(url, "PostgreSQL", args.tickets, n_open, True, args.viewers)), args.viewers)
    else:
        with tempfile.TemporaryDirectory(prefix="pingan-webbench-") as tmp:
            path = args.keep or str(Path(tmp) / "bench.db")
            report(asyncio.run(measure(f"sqlite+aiosqlite:///{path}", "SQLite", args.tickets, n_open, True,
                                       args.viewers)), args.viewers)


if __name__ == "__main__":
    main()
