"""CLI: `pingan digest` (print a unit's digest) and `pingan export` (the 台账 as .xlsx/.csv)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta
from pathlib import Path
from typing import Optional

import typer


# Tickets are filed under their community and roll up the tree (digest.roll_up, ledger.scope_units):
# a grid or a department has no figures of its own, so asking for one would print zeros.
REPORT_LEVELS = ("community", "street", "district", "city")


def _unit(bot, query: str) -> str:
    from pingan.models.org import LEVEL_NAMES, Level

    org = bot.org
    if query in org.units:
        uid = query
    else:
        found = [u for u in org.units.values() if u.name == query] or \
                [u for u in org.units.values() if query in u.name]
        if not found:
            raise typer.BadParameter(f"找不到单位「{query}」,请写名称或编号,如 新联社区", param_hint="'--unit'")
        uid = next((u for u in found if u.level in REPORT_LEVELS), found[0]).id
    unit = org.units[uid]
    if unit.level not in REPORT_LEVELS:
        community = org.up_to(uid, Level.community)
        hint = f",如 {community.name}" if community is not None else ""
        raise typer.BadParameter(f"{unit.name}是{LEVEL_NAMES.get(unit.level, unit.level)},"
                                 f"只能按社区、街道、区(县)或市统计{hint}", param_hint="'--unit'")
    return uid


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
    from pingan.cli import ConfigOpt, DateOpt

    @app.command()
    def digest(
        unit: str = typer.Option(..., "--unit", "-u", help="unit id or name (community, street, district, city)"),
        on: Optional[date] = DateOpt(None, "--date", help="2026-11-24, 2026/11/24 or 2026.11.24 (default: today)"),
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
                end = on or bot.clock.now().date()
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
        unit: str = typer.Option(..., "--unit", "-u", help="unit id or name (community, street, district, city)"),
        start: date = DateOpt(..., "--from", help="first day, e.g. 2026-11-01"),
        end: date = DateOpt(..., "--to", help="last day (inclusive), e.g. 2026-11-30"),
        as_csv: bool = typer.Option(False, "--csv", help="write CSV (UTF-8 with BOM) instead of xlsx"),
        config: Optional[Path] = ConfigOpt,
        db: Optional[str] = typer.Option(None, help="database URL"),
    ) -> None:
        """Export the ledger (台账): one row per ticket, plus a summary sheet."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from pingan.scheduler.ledger import export_ledger

        if start > end:  # would quietly write an empty ledger
            raise typer.BadParameter("开始日期晚于结束日期,请对调", param_hint="'--from' / '--to'")

        async def main() -> None:
            async with _bot(config, db) as bot:
                uid = _unit(bot, unit)
                with Progress(TextColumn("台账 {task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn()) as bar:
                    task = bar.add_task(bot.org.units[uid].name, total=None)
                    summary = await export_ledger(
                        bot, uid, start, end, file,
                        as_csv=as_csv or file.suffix.lower() == ".csv",
                        progress=lambda n: bar.advance(task, n), total_cb=lambda n: bar.update(task, total=n))
                typer.echo(f"已导出 {summary.rows} 件(超期 {summary.overdue})→ {file}")

        asyncio.run(main())

