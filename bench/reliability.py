"""Reliability probes, from outside where it matters. Prints figures; does not gate (the tests do).

  poison   a group commit with bad messages in it (unencodable id, NaN location, NUL byte,
           oversized id): valid messages lost (target 0)
  kill     `pingan serve` killed with SIGKILL under load, round after round, then restarted and
           every unacknowledged message delivered again: lost / duplicated tickets (target 0 / 0)
  outage   the QQ client gone for 30 simulated minutes while posts queue (shortened backoff):
           dead letters, attempts, order per chat (target 0, 0, kept)
  twoserv  two servers on one PostgreSQL, only one holding the OneBot socket; reports arrive at
           the other: time to deliver, attempts (needs --pg)

Run: .venv/bin/python bench/reliability.py [--pg postgresql://postgres@127.0.0.1/test] [probe ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token"
GROUP = 700001  # 新联社区平安工作群 in the demo organisation


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report_event(i: int, group: int = GROUP) -> dict:
    text = f"锦城花园{i % 9 + 1}栋{i}号楼道里有人给电瓶车充电"
    return {"time": 1554685200, "self_id": 10001, "post_type": "message", "message_type": "group",
            "sub_type": "normal", "message_id": 100000 + i, "group_id": group, "user_id": 40000 + i,
            "message": [{"type": "text", "data": {"text": text}}], "raw_message": text, "font": 0,
            "sender": {"user_id": 40000 + i, "nickname": f"居民{i}"}}


def start_server(db_url: str, port: int, cwd: str, **env_extra: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGAN")}
    env.update({"PINGAN__DATABASE__URL": db_url, "PINGAN__PLATFORMS__ONEBOT__ENABLED": "true",
                "PINGAN_ONEBOT_ACCESS_TOKEN": TOKEN, "PINGAN__SERVER__HOST": "127.0.0.1",
                "PINGAN__SERVER__PORT": str(port), "PINGAN__SERVER__RATE_LIMIT_PER_MINUTE": "100000",
                "PINGAN__SCHEDULER__ENABLED": "false", "PINGAN__OUTBOX__QQ_PER_CHAT_PER_MINUTE": "100000", **env_extra})
    return subprocess.Popen([sys.executable, "-c", "from pingan.cli import app; app()", "serve"], cwd=cwd,
                            env=env, stdout=subprocess.DEVNULL, stderr=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "ab"))


async def wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early ({proc.returncode})")
            try:
                async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def post_all(port: int, ids: list[int], concurrency: int = 16) -> set[int]:
    """Deliver reports over OneBot's HTTP POST transport; returns the ids acknowledged (204)."""
    acked: set[int] = set()
    sem = asyncio.Semaphore(concurrency)
    url = f"http://127.0.0.1:{port}/onebot/v11/http"
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Self-ID": "10001"}
    async with aiohttp.ClientSession() as s:
        async def one(i: int) -> None:
            async with sem:
                try:
                    async with s.post(url, json=report_event(i), headers=headers) as r:
                        if r.status == 204:
                            acked.add(i)
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass  # the server died: not acknowledged, the platform delivers again
        await asyncio.gather(*(one(i) for i in ids))
    return acked


async def tally(db_url: str) -> dict:
    """What the database holds: stored messages, unhandled ones, report events per message."""
    from sqlalchemy import text

    from pingan.models.db import make_engine

    engine = make_engine(db_url)
    try:
        async with engine.connect() as c:
            stored = {r[0] for r in (await c.execute(text("SELECT msg_id FROM inbox"))).all()}
            unhandled = (await c.execute(text("SELECT count(*) FROM inbox WHERE handled_at IS NULL"))).scalar()
            parked = (await c.execute(text("SELECT count(*) FROM inbox WHERE error IS NOT NULL"))).scalar()
            reports = Counter(r[0] for r in (await c.execute(
                text("SELECT inbox_id FROM ticket_events WHERE action = 'report'"))).all())
            inbox_ids = (await c.execute(text("SELECT count(*) FROM inbox"))).scalar()
    finally:
        await engine.dispose()
    return {"stored": stored, "unhandled": unhandled, "parked": parked, "reports": reports, "inbox": inbox_ids}


# --- kill -9 rounds -----------------------------------------------------------------------------
async def kill_rounds(db_url: str, rounds: int = 5, per_round: int = 200, seed: int = 1) -> dict:
    """Each round: a fresh server, load, SIGKILL at a random moment. Then a last server gets every
    message again (what a platform does for the unacknowledged; the acknowledged come again too,
    as duplicates), and the tickets are counted."""
    from pingan.models.db import upgrade

    await upgrade(db_url)
    rng = random.Random(seed)
    acked: set[int] = set()
    total = rounds * per_round
    with tempfile.TemporaryDirectory() as cwd:
        for r in range(rounds):
            port = free_port()
            proc = start_server(db_url, port, cwd)
            try:
                await wait_healthy(port, proc)
                load = asyncio.create_task(post_all(port, list(range(r * per_round, (r + 1) * per_round))))
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                proc.send_signal(signal.SIGKILL)
                acked |= await load
            finally:
                stop(proc)
        port = free_port()
        proc = start_server(db_url, port, cwd)
        try:
            await wait_healthy(port, proc)
            await post_all(port, list(range(total)))
            deadline = time.monotonic() + 120
            while (t := await tally(db_url))["unhandled"] and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
        finally:
            stop(proc)
    t = await tally(db_url)
    stored_ids = {int(m) - 100000 for m in t["stored"] if m is not None}
    return {"rounds": rounds, "messages": total, "acked_before_kill": len(acked),
            "lost_acked": len(acked - stored_ids), "lost": total - len(stored_ids),
            "without_ticket": t["inbox"] - len(t["reports"]) - t["parked"], "parked": t["parked"],
            "duplicated": sum(n - 1 for n in t["reports"].values() if n > 1)}


# --- poison batch -------------------------------------------------------------------------------
async def poison(db_url: str, n: int = 120) -> dict:
    from pingan.bot.app import Bot
    from pingan.config import load_settings
    from pingan.messages import ChatRef, Inbound, Location

    settings = load_settings(None, env={"PINGAN__DATABASE__URL": db_url})
    bot = await Bot.create(settings)
    bad = {1: lambda i: dict(msg_id=f"bad{i}\ud800"), 2: lambda i: dict(location=Location(float("nan"), 104.0)),
           3: lambda i: dict(text="楼道\x00有人充电"), 4: lambda i: dict(msg_id=f"{i}" + "9" * 5000)}
    try:
        msgs = []
        for i in range(n):
            odd = bad.get(i % 10)
            kw = {"msg_id": f"p{i}", "text": "锦城花园3栋楼道里有人给电瓶车充电", **(odd(i) if odd else {})}
            msgs.append(Inbound(chat=ChatRef("qq", "10001", "group", "700001"), sender_id="30001", **kw))
        results = await asyncio.gather(*(bot.receive(m) for m in msgs), return_exceptions=True)
    finally:
        await bot.close()
    valid = [r for i, r in enumerate(results) if i % 10 not in bad]
    odd = [r for i, r in enumerate(results) if i % 10 in bad]
    return {"messages": n, "valid_lost": sum(1 for r in valid if not isinstance(r, int)),
            "odd_stored": sum(1 for r in odd if isinstance(r, int)), "odd": len(odd)}


# --- a 30-minute QQ outage ------------------------------------------------------------------------
async def outage(db_url: str, minutes: int = 30, chats: int = 5, per_chat: int = 12) -> dict:
    """In process, on a real socket: the QQ client is away while posts queue (the outbox runs every
    simulated 10 s with a 1-second base backoff and 3 attempts), then comes back."""
    from datetime import datetime, timezone

    from aiohttp.test_utils import TestClient, TestServer

    from pingan.bot.app import Bot
    from pingan.bot.server import WORKER, make_app
    from pingan.clock import FrozenClock
    from pingan.config import load_settings
    from pingan.messages import ChatRef, Outbound, Text
    from sqlalchemy import text

    settings = load_settings(None, env={"PINGAN__DATABASE__URL": db_url})
    settings.platforms.onebot.enabled, settings.platforms.onebot.access_token = True, TOKEN
    settings.outbox.base_delay_seconds, settings.outbox.max_attempts = 1.0, 3
    settings.outbox.qq_per_chat_per_minute = 10_000
    clock = FrozenClock(datetime(2019, 4, 8, 1, 0, tzinfo=timezone.utc))
    bot = await Bot.create(settings, clock)
    server = TestServer(make_app(bot, env={}), host="127.0.0.1")
    await server.start_server()
    client = TestClient(server)
    await client.start_server()
    got: list[tuple[str, str]] = []
    try:
        worker = server.app[WORKER]
        steps = minutes * 6
        for step in range(steps):
            if step % (steps // per_chat) == 0:
                k = step // (steps // per_chat)
                async with bot.sessions() as s:
                    await bot.enqueue(s, [Outbound(ChatRef("qq", "", "group", str(800000 + c)), [Text(f"{c}:{k}")])
                                          for c in range(chats)], clock.now())
                    await s.commit()
            clock.advance(seconds=10)
            await worker.run_once()
        ws, reader = await qq_client(client, got)
        for _ in range(100):
            if len(got) >= chats * per_chat:
                break
            clock.advance(seconds=1)
            await worker.run_once()
            await asyncio.sleep(0.01)
        await ws.close()
        await asyncio.gather(reader, return_exceptions=True)
        async with bot.sessions() as s:
            dead = (await s.exec(text("SELECT count(*) FROM outbox WHERE status = 'dead'"))).scalar()
            attempts = (await s.exec(text("SELECT max(attempts) FROM outbox"))).scalar()
    finally:
        await client.close()
        await server.close()
        await bot.close()
    in_order = all([t for c, t in got if c == str(800000 + c2)] == [f"{c2}:{k}" for k in range(per_chat)]
                   for c2 in range(chats))
    return {"minutes": minutes, "queued": chats * per_chat, "delivered": len(got), "dead_letters": dead,
            "max_attempts": attempts, "order_kept": in_order}


async def qq_client(client, got: list) -> tuple:
    """A OneBot client connecting (its posts land in `got` as (group, text)); returns (ws, reader)."""
    ws = await client.ws_connect("/onebot/v11/ws", headers={
        "X-Self-ID": "10001", "X-Client-Role": "Universal", "Authorization": f"Bearer {TOKEN}"})

    async def answer():
        async for frame in ws:
            a = json.loads(frame.data)
            group, text = str(a["params"]["group_id"]), a["params"]["message"][0]["data"]["text"]
            got.extend((group, post) for post in text.split("\n\n"))  # queued posts to a group go merged
            await ws.send_json({"status": "ok", "retcode": 0, "data": {"message_id": len(got)}, "echo": a["echo"]})

    return ws, asyncio.create_task(answer())


# --- two servers on one PostgreSQL ----------------------------------------------------------------
async def two_servers(pg: str, n: int = 60) -> dict:
    """Server A holds the OneBot socket; reports are posted to server B (HTTP POST transport,
    no socket there). Time from B's acknowledgement until the client has every post A sends."""
    from tests.conftest import _admin

    name = f"pingan_bench2s_{os.getpid()}"
    await _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(pg, f'CREATE DATABASE "{name}"')
    url = pg.rsplit("/", 1)[0] + "/" + name
    pa, pb = free_port(), free_port()
    got: list[float] = []
    with tempfile.TemporaryDirectory() as cwd:
        a, b = start_server(url, pa, cwd), start_server(url, pb, cwd)  # at once: the migration lock
        try:
            await wait_healthy(pa, a)
            await wait_healthy(pb, b)
            async with aiohttp.ClientSession() as s:
                ws = await s.ws_connect(f"ws://127.0.0.1:{pa}/onebot/v11/ws", headers={
                    "X-Self-ID": "10001", "X-Client-Role": "Universal", "Authorization": f"Bearer {TOKEN}"})

                async def answer():
                    async for frame in ws:
                        act = json.loads(frame.data)
                        got.append(time.monotonic())
                        await ws.send_json({"status": "ok", "retcode": 0, "data": {"message_id": len(got)},
                                            "echo": act["echo"]})

                reader = asyncio.create_task(answer())
                started = time.monotonic()
                acked = await post_all(pb, list(range(n)))
                acked_at = time.monotonic()
                pending = 1
                deadline = time.monotonic() + 120
                while pending and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                    pending, attempts, dead = await _outbox_state(url)
                finished = time.monotonic()
                await ws.close()
                await asyncio.gather(reader, return_exceptions=True)
        finally:
            stop(a)
            stop(b)
    await _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {"reports": n, "acked": len(acked), "messages_delivered": len(got), "pending_left": pending,
            "dead": dead, "max_attempts": attempts, "post_s": round(acked_at - started, 2),
            "all_delivered_after_s": round((got[-1] if got else finished) - acked_at, 2)}


async def _outbox_state(url: str) -> tuple[int, int, int]:
    """(QQ posts pending + messages not yet handled, most attempts of a row, dead letters)"""
    from sqlalchemy import text

    from pingan.models.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as c:
            row = (await c.execute(text(
                "SELECT count(*) FILTER (WHERE status = 'pending' AND platform = 'qq') "
                "+ (SELECT count(*) FROM inbox WHERE handled_at IS NULL), "
                "coalesce(max(attempts), 0), count(*) FILTER (WHERE status = 'dead') FROM outbox"))).one()
    finally:
        await engine.dispose()
    return tuple(row)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("probes", nargs="*", default=["poison", "kill", "outage", "twoserv"])
    ap.add_argument("--pg", default="", help="PostgreSQL URL: also run there (and the two-server probe)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    from tests.conftest import _admin

    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", lambda tag: f"sqlite+aiosqlite:///{tmp}/{tag}.db")]
        if args.pg:
            backends.append(("postgresql", lambda tag: args.pg.rsplit("/", 1)[0] + f"/pingan_bench_{tag}_{os.getpid()}"))
        for probe in args.probes:
            if probe == "twoserv":
                if args.pg:
                    print("twoserv postgresql:", await two_servers(args.pg), flush=True)
                continue
            fn = {"poison": poison, "kill": lambda u: kill_rounds(u, args.rounds), "outage": outage}[probe]
            for backend, make_url in backends:
                url = make_url(probe)
                if backend == "postgresql":
                    name = url.rsplit("/", 1)[1]
                    await _admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    await _admin(args.pg, f'CREATE DATABASE "{name}"')
                started = time.monotonic()
                result = await fn(url)
                print(f"{probe} {backend}: {result} ({time.monotonic() - started:.1f}s)", flush=True)
                if backend == "postgresql":
                    await _admin(args.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
