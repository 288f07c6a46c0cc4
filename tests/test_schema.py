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
    first = await _state(db_url)
    await upgrade(db_url)
    assert await _state(db_url) == first
    tables, versions = first
    assert set(SQLModel.metadata.tables) <= tables and len(versions) == 1  # one head, recorded once


async def _state(db_url) -> tuple[set[str], list[str]]:
    """The tables, and the rows of alembic_version."""
    from sqlalchemy import inspect, text

    engine = make_engine(db_url)
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        versions = [r[0] for r in (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()]
    await engine.dispose()
    return tables, versions


def test_the_same_hazard_check_reads_held_tickets_only(tmp_path):
    """Its query repeats the partial index's predicate word for word, so SQLite walks a unit's held
    tickets of the day, never the closed ones (90,000 closed in a day had cost 65 ms a report)."""
    import sqlite3

    from sqlalchemy.dialects import sqlite

    from pingan.models.db import upgrade_sync
    from pingan.tickets import SAME

    path = tmp_path / "plan.db"
    upgrade_sync(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    try:
        for query in SAME.values():
            sql = str(query.compile(dialect=sqlite.dialect()))
            plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, ["u", "2026-01-01", "x", 20, 0][:sql.count("?")]))
            assert "ix_tickets_held_unit_created" in plan, plan
    finally:
        conn.close()
