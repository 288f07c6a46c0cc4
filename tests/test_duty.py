"""Duty in chat across a simulated day and night (injected clock): 值班, 请假, 交班/接班, the
automatic hand-overs, and night reports that wake nobody unless urgent."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from pingan.scheduler import sweep
from tests.conftest import COORD, TZ
from tests.test_roster import WEEKLY, load, write

EBIKE = "锦城花园3栋楼道里有人给电瓶车充电"  # → grid 2, 周网格
GAS = "幸福里5栋2单元闻到好大一股煤气味"  # urgent → grid 3, 吴网格


def at(hh: int, mm: int = 0, day: int = 8) -> datetime:
    return datetime(2019, 4, day, hh, mm, tzinfo=TZ)  # 2019-04-08 is a Monday


@pytest.fixture
async def rostered(h, tmp_path):
    await load(h.bot, write(tmp_path, WEEKLY))
    return h


async def tick(h, when: datetime) -> str:
    h.clock.set(when)
    await sweep(h.bot)
    await h.worker.run_once()
    return "\n".join(t for _, t in h.new())


def said(out) -> str:
    return "\n".join(t for _, t in out)


async def test_who_is_on_duty_now_and_next(rostered):
    h = rostered
    out = said(await h.say("王书记", "值班"))
    assert "新联社区 现在（09:00）：值班员 赵社工、带班领导 王书记" in out
    assert "下一班 20:00 起：值班员 王书记、带班领导 陈主任" in out
    h.clock.set(at(23, 0))
    assert "现在（23:00）：值班员 王书记、带班领导 陈主任" in said(await h.say("赵社工", "值班"))
    assert "仅限工作人员" in said(await h.say("张阿姨", "值班", group=None))


async def test_leave_sends_the_holders_reminders_to_the_duty_person(rostered):
    h = rostered
    out = said(await h.say("张阿姨", EBIKE, group=None))  # #1, 周网格, on scene by 09:15
    assert "备岗：赵社工" in out  # the first post's backup is the roster's duty person (the file says 王书记)
    out = said(await h.say("周网格", "请假 4月8日-4月9日"))
    assert "已登记 周网格 请假：04月08日 00:00 至 04月10日 00:00" in out
    assert "您手上的 1 件工单（#1）在此期间的提醒改发 赵社工" in out
    out = await tick(h, at(9, 8))
    assert "到场提醒 #1" in out and "@赵社工" in out and "@周网格" not in out
    async with h.bot.sessions() as s:
        from pingan.models import Leave

        assert len((await s.exec(select(Leave))).all()) == 1
    out = said(await h.say("周网格", "请假 4月31日"))
    assert "请假时间没看懂" in out


async def test_hand_over_by_hand_and_at_the_shift_change(rostered):
    h = rostered
    await h.say("张阿姨", EBIKE, group=None)  # #1
    h.clock.set(at(19, 50))
    out = said(await h.say("赵社工", "交班"))
    assert "🔄【交班】新联社区 19:50（赵社工交班）" in out and "在办 1 件，超期 1 件" in out
    assert "#1 " in out and "周网格（超期）" in out and "@王书记" in out and "@陈主任" in out
    out = await tick(h, at(20, 0))  # the rostered night shift starts: the automatic one
    assert "🔄【交班】新联社区 20:00" in out and "@王书记" in out and "@陈主任" in out
    assert "交班" not in await tick(h, at(20, 1))  # once
    out = said(await h.say("王书记", "接班"))
    assert "✅ 王书记 已接班。当前班次：值班员 王书记、带班领导 陈主任" in out


async def test_a_night_report_waits_for_the_morning_hand_over(rostered):
    h = rostered
    h.clock.set(at(23, 0))
    await h.say("张阿姨", EBIKE, group=None)  # #1 at night, not urgent
    assert "@周网格" not in await tick(h, at(23, 30))
    out = await tick(h, at(7, 0, day=9))
    assert "🌙 昨夜上报 1 件，其中紧急 0 件。" in out
    assert "🌙 夜间非紧急上报 1 件：#1" in out and "@周网格" in out
    assert "夜间非紧急" not in await tick(h, at(7, 5, day=9))  # once


async def test_the_first_post_of_a_night_report(rostered):
    h = rostered
    h.clock.set(at(23, 0))
    out = await h.say("张阿姨", EBIKE, group=None)
    group = "\n".join(t for c, t in out if c == COORD)
    assert "【隐患 #1】" in group and "@" not in group  # nobody woken for it
    h.clock.set(at(2, 0, day=9))
    out = await h.say("刘婆婆", GAS, group=None)
    group = "\n".join(t for c, t in out if c == COORD)
    # the holder, the lead on duty at night (陈主任) and the night's duty person (王书记)
    assert "🚨燃气泄漏【紧急隐患 #2】" in group and all(f"@{n}" in group for n in ("吴网格", "陈主任", "王书记"))
