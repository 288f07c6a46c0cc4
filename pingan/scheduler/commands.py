"""CLI: `pingan digest` (print a unit's digest) and `pingan export` (the 台账 as .xlsx/.csv)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta
from pathlib import Path
from typing import Optional

import typer


def _unit(bot, query: str) -> str:
    if query in bot.org.units:
        return query
    found = [u.id for u in bot.org.units.values() if u.name == query] or \
            [u.id for u in bot.org.units.values() if query in u.name]
    if not found:
        raise typer.BadParameter(f"unknown unit {query!r} (use its id or name, e.g. xinlian / 新联社区)")
    return found[0]


@contextlib.asynccontextmanager
async def _bot(config, db):
    """A bot on the configured database, closed afterwards."""
    from pingan.bot.app import Bot
    from pingan.cli import _settings

    bot = await Bot.create(_settings(config, db))
    try:
        yield bot
    finally:
        await bot.close()


def register(app: typer.Typer) -> None:
    from pingan.cli import ConfigOpt

    @app.command()
    def digest(
        unit: str = typer.Option(..., "--unit", "-u", help="unit id or name (community, street, district)"),
        on: Optional[str] = typer.Option(None, "--date", help="YYYY-MM-DD (default: today)"),
        days: int = typer.Option(1, "--days", help="a range of N days ending on --date (7 = weekly)"),
        campaign: bool = typer.Option(False, "--campaign", help="the whole campaign up to --date"),
        chart: Optional[Path] = typer.Option(None, "--chart", help="also write the chart PNG here"),
        config: Optional[Path] = ConfigOpt,
        db: Optional[str] = typer.Option(None, help="database URL"),
    ) -> None:
        """Print a unit's digest (日报; --days 7 周报; --campaign 阶段总结)."""
        from pingan.bot.console import render as plain
        from pingan.messages import ChatRef, Outbound
        from pingan.notify import Notifier
        from pingan.scheduler.digest import Period
        from pingan.scheduler.jobs import build_digests

        async def main() -> None:
            async with _bot(config, db) as bot:
                uid = _unit(bot, unit)
                end = date.fromisoformat(on) if on else bot.clock.now().date()
                if campaign and bot.settings.scheduler.campaign_start:
                    period = Period(date.fromisoformat(bot.settings.scheduler.campaign_start), end, "campaign")
                elif days > 1:
                    period = Period(end - timedelta(days=days - 1), end, "week" if days == 7 else "range")
                else:
                    period = Period.day(end)
                if chart is not None:
                    bot.settings.scheduler.files_dir = str(chart.parent)
                [d] = await build_digests(bot, [uid], period, bot.clock.now(), charts=chart is not None)
                parts = d.build(Notifier(bot.org, bot.settings, bot.taxonomy, bot.clock))("console")
                typer.echo(plain(Outbound(ChatRef("console", "console", "group", "cli"), parts)))
                if chart is not None and d.chart:
                    Path(d.chart).replace(chart)
                    typer.echo(f"图表:{chart}")

        asyncio.run(main())

    @app.command()
    def export(
        file: Path = typer.Argument(..., help="output .xlsx (or .csv with --csv)"),
        unit: str = typer.Option(..., "--unit", "-u", help="unit id or name"),
        start: str = typer.Option(..., "--from", help="YYYY-MM-DD"),
        end: str = typer.Option(..., "--to", help="YYYY-MM-DD (inclusive)"),
        as_csv: bool = typer.Option(False, "--csv", help="write CSV (UTF-8 with BOM) instead of xlsx"),
        config: Optional[Path] = ConfigOpt,
        db: Optional[str] = typer.Option(None, help="database URL"),
    ) -> None:
        """Export the ledger (台账): one row per ticket, plus a summary sheet."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from pingan.scheduler.ledger import export_ledger

        async def main() -> None:
            async with _bot(config, db) as bot:
                uid = _unit(bot, unit)
                with Progress(TextColumn("台账 {task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn()) as bar:
                    task = bar.add_task(bot.org.units[uid].name, total=None)
                    summary = await export_ledger(
                        bot, uid, date.fromisoformat(start), date.fromisoformat(end), file,
                        as_csv=as_csv or file.suffix.lower() == ".csv",
                        progress=lambda n: bar.advance(task, n), total_cb=lambda n: bar.update(task, total=n))
                typer.echo(f"已导出 {summary.rows} 件(超期 {summary.overdue})→ {file}")

        asyncio.run(main())

