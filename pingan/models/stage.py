"""Rows the hot path writes, held in the transaction until it next touches the database.

A report makes a resident (people, identities), a ticket and its events. Written as they are made,
that is four or five statements per report; staged here instead, a group of messages writes each
table in one statement, in the order the foreign keys need (people, identities, tickets, events).
The staged rows are written before any other statement of the session runs (a query, an ORM
flush, the outbox's INSERT) and at commit, so every reader sees them as if written at once; a
rollback drops them with everything else.

A staged ticket needs its number at once (the receipt says 「#N」): on SQLite one more than the
largest so far, read once per transaction (the transaction's first write, the inbox row, already
holds SQLite's one write lock, so no other writer can take that number meanwhile); on PostgreSQL
the next value of its sequence.

"Same hazard" looks for an earlier open ticket of the last day with the same item at the same
place: it asks the table once per (unit, item) and transaction and then adds the tickets staged
since, so a group of reports about one estate costs one query, not one per report.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, configure_mappers

from pingan.models.bulk import write_rows
from pingan.models.org import Identity, Person
from pingan.models.ticket import Ticket, TicketEvent

STAGE = "pingan.stage"
PEOPLE, IDENTITIES, TICKETS, EVENTS = Person.__table__, Identity.__table__, Ticket.__table__, TicketEvent.__table__
EVENT_COLUMNS = [c.key for c in EVENTS.columns if c.key != "id"]
TICKET_COLUMNS, PERSON_COLUMNS = [c.key for c in TICKETS.columns], [c.key for c in PEOPLE.columns]


@dataclass(slots=True)
class StagedEvent:
    """A ticket event not written yet: TicketEvent's columns without the ORM's cost (a report
    makes two), to be read and added to (the scheduler's data) until the stage is written."""

    ticket_id: int | None
    at: datetime
    action: str
    actor_id: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = None
    inbox_id: int | None = None
    data: dict | None = None


class Stage:
    __slots__ = ("people", "identities", "tickets", "events", "next_ticket", "recent")

    def __init__(self) -> None:
        self.people: list[dict] = []
        self.identities: list[dict] = []
        self.tickets: list[dict] = []
        self.events: list = []  # StagedEvent or TicketEvent: the scheduler adds to an event's data before it is written
        self.next_ticket: int | None = None  # SQLite: the number the next staged ticket gets
        self.recent: dict[tuple, list[tuple[int, str]]] = {}  # same-hazard candidates, newest first

    def __bool__(self) -> bool:
        return bool(self.people or self.identities or self.tickets or self.events)


_IMMUTABLE = (type(None), str, int, float, bool, Enum, tuple, frozenset, bytes)
_PLANS: dict[type, list | None] = {}
REQUIRED = object()  # a field without a default: left out unless given, as model_construct does


def _plan(cls) -> list | None:
    """How `model_construct` fills each field of `cls`, worked out once: (name, constant default,
    factory); None if the model needs what only model_construct does (aliases, post-init)."""
    if cls.__pydantic_post_init__:
        return None
    plan = []
    for name, f in cls.__pydantic_fields__.items():
        if f.alias not in (None, name) or f.validation_alias is not None or f.default_factory_takes_validated_data:
            return None
        if f.is_required():
            plan.append((name, REQUIRED, None))
        elif f.default_factory is not None:
            plan.append((name, None, f.default_factory))
        elif isinstance(f.default, _IMMUTABLE):
            plan.append((name, f.default, None))
        else:  # pydantic copies a mutable default for each instance
            plan.append((name, None, lambda d=f.default: copy.deepcopy(d)))
    return plan


def new_row(cls, **values):
    """`cls(**values)` for a table model, ten times cheaper (the hot path makes a ticket and a
    resident per report): what `model_construct` makes (the same values and defaults, fields in
    order, unknown keys dropped), without SQLModel setting each field through the ORM's attribute
    events and without pydantic working out each default again. Table models are not validated
    either way; the ORM's attributes work as usual on the object afterwards."""
    if cls not in _PLANS:
        configure_mappers()  # as a first instantiation would
        _PLANS[cls] = _plan(cls)
    plan = _PLANS[cls]
    if plan is None:
        obj = cls.model_construct(**values)
    else:
        fields, given = {}, set()
        for name, default, factory in plan:
            if name in values:
                fields[name] = values[name]
                given.add(name)
            elif factory is not None:
                fields[name] = factory()
            elif default is not REQUIRED:
                fields[name] = default
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", fields)
        object.__setattr__(obj, "__pydantic_fields_set__", given)
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
    cls._sa_class_manager._new_state_if_none(obj)
    return obj


def stage_of(session: Session) -> Stage:
    """The sync session's stage (made on first use)."""
    st = session.info.get(STAGE)
    if st is None:
        st = session.info[STAGE] = Stage()
    return st


def stage_event(session: Session, ev) -> None:
    stage_of(session).events.append(ev)


def pending_events(session: Session) -> list:
    st = session.info.get(STAGE)
    return st.events if st is not None else []


def stage_resident(session: Session, person: Person, platform: str, external_id: str) -> None:
    """A new resident and their platform id; a row made first (another server) is kept."""
    st = stage_of(session)
    values = person.__dict__
    st.people.append({k: values.get(k) for k in PERSON_COLUMNS})
    st.identities.append({"person_id": person.id, "platform": platform, "external_id": external_id})


async def stage_ticket(session, ticket: Ticket) -> int:
    """Number `ticket` and stage its row (a snapshot: later changes go through the ORM). `session`:
    the AsyncSession."""
    st = stage_of(session.sync_session)
    # on the connection, not session.exec: nothing staged needs writing for these
    if session.bind.dialect.name == "postgresql":
        conn = await session.connection()
        ticket.id = (await conn.execute(text("SELECT nextval(pg_get_serial_sequence('tickets', 'id'))"))).scalar_one()
    else:
        if st.next_ticket is None:
            conn = await session.connection()
            st.next_ticket = ((await conn.execute(select(func.max(TICKETS.c.id)))).scalar() or 0) + 1
        ticket.id, st.next_ticket = st.next_ticket, st.next_ticket + 1
    values = ticket.__dict__  # the ORM keeps a new object's values there; its descriptors cost 40 calls a ticket
    st.tickets.append({k: values.get(k) for k in TICKET_COLUMNS})
    if ticket.location:
        for key in _hazard_keys(ticket):
            if key in st.recent:
                st.recent[key].insert(0, (ticket.id, ticket.location))
    return ticket.id


def _hazard_keys(ticket: Ticket) -> list[tuple]:
    keys = [(ticket.unit_id, "category", ticket.category)]
    return keys + [(ticket.unit_id, "item", ticket.item)] if ticket.item else keys


async def recent_alike(session, key: tuple, load) -> list[tuple[int, str]]:
    """Open tickets of the last day for `key` (unit, "item" | "category", value), newest first:
    `load()` (a query) once per key and transaction, then what was staged since."""
    st = stage_of(session.sync_session)
    if key not in st.recent:
        st.recent[key] = list(await load())
    return st.recent[key]


def write_staged(session: Session) -> None:
    """Write what is staged, one statement per table, on the session's connection (no session
    events: this runs inside them)."""
    st = session.info.get(STAGE)
    if not st:
        return
    conn = session.connection()
    people, identities, tickets, events = st.people, st.identities, st.tickets, st.events
    st.people, st.identities, st.tickets, st.events = [], [], [], []
    write_rows(conn, PEOPLE, people, skip_existing=True)
    write_rows(conn, IDENTITIES, identities, skip_existing=True)
    write_rows(conn, TICKETS, tickets)
    write_rows(conn, EVENTS, [{c: getattr(e, c) for c in EVENT_COLUMNS} for e in events])


@event.listens_for(Session, "do_orm_execute")
def _before_a_statement(state) -> None:
    write_staged(state.session)


@event.listens_for(Session, "before_flush")
def _before_a_flush(session, flush_context, instances) -> None:
    write_staged(session)


@event.listens_for(Session, "before_commit")
def _at_commit(session) -> None:
    write_staged(session)


@event.listens_for(Session, "after_transaction_end")
def _drop(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(STAGE, None)
