"""The duty roster: imported from the 值班表 a community keeps, and "who is on duty" following it
across a simulated day and night (injected clock)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pingan.cli import app
from pingan.config import DATA_DIR
from pingan.errors import ConfigError
from pingan.roster.importer import import_shifts
from tests.conftest import TZ

WEEKLY = """单位,日期,班次,开始,结束,姓名,职务
新联社区,每周一,白班,08:00,20:00,赵社工,值班员
新联社区,每周一,白班,08:00,20:00,王书记,带班领导
新联社区,每周一,夜班,20:00,08:00,王书记,值班员
新联社区,每周一,夜班,20:00,8:00,陈主任,带班领导
"""


def write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, "utf-8")
    return p


async def load(bot, path: Path, unit: str | None = None) -> str:
    async with bot.sessions() as session:
        summary = await import_shifts(session, path, unit, bot.clock.now())
        await session.commit()
    await bot.refresh_org()
    return summary


async def test_every_bad_row_is_named_and_nothing_is_written(bot, tmp_path):
    bad = write(tmp_path, WEEKLY + "新联社区,2019-02-30,夜班,20:00,08:00,王书记,值班员\n"
                                   "新联社区,2019-04-09,白班,25:00,08:00,无名氏,班长\n"
                                   "火星社区,2019-04-09,白班,08:00,20:00,王书记,值班员\n")
    with pytest.raises(ConfigError) as err:
        await load(bot, bad)
    text = str(err.value)
    assert "第6行「日期」：没有「2019-02-30」这一天" in text
    assert "第7行「开始」：「25:00」不是时间" in text
    assert "第7行「姓名」：「无名氏」不是本单位的工作人员" in text
    assert "第7行「职务」：「班长」不是职务" in text
    assert "第8行「单位」：未知单位「火星社区」" in text
    assert bot.org.roster.units == set()  # the good rows before them were not written either


async def test_a_file_without_the_needed_columns_is_refused_by_its_header(bot, tmp_path):
    with pytest.raises(ConfigError, match="缺少列：开始、结束"):
        await load(bot, write(tmp_path, "日期,姓名\n2019-04-09,王书记\n"), unit="xinlian")


async def test_on_duty_follows_the_weekly_rotation_across_day_and_night(bot, clock, tmp_path):
    await load(bot, write(tmp_path, WEEKLY))
    org = bot.org
    names = lambda at: (org.on_duty("xinlian", at).name, org.lead("xinlian", at).name)  # noqa: E731
    monday = datetime(2019, 4, 8, tzinfo=TZ)  # the fixture's clock: Monday 09:00
    assert names(monday.replace(hour=9)) == ("赵社工", "王书记")
    assert names(None) == ("赵社工", "王书记")  # "now" is the injected clock's
    assert names(monday.replace(hour=21)) == ("王书记", "陈主任")
    assert names(monday + timedelta(days=1, hours=7, minutes=59)) == ("王书记", "陈主任")  # past midnight
    # Tuesday day: no shift in the rotation → the organisation file's flags (王书记 lead and on duty)
    assert names(monday + timedelta(days=1, hours=9)) == ("王书记", "王书记")
    clock.set(monday.replace(hour=21))
    assert bot.org.on_duty("xinlian").name == "王书记"


async def test_a_dated_shift_replaces_the_rotation_that_day(bot, tmp_path):
    await load(bot, write(tmp_path, WEEKLY))
    await load(bot, write(tmp_path, "日期,开始,结束,姓名\n2019-04-15,08:00,20:00,王书记\n", "dated.csv"), unit="xinlian")
    org = bot.org
    assert org.on_duty("xinlian", datetime(2019, 4, 15, 10, tzinfo=TZ)).name == "王书记"
    assert org.on_duty("xinlian", datetime(2019, 4, 8, 10, tzinfo=TZ)).name == "赵社工"  # other Mondays unchanged
    assert org.on_duty("xinlian", datetime(2019, 4, 15, 21, tzinfo=TZ)).name == "王书记"  # no night that day: flag


async def test_xlsx_with_times_and_dates_as_excel_keeps_them(bot, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["日期", "班次", "开始", "结束", "姓名", "职务"])
    ws.append([datetime(2019, 4, 9), "夜班", datetime(2019, 4, 9, 22).time(), datetime(2019, 4, 9, 6).time(), "赵社工", "值班员"])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    assert "1 个班次" in await load(bot, path, unit="新联社区")
    assert bot.org.on_duty("xinlian", datetime(2019, 4, 10, 5, tzinfo=TZ)).name == "赵社工"


def test_cli_import_and_show(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    def run(*args):
        r = CliRunner().invoke(app, [*args, "--db", db])
        return r.exit_code, re.sub(r"\x1b\[[0-9;]*m", "", r.output)

    assert run("org", "import", str(DATA_DIR / "demo_org.toml"))[0] == 0
    code, out = run("roster", "import", str(write(tmp_path, WEEKLY.replace("20:00,8:00", "20:00,八点"))))
    assert code == 1 and "第5行「结束」：「八点」不是时间" in out and "未写入任何数据" in out
    code, out = run("roster", "import", str(write(tmp_path, WEEKLY)))
    assert code == 0 and "4 个班次" in out
    code, out = run("roster", "show", "--unit", "新联社区", "--date", "2019-04-15")
    assert code == 0
    assert "夜班 20:00–08:00（次日） 带班领导 陈主任" in out and "白班 08:00–20:00 值班员 赵社工" in out
    assert "⚠️ 无人值班：00:00–08:00" in out  # no Sunday night in the rotation
    code, out = run("roster", "show", "--unit", "新联社区", "--date", "2019-04-16")
    assert "无排班" in out


async def test_the_hours_nobody_is_rostered(bot, tmp_path):
    await load(bot, write(tmp_path, WEEKLY))
    roster = bot.org.roster
    hhmm = lambda gaps: [(a.strftime("%H:%M"), b.strftime("%d %H:%M")) for a, b in gaps]  # noqa: E731
    assert hhmm(roster.gaps("xinlian", datetime(2019, 4, 8).date())) == [("00:00", "08 08:00")]
    assert hhmm(roster.gaps("xinlian", datetime(2019, 4, 9).date())) == [("08:00", "10 00:00")]  # after the night
