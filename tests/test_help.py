"""帮助 tells each person what they may type here: officials also get 今日统计 / 超期 / 台账."""

from tests.conftest import COORD, STREET

DISTRICT = "都江堰市平安社区工作组"


async def test_officials_help_lists_their_queries_and_residents_help_does_not(h):
    for who, group, unit in (("陈主任", STREET, "永丰街道"), ("刘组长", DISTRICT, "都江堰市"),
                             ("王书记", COORD, "新联社区")):
        [(_, text)] = await h.say(who, "帮助", group=group)
        assert "到场 #12" in text  # the worker keywords stay
        assert f"统计{unit}" in text
        for word in ("今日统计", "超期", "台账"):
            assert f"• {word} ——" in text
    # what the help promises answers, with the group's unit
    [(_, text)] = await h.say("陈主任", "超期", group=STREET)
    assert "永丰街道 超期工单" in text
    for group in (None, COORD):
        [(_, text)] = await h.say("张阿姨", "帮助", group=group)
        assert "上报隐患" in text and "今日统计" not in text and "台账" not in text


async def test_officials_help_says_where_the_ledger_comes_as_a_summary(h):
    [(_, text)] = await h.say("陈主任", "帮助", group=STREET)
    assert "• 台账 —— 本月台账（Excel 文件）" in text
    h.bot.settings.scheduler.file_platforms = []
    [(_, text)] = await h.say("陈主任", "帮助", group=STREET)
    assert "• 台账 —— 本月台账汇总（本平台不能发文件）" in text
