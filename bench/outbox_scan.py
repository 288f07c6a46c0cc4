"""Outbox retry-scan benchmark: what one claim costs (the query that picks what to send) as the
table's history grows, and with a stuck chat (its head backing off, thousands queued behind it).

For each history size (rows ever sent) it prints the claim's time when nothing is due (the idle
check every pass makes), with 50 chats due, and with 50 chats due next to a stuck chat; and the
probe a group makes before it queues a reply (which of 65 chats hold a row no lane of this server
holds), with one chat's 2,000 posts in flight. Flat
means: the cost follows what is due, not what was ever sent or what waits.

    .venv/bin/python bench/outbox_scan.py --sizes 1000 1000000 --repeat 50

SQLite file by default; `--pg postgresql://postgres@127.0.0.1/test` runs it on PostgreSQL too
(a database of its own, dropped after)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, text

from pingan.bot.outbox import OutboxWorker
from pingan.clock import FrozenClock
from pingan.config import OutboxSettings
from pingan.models import OutboxMessage
from pingan.models.db import make_engine, session_factory, upgrade
from pingan.models.queries import chats_with_queued

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
PAYLOAD = {"parts": [{"text": "【隐患 #1】消防·电瓶车违规充电 ⏰请 17:34 前到场"}], "image": None, "file": None}
OUTBOX = OutboxMessage.__table__


class NullSender:
    platform = "qq"

    async def send(self, out) -> None:
        return None


def row(i: int, chat: str, status: str, due: datetime) -> dict:
    return {"platform": "qq", "account": "", "chat_type": "group", "chat_id": chat, "payload": PAYLOAD,
            "status": status, "attempts": 1 if status == "sent" else 0, "created_at": NOW - timedelta(days=1),
            "next_attempt_at": due, "sent_at": NOW if status == "sent" else None}


async def fill(sessions, rows: list[dict]) -> None:
    async with sessions() as s:
        for k in range(0, len(rows), 20_000):
            await s.exec(insert(OUTBOX), params=rows[k:k + 20_000])
        await s.commit()
    async with sessions() as s:  # PostgreSQL: the planner's statistics, as autovacuum keeps them
        if s.bind.dialect.name == "postgresql":
            await s.exec(text("ANALYZE outbox"))
            await s.commit()


async def timed_claims(worker: OutboxWorker, repeat: int) -> float:
    """Median milliseconds of one claim (what it claimed is released again: the next one is alike)."""
    xs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        chains = await worker._claim(worker.settings.batch)
        xs.append((time.perf_counter() - t0) * 1000)
        await worker._release([r.id for c in chains for r in c])
    return statistics.median(xs)


async def one_size(url: str, sent: int, repeat: int) -> dict:
    await upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    worker = OutboxWorker(sessions, FrozenClock(NOW), OutboxSettings(), {"qq": NullSender()})
    await fill(sessions, [row(i, str(700_000 + i % 500), "sent", NOW) for i in range(sent)])
    idle = await timed_claims(worker, repeat)
    await fill(sessions, [row(i, str(800_000 + i), "pending", NOW) for i in range(50)])
    due = await timed_claims(worker, repeat)
    # a stuck chat: its head backs off for an hour, 5,000 rows queued behind it (all "due")
    await fill(sessions, [row(0, "900000", "pending", NOW + timedelta(hours=1))]
               + [row(i, "900000", "pending", NOW) for i in range(5_000)])
    stuck = await timed_claims(worker, repeat)
    # what each group asks before it queues a reply (queued_behind): 64 new chats and a busy group with
    # 2,000 posts in flight, leased to this server's lanes
    await fill(sessions, [{**row(i, "910000", "pending", NOW), "claimed_by": "bench", "claimed_until": NOW + timedelta(minutes=5)}
                          for i in range(2_000)])
    chats = [("qq", "", "group", str(920_000 + i)) for i in range(64)] + [("qq", "", "group", "910000")]
    xs = []
    async with sessions() as s:
        for _ in range(repeat):
            t0 = time.perf_counter()
            await chats_with_queued(s, chats, {chats[-1]}, "bench", NOW)
            xs.append((time.perf_counter() - t0) * 1000)
    await engine.dispose()
    return {"sent": sent, "idle": idle, "due": due, "stuck": stuck, "probe": statistics.median(xs)}


async def main(args) -> None:
    for label, make in (("SQLite", None), ("PostgreSQL", args.pg)):
        if label == "PostgreSQL" and not make:
            continue
        print(f"{label}: median ms per claim ({args.repeat} claims; 50 due chats of one row each)")
        for n in args.sizes:
            if make:
                name = "bench_scan_" + uuid.uuid4().hex[:8]
                url = await pg_database(make, name)
            else:
                url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'scan.db'}"
            try:
                r = await one_size(url, n, args.repeat)
            finally:
                if make:
                    await pg_drop(make, name)
            print(f"  {r['sent']:>9,} sent rows: idle {r['idle']:6.2f}   50 due {r['due']:6.2f}   "
                  f"50 due + a stuck chat with 5,000 queued {r['stuck']:6.2f}   "
                  f"queued-behind probe (65 chats, one with 2,000 in flight) {r['probe']:6.2f}", flush=True)


async def pg_database(base: str, name: str) -> str:
    from sqlalchemy.ext.asyncio import create_async_engine
    url = base.replace("postgresql://", "postgresql+asyncpg://", 1)
    eng = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with eng.connect() as c:
        await c.execute(text(f'CREATE DATABASE "{name}"'))
    await eng.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


async def pg_drop(base: str, name: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine
    eng = create_async_engine(base.replace("postgresql://", "postgresql+asyncpg://", 1), isolation_level="AUTOCOMMIT")
    async with eng.connect() as c:
        await c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await eng.dispose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--pg", help="PostgreSQL URL (a scratch database is made and dropped)")
    asyncio.run(main(ap.parse_args()))
