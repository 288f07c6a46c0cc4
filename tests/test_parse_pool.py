"""The parse pool (pingan/parser/pool.py): worker processes give the hot path the parser's own
answers; a worker that dies leaves parsing to the server's process and nothing is lost."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from pingan.messages import ChatRef, Inbound
from pingan.models import Ticket
from pingan.parser import parse
from pingan.parser.pool import ParsePool
from tests.test_server import rows

TEXTS = [
    "锦城花园3栋楼道里有人给电瓶车充电",
    "着火了！！！幸福里2栋楼道全是烟 快来人",
    "燃气表在滴答响 是不是漏气",
    "我想问一下社区的办公时间",
    "好久不见 周末一起吃饭噻",
    "标题：关于A3区某小区消防通道长期被占用的问题。内容：我们小区叫椰海小区，3栋和4栋之间的消防通道"
    "常年停满私家车，物业多次劝说无效，万一发生火灾消防车根本进不来，恳请有关部门尽快处理。" * 3,
]


@pytest.fixture
async def pool():
    p = ParsePool(1)
    await p.start()
    assert p.running
    yield p
    await p.close()


def report(who: str, text: str = "锦城花园3栋楼道里有人给电瓶车充电") -> Inbound:
    return Inbound(chat=ChatRef("qq", "", "private", who), msg_id=f"pool-{who}", sender_id=who, text=text)


async def test_the_workers_answer_what_the_parser_would(pool):
    got = await asyncio.gather(*(pool.parse(t) for t in TEXTS * 20))  # one burst: several batches
    assert got == [parse(t) for t in TEXTS * 20]


async def test_a_closed_pool_answers_none_and_the_workers_end(pool):
    procs = [w.process for w in pool._workers]
    await pool.close()
    assert not pool.running and await pool.parse(TEXTS[0]) is None
    assert all(not p.is_alive() for p in procs)


async def test_a_dead_worker_leaves_parsing_to_the_server_and_no_report_is_lost(bot, pool):
    bot.parse_pool = pool
    first = await bot.ingest(report("71001"))
    assert first is not None and first.handled_by
    os.kill(pool._workers[0].process.pid, signal.SIGKILL)
    for _ in range(200):  # the loop sees the pipe close
        if not pool.running:
            break
        await asyncio.sleep(0.01)
    assert not pool.running and await pool.parse(TEXTS[0]) is None
    second = await bot.ingest(report("71002", "着火了！！！幸福里2栋楼道全是烟 快来人"))
    assert second is not None and second.handled_by
    tickets = await rows(bot, Ticket)
    assert [t.reporter_id is not None for t in tickets] == [True, True]
    assert [t.category for t in tickets] == ["fire", "fire"] and tickets[1].urgent


async def test_the_hot_path_files_the_same_ticket_with_the_pool(bot, pool):
    bot.parse_pool = pool
    handled = await asyncio.gather(*(bot.ingest(report(f"7200{i}", t)) for i, t in enumerate(TEXTS)))
    assert all(h is not None for h in handled)
    filed = {t.raw_text: (t.category, t.item, t.location, t.urgent) for t in await rows(bot, Ticket)}
    expected = {t: (p.category, p.item, p.location, p.urgent) for t in TEXTS if (p := parse(t)).report and not p.ask}
    assert len(expected) >= 3 and filed == expected


async def test_a_worker_that_does_not_answer_is_stopped_and_its_texts_parsed_in_process(pool, monkeypatch):
    """A stuck worker (here stopped with SIGSTOP) never holds the hot path for longer than the budget."""
    monkeypatch.setattr(pool, "BUDGET_SECONDS", 0.2)
    proc = pool._workers[0].process
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        got = await asyncio.wait_for(pool.parse(TEXTS[0]), 5)
        assert got is None and not pool.running
        for _ in range(100):
            if not proc.is_alive():
                break
            await asyncio.sleep(0.02)
        assert not proc.is_alive()
    finally:
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
