"""Command line: serve, chat, demo, parse, db upgrade, org import, digest, export, roster import/show."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Optional

import typer

from pingan.errors import ConfigError
from pingan.web.cli import register as register_web

app = typer.Typer(help="pingan — 平安社区 chat bot", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="database schema", no_args_is_help=True)
org_app = typer.Typer(help="organisation (units, people, groups)", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
parser_app = typer.Typer(help="the parser's data", no_args_is_help=True)
app.add_typer(parser_app, name="parser")

ConfigOpt = typer.Option(None, "--config", "-c", help="config.toml (default: $PINGAN_CONFIG or ./config.toml)")

# 2026-11-24, 2026/11/24, 2026.11.24, 2026年11月24日 or 20261124: what clerks type or copy from Excel
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{4})(\d{2})(\d{2})")


def parse_date(value: str | date) -> date:
    """The parser of every date option: typer names the option in front of the message."""
    if isinstance(value, date):
        return value
    text = str(value).strip()
    m = _DATE.fullmatch(text)
    if m is None:
        raise typer.BadParameter("日期格式不对，请写成 2026-11-24")
    y, mo, d = (int(g) for g in m.groups() if g is not None)
    try:
        return date(y, mo, d)
    except ValueError:
        raise typer.BadParameter(f"没有 {text} 这一天，请检查月份和日期") from None


def DateOpt(default, *names: str, help: str):  # named like ConfigOpt: used where typer.Option would be
    return typer.Option(default, *names, parser=parse_date, metavar="YYYY-MM-DD", help=help)


def _settings(config: Optional[Path], db: Optional[str] = None):
    from pingan.config import load_settings

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        typer.secho(f"配置错误 / config error:\n{exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    if db:
        settings.database.url = db
    return settings


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    if not verbose:  # one line per sweep a minute drowns what an operator needs to see
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


@app.command()
def serve(config: Optional[Path] = ConfigOpt, host: Optional[str] = None, port: Optional[int] = None,
          verbose: bool = typer.Option(False, "--verbose", "-v")) -> None:
    """Run the bot server (/healthz, platform adapters, outbox, scheduler)."""
    from pingan.bot.app import Bot
    from pingan.bot.server import serve as run_server

    _logging(verbose)
    settings = _settings(config)

    async def main() -> None:
        bot = await Bot.create(settings)
        try:
            await run_server(bot, host or settings.server.host, port if port is not None else settings.server.port)
        finally:
            await bot.close()

    try:
        _run_server_loop(main())
    except ConfigError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


def _run_server_loop(coro) -> None:
    """The server's event loop: uvloop when it is installed (`pip install 'pingan[fast]'`), which
    takes the wire's share of each message down; asyncio's own otherwise."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(coro)


@app.command()
def demo(config: Optional[Path] = ConfigOpt,
         db: Optional[str] = typer.Option(None, help="database URL (default: a fresh temporary SQLite file)")) -> None:
    """Replay a scripted day (report → @grid worker → 到场 → 办结 → resident told; 呼叫; 撤销; refusals)."""
    from pingan.bot.app import Bot
    from pingan.bot.demo import run_demo
    from pingan.clock import FrozenClock

    settings = _settings(config)
    with tempfile.TemporaryDirectory() as tmp:
        settings.database.url = db or f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        clock = FrozenClock(datetime(2019, 4, 8, 8, 0), settings.bot.timezone)

        async def main() -> None:
            bot = await Bot.create(settings, clock)
            try:
                await run_demo(bot, clock, typer.echo)
            finally:
                await bot.close()

        asyncio.run(main())


@app.command()
def chat(config: Optional[Path] = ConfigOpt, db: Optional[str] = typer.Option(None, help="database URL")) -> None:
    """Talk to the bot in a terminal, as a resident or a worker (type /help)."""
    from pingan.bot.chat import run_chat

    settings = _settings(config, db)
    asyncio.run(run_chat(settings))


@app.command()
def parse(
    text: Optional[str] = typer.Argument(None, help="message text to parse"),
    jsonl: bool = typer.Option(False, "--jsonl", help="read JSON lines with a 'text' field from stdin"),
) -> None:
    """Parse a message into category/item/location/urgency (prints JSON)."""
    from pingan.parser import parse as do_parse
    from pingan.parser.jsonl import run_jsonl

    if jsonl:
        run_jsonl(sys.stdin, sys.stdout)
        return
    if text is None:
        raise typer.BadParameter("give the text to parse, or --jsonl to read from stdin")
    typer.echo(json.dumps(do_parse(text).to_dict(), ensure_ascii=False))


@db_app.command("upgrade")
def db_upgrade(config: Optional[Path] = ConfigOpt, db: Optional[str] = typer.Option(None, help="database URL")) -> None:
    """Apply database migrations (Alembic) up to the latest."""
    from pingan.models.db import upgrade_sync

    settings = _settings(config, db)
    upgrade_sync(settings.database.url)
    typer.echo(f"database is up to date: {settings.database.url}")


inbox_app = typer.Typer(help="stored messages", no_args_is_help=True)
app.add_typer(inbox_app, name="inbox")


@inbox_app.command("retry")
def inbox_retry(ids: list[int] = typer.Argument(None, help="inbox ids (default: every parked message)"),
                config: Optional[Path] = ConfigOpt,
                db: Optional[str] = typer.Option(None, help="database URL")) -> None:
    """Handle parked messages (a handler error parked them) again, e.g. after a fix."""
    from pingan.bot.app import Bot

    async def main() -> tuple[int, int]:
        bot = await Bot.create(_settings(config, db), load_org=False)
        try:
            return await bot.retry_parked(ids or None)
        finally:
            await bot.close()

    ran, failed = asyncio.run(main())
    typer.echo(f"重新处理 {ran} 条，仍失败 {failed} 条。")
    raise typer.Exit(1 if failed else 0)


@org_app.command("import")
def org_import(file: Path, config: Optional[Path] = ConfigOpt,
               db: Optional[str] = typer.Option(None, help="database URL")) -> None:
    """Import an organisation file (.toml) or a people roster (.csv/.xlsx). All rows or nothing."""
    from pingan.models.org_import import import_file

    settings = _settings(config, db)
    try:
        summary = asyncio.run(import_file(settings, file))
    except ConfigError as exc:
        typer.secho(f"导入失败，未写入任何数据 / nothing imported:\n{exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(summary)


@parser_app.command("corrections")
def parser_corrections(file: Path, since: date = DateOpt(..., "--since", help="corrections made on or after this day"),
                       config: Optional[Path] = ConfigOpt,
                       db: Optional[str] = typer.Option(None, help="database URL")) -> None:
    """Write the tickets dispatchers corrected (改类/改地点…) as labelled parser rows (JSON lines)."""
    from pingan.rules.corrections import training_rows

    async def run() -> list[dict]:
        async with _bot(config, db) as bot:
            start = datetime.combine(since, datetime.min.time(), tzinfo=bot.clock.tz)
            async with bot.sessions() as session:
                return await training_rows(session, start)

    rows = asyncio.run(run())
    file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    typer.echo(f"{len(rows)} 条更正已写入 {file}")


@contextlib.asynccontextmanager
async def _bot(config, db):
    """A bot on the configured database, closed afterwards."""
    from pingan.bot.app import Bot

    bot = await Bot.create(_settings(config, db))
    try:
        yield bot
    finally:
        await bot.close()


def _report_unit(bot, query: str) -> str:
    from pingan.reports.units import NoSuchReportUnit, find_report_unit

    try:
        return find_report_unit(bot.org, query)
    except NoSuchReportUnit as exc:
        raise typer.BadParameter(str(exc), param_hint="'--unit'") from None


UnitOpt = typer.Option(..., "--unit", "-u", help="unit id or name (community, street, district, city)")
DbOpt = typer.Option(None, help="database URL")


@app.command()
def digest(
    unit: str = UnitOpt,
    on: Optional[date] = DateOpt(None, "--date", help="2026-11-24, 2026/11/24 or 2026.11.24 (default: today)"),
    days: int = typer.Option(1, "--days", help="a range of N days ending on --date (7 = weekly)"),
    campaign: bool = typer.Option(False, "--campaign", help="the whole campaign up to --date"),
    chart: Optional[Path] = typer.Option(None, "--chart", help="also write the chart PNG here"),
    config: Optional[Path] = ConfigOpt,
    db: Optional[str] = DbOpt,
) -> None:
    """Print a unit's digest (日报; --days 7 周报; --campaign 阶段总结)."""
    from pingan.bot.console import render as plain
    from pingan.messages import ChatRef, Outbound
    from pingan.notify import Notifier
    from pingan.reports.digest import Period
    from pingan.reports.publish import build_digests

    async def main() -> None:
        async with _bot(config, db) as bot:
            uid = _report_unit(bot, unit)
            s = bot.settings.scheduler
            period = Period.ending(on or bot.clock.now().date(), days, s.campaign_start if campaign else None)
            if chart is not None:
                s.files_dir = str(chart.parent)
            [d] = await build_digests(bot, [uid], period, bot.clock.now(), charts=chart is not None)
            parts = d.build(Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock))("console")
            typer.echo(plain(Outbound(ChatRef("console", "console", "group", "cli"), parts)))
            if chart is not None and d.chart:
                Path(d.chart).replace(chart)
                typer.echo(f"图表：{chart}")

    asyncio.run(main())


@app.command()
def export(
    file: Path = typer.Argument(..., help="output .xlsx (or .csv with --csv)"),
    unit: str = UnitOpt,
    start: date = DateOpt(..., "--from", help="first day, e.g. 2026-11-01"),
    end: date = DateOpt(..., "--to", help="last day (inclusive), e.g. 2026-11-30"),
    as_csv: bool = typer.Option(False, "--csv", help="write CSV (UTF-8 with BOM) instead of xlsx"),
    config: Optional[Path] = ConfigOpt,
    db: Optional[str] = DbOpt,
) -> None:
    """Export the ledger (台账): one row per ticket, plus a summary sheet."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pingan.reports.ledger import export_ledger

    if start > end:  # would quietly write an empty ledger
        raise typer.BadParameter("开始日期晚于结束日期，请对调", param_hint="'--from' / '--to'")

    async def main() -> None:
        async with _bot(config, db) as bot:
            uid = _report_unit(bot, unit)
            with Progress(TextColumn("台账 {task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn()) as bar:
                task = bar.add_task(bot.org.units[uid].name, total=None)
                summary = await export_ledger(
                    bot, uid, start, end, file,
                    as_csv=as_csv or file.suffix.lower() == ".csv",
                    progress=lambda n: bar.advance(task, n), total_cb=lambda n: bar.update(task, total=n))
            typer.echo(f"已导出 {summary.rows} 件（超期 {summary.overdue}）→ {file}")

    asyncio.run(main())


# --- the duty roster (值班表) ---------------------------------------------------------------------
roster_app = typer.Typer(help="duty roster (值班表)", no_args_is_help=True)
app.add_typer(roster_app, name="roster")


async def _with_session(settings, work):
    from pingan.models.db import make_engine, session_factory, upgrade

    await upgrade(settings.database.url)
    engine = make_engine(settings.database.url)
    try:
        async with session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def _shift_lines(org, unit_id: str, day: date) -> list[str]:
    """The unit's shifts of the day, as `roster show` prints them."""
    from pingan.models.roster import DUTY_ROLES

    out = []
    for d in org.roster.day(unit_id, day):
        person = org.people.get(d.person_id)
        away = "（请假）" if org.roster.on_leave(d.person_id, d.starts) else ""
        label = f"{d.label} " if d.label else ""
        out.append(f"{label}{d.starts:%H:%M}–{d.ends:%H:%M}{'（次日）' if d.ends.date() > day else ''}"
                   f" {DUTY_ROLES.get(d.role, d.role)} {person.name if person else d.person_id}{away}")
    return out


@roster_app.command("import")
def roster_import(file: Path, unit: Optional[str] = typer.Option(None, help="单位（文件没有单位列时）"),
                  config: Optional[Path] = ConfigOpt, db: Optional[str] = DbOpt) -> None:
    """Import a duty roster (.csv/.xlsx): every row checked, nothing written on any error."""
    from pingan.clock import SystemClock
    from pingan.roster.importer import import_shifts

    settings = _settings(config, db)

    async def work(session):
        summary = await import_shifts(session, file, unit, SystemClock(settings.bot.timezone).now())
        await session.commit()
        return summary

    try:
        typer.echo(asyncio.run(_with_session(settings, work)))
    except ConfigError as exc:
        typer.secho(f"导入失败，未写入任何数据：\n{exc}", fg="red", err=True)
        raise typer.Exit(1) from None


@roster_app.command("show")
def roster_show(unit: str = typer.Option(..., help="单位名称或编号"),
                day: Optional[date] = DateOpt(None, "--date", help="日期（默认今天）"),
                config: Optional[Path] = ConfigOpt, db: Optional[str] = DbOpt) -> None:
    """Print a unit's shifts of a day (dated ones, else the weekly rotation)."""
    from pingan.clock import SystemClock
    from pingan.models.org_file import UnitNames
    from pingan.models.org_index import OrgIndex

    settings = _settings(config, db)
    clock = SystemClock(settings.bot.timezone)

    async def work(session):
        return await OrgIndex.load(session, clock)

    org = asyncio.run(_with_session(settings, work))
    uid, why = UnitNames({u.id: u.name for u in org.units.values()}).resolve(unit)
    if why:
        raise typer.BadParameter(why, param_hint="'--unit'")
    day = day or clock.now().date()
    lines = _shift_lines(org, uid, day)
    typer.echo(f"{org.units[uid].name} {day.isoformat()} 值班：")
    typer.echo("\n".join(lines) if lines else "（无排班，按组织文件的值班标记）")
    holes = org.roster.gaps(uid, day) if lines else []
    if holes:  # nobody rostered then: the organisation file's flags answer
        typer.echo("⚠️ 无人值班：" + "、".join(f"{a:%H:%M}–{'24:00' if b.date() > day else f'{b:%H:%M}'}"
                                           for a, b in holes))


# The web workbench's commands (`pingan web link|demo`) live beside the web; they get this CLI's
# settings loader rather than importing it back (no cli <-> web cycle).
register_web(app, _settings)

if __name__ == "__main__":
    app()
