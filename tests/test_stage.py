"""The hot path's staging (pingan/models/stage.py): a group of reports writes each table in one
statement, readers in the same transaction see staged rows, a rollback drops them, and ticket
numbers stay unique and in order across groups. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import event
from sqlmodel import select

from pingan.messages import ChatRef, Inbound
from pingan.lifecycle import Status
from pingan.models import Identity, Person, Ticket, TicketEvent
from pingan.models.stage import new_row, stage_of, stage_resident
from pingan.parser import parse
from pingan.tickets import TicketDesk
from tests.test_server import rows

PLACES = ["锦城花园3栋", "锦城花园5栋", "锦城花园7栋", "锦城花园9栋"]


def report(who: str, place: str, n: int = 1) -> Inbound:
    return Inbound(chat=ChatRef("qq", "", "private", who), msg_id=f"s{who}-{n}", sender_id=who,
                   text=f"{place}楼道里有人给电瓶车充电")


def statements(bot) -> Counter:
    seen: Counter = Counter()

    @event.listens_for(bot.engine.sync_engine, "before_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):
        seen[" ".join(statement.replace("INSERT OR IGNORE", "INSERT").split()[:3])] += 1
    return seen


async def test_a_group_of_new_residents_reports_writes_each_table_once(bot):
    seen = statements(bot)
    handled = await asyncio.gather(*(bot.ingest(report(f"90{i:02d}", PLACES[i % 4])) for i in range(12)))
    assert all(h is not None and h.handled_by for h in handled)
    assert [t.id for t in await rows(bot, Ticket)] == list(range(1, 13))
    assert len(await rows(bot, Person)) >= 12 and len(await rows(bot, Identity)) >= 12
    assert len([e for e in await rows(bot, TicketEvent) if e.action == "report"]) == 12
    # one group: each table written in at most two statements (a same-hazard query writes what is
    # staged before it runs), never one per report
    for table in ("people", "identities", "tickets", "ticket_events"):
        assert 1 <= seen[f"INSERT INTO {table}"] <= 2, (table, seen)


async def test_numbers_go_on_across_groups_and_receipts_name_them(bot):
    first = await asyncio.gather(*(bot.ingest(report(f"91{i:02d}", PLACES[i % 4])) for i in range(3)))
    second = await asyncio.gather(*(bot.ingest(report(f"92{i:02d}", PLACES[i % 4])) for i in range(3)))
    receipts = [o.to_dict()["parts"][0]["text"] for h in first + second for o in h.outbound
                if o.target.chat_type == "private"]
    assert [f"#{n}" in r for n, r in zip(range(1, 7), receipts)] == [True] * 6
    assert sorted(t.id for t in await rows(bot, Ticket)) == list(range(1, 7))


async def test_a_ticket_staged_in_the_group_is_the_same_hazard_of_the_next(bot):
    """Two residents report one place in one group: the second post points at the first ticket."""
    handled = await asyncio.gather(bot.ingest(report("9301", "锦城花园3栋")), bot.ingest(report("9302", "锦城花园3栋")))
    posts = [o.to_dict()["parts"] for h in handled for o in h.outbound if o.target.chat_type == "group"]
    text = "".join(p.get("text", "") for p in posts[1])
    assert "#1" in text


async def test_readers_in_the_transaction_see_staged_rows_and_a_rollback_drops_them(bot, clock):
    async with bot.sessions() as session:
        person = Person(id="r-stage", name="居民", role="resident")
        stage_resident(session.sync_session, person, "qq", "9401")
        desk = TicketDesk(session, bot.org, bot.settings, bot.taxonomy, clock.now())
        parsed = parse("锦城花园3栋楼道里有人给电瓶车充电", taxonomy=bot.taxonomy)
        ticket = await desk.create(parsed, "锦城花园3栋楼道里有人给电瓶车充电", person, "resident", {}, None, None)
        staged = stage_of(session.sync_session)  # nothing written yet
        assert staged.tickets == [{c.key: getattr(ticket, c.key) for c in Ticket.__table__.columns}]
        assert staged.people == [{c.key: getattr(person, c.key) for c in Person.__table__.columns}]
        got = await session.get(Ticket, ticket.id)  # a read writes the stage first
        assert got is not None and got.reporter_id == "r-stage"
        assert (await session.exec(select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id))).all()
        await session.rollback()
    assert await rows(bot, Ticket) == [] and [p for p in await rows(bot, Person) if p.id == "r-stage"] == []


async def test_a_row_built_cheaply_is_the_row_the_model_builds(bot):
    values = {"source": "resident", "reporter_id": "p1", "reply_chat": {"chat_id": "9001"}, "raw_text": "x",
              "category": "fire", "item": "电瓶车违规充电", "location": "锦城花园3栋", "urgent": False, "size": "小"}
    cheap, usual = new_row(Ticket, **values), Ticket(**values)
    constructed = Ticket.model_construct(**values)  # what new_row stands for, field by field
    assert {k: v for k, v in cheap.__dict__.items() if k != "_sa_instance_state"} == constructed.__dict__
    assert cheap.model_fields_set == constructed.model_fields_set
    for t in (cheap, usual):
        t.status, t.holder_unit_id = "dispatched", "g1"  # the ORM's attributes work as usual
    columns = [c.key for c in Ticket.__table__.columns]
    assert {c: getattr(cheap, c) for c in columns} == {c: getattr(usual, c) for c in columns}
    async with bot.sessions() as session:  # and it can be written the ORM's way too
        session.add(new_row(Person, id="r-cheap", name="居民", role="resident"))
        await session.commit()
    assert [p.name for p in await rows(bot, Person) if p.id == "r-cheap"] == ["居民"]


def test_a_message_stored_by_hand_is_what_asdict_would_store():
    """Inbound.to_dict is written field by field for speed: it must say what dataclasses.asdict says."""
    from dataclasses import asdict
    from datetime import datetime, timezone

    from pingan.messages import Location

    msg = Inbound(chat=ChatRef("qq", "20001", "private", "9001", {"group_id": 700001}), msg_id="m1", sender_id="9001",
                  text="锦城花园3栋", sender_name="居民", mentions_bot=True, reply_to="r1", quoted_text="引用",
                  images=["a.jpg"], location=Location(30.6, 104.1, "锦城花园"),
                  received_at=datetime(2019, 4, 8, 1, 0, tzinfo=timezone.utc), event="recall")
    expected = asdict(msg) | {"received_at": "2019-04-08T01:00:00+00:00"}
    assert msg.to_dict() == expected
    assert Inbound.from_dict(msg.to_dict()) == msg


def test_a_reply_stored_by_hand_is_what_asdict_would_store():
    """So is Outbound.to_dict's mention: a field added to Mention must be stored too."""
    from dataclasses import asdict

    from pingan.messages import Mention, Outbound, Text

    who = Mention("王网格", "9002", "13800000000")
    out = Outbound(ChatRef("qq", "20001", "group", "700001"), [Text("请处理"), who])
    assert out.to_dict()["parts"] == [{"text": "请处理"}, {"mention": asdict(who)}]
    assert Outbound.from_dict(out.target, out.to_dict()) == out


def test_the_server_settles_its_heap_before_listening():
    """What lives as long as the server is out of the cyclic collector's scans, and the young
    generation is large enough that a group of reports does not trigger a collection per message."""
    import gc

    from pingan.bot.server import GC_YOUNG, settle_heap

    before = gc.get_threshold()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == GC_YOUNG
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_with_a_parse_pool_the_server_does_not_load_the_parser_itself():
    """Its workers parse: the server process keeps the 40 MB of lexicon and model out (a fresh
    interpreter, as `serve` starts)."""
    import subprocess
    import sys

    code = ("import gc; from pingan.bot.server import settle_heap; from pingan.parser import engine; "
            "settle_heap(load_parser=False); a = len(engine._RT); settle_heap(); print(a, len(engine._RT)); gc.unfreeze()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "1"]


async def test_rows_written_on_the_driver_are_the_rows_sqlalchemy_writes(bot):
    """pingan.models.bulk hands SQLite tuples it converted itself: every stored value must be what
    SQLAlchemy's own INSERT stores (datetimes' text, JSON's text, Python-side defaults, enums)."""
    import sqlite3
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import insert

    from pingan.models import OutboxMessage
    from pingan.models.bulk import insert_returning_ids, write_rows

    if bot.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL takes the rows through SQLAlchemy Core either way")
    at = datetime(2019, 4, 8, 9, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    later = at + timedelta(microseconds=1500)
    people = {"id": "r-bulk", "name": "居民", "role": "resident"}  # lead, on_duty: the columns' defaults
    ticket = {"id": 1, "reporter_id": "r-bulk", "raw_text": "锦城花园3栋", "category": "fire", "status": Status.new,
              "location": "锦城花园3栋", "reply_chat": {"chat_id": "9001", "名": "居民"}, "created_at": at,
              "resolve_due": later, "photos": None}
    outbox = {"platform": "qq", "account": "", "chat_type": "private", "chat_id": "9001",
              "payload": {"parts": [{"text": "✅ 已受理"}]}, "ticket_id": 1, "next_attempt_at": at, "created_at": later}
    tables = [(Person.__table__, people, "id"), (Ticket.__table__, ticket, "id"), (OutboxMessage.__table__, outbox, None)]
    mine = {"people": "id LIKE 'r-bulk%'", "tickets": "1", "outbox": "1"}  # the organisation's people are there too
    async with bot.sessions() as session:
        conn = await session.connection()
        for table, row, key in tables:
            await conn.execute(insert(table), [row])
            twin = {**row, key: row[key] + "-2" if isinstance(row[key], str) else row[key] + 1} if key else row
            if key:
                await conn.run_sync(lambda c, t=table, r=twin: write_rows(c, t, [r]))
            else:
                assert len(await insert_returning_ids(conn, table, [twin, twin])) == 2
        await session.commit()
    db = sqlite3.connect(bot.engine.url.database)
    try:
        for table, _, key in tables:
            cur = db.execute(f"SELECT * FROM {table.name} WHERE {mine[table.name]} ORDER BY rowid")
            skip = [d[0] for d in cur.description].index(key or "id")
            stored = [r[:skip] + r[skip + 1:] for r in cur]
            assert len(stored) >= 2 and all(r == stored[0] for r in stored), (table.name, stored)
    finally:
        db.close()
