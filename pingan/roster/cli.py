"""CLI: `pingan roster import FILE` and `pingan roster show --unit U --date D` (registered by cli.py)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Optional

import typer

roster_app = typer.Typer(help="duty roster (值班表)", no_args_is_help=True)


async def _with_session(settings, work):
    from pingan.models.db import make_engine, session_factory, upgrade

    await upgrade(settings.database.url)
    engine = make_engine(settings.database.url)
    try:
        async with session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def lines_for_day(org, unit_id: str, day: date) -> list[str]:
    """The unit's shifts of the day, as `roster show` and 「值班」 print them."""
    from pingan.models.roster import DUTY_ROLES

    out = []
    for d in org.roster.day(unit_id, day):
        person = org.people.get(d.person_id)
        away = "(请假)" if org.roster.on_leave(d.person_id, d.starts) else ""
        label = f"{d.label} " if d.label else ""
        out.append(f"{label}{d.starts:%H:%M}–{d.ends:%H:%M}{'(次日)' if d.ends.date() > day else ''}"
                   f" {DUTY_ROLES.get(d.role, d.role)} {person.name if person else d.person_id}{away}")
    return out


def register(app: typer.Typer) -> None:
    from pingan.cli import ConfigOpt, DateOpt, _settings
    from pingan.errors import ConfigError

    @roster_app.command("import")
    def roster_import(file: Path, unit: Optional[str] = typer.Option(None, help="单位(文件没有单位列时)"),
                      config: Optional[Path] = ConfigOpt,
                      db: Optional[str] = typer.Option(None, help="database URL")) -> None:
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
            typer.secho(f"导入失败,未写入任何数据:\n{exc}", fg="red", err=True)
            raise typer.Exit(1) from None

    @roster_app.command("show")
    def roster_show(unit: str = typer.Option(..., help="单位名称或编号"),
                    day: date = DateOpt(None, "--date", help="日期(默认今天)"),
                    config: Optional[Path] = ConfigOpt,
                    db: Optional[str] = typer.Option(None, help="database URL")) -> None:
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
        lines = lines_for_day(org, uid, day)
        typer.echo(f"{org.units[uid].name} {day.isoformat()} 值班:")
        typer.echo("\n".join(lines) if lines else "(无排班,按组织文件的值班标记)")
        holes = org.roster.gaps(uid, day) if lines else []
        if holes:  # nobody rostered then: the organisation file's flags answer
            typer.echo("⚠️ 无人值班:" + "、".join(f"{a:%H:%M}–{'24:00' if b.date() > day else f'{b:%H:%M}'}"
                                               for a, b in holes))

    app.add_typer(roster_app, name="roster")
