"""The Alembic migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import pingan.models  # noqa: F401
from pingan.models.db import make_engine, upgrade


async def test_migrations_match_models(db_url):
    await upgrade(db_url)
    engine = make_engine(db_url)
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata))
    await engine.dispose()
    assert diff == [], 'models changed without a migration: run scripts/new_migration.py "what changed"'


async def test_upgrade_is_idempotent(db_url):
    await upgrade(db_url)
    await upgrade(db_url)
