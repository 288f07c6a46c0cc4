"""Alembic environment: runs migrations over the async engine from pingan.models.db."""

import asyncio

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import pingan.models  # noqa: F401  (registers every table on the metadata)
from pingan.models.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # two servers starting at once on an empty database: the second waits here, then finds
            # the schema current (without it, both created alembic_version and one crashed)
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('pingan:migrations'))"))
        context.run_migrations()


async def _online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online())
