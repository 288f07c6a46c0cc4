"""The questions handlers ask of the tables, by name: a handler says what it wants to know and
never writes a query itself (tests/test_architecture.py checks)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, text
from sqlmodel import select

from pingan.lifecycle import HELD
from pingan.models.delivery import PENDING, InboxMessage, OutboxMessage
from pingan.models.org import Identity, Person
from pingan.models.ticket import Ticket, TicketEvent
from pingan.models.types import UTCDateTime


async def people_by_identity(session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], Person]:
    """The people behind (platform, user id) pairs, in one query (a group of messages)."""
    if not keys:
        return {}
    by_platform: dict[str, set[str]] = {}
    for platform, ext in keys:
        by_platform.setdefault(platform, set()).add(ext)
    q = (select(Identity.platform, Identity.external_id, Person).join(Identity, Identity.person_id == Person.id)
         .where(or_(*(and_(Identity.platform == p, Identity.external_id.in_(sorted(es)))
                      for p, es in by_platform.items()))))
    return {(p, e): person for p, e, person in (await session.exec(q)).all()}


async def tickets_reported_by(session, person_id: str, statuses, limit: int, since: datetime | None = None
                              ) -> list[Ticket]:
    """The person's reports in `statuses` (filed after `since`), newest first."""
    q = select(Ticket).where(Ticket.reporter_id == person_id, Ticket.status.in_(statuses))
    if since is not None:
        q = q.where(Ticket.created_at > since)
    return list((await session.exec(q.order_by(Ticket.id.desc()).limit(limit))).all())


async def tickets_held_by(session, person_id: str, statuses, limit: int | None = None,
                          newest_first: bool = False) -> list[Ticket]:
    """The tickets the person holds in `statuses`, oldest first (or the newest `limit`)."""
    q = select(Ticket).where(Ticket.holder_person_id == person_id, Ticket.status.in_(statuses))
    q = q.order_by(Ticket.id.desc() if newest_first else Ticket.id)
    return list((await session.exec(q if limit is None else q.limit(limit))).all())


# The reporter's newest ticket still taking additions: built once, and a few columns of the table,
# not the ORM entity (most messages are not follow-ups; the machinery would cost more than the query).
_t = Ticket.__table__.c
_LATEST_OPEN = (select(_t.id, _t.reply_chat, _t.location, _t.grid_id, _t.item, _t.urgent, _t.followup_until)
                .where(_t.reporter_id == bindparam("reporter"), _t.status.in_(sorted(HELD)),
                       or_(_t.followup_until > bindparam("now"),
                           and_(or_(_t.location.is_(None), _t.grid_id.is_(None)),  # see notify.lacks_place
                                _t.created_at > bindparam("since"))))
                .order_by(_t.id.desc()).limit(1))


async def latest_taking_additions(session, reporter_id: str, now: datetime, since: datetime):
    """The reporter's newest held ticket inside its follow-up window, or still lacking a place and
    filed after `since`: a row (id, reply_chat, location, grid_id, item, urgent, followup_until), or None."""
    params = {"reporter": reporter_id, "now": now, "since": since}
    return (await session.exec(_LATEST_OPEN, params=params)).first()


async def resolved_in_chat(session, person_id: str, chat, since: datetime) -> int | None:
    """The ticket the person resolved (办结) last, after `since`, by a message in `chat` (a ChatRef)."""
    E, M = TicketEvent, InboxMessage
    q = (select(E.ticket_id).join(M, M.id == E.inbox_id)
         .where(E.action == "resolve", E.at >= since, E.actor_id == person_id,  # ix_ticket_events_action_at
                M.platform == chat.platform, M.account == chat.account, M.chat_id == chat.chat_id)
         .order_by(E.id.desc()).limit(1))
    return (await session.exec(q)).first()


async def ticket_of_post(session, platform: str, remote_id: str) -> int | None:
    """The ticket a message the bot sent was about."""
    q = select(OutboxMessage.ticket_id).where(OutboxMessage.platform == platform, OutboxMessage.remote_id == remote_id)
    return (await session.exec(q)).first()


async def ticket_of_message(session, platform: str, account: str, msg_id: str) -> int | None:
    """The ticket a received message filed (or was attached to)."""
    q = (select(TicketEvent.ticket_id).join(InboxMessage, InboxMessage.id == TicketEvent.inbox_id)
         .where(InboxMessage.platform == platform, InboxMessage.account == account,
                InboxMessage.msg_id == msg_id, TicketEvent.ticket_id.is_not(None))  # not a question's
         .order_by(TicketEvent.id).limit(1))
    return (await session.exec(q)).first()


async def last_question(session, person_id: str, since: datetime) -> TicketEvent | None:
    """The newest numbered question the bot asked the person ("ask") or their answer to one
    ("answer") since `since`: an answered question is answered."""
    q = (select(TicketEvent).where(TicketEvent.actor_id == person_id, TicketEvent.at > since,
                                   TicketEvent.action.in_(["ask", "answer"]))
         .order_by(TicketEvent.id.desc()).limit(1))
    return (await session.exec(q)).first()


# Which of a group's chats have a pending outbox row the worker's lanes do not answer for: a row no
# worker leased, one another worker leased, or (for a chat whose lane holds no rows, `held` 0) one of
# its own expired leases. Each is a seek on ix_outbox_claim (chat, lease holder, lease end) that stops
# at its first row: the rows this worker's lanes hold, however many are in flight to a busy group,
# are never walked (one test "is it mine?" per row had been a tenth of the server's time under load).
# For a chat whose lane holds rows, rows of its own expired leases are left to `expired_leases`.
# SQLite is told the index: on its own it picks ix_outbox_remote (platform) and scans every row.
_SAME_CHAT = """o.chat_id = t.chat_id AND o.status = 'pending' AND o.platform = t.platform
    AND o.account = t.account AND o.chat_type = t.chat_type"""
_LEASES = ("o.claimed_by IS NULL", "o.claimed_by < :me", "o.claimed_by > :me",
           "t.held = 0 AND o.claimed_by = :me AND o.claimed_until <= :now")


def _queued_where(probe) -> str:
    # most chats of a group have no pending row at all: one seek, and the lease cases only for the others
    return probe("o.chat_id = t.chat_id AND o.status = 'pending'") + " AND (" + " OR ".join(
        probe(f"{_SAME_CHAT} AND {lease}") for lease in _LEASES) + ")"


_QUEUED = {
    "sqlite": f"""SELECT t.platform, t.account, t.chat_type, t.chat_id FROM (
        SELECT json_extract(j.value, '$.platform') AS platform, json_extract(j.value, '$.account') AS account,
               json_extract(j.value, '$.chat_type') AS chat_type, json_extract(j.value, '$.chat_id') AS chat_id,
               json_extract(j.value, '$.held') AS held FROM json_each(:chats) AS j) AS t
        WHERE {_queued_where(lambda w: f"EXISTS (SELECT 1 FROM outbox AS o INDEXED BY ix_outbox_claim WHERE {w})")}""",
    # PostgreSQL would turn EXISTS into a hash of every pending row; a scalar subquery stays a probe per chat
    "postgresql": f"""SELECT t.platform, t.account, t.chat_type, t.chat_id FROM
        json_to_recordset(CAST(:chats AS json)) AS t(platform text, account text, chat_type text, chat_id text, held int)
        WHERE {_queued_where(lambda w: f"(SELECT 1 FROM outbox AS o WHERE {w} LIMIT 1) IS NOT NULL")}""",
}
_QUEUED_SQL = {name: text(sql).bindparams(bindparam("now", type_=UTCDateTime())) for name, sql in _QUEUED.items()}


async def chats_with_queued(session, chats: list[tuple[str, str, str, str]], held: set, worker_id: str | None,
                            now: datetime) -> set[tuple[str, str, str, str]]:
    """Of `chats` (platform, account, chat_type, chat_id), those with a pending row that is not this
    worker's (`worker_id`; None: any pending row) under a running lease; for those in `held`, rows of
    its own expired leases do not count here."""
    if not chats:
        return set()
    payload = json.dumps([{"platform": c[0], "account": c[1], "chat_type": c[2], "chat_id": c[3],
                           "held": 1 if c in held else 0} for c in chats], ensure_ascii=False)
    q = _QUEUED_SQL[session.bind.dialect.name]
    rows = await session.exec(q, params={"chats": payload, "me": worker_id or "", "now": now})
    return {tuple(r) for r in rows.all()}


async def expired_leases(session, chats: list[tuple[str, str, str, str]], worker_id: str, now: datetime
                         ) -> list[tuple[tuple[str, str, str, str], int]]:
    """(chat, row id) of `chats`' pending rows leased to this worker whose lease has run out."""
    if not chats:
        return []
    o = OutboxMessage
    q = (select(o.platform, o.account, o.chat_type, o.chat_id, o.id)
         .where(o.chat_id.in_(sorted({c[3] for c in chats})), o.status == PENDING,
                o.claimed_by == worker_id, o.claimed_until <= now))
    wanted = set(chats)
    return [(tuple(r[:4]), r[4]) for r in (await session.exec(q)).all() if tuple(r[:4]) in wanted]
