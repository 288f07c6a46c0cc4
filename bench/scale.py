"""Scale benchmark for the scheduler: a city of 4,351 communities (~300 streets, 20 districts) with
1,000,000 tickets (100,000 open), bulk-inserted; then times one sweep, all community digests,
one street's monthly ledger export, a sample of digest charts (drawn in a thread, then in worker
processes), and reports peak memory.

    .venv/bin/python bench/scale.py                       # SQLite (a temporary file)
    .venv/bin/python bench/scale.py --tickets 100000      # a quick run
    .venv/bin/python bench/scale.py --pg postgresql://postgres@127.0.0.1/pingan_bench
        (or PINGAN_BENCH_PG=...; the database's public schema is DROPPED and recreated)

Targets: sweep < 0.5 s; all 4,351 community digests < 10 s; peak memory < 500 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time as clock_time
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pingan.policy import DEFAULT_SNAPSHOT as SNAP  # noqa: E402
from pingan.rules.resolution import resolve_due  # noqa: E402
from pingan.clock import FrozenClock  # noqa: E402
from pingan.config import load_settings  # noqa: E402
from pingan.scheduler.plan import plan  # noqa: E402
from pingan.taxonomy import CATEGORY_CODES  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2019, 7, 3, 10, 0, tzinfo=TZ)  # day 100 of a campaign that began 2019-03-26
CAMPAIGN_START = date(2019, 3, 26)
N_DISTRICTS, N_STREETS, N_COMMUNITIES = 20, 300, 4351
TICKET_COLS = ["id", "source", "raw_text", "category", "location", "urgent", "size", "unit_id", "holder_level",
               "holder_unit_id", "holder_person_id", "department_id", "status", "policy", "resolution_note",
               "feedback", "escalations", "created_at", "updated_at", "dispatched_at", "on_scene_at",
               "resolved_at", "closed_at", "on_scene_due", "resolve_due", "held_since", "next_check_at",
               "reminders_sent"]
OPEN_STATUSES = ["dispatched", "acknowledged", "on_scene", "in_progress", "escalated", "transferred"]


class Stall:
    """The event loop's longest pause while a step runs: how long a report arriving then would wait
    before the server even read it (the scheduler shares the loop with the adapters). Also the mean
    lateness of its 5 ms ticks: how much slower everything on the loop runs meanwhile."""

    TICK = 0.005

    async def __aenter__(self) -> "Stall":
        self.worst, self.late, self.ticks = 0.0, 0.0, 0

        async def beat():
            while True:
                t = clock_time.perf_counter()
                await asyncio.sleep(self.TICK)
                late = clock_time.perf_counter() - t - self.TICK
                self.worst, self.late, self.ticks = max(self.worst, late), self.late + late, self.ticks + 1

        self.task = asyncio.create_task(beat())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc) -> None:
        self.task.cancel()

    @property
    def mean(self) -> float:
        return self.late / self.ticks if self.ticks else 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the organisation -------------------------------------------------------------------------

def org_rows():
    units = [("city", "成都市", "city", None)]
    units += [(f"d{d:02d}", f"第{d:02d}区", "district", "city") for d in range(N_DISTRICTS)]
    streets = [(f"s{s:03d}", f"第{s:03d}街道", "street", f"d{s % N_DISTRICTS:02d}") for s in range(N_STREETS)]
    comms = [(f"c{c:04d}", f"第{c:04d}社区", "community", f"s{c % N_STREETS:03d}") for c in range(N_COMMUNITIES)]
    units += streets + comms
    people = [(f"p-{u[0]}", f"值班{u[0]}", {"city": "city_official", "district": "district_official",
                                            "street": "street_official", "community": "community_staff"}[u[2]],
               u[0], True, True) for u in units]
    groups = [("console", "console", f"群-{c[0]}", c[0], "coordination", f"{c[1]}平安工作群") for c in comms]
    groups += [("console", "console", f"群-{s[0]}", s[0], "officials", f"{s[1]}领导群") for s in streets]
    return units, people, groups, [c[0] for c in comms]


# --- tickets ------------------------------------------------------------------------------------

def gen_tickets(n: int, n_open: int, communities: list[str], seed: int = 7):
    """Yield ticket dicts in chunks. Open tickets are recent (within their window) and carry the
    exact scheduler state as if the previous sweep ran a minute ago; closed ones span the campaign."""
    rnd = random.Random(seed)
    span_secs = int((NOW - datetime.combine(CAMPAIGN_START, time(0), tzinfo=TZ)).total_seconds())
    windows = {"小": 0.5, "中": 3, "大": 7}  # days back an open ticket may be
    prev = NOW - timedelta(minutes=1)
    chunk = []
    open_every = n / max(1, n_open)
    next_open = 0.0
    for i in range(1, n + 1):
        is_open = i >= next_open and n_open > 0
        if is_open:
            next_open += open_every
        unit = communities[rnd.randrange(len(communities))]
        size = rnd.choices("小中大", (5, 4, 1))[0]
        category = CATEGORY_CODES[rnd.randrange(len(CATEGORY_CODES))]
        urgent = rnd.random() < 0.02
        source = rnd.choices(["resident", "worker", "patrol"], (6, 2, 2))[0]
        if is_open:
            back = rnd.uniform(0.01, windows[size]) * 86400
            if size == "小":
                back = min(back, (NOW - NOW.replace(hour=0, minute=0)).total_seconds() - 60)
            created = NOW - timedelta(seconds=back)
        else:
            created = NOW - timedelta(seconds=rnd.randrange(3600, span_secs))
        created = created.astimezone(TZ)
        on_due = created + timedelta(minutes=SNAP["on_scene_minutes"])
        res_due = resolve_due(SNAP, size, created)
        arrive = created + timedelta(minutes=rnd.choice([4, 8, 11, 14, 16, 25, 40]))
        row = dict(id=i, source=source, raw_text="楼道堆放杂物堵塞消防通道", category=category,
                   location=f"小区{i % 997}栋", urgent=urgent, size=size, unit_id=unit, holder_level="community",
                   holder_unit_id=unit, holder_person_id=f"p-{unit}", department_id=None, policy=None,
                   resolution_note=None, feedback=None, escalations=0, created_at=created, updated_at=created,
                   dispatched_at=created, on_scene_at=None, resolved_at=None, closed_at=None, on_scene_due=on_due,
                   resolve_due=res_due, held_since=created, next_check_at=None, reminders_sent=None)
        if is_open:
            row["status"] = rnd.choice(OPEN_STATUSES)
            if row["status"] in ("on_scene", "in_progress") or rnd.random() < 0.8:
                row["on_scene_at"] = arrive if arrive < NOW else None
            if row["on_scene_at"] and row["status"] in ("dispatched", "acknowledged", "escalated", "transferred"):
                row["status"] = "in_progress"
            row["policy"] = SNAP
            t = SimpleNamespace(**row, acknowledged_at=None)  # plan() only reads attributes
            t.reminders_sent = []
            sent = []
            for _ in range(20):  # what earlier sweeps already did
                p = plan(t, prev, TZ)
                if not p.due:
                    break
                sent += [x.key for x in p.due if x.key]
                t.reminders_sent = sent
            row["reminders_sent"] = sent
            row["next_check_at"] = plan(t, prev, TZ).next_at
        else:
            r = rnd.random()
            row["on_scene_at"] = arrive
            if r < 0.05:
                row["status"], row["closed_at"], row["on_scene_at"] = "withdrawn", created + timedelta(hours=1), None
            elif r < 0.1:
                row["status"], row["closed_at"] = "returned", created + timedelta(hours=2)
            else:
                done = created + timedelta(hours=rnd.uniform(0.3, 24 * windows[size] * 1.2))
                row["status"] = "closed" if r < 0.8 else "resolved"
                row["resolved_at"] = done
                row["closed_at"] = done + timedelta(hours=2) if row["status"] == "closed" else None
                row["resolution_note"] = "已处置"
                row["feedback"] = "满意" if row["status"] == "closed" else None
            if rnd.random() < 0.1:
                row["escalations"] = 1
        chunk.append(row)
        if len(chunk) >= 20000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- bulk load ------------------------------------------------------------------------------------

def _sqlite_dt(v):
    if v is None:
        return None
    return v.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


async def load_sqlite(path: Path, n: int, n_open: int) -> int:
    import sqlite3

    units, people, groups, comms = org_rows()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.executemany("INSERT INTO units (id, name, level, parent_id) VALUES (?,?,?,?)", units)
    con.executemany("INSERT INTO people (id, name, role, unit_id, lead, on_duty) VALUES (?,?,?,?,?,?)", people)
    con.executemany("INSERT INTO chat_groups (platform, account, chat_id, unit_id, kind, name) VALUES (?,?,?,?,?,?)", groups)
    sql = f"INSERT INTO tickets ({', '.join(TICKET_COLS)}) VALUES ({', '.join('?' * len(TICKET_COLS))})"
    ev_sql = "INSERT INTO ticket_events (ticket_id, at, action) VALUES (?,?,?)"
    total = 0
    for chunk in gen_tickets(n, n_open, comms):
        rows = []
        events = []
        for r in chunk:
            vals = []
            for c in TICKET_COLS:
                v = r[c]
                if isinstance(v, datetime):
                    v = _sqlite_dt(v)
                elif c in ("policy", "reminders_sent") and v is not None:
                    v = json.dumps(v, ensure_ascii=False)
                vals.append(v)
            rows.append(vals)
            if r["escalations"]:
                events.append((r["id"], _sqlite_dt(r["created_at"] + timedelta(hours=1)), "escalate"))
        con.executemany(sql, rows)
        con.executemany(ev_sql, events)
        total += len(chunk)
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return total


async def load_pg(dsn: str, n: int, n_open: int) -> int:
    import asyncpg

    units, people, groups, comms = org_rows()
    con = await asyncpg.connect(dsn)
    try:
        await con.copy_records_to_table("units", records=units, columns=["id", "name", "level", "parent_id"])
        await con.copy_records_to_table("people", records=people, columns=["id", "name", "role", "unit_id", "lead", "on_duty"])
        await con.copy_records_to_table("chat_groups", records=groups,
                                        columns=["platform", "account", "chat_id", "unit_id", "kind", "name"])
        total = 0
        for chunk in gen_tickets(n, n_open, comms):
            recs, events = [], []
            for r in chunk:
                recs.append(tuple(json.dumps(r[c], ensure_ascii=False) if c in ("policy", "reminders_sent")
                                  and r[c] is not None else r[c] for c in TICKET_COLS))
                if r["escalations"]:
                    events.append((r["id"], r["created_at"] + timedelta(hours=1), "escalate"))
            await con.copy_records_to_table("tickets", records=recs, columns=TICKET_COLS)
            await con.copy_records_to_table("ticket_events", records=events, columns=["ticket_id", "at", "action"])
            total += len(chunk)
        await con.execute("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))")
        await con.execute("ANALYZE")
    finally:
        await con.close()
    return total


# --- the measurements -------------------------------------------------------------------------

async def measure(url: str, label: str, n: int, n_open: int, out_dir: Path, charts: int) -> dict:
    from pingan.bot.app import Bot
    from pingan.bot.server import settle_heap
    from pingan.models.db import upgrade
    from pingan.scheduler import sweep
    from pingan.reports.digest import Period
    from pingan.reports.publish import build_digests, community_targets
    from pingan.scheduler.jobs import post_digests
    from pingan.reports.ledger import export_ledger

    figures: dict[str, object] = {"backend": label, "tickets": n, "open": n_open}
    await upgrade(url)
    t0 = clock_time.perf_counter()
    print(f"[{label}] loading {n:,} tickets …", flush=True)
    if url.startswith("sqlite"):
        figures["rows"] = await load_sqlite(Path(url.split("///", 1)[1]), n, n_open)
    else:
        figures["rows"] = await load_pg(url.replace("postgresql+asyncpg://", "postgresql://"), n, n_open)
    figures["load_s"] = clock_time.perf_counter() - t0

    settings = load_settings(None, env={"PINGAN__DATABASE__URL": url})
    settings.scheduler.campaign_start = CAMPAIGN_START.isoformat()
    settings.scheduler.files_dir = str(out_dir)
    settings.scheduler.digest_charts = False
    clock = FrozenClock(NOW)
    bot = await Bot.create(settings, clock, migrate=False, load_org=False)
    settle_heap()  # as `pingan serve` does before it listens: the parser loaded, the heap frozen
    try:
        t0 = clock_time.perf_counter()
        async with Stall() as stall:
            figures["sweep_actions"] = await sweep(bot)
        figures["sweep_s"] = clock_time.perf_counter() - t0
        figures["sweep_stall"] = stall.worst
        t0 = clock_time.perf_counter()
        figures["sweep_idle_actions"] = await sweep(bot)  # nothing due: the indexed query alone
        figures["sweep_idle_s"] = clock_time.perf_counter() - t0

        comms = sorted(community_targets(bot.org))
        t0 = clock_time.perf_counter()
        ds = await build_digests(bot, comms, Period.day(NOW.date()), NOW, charts=False)
        from pingan.notify import Notifier

        notifier = Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock)
        for d in ds:
            d.build(notifier)("console")
        figures["digests"] = len(ds)
        figures["digests_s"] = clock_time.perf_counter() - t0
        t0 = clock_time.perf_counter()
        async with Stall() as stall:
            figures["digest_posts"] = await post_digests(bot, "community", NOW.date(), NOW)
        figures["digests_posted_s"] = clock_time.perf_counter() - t0
        figures["digests_stall"] = stall.worst
        async with Stall() as idle:
            await asyncio.sleep(1)
        figures["idle_late"] = idle.mean
        sample = comms[:charts]
        for processes, label in ((0, "thread"), (settings.scheduler.chart_processes, "processes")):
            bot.charts.processes = processes
            t0 = clock_time.perf_counter()
            async with Stall() as stall:
                ds = await build_digests(bot, sample, Period.day(NOW.date()), NOW, charts=True)
            figures[f"charts_{label}_s"] = clock_time.perf_counter() - t0
            figures[f"charts_{label}_stall"] = stall.worst
            figures[f"charts_{label}_late"] = stall.mean
            figures["charts_drawn"] = sum(d.chart is not None for d in ds)
        figures["charts"], figures["communities"] = len(sample), len(comms)

        street = "s000"
        t0 = clock_time.perf_counter()
        async with Stall() as stall:
            summary = await export_ledger(bot, street, date(2019, 6, 1), date(2019, 6, 30), out_dir / "s000-june.xlsx")
        figures["ledger_rows"] = summary.rows
        figures["ledger_s"] = clock_time.perf_counter() - t0
        figures["ledger_stall"] = stall.worst
    finally:
        await bot.close()
    figures["peak_mb"] = peak_mb()
    return figures


async def reset_pg(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from pingan.models.db import normalise_url

    engine = create_async_engine(normalise_url(url))
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def report(f: dict) -> None:
    ok = lambda v, limit: "✓" if v < limit else "✗"  # noqa: E731
    print(f"\n== {f['backend']}: {f['rows']:,} tickets ({f['open']:,} open), loaded in {f['load_s']:.1f} s")
    print(f"  sweep:            {f['sweep_s']:.3f} s  ({f['sweep_actions']} actions)  {ok(f['sweep_s'], 0.5)} < 0.5 s"
          f"  (longest event-loop stall {f['sweep_stall'] * 1000:.0f} ms)")
    print(f"  sweep (idle):     {f['sweep_idle_s']:.3f} s")
    print(f"  community digests:{f['digests_s']:7.2f} s  ({f['digests']:,} digests, computed + rendered)  "
          f"{ok(f['digests_s'], 10)} < 10 s")
    print(f"  digests posted:   {f['digests_posted_s']:.2f} s  ({f['digest_posts']:,} outbox rows, one transaction)"
          f"  (longest event-loop stall {f['digests_stall'] * 1000:.0f} ms)")
    for label in ("thread", "processes"):
        per = f[f"charts_{label}_s"] / f["charts"]
        print(f"  charts, {label + ':':<10} {f[f'charts_{label}_s']:6.2f} s for {f['charts']} digests "
              f"({f['charts_drawn']} drawn; {per * 1000:.0f} ms each, all {f['communities']:,}: ~{per * f['communities'] / 60:.1f} min)"
              f"  (longest stall {f[f'charts_{label}_stall'] * 1000:.0f} ms; a 5 ms tick late by "
              f"{f[f'charts_{label}_late'] * 1000:.1f} ms on average, idle {f['idle_late'] * 1000:.1f} ms)")
    print(f"  ledger export:    {f['ledger_s']:.2f} s  (street s000, June: {f['ledger_rows']:,} rows, xlsx)"
          f"  (longest event-loop stall {f['ledger_stall'] * 1000:.0f} ms)")
    print(f"  peak memory:      {f['peak_mb']:.0f} MB  {ok(f['peak_mb'], 500)} < 500 MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--open", type=int, default=None, help="open tickets (default: 10 %)")
    ap.add_argument("--pg", default=os.environ.get("PINGAN_BENCH_PG"), help="PostgreSQL DSN (its schema is reset)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--charts", type=int, default=120, help="community digests drawn with charts, each way")
    args = ap.parse_args()
    n_open = args.open if args.open is not None else args.tickets // 10
    with tempfile.TemporaryDirectory(prefix="pingan-bench-") as tmp:
        out = Path(tmp)
        if not args.no_sqlite:
            report(asyncio.run(measure(f"sqlite+aiosqlite:///{out / 'bench.db'}", "SQLite", args.tickets, n_open, out, args.charts)))
        if args.pg:
            asyncio.run(reset_pg(args.pg))
            url = args.pg if "+asyncpg" in args.pg else "postgresql+asyncpg://" + args.pg.split("://", 1)[1]
            report(asyncio.run(measure(url, "PostgreSQL", args.tickets, n_open, out, args.charts)))


if __name__ == "__main__":
    main()
