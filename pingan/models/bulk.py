"""Many rows into one table in one statement, the hot path's way.

On SQLite the rows go to the driver as tuples, each value converted once: SQLAlchemy's execution
of a multi-row INSERT runs every value of every row through its column type's bind processors
(a datetime through two), which was about a tenth of a busy server's CPU (bench/ingest.py). The
values stored are SQLAlchemy's: UTC datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff', JSON as
pingan.fastjson.dumps gives it (the engines' serializer too; None as 'null'), a missing key as the
column's Python-side default, the rest as they are (tests/test_stage.py compares the two byte for
byte). On PostgreSQL, SQLAlchemy Core as before (asyncpg takes typed values; there the round trips,
not the conversions, cost).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Table, insert
from sqlalchemy.dialects import postgresql, sqlite

from pingan.fastjson import dumps
from pingan.models.types import UTCDateTime


def _datetime(value: datetime | None, memo: dict) -> str | None:
    if value is None:
        return None
    got = memo.get(value)
    if got is None:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use the clock")
        got = memo[value] = value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
    return got


def _json(value, memo: dict) -> str:
    return dumps(value)


class _Shape:
    """The SQLite statement and converters for one table and one set of keys, built once."""

    def __init__(self, table: Table, keys: tuple[str, ...], skip_existing: bool) -> None:
        # the row's keys and, as SQLAlchemy does, every column with a default (it writes the default)
        cols = [c for c in table.columns if c.key in keys or c.default is not None and c.default.is_scalar]
        self.keys = [(c.key, c.default.arg if c.default is not None and c.default.is_scalar else None) for c in cols]
        self.convert = [(i, _datetime if isinstance(c.type, UTCDateTime) else _json) for i, c in enumerate(cols)
                        if isinstance(c.type, (UTCDateTime, JSON))]
        self.head = (f"INSERT {'OR IGNORE ' if skip_existing else ''}INTO {table.name} "
                     f"({', '.join(c.name for c in cols)}) VALUES ")
        self.one = "(" + ", ".join("?" * len(cols)) + ")"

    def tuples(self, rows: list[dict]) -> list[tuple]:
        memo: dict = {}  # a group's rows share a handful of instants
        keys, convert, out = self.keys, self.convert, []
        for r in rows:
            values = [r.get(k, default) for k, default in keys]
            for i, f in convert:
                values[i] = f(values[i], memo)
            out.append(tuple(values))
        return out


_SHAPES: dict[tuple, _Shape] = {}
VARIABLES = 30_000  # bound values per statement; SQLite allows 32,766


def _shape(table: Table, rows: list[dict], skip_existing: bool) -> _Shape | None:
    """None if a column left out has a default computed per row (SQLAlchemy Core then writes it)."""
    key = (table.name, tuple(rows[0]), skip_existing)  # the first row's keys name the columns, as in SQLAlchemy
    if key not in _SHAPES:
        computed = [c for c in table.columns if c.key not in key[1] and c.default is not None and not c.default.is_scalar]
        _SHAPES[key] = None if computed else _Shape(table, key[1], skip_existing)
    return _SHAPES[key]


def _core(table: Table, dialect: str, skip_existing: bool):
    if not skip_existing:
        return insert(table)
    return (postgresql if dialect == "postgresql" else sqlite).insert(table).on_conflict_do_nothing()


def write_rows(conn, table: Table, rows: list[dict], skip_existing: bool = False) -> None:
    """On a sync Connection (inside the session's events). `skip_existing`: a row whose key is
    taken already (another server made it first) is left as it is."""
    if not rows:
        return
    shape = _shape(table, rows, skip_existing) if conn.dialect.name == "sqlite" else None
    if shape is not None:
        conn.exec_driver_sql(shape.head + shape.one, shape.tuples(rows))
    else:
        conn.execute(_core(table, conn.dialect.name, skip_existing), rows)


async def insert_returning_ids(conn, table: Table, rows: list[dict]) -> list[int]:
    """On an AsyncConnection: the new rows' ids, in the rows' order. SQLite gives each new row one
    more than the largest rowid so far, in the statement's order; RETURNING's order is not
    promised, so the ids are sorted (callers hold the write lock)."""
    if not rows:
        return []
    shape = _shape(table, rows, False) if conn.dialect.name == "sqlite" else None
    if shape is not None:
        ids, tuples = [], shape.tuples(rows)
        per = max(1, VARIABLES // len(shape.keys))
        for k in range(0, len(tuples), per):
            chunk = tuples[k:k + per]
            sql = shape.head + ", ".join([shape.one] * len(chunk)) + " RETURNING id"
            ids += sorted((await conn.exec_driver_sql(sql, tuple(v for t in chunk for v in t))).scalars().all())
        return ids
    postgres = conn.dialect.name == "postgresql"  # on SQLite that option makes SQLAlchemy insert row by row
    q = insert(table).returning(table.c.id, sort_by_parameter_order=postgres)
    ids = list((await conn.execute(q, rows)).scalars().all())
    return ids if postgres else sorted(ids)
