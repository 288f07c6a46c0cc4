"""Digest figures against a hand-computed fixture day (2019-04-08, campaign from 04-01)."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.util import await_only
from sqlmodel import select

from pingan.models import OutboxMessage, Ticket, TicketEvent
from pingan.reports.chart import ChartJob, ChartPool, find_cjk_font
from pingan.reports.digest import Period, collect, rank, render, roll_up
from pingan.reports.publish import build_digests
from pingan.scheduler.jobs import catch_up, post_digests
from tests.conftest import COORD, TZ

DAY = datetime(2019, 4, 8).date()


def at(d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2019, 4, d, hh, mm, tzinfo=TZ)


def T(n, created, source, category, status, unit="xinlian", on_scene=None, resolved=None, closed=None,
      resolve_due=None, escalations=0, department=None, holder=("xinlian-g2", "zhou-wangge")):
    return Ticket(id=n, created_at=created, dispatched_at=created, source=source, category=category, status=status,
                  unit_id=unit, on_scene_at=on_scene, on_scene_due=created + timedelta(minutes=15),
                  resolved_at=resolved, closed_at=closed, resolve_due=resolve_due or created + timedelta(days=3),
                  escalations=escalations, department_id=department, holder_unit_id=holder[0],
                  holder_person_id=holder[1], raw_text=f"fixture {n}", location=f"地点{n}")


FIXTURE = [
    # before today
    T(1, at(5, 10), "resident", "fire", "closed", on_scene=at(5, 10, 10), resolved=at(5, 12), closed=at(5, 13)),
    T(2, at(6, 9), "patrol", "facility", "escalated", on_scene=at(6, 9, 20), resolve_due=at(9, 9), escalations=1,
      holder=("xinlian", "wang-shequ")),
    T(3, at(7, 8), "resident", "security", "dispatched", resolve_due=at(8, 0)),
    T(11, at(7, 16), "resident", "facility", "closed", on_scene=at(7, 16, 14), resolved=at(8, 10), closed=at(8, 11),
      department="djy-housing"),
    # today
    T(4, at(8, 9), "resident", "fire", "resolved", on_scene=at(8, 9, 10), resolved=at(8, 9, 40)),
    T(5, at(8, 10), "worker", "dispute", "in_progress", on_scene=at(8, 10, 20), resolve_due=at(11, 10)),
    T(6, at(8, 11), "resident", "fire", "withdrawn", closed=at(8, 11, 5)),
    T(7, at(8, 12), "patrol", "environment", "returned", closed=at(8, 12, 30)),
    T(8, at(8, 13), "resident", "food", "escalated", on_scene=at(8, 13, 5), resolve_due=at(9, 0), escalations=1,
      holder=("yongfeng", "chen-jiedao")),
    T(9, at(8, 14), "resident", "traffic", "dispatched", holder=("xinlian-g1", "li-wangge")),
    T(10, at(8, 15), "resident", "fire", "on_scene", unit="xianglong", on_scene=at(8, 15, 12), resolve_due=at(9, 0),
      holder=("xianglong-g1", "ma-xianglong")),
]
EVENTS = [TicketEvent(ticket_id=2, at=at(6, 10), action="escalate"), TicketEvent(ticket_id=8, at=at(8, 13, 30), action="escalate")]


@pytest.fixture
async def day(bot, clock):
    bot.settings.scheduler.campaign_start = "2019-04-01"
    bot.settings.scheduler.files_dir = str(Path(bot.settings.database.url.split("///")[-1]).parent / "files") \
        if bot.settings.database.url.startswith("sqlite") else "/tmp/pingan-test-files"
    async with bot.sessions() as s:
        for t in FIXTURE:
            s.add(Ticket(**t.model_dump()))
        await s.flush()
        for e in EVENTS:
            s.add(TicketEvent(**e.model_dump()))
        await s.commit()
    clock.set(at(8, 18))
    return bot


async def tallies(bot, period=Period.day(DAY)):
    async with bot.sessions() as s:
        per = await collect(s, bot.settings, TZ, period, bot.clock.now())
    return roll_up(bot.org, per, bot.settings.scheduler.overdue_list_cap)


async def slow_reports(bot) -> None:
    """Make every query of the report engine slow (SQLite calls back into Python as it works)."""
    if bot.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's driver never blocks the loop, and its queries cannot be slowed from here")

    @event.listens_for(bot.report_engine.sync_engine, "connect")
    def slow(_dbapi_conn, record):  # aiosqlite's own call, awaited from SQLAlchemy's sync event
        await_only(record.driver_connection.set_progress_handler(lambda: time.sleep(0.0005) and 0, 20))

    await bot.report_engine.dispose()  # reconnect, through the listener


async def test_a_slow_report_query_does_not_stop_the_event_loop(day):
    """On SQLite, message handling runs its SQL on the loop's thread (fast); a report's long scan
    must not: here every report query is slowed to tens of milliseconds, and the loop keeps ticking."""
    await slow_reports(day)
    ticks, stop = [], asyncio.Event()

    async def heartbeat():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.002)

    beat = asyncio.create_task(heartbeat())
    t0 = time.perf_counter()
    [d] = await build_digests(day, ["dujiangyan"], Period.day(DAY), day.clock.now(), charts=False)
    took = time.perf_counter() - t0
    stop.set()
    await beat
    assert "永丰街道" in d.text and took > 0.05
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < took / 2, (max(gaps), took)


async def test_a_ticket_inside_its_on_scene_window_is_not_counted_late_yet(day):
    day.clock.set(at(8, 14, 10))  # #9 came in at 14:00, nobody there yet, due 14:15
    t = (await tallies(day))["xinlian"]
    assert (t.on_time, t.arrive_base, t.cum_arrive_base) == (2, 3, 7)  # the ranking's rate agrees
    day.clock.set(at(8, 14, 16))  # now it is late
    t = (await tallies(day))["xinlian"]
    assert (t.on_time, t.arrive_base, t.cum_arrive_base) == (2, 4, 8)


async def test_community_figures_match_the_hand_count(day):
    t = (await tallies(day))["xinlian"]
    assert (t.new, t.new_resident, t.new_other) == (6, 4, 2)
    assert (t.on_time, t.arrive_base, t.on_time_rate) == (2, 4, 0.5)  # #6 withdrawn, #7 returned: excluded
    assert (t.resolved, t.returned, t.called_up) == (2, 1, 1)  # #4 and #11 resolved today; #7; #8's 呼叫
    assert (t.found, t.resolved_total, t.pending) == (10, 3, 5)
    assert (t.self_handled, t.called_up_total) == (2, 3)  # #1, #4 | #2, #8 (呼叫), #11 (派单)
    assert t.overdue == 2 and [r.id for r in t.overdue_rows] == [3, 9]
    assert not t.overdue_rows[0].on_scene and t.overdue_rows[0].since == at(7, 8, 15)
    assert (t.cum_on_time, t.cum_arrive_base) == (4, 8)
    assert t.median_on_scene == 10 * 60  # 10, 20, 5 minutes
    assert t.median_resolve == (40 * 60 + 18 * 3600) / 2  # 40 min and 18 h
    assert t.by_cat["fire"] == [2, 3, 0] and t.by_cat["facility"] == [0, 2, 1] and t.by_cat["traffic"] == [1, 1, 1]


async def test_roll_up_and_ranking_worst_first(day):
    rolled = await tallies(day)
    assert rolled["dujiangyan"].found == 11 and rolled["dujiangyan"].pending == 6
    assert rolled["yongfeng"].found == rolled["xinlian"].found
    ranked = rank(day.org, rolled, "dujiangyan")
    assert [(u, t.pending, t.overdue) for u, t in ranked] == [("yongfeng", 5, 2), ("huayang", 1, 0)]
    d = render(day.org, day.taxonomy, day.settings, "dujiangyan", rolled["dujiangyan"], Period.day(DAY), rolled)
    assert "1. 永丰街道 5 2 50%" in d.text and "2. 华阳街道 1 0 100%" in d.text


async def test_rendered_community_digest(day, h):
    rolled = await tallies(day)
    d = render(day.org, day.taxonomy, day.settings, "xinlian", rolled["xinlian"], Period.day(DAY), rolled)
    text = d.text
    assert "【新联社区 平安日报】2019-04-08（百日攻坚第 8 天）" in text
    assert "当日新增 6 件（居民上报 4 · 巡查/网格员 2）" in text
    assert "15分钟到场 2/4（50%）· 办结 2 · 呼叫 1 次（超期自动 1 次） · 退回 1" in text
    assert "中位用时：到场 10分钟 · 办结 9小时20分钟" in text
    assert "排查发现问题隐患 10 个，已化解 3 个，待化解 5 个；社区自处理 2 个，呼叫上级 3 个" in text
    assert "  消防 2/3/0" in text and "  其他 0/0/0" in text
    assert sum(1 for line in text.splitlines() if line.startswith("  ") and "/" in line) == 10  # 9 + 其他
    from pingan.bot.console import render as plain
    from pingan.messages import ChatRef, Outbound
    from pingan.notify import Notifier

    parts = d.build(Notifier(day.org, day.settings, day.taxonomy, day.clock))("console")
    body = plain(Outbound(ChatRef("console", "console", "group", COORD), parts))
    assert "超期 2 件" in body and "#3" in body and "@周网格" in body and "#9" in body and "@李网格" in body


async def test_a_community_where_nothing_happened_gets_two_lines(day):
    from pingan.reports.digest import Tally

    d = render(day.org, day.taxonomy, day.settings, "xinlian", Tally(), Period.day(DAY), {})
    assert d.text.splitlines()[1] == "当日无新增，也没有待化解的事项。" and len(d.text.splitlines()) == 2 and d.brief
    street = render(day.org, day.taxonomy, day.settings, "yongfeng", Tally(), Period.day(DAY), {})
    assert "各单位排名" in street.text and not street.brief  # a street still ranks its communities


async def test_overdue_list_is_capped(day):
    day.settings.scheduler.overdue_list_cap = 1
    rolled = await tallies(day)
    from pingan.bot.console import render as plain
    from pingan.messages import ChatRef, Outbound
    from pingan.notify import Notifier

    d = render(day.org, day.taxonomy, day.settings, "xinlian", rolled["xinlian"], Period.day(DAY), rolled)
    parts = d.build(Notifier(day.org, day.settings, day.taxonomy, day.clock))("console")
    body = plain(Outbound(ChatRef("console", "console", "group", COORD), parts))
    assert "#3" in body and "#9" not in body and "共 2 件，以上是最紧急的 1 件" in body


async def test_week_range(day):
    t = (await tallies(day, Period(datetime(2019, 4, 2).date(), DAY, "week")))["xinlian"]
    assert t.new == 10 and t.resolved == 3 and t.called_up == 2


async def test_chart_png_renders_chinese_without_missing_glyphs(day):
    if find_cjk_font() is None:
        pytest.skip("no CJK font installed (Debian: apt-get install -y fonts-wqy-microhei)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph (tofu) warns: fail on it
        ds = await build_digests(day, ["xinlian", "dujiangyan"], Period.day(DAY), day.clock.now(), charts=True)
    for d in ds:
        assert d.chart and Path(d.chart).stat().st_size > 1000
        assert Path(d.chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("processes", [0, 1])
async def test_a_city_s_charts_are_drawn_in_worker_processes(tmp_path, processes, caplog):
    """More than a handful of charts go to worker processes (unless configured off); a chart that
    cannot be drawn leaves its digest as text and the others unharmed."""
    if find_cjk_font() is None:
        pytest.skip("no CJK font installed (Debian: apt-get install -y fonts-wqy-microhei)")
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    jobs = [ChartJob(tmp_path / f"{i}.png", f"第{i}社区 平安日报", ["消防安全", "治安"], {"本期新增": [i, 1]})
            for i in range(ChartPool.IN_THREAD)]
    jobs.append(ChartJob(not_a_dir / "x.png", "画不出来", ["消防安全"], {"本期新增": [1]}))
    pool = ChartPool(processes)
    try:
        paths = await pool.draw(jobs)
        assert bool(multiprocessing.active_children()) == bool(processes)
    finally:
        await pool.close()
    assert not multiprocessing.active_children()
    assert paths[-1] is None and "x.png not drawn" in caplog.text
    assert [Path(p).read_bytes()[:8] for p in paths[:-1]] == [b"\x89PNG\r\n\x1a\n"] * ChartPool.IN_THREAD


async def test_no_cjk_font_degrades_to_text(day, monkeypatch, caplog):
    from pingan.reports import chart

    monkeypatch.setattr(chart, "find_cjk_font", lambda preferred="": None)
    ds = await build_digests(day, ["xinlian"], Period.day(DAY), day.clock.now(), charts=True)
    assert ds[0].chart is None and "平安日报" in ds[0].text
    assert "no CJK font" in caplog.text


async def test_digests_posted_once_to_each_group_with_image(day, h):
    n = await post_digests(day, "community", DAY)
    assert n == 3  # 新联: QQ + console; 祥龙: QQ
    assert await post_digests(day, "community", DAY) == 0  # claimed: never twice
    await h.worker.run_once()
    out = h.new()
    assert len(out) == 1 and out[0][0] == COORD and "平安日报" in out[0][1]
    outbound = h.sender.delivered[-1][2]
    if find_cjk_font() is not None:  # without a CJK font the digest is text-only (tested above)
        assert outbound.image and Path(outbound.image).exists()
    # officials at 08:30 next morning read yesterday: street/district officials groups (QQ)
    day.clock.set(at(9, 8, 30))
    assert await post_digests(day, "official", DAY + timedelta(days=1)) == 2
    async with day.sessions() as s:
        rows = (await s.exec(select(OutboxMessage).where(OutboxMessage.chat_id.in_(["700011", "700021"])))).all()
    texts = {r.chat_id: r.payload["parts"][0]["text"] for r in rows}
    assert "【永丰街道 平安日报】2019-04-08" in texts["700011"] and "各单位排名" in texts["700021"]


async def test_catch_up_after_restart_posts_missed_digest_once_marked_late(day, h):
    day.clock.set(at(8, 20))
    # community (18:00) and official (08:30) both missed today; 04-08 is a Monday: officials also get the week
    assert await catch_up(day) == 3 + 2 * 2
    assert await catch_up(day) == 0
    await h.worker.run_once()
    assert "（补发）" in h.new()[0][1]
