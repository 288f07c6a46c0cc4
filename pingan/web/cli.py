"""`pingan web link PERSON_ID`: a one-time sign-in link for the operator to hand to someone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    web_app = typer.Typer(help="the officials' web workbench", no_args_is_help=True)
    app.add_typer(web_app, name="web")

    @web_app.command("link")
    def link(person_id: str, config: Optional[Path] = typer.Option(None, "--config", "-c"),
             db: Optional[str] = typer.Option(None, help="database URL")) -> None:
        """Print a one-time sign-in link (valid [web] link_minutes, used once) for a staff member."""
        from pingan.cli import _settings

        settings = _settings(config, db)
        try:
            typer.echo(asyncio.run(make(settings, person_id)))
        except LookupError as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(1) from None


async def make(settings, person_id: str) -> str:
    from pingan.bot.app import Bot
    from pingan.web.auth import sign_in_link

    bot = await Bot.create(settings, load_org=False)
    try:
        if person_id not in bot.org.people:
            raise LookupError(f"没有工作人员 {person_id}(居民不能登录工作台)")
        async with bot.sessions() as session:
            url = await sign_in_link(session, settings, person_id, bot.clock.now())
            await session.commit()
        return url
    finally:
        await bot.close()
