"""`pingan web link PERSON_ID`: a one-time sign-in link for the operator to hand to someone."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer, load_settings) -> None:
    """`load_settings(config, db)` is the CLI's loader (it names the bad key and exits)."""
    web_app = typer.Typer(help="the officials' web workbench", no_args_is_help=True)
    app.add_typer(web_app, name="web")

    @web_app.command("link")
    def link(person_id: str, config: Optional[Path] = typer.Option(None, "--config", "-c"),
             db: Optional[str] = typer.Option(None, help="database URL")) -> None:
        """Print a one-time sign-in link (valid [web] link_minutes, used once) for a staff member."""
        settings = load_settings(config, db)
        try:
            typer.echo(asyncio.run(make(settings, person_id)))
        except LookupError as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(1) from None

    @web_app.command("demo")
    def demo(config: Optional[Path] = typer.Option(None, "--config", "-c"),
             db: Optional[str] = typer.Option(None, help="database URL (default: a new SQLite file, kept)"),
             host: str = "127.0.0.1", port: int = 8080,
             quiet: bool = typer.Option(True, help="do not print the chat transcript")) -> None:
        """Replay the demo day (`pingan demo`) into a database, then serve the workbench on it as of
        08:30 the morning after and print sign-in links (the demo's clock stands still from then)."""
        settings = load_settings(config, db)
        if not db:
            settings.database.url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='pingan-demo-')) / 'demo.db'}"
        settings.scheduler.enabled = False  # the demo's day is over; nothing should fire at its tickets
        settings.server.host, settings.server.port = host, port
        try:
            asyncio.run(serve_demo(settings, host, port, None if quiet else typer.echo))
        except KeyboardInterrupt:
            pass


async def make(settings, person_id: str) -> str:
    from pingan.bot.app import Bot
    from pingan.web.auth import sign_in_link

    bot = await Bot.create(settings, load_org=False)
    try:
        if person_id not in bot.org.people:
            raise LookupError(f"没有工作人员 {person_id}（居民不能登录工作台）")
        async with bot.sessions() as session:
            url = await sign_in_link(session, settings, person_id, bot.clock.now())
            await session.commit()
        return url
    finally:
        await bot.close()


DEMO_PEOPLE = (("chen-jiedao", "永丰街道 陈主任"), ("liu-qu", "都江堰市 刘组长"), ("wang-shequ", "新联社区 王书记"))


async def serve_demo(settings, host: str, port: int, echo) -> None:
    from pingan.bot.app import Bot
    from pingan.bot.demo import run_demo
    from pingan.bot.server import serve
    from pingan.clock import FrozenClock
    from pingan.web.auth import sign_in_link

    clock = FrozenClock(datetime(2019, 4, 8, 8, 0), settings.bot.timezone)
    bot = await Bot.create(settings, clock)
    try:
        await run_demo(bot, clock, echo or (lambda line: None))
        clock.set(datetime.combine(clock.now().date() + timedelta(days=1), time(8, 30), clock.tz))  # the morning after
        print(f"演示数据库：{settings.database.url}")
        async with bot.sessions() as session:
            for person_id, who in DEMO_PEOPLE:
                print(f"{who}:{await sign_in_link(session, settings, person_id, clock.now())}")
            await session.commit()
        await serve(bot, host, port)
    finally:
        await bot.close()
