"""The ledger (台账) export, and officials' chat queries 今日统计 / 超期 / 台账."""

from __future__ import annotations

import asyncio
import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from pingan.bot.console import group_chat, message, private_chat
from pingan.models import OutboxMessage
from pingan.reports.ledger import HEADERS, export_ledger
from tests.conftest import COORD, STREET
from tests.test_digest import DAY, day, slow_reports, tallies  # noqa: F401  (the hand-counted fixture day)


@pytest.fixture
def files(bot, tmp_path):
    bot.settings.scheduler.files_dir = str(tmp_path / "files")
    return tmp_path


async def test_xlsx_has_one_row_per_ticket_and_a_summary(day, files):  # noqa: F811
    path = files / "xinlian.xlsx"
    seen = []
    s = await export_ledger(day, "xinlian", date(2019, 4, 1), DAY, path, progress=seen.append)
    assert s.rows == 10 and len(seen) == 10
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames == ["汇总", "台账"]
    rows = list(wb["台账"].values)
    assert rows[0][0] == "新联社区 平安社区台账    统计期间：2019-04-01 至 2019-04-08    生成时间：2019-04-08 18:00"
    assert list(rows[1]) == HEADERS
    by_id = {r[0]: dict(zip(HEADERS, r)) for r in rows[2:]}
    assert sorted(by_id) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]  # #10 is 祥龙社区's
    r = by_id[3]
    assert (r["来源"], r["类别"], r["社区"], r["状态"], r["是否超期"], r["责任人"]) == (
        "居民上报", "治安", "新联社区", "已派发", "是", "周网格")
    assert by_id[4]["办结时间"] == datetime(2019, 4, 8, 9, 40) and by_id[4]["是否超期"] == "否"  # a date cell
    assert by_id[3]["到场时间"] is None
    assert by_id[11]["责任部门"] == "都江堰市住建局（房管）"
    assert by_id[3]["反映内容"] == "fixture 3"  # the resident's words, so a row says what was reported
    summary = {row[0]: row[1] for row in load_workbook(path)["汇总"].values}
    assert summary["统计期间"] == "2019-04-01 至 2019-04-08" and summary["状态：已派发"] == 2


async def test_the_xlsx_prints_as_an_office_hands_it_in(day, files):  # noqa: F811
    """Title row, header frozen and repeated on every A4 landscape page, page numbers in the footer."""
    path = files / "xinlian.xlsx"
    await export_ledger(day, "xinlian", date(2019, 4, 1), DAY, path)
    sheet = load_workbook(path)["台账"]
    assert sheet.freeze_panes == "B3" and sheet.auto_filter.ref == "A2:AB2"
    assert "A1:AB1" in {str(r) for r in sheet.merged_cells.ranges} and sheet["A1"].font.b and sheet["A2"].font.b
    assert sheet.column_dimensions["G"].width == 40 and sheet.column_dimensions["X"].width == 24  # 反映内容, 退回原因
    assert sheet.cell(6, HEADERS.index("上报时间") + 1).number_format == "yyyy-mm-dd hh:mm"
    setup = sheet.page_setup
    assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == ("landscape", 9, 1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.print_title_rows == "$2:$2"
    assert sheet.oddFooter.center.text == "第 &P 页，共 &N 页"
    assert sheet.oddFooter.left.text == "新联社区 平安社区台账 2019-04-01 至 2019-04-08"
    summary = load_workbook(path)["汇总"]
    assert summary.page_setup.paperSize == 9 and summary.oddFooter.center.text == "第 &P 页，共 &N 页"


def summary_table(path) -> dict[str, dict[str, int]]:
    """The 汇总 sheet's category table: {category: {column: n}}."""
    rows = list(load_workbook(path)["汇总"].values)
    top = next(i for i, r in enumerate(rows) if r[0] == "类别")
    heads = rows[top][1:]
    table = {}
    for r in rows[top + 1:]:
        table[r[0]] = dict(zip(heads, r[1:]))
        if r[0] == "合计":
            return table


async def test_the_summary_sheet_counts_each_category_as_officials_do(day, files):  # noqa: F811
    path = files / "xinlian.xlsx"
    await export_ledger(day, "xinlian", date(2019, 4, 1), DAY, path)
    table = summary_table(path)
    assert list(table) == [c.name for c in day.taxonomy.categories] + ["合计"]  # the 9 categories and 其他
    cols = ("发现", "已化解", "待化解", "呼叫上级", "社区自处理", "退回/撤销")
    expect = {  # hand-counted from the fixture (tests/test_digest.py)
        "消防": (3, 2, 0, 0, 2, 1),  # #1 closed, #4 resolved, #6 withdrawn
        "设施": (2, 1, 1, 2, 0, 0),  # #2 called up and pending, #11 sent to 住建局 and resolved
        "治安": (1, 0, 1, 0, 0, 0), "矛盾纠纷": (1, 0, 1, 0, 0, 0), "食品安全": (1, 0, 1, 1, 0, 0),
        "交通安全": (1, 0, 1, 0, 0, 0), "生活环境": (1, 0, 0, 0, 0, 1),  # #7 returned
        "重点人群": (0,) * 6, "安全生产": (0,) * 6, "其他": (0,) * 6,
        "合计": (10, 3, 5, 3, 2, 2),
    }
    assert {k: tuple(v[c] for c in cols) for k, v in table.items()} == expect


async def test_return_reasons_have_their_own_column(day, h, files):  # noqa: F811
    await h.say("李网格", "退回 #9 不属于本辖区")
    await h.say("王书记", "退回 #9 同意")  # a grid worker's 退回 closes once the community lead agrees (复核)
    await h.say("周网格", "到场 #3")
    await h.say("周网格", "办结 #3 已加装门禁")
    path = files / "xinlian.xlsx"
    await export_ledger(day, "xinlian", date(2019, 4, 1), DAY, path)
    rows = list(load_workbook(path, read_only=True)["台账"].values)
    by_id = {r[0]: dict(zip(HEADERS, r)) for r in rows[2:]}
    assert (by_id[9]["状态"], by_id[9]["退回原因"], by_id[9]["办结说明"]) == ("已退回", "不属于本辖区（社区复核同意）", None)
    assert (by_id[3]["办结说明"], by_id[3]["退回原因"]) == ("已加装门禁", None)


async def test_digest_and_ledger_count_alike_at_the_same_moment(day, h, files):  # noqa: F811
    """The campaign's ledger and the digest's 累计 are one definition (reports/figures.py), through a
    派单 (which the ledger once left out of 呼叫上级), a 呼叫 in chat and a 退回."""
    async def both():
        t = (await tallies(day))["xinlian"]
        s = await export_ledger(day, "xinlian", date(2019, 4, 1), DAY, files / "x.xlsx")
        digest = (t.found, t.resolved_total, t.pending, t.called_up_total, t.self_handled)
        ledger = s.total
        assert (ledger.found, ledger.resolved, ledger.pending, ledger.called_up, ledger.self_handled) == digest
        assert {c: [f.found, f.pending] for c, f in s.figures.items() if f.found} == \
               {c: v[1:] for c, v in t.by_cat.items() if v[1]}
        [(_, said)] = await h.say("王书记", "台账")
        assert f"呼叫上级 {t.called_up_total} 件" in said  # the chat's ledger says what the digest says
        [(_, said)] = await h.say("王书记", "今日统计")
        assert f"呼叫上级 {t.called_up_total} 个" in said
        return digest

    assert await both() == (10, 3, 5, 3, 2)  # #11 went to a department: 呼叫上级 in both
    await h.say("周网格", "呼叫 #3 需要社区协调")
    assert await both() == (10, 3, 5, 4, 2)
    await h.say("李网格", "退回 #9 不属于本辖区")
    await h.say("王书记", "退回 #9 同意")  # a grid worker's 退回 closes once the community lead agrees (复核)
    assert await both() == (10, 3, 4, 4, 2)
    h.clock.advance(minutes=5)
    await h.say("王书记", "办结 #3 已处理")
    assert await both() == (10, 4, 3, 4, 2)  # resolved after a 呼叫: not 社区自处理


async def test_street_scope_and_csv(day, files):  # noqa: F811
    path = files / "d.csv"
    s = await export_ledger(day, "dujiangyan", date(2019, 4, 8), DAY, path, as_csv=True)
    assert s.rows == 7  # today's tickets of both streets
    with open(path, encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADERS and len(rows) == 8 and {r[7] for r in rows[1:]} == {"新联社区", "祥龙社区"}
    assert all(len(r[1]) == 16 and r[1].startswith("2019-04-08 ") for r in rows[1:])  # text dates in a CSV
    s = await export_ledger(day, "huayang", date(2019, 4, 1), DAY, files / "h.csv", as_csv=True)
    assert s.rows == 1


async def test_officials_query_today_and_overdue_in_group(day, h, files):  # noqa: F811
    out = await h.say("王书记", "今日统计")
    assert len(out) == 1 and out[0][0] == COORD
    assert "新联社区 平安日报" in out[0][1] and "当日新增 6 件" in out[0][1] and "@周网格" in out[0][1]
    out = await h.say("陈主任", "超期", group=STREET)
    assert "永丰街道 超期工单" in out[0][1] and "#3" in out[0][1] and "#9" in out[0][1]


async def test_overdue_query_lists_past_the_digest_cap_urgent_first(day, h, files):  # noqa: F811
    from pingan.models import Ticket

    h.bot.settings.scheduler.overdue_list_cap = 1  # the digests list one; 超期 is asked for the list
    async with h.bot.sessions() as s:
        (await s.get(Ticket, 9)).urgent = True
        await s.commit()
    [(_, digest)] = await h.say("王书记", "今日统计")
    assert "🚨#9" in digest and "#3" not in digest and "共 2 件，以上是最紧急的 1 件；全部请看台账" in digest
    [(_, overdue)] = await h.say("王书记", "超期")
    assert overdue.index("🚨#9") < overdue.index("#3 ")  # #3 is older, but #9 is urgent


async def test_ledger_in_chat_is_a_file_where_the_platform_takes_files(day, h, files):  # noqa: F811
    await h.say("王书记", "台账")
    outbound = h.sender.delivered[-1][2]
    assert outbound.file and Path(outbound.file).exists() and "共 10 件，曾超期" in outbound.plain()
    h.bot.settings.scheduler.file_platforms = []
    out = await h.say("王书记", "台账")
    assert "共 10 件" in out[0][1] and "pingan export" in out[0][1]
    assert h.sender.delivered[-1][2].file is None


async def test_an_officials_query_holds_up_no_report(day, h, files):  # noqa: F811
    """台账 is counted after its message's transaction: a report sent while it is counted is handled
    (ticket made, receipt queued) before the ledger's answer."""
    await slow_reports(day)
    query = asyncio.create_task(h.bot.handle(message(group_chat(COORD), "王书记", "台账")))
    await asyncio.sleep(0.01)
    report = await h.bot.handle(message(private_chat("张阿姨"), "张阿姨", "锦城花园3栋楼道里有人给电瓶车充电"))
    assert any("已受理" in o.plain() for o in report.outbound)
    assert not query.done()  # still counting
    await query
    async with day.sessions() as s:
        rows = (await s.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    texts = ["".join(p.get("text", "") for p in r.payload["parts"]) for r in rows]
    receipt = next(i for i, t in enumerate(texts) if "已受理" in t)
    answer = next(i for i, t in enumerate(texts) if "台账】" in t)
    assert receipt < answer == len(texts) - 1


async def test_residents_may_not_query(day, h, files):  # noqa: F811
    out = await h.say("张阿姨", "今日统计")
    assert "仅限工作人员" in out[0][1]


def test_cli_export_and_digest(tmp_path, monkeypatch):
    """`pingan export` / `pingan digest` through typer on a fresh SQLite database."""
    from typer.testing import CliRunner

    from pingan.cli import app

    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["export", str(tmp_path / "x.xlsx"), "--unit", "新联社区", "--from", "2019-04-01",
                                 "--to", "2019-04-30", "--db", db])
    assert r.exit_code == 0, r.output
    assert "已导出 0 件" in r.output and (tmp_path / "x.xlsx").exists()
    r = CliRunner().invoke(app, ["digest", "--unit", "yongfeng", "--date", "2019-04-08", "--db", db])
    assert r.exit_code == 0, r.output
    assert "永丰街道 平安日报" in r.output and "各单位排名" in r.output


def test_the_summary_table_adds_up_under_another_taxonomy():
    """A category the configured taxonomy lacks (tickets filed under an older one) gets its own row,
    so the rows still add up to 合计."""
    from pingan.reports.figures import Figures
    from pingan.reports.ledger import Summary
    from pingan.taxonomy import load_taxonomy

    longgang = load_taxonomy(Path(__file__).parents[1] / "pingan" / "data" / "taxonomy_longgang.toml")
    s = Summary(15, figures={"fire": Figures(found=2, resolved=2, self_handled=2),
                             "security": Figures(found=1, pending=1)})
    table = s.table(longgang)
    assert [r[0] for r in table] == ["类别"] + [c.name for c in longgang.categories] + ["security", "合计"]
    assert table[-1][1:] == [3, 2, 1, 0, 2, 0] == [sum(r[i] for r in table[1:-1]) for i in range(1, 7)]
