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
        raise ConfigError(f"{path}: 只能导入 .toml、.csv 或 .xlsx 文件")
    if not path.exists():
        raise ConfigError(f"{path}: 找不到这个文件")
    await upgrade(settings.database.url)
    engine = make_engine(settings.database.url)
    try:
        async with session_factory(engine)() as session:
            if suffix == ".toml":
                data = parse_org_toml(path)
            else:
                units = dict((await session.exec(select(Unit.id, Unit.name))).all())
                owners = {(i.platform, i.external_id): i.person_id for i in (await session.exec(select(Identity))).all()}
                data = parse_roster(path, units, owners)
            await apply_org(session, data, replace_structure=suffix == ".toml",
                            now=SystemClock(settings.bot.timezone).now())
            await session.commit()
    finally:
        await engine.dispose()
    counts = [("单位", data.units, "个"), ("人员", data.people, "人"), ("账号", data.identities, "个"),
              ("群", data.groups, "个"), ("地点", data.places, "处")]
    return f"已导入 {path}：" + "，".join(f"{what} {len(rows)} {unit}" for what, rows, unit in counts
                                       if rows or what == "人员")
