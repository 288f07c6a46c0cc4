"""`pingan org import FILE`: validate everything, then write in one transaction."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from pingan.clock import SystemClock
from pingan.config import Settings
from pingan.errors import ConfigError
from pingan.models.db import make_engine, session_factory, upgrade
from pingan.models.org import Identity, Unit
from pingan.models.org_file import apply_org, parse_org_toml, parse_roster


async def import_file(settings: Settings, path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".csv", ".xlsx"):
        raise ConfigError(f"{path}: unsupported file type {suffix!r} (use .toml, .csv or .xlsx)")
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    await upgrade(settings.database.url)
    engine = make_engine(settings.database.url)
    try:
        async with session_factory(engine)() as session:
            if suffix == ".toml":
                data = parse_org_toml(path)
            else:
                units = set((await session.exec(select(Unit.id))).all())
                owners = {(i.platform, i.external_id): i.person_id for i in (await session.exec(select(Identity))).all()}
                data = parse_roster(path, units, owners)
            await apply_org(session, data, replace_structure=suffix == ".toml",
                            now=SystemClock(settings.bot.timezone).now())
            await session.commit()
    finally:
        await engine.dispose()
    return (f"imported {len(data.units)} units, {len(data.people)} people, {len(data.identities)} identities, "
            f"{len(data.groups)} groups, {len(data.places)} places from {path}")
