"""Keyword forms workers actually type."""

import pytest

from pingan.config import KeywordSettings
from pingan.handlers.commands import parse_command

K = KeywordSettings()


@pytest.mark.parametrize("text,name,ticket,arg", [
    ("到场 #12", "on_scene", 12, ""),
    ("#12 到场", "on_scene", 12, ""),
    ("#12到场", "on_scene", 12, ""),
    ("到场#12", "on_scene", 12, ""),
    ("＃12 到场", "on_scene", 12, ""),
    ("到场 ＃１２", "on_scene", 12, ""),
    ("到场12", "on_scene", 12, ""),
    ("到场 12", "on_scene", 12, ""),
    ("已到 #7", "on_scene", 7, ""),
    ("已到场 #7", "on_scene", 7, ""),
    ("收到 #3", "ack", 3, ""),
    ("签收#3", "ack", 3, ""),
    ("整改中 #3", "progress", 3, ""),
    ("办结 #12 已清理楼道", "resolve", 12, "已清理楼道"),
    ("已解决#12,已清理", "resolve", 12, "已清理"),
    ("呼叫 #5", "escalate", 5, ""),
    ("上报 #5 需要街道协调", "escalate", 5, "需要街道协调"),
    ("转 #5 消防", "transfer", 5, "消防"),
    ("派单 #5 燃气公司", "transfer", 5, "燃气公司"),
    ("辦結 #8 已清理雜物", "resolve", 8, "已清理雜物"),  # traditional script; the words kept as written
    ("办结 #8 已清理，谢谢", "resolve", 8, "已清理，谢谢"),  # full-width punctuation kept
    ("到场3号", "on_scene", 3, ""),
    ("3号到了", "on_scene", 3, ""),
    ("#5 搞定了", "resolve", 5, ""),
    ("查詢 #1", "query", 1, ""),
    ("退回 #5 不属于本辖区", "return_", 5, "不属于本辖区"),
    ("定级 #5 大", "grade", 5, "大"),
    ("查询 #5", "query", 5, ""),
    ("进度#5", "query", 5, ""),
    ("撤销 #5", "withdraw", 5, ""),
    ("不满意", "unsatisfied", None, ""),
    ("满意", "satisfied", None, ""),
    ("1", "satisfied", None, ""),
    ("2", "unsatisfied", None, ""),
    ("帮助", "help", None, ""),
    ("@平安小助手 到场 #3", "on_scene", 3, ""),
    ("到场", "on_scene", None, ""),
])
def test_forms(text, name, ticket, arg):
    cmd = parse_command(text, K)
    assert cmd is not None and (cmd.name, cmd.ticket_id, cmd.arg) == (name, ticket, arg)


@pytest.mark.parametrize("text", ["1号楼楼道有电瓶车在充电", "锦城花园3栋楼道堆满杂物", "今天天气不错", "12栋电梯坏了"])
def test_reports_are_not_commands(text):
    assert parse_command(text, K) is None


def test_keywords_come_from_config():
    k = KeywordSettings(on_scene=["到了"])
    assert parse_command("到了 #4", k).name == "on_scene"
    assert parse_command("到场 #4", k) is None


@pytest.mark.parametrize("text, more", [
    ("到场 #7 #8", [8]), ("到场 #7、#8 和 #9", [8, 9]),
    ("退回 #8 与 #7 重复", []), ("说明 #19 和 #14 是同一栋楼", []),
])
def test_several_numbers_are_several_tickets_only_when_listed(text, more):
    assert parse_command(text, K).more_ids == more
