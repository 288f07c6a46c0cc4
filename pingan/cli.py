"""Command line: serve, chat, demo, parse, db upgrade, org import (and the scheduler's digest/export)."""

from __future__ import annotations

import asyncio
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
        raise typer.BadParameter("日期格式不对,请写成 2026-11-24")
    y, mo, d = (int(g) for g in m.groups() if g is not None)
    try:
        return date(y, mo, d)
    except ValueError:
        raise typer.BadParameter(f"没有 {text} 这一天,请检查月份和日期") from None


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
        asyncio.run(main())
    except ConfigError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


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


@org_app.command("import")
def org_import(file: Path, config: Optional[Path] = ConfigOpt,
               db: Optional[str] = typer.Option(None, help="database URL")) -> None:
    """Import an organisation file (.toml) or a people roster (.csv/.xlsx). All rows or nothing."""
    from pingan.models.org_import import import_file

    settings = _settings(config, db)
    try:
        summary = asyncio.run(import_file(settings, file))
    except ConfigError as exc:
        typer.secho(f"导入失败,未写入任何数据 / nothing imported:\n{exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(summary)


@parser_app.command("corrections")
def parser_corrections(file: Path, since: date = DateOpt(..., "--since", help="corrections made on or after this day"),
                       config: Optional[Path] = ConfigOpt,
                       db: Optional[str] = typer.Option(None, help="database URL")) -> None:
    """Write the tickets dispatchers corrected (改类/改地点…) as labelled parser rows (JSON lines)."""
    from pingan.bot.app import Bot
    from pingan.rules.corrections import training_rows

    async def run() -> list[dict]:
        bot = await Bot.create(_settings(config, db))
        try:
            start = datetime.combine(since, datetime.min.time(), tzinfo=bot.clock.tz)
            async with bot.sessions() as session:
                return await training_rows(session, start)
        finally:
            await bot.close()

    rows = asyncio.run(run())
    file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    typer.echo(f"{len(rows)} 条更正已写入 {file}")


def _register_plugins() -> None:
    """Commands owned by other packages (the scheduler's digest/export) register themselves here."""
    try:
        from pingan.scheduler.commands import register
    except ImportError:
        return
    register(app)


_register_plugins()

if __name__ == "__main__":
    app()
