"""The command line as a clerk types it: dates in any usual form, mistakes told in one line, no tracebacks."""

from __future__ import annotations

import re
from datetime import date

import pytest
import typer
from typer.testing import CliRunner

from pingan.cli import app, parse_date


@pytest.fixture
def run(tmp_path, monkeypatch):
    """`pingan ARGS --db <fresh SQLite>` → (exit code, output with typer's error box and colours removed)."""
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.chdir(tmp_path)  # no ./config.toml

    def invoke(*args: str) -> tuple[int, str]:
        r = CliRunner().invoke(app, [*args, "--db", db])
        plain = re.sub(r"\x1b\[[0-9;]*m", "", r.output)
        return r.exit_code, re.sub(r"[\s│╭╮╰╯─]+", "", plain)  # the box wraps long messages

    return invoke


@pytest.mark.parametrize("text", ["2026-11-24", "2026/11/24", "2026.11.24", "20261124", "2026年11月24日", " 2026-11-24 "],
                         ids=["dash", "slash", "dot", "digits", "chinese", "spaces"])
def test_parse_date_takes_the_usual_forms(text):
    assert parse_date(text) == date(2026, 11, 24)
    assert parse_date("2026/1/5") == date(2026, 1, 5)


@pytest.mark.parametrize("text,why", [("24/11/2026", "日期格式不对"), ("tomorrow", "日期格式不对"),
                                      ("2026-11", "日期格式不对"), ("2026-02-30", "没有 2026-02-30 这一天")],
                         ids=["day-first", "word", "no-day", "no-such-day"])
def test_parse_date_refuses_the_rest(text, why):
    with pytest.raises(typer.BadParameter, match=why):
        parse_date(text)


def test_date_options_take_slashes_and_dots(run, tmp_path):
    code, out = run("digest", "--unit", "新联社区", "--date", "2026/11/24")
    assert code == 0, out
    assert "新联社区平安日报】2026-11-24" in out
    code, out = run("export", str(tmp_path / "x.xlsx"), "--unit", "永丰街道", "--from", "2019.04.01", "--to", "20190430")
    assert code == 0, out
    assert "已导出0件" in out and (tmp_path / "x.xlsx").exists()


@pytest.mark.parametrize("args,option,why", [
    (["digest", "--unit", "新联社区", "--date", "2026-11-31"], "--date", "没有2026-11-31这一天，请检查月份和日期"),
    (["digest", "--unit", "新联社区", "--date", "24.11.2026"], "--date", "日期格式不对，请写成2026-11-24"),
    (["export", "x.xlsx", "--unit", "新联社区", "--from", "11月1日", "--to", "2026-11-30"], "--from", "日期格式不对，请写成2026-11-24"),
    (["export", "x.xlsx", "--unit", "新联社区", "--from", "2026-11-01", "--to", "2026-11"], "--to", "日期格式不对，请写成2026-11-24"),
])
def test_a_bad_date_names_the_option_without_a_traceback(run, args, option, why):
    code, out = run(*args)
    assert code == 2
    assert f"Invalidvaluefor'{option}':{why}" in out
    assert "Traceback" not in out and "isoformat" not in out


def test_export_refuses_a_reversed_range(run, tmp_path):
    code, out = run("export", str(tmp_path / "x.xlsx"), "--unit", "新联社区", "--from", "2026-11-30", "--to", "2026-11-01")
    assert code == 2
    assert "'--from'/'--to':开始日期晚于结束日期，请对调" in out
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.parametrize("unit,says", [
    ("新联社区第一网格", "新联社区第一网格是网格，只能按社区、街道、区（县）或市统计，如新联社区"),
    ("xinlian-g2", "新联社区第二网格是网格，只能按社区、街道、区（县）或市统计，如新联社区"),
    ("都江堰市消防救援大队", "都江堰市消防救援大队是职能部门，只能按社区、街道、区（县）或市统计"),
], ids=["grid-by-name", "grid-by-id", "department"])
def test_digest_and_export_refuse_a_grid_or_a_department(run, tmp_path, unit, says):
    """Tickets are counted by community: a grid's digest would be all zeros."""
    code, out = run("digest", "--unit", unit, "--date", "2019-04-08")
    assert code == 2 and f"Invalidvaluefor'--unit':{says}" in out
    code, out = run("export", str(tmp_path / "g.xlsx"), "--unit", unit, "--from", "2019-04-01", "--to", "2019-04-30")
    assert code == 2 and says in out
    assert not (tmp_path / "g.xlsx").exists()


def test_digest_and_export_are_listed_in_help(run):
    """They are the CLI's own commands: no import that fails quietly can drop them from --help."""
    r = CliRunner().invoke(app, ["--help"])
    assert r.exit_code == 0 and {"digest", "export"} <= set(re.findall(r"│ (\w+)\s", r.output))


def test_unknown_unit_is_told_in_chinese(run):
    code, out = run("digest", "--unit", "幸福社区")
    assert code == 2 and "找不到单位「幸福社区」，请写名称或编号，如新联社区" in out


def test_parser_corrections_writes_jsonl(run, tmp_path):
    code, out = run("parser", "corrections", "--since", "2026/11/01", str(tmp_path / "c.jsonl"))
    assert code == 0, out
    assert "0条更正已写入" in out and (tmp_path / "c.jsonl").read_text() == ""
