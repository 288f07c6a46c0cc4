"""Crash between storing and handling: the message is neither lost nor handled twice.

1. The real server (`pingan serve` in a subprocess) killed from outside under load (bench/reliability.py
   kill rounds): nothing acknowledged is lost, no ticket is made twice.
2. In process: stored, the bot dropped unprocessed, a new bot recovers it (twice over: still one)."""

from __future__ import annotations

from pingan.bot.app import Bot
from pingan.bot.console import group_chat, message
from pingan.models import InboxMessage, Ticket
from tests.test_server import REPORT, count, rows

async def test_server_killed_under_load_loses_and_duplicates_nothing(settings):
    """`pingan serve` killed with SIGKILL mid-load (from outside, at a random moment), twice; then
    restarted, with every message delivered again as a platform would: each acknowledged message
    is stored, each stored one has exactly one ticket."""
    result = await bench_reliability().kill_rounds(settings.database.url, rounds=2, per_round=60)
    assert result["lost_acked"] == result["lost"] == result["without_ticket"] == result["duplicated"] == 0, result


def bench_reliability():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "reliability.py"
    spec = importlib.util.spec_from_file_location("bench_reliability", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_dropped_bot_recovered_once(settings, clock):
    first = await Bot.create(settings, clock)
    inbox_id = await first.receive(message(group_chat("新联社区平安工作群"), "张阿姨", REPORT))
    assert inbox_id is not None
    await first.close()  # "crash": stored, never processed
    second = await Bot.create(settings, clock)
    try:
        assert await second.recover() == 1
        assert await second.recover() == 0
        assert await count(second, Ticket) == 1
        # a re-delivery of the same message after the restart is still a duplicate
        again = message(group_chat("新联社区平安工作群"), "张阿姨", REPORT)
        again.msg_id = (await rows(second, InboxMessage))[0].msg_id
        assert await second.receive(again) is None
        assert await count(second, Ticket) == 1
    finally:
        await second.close()
