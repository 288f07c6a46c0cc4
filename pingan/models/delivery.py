"""Durable inbox and outbox: nothing that reached us is lost, nothing we owe is forgotten."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint, literal_column, text
from sqlmodel import Field, SQLModel

from pingan.models.types import JSONType, UTCDateTime


KEYED = text("msg_id IS NOT NULL")
# Outbox rows are looked up by chat and by when they are due only while pending: indexes holding only
# those stay a few pages however much was ever sent, and a row leaving them (sent, dead) dirties those
# same few pages instead of one page per chat in a history-sized index. A query must state the
# condition as a literal (`OutboxMessage.status == PENDING`): no planner matches a bound parameter to it.
# (They keep `status` as a column: an equality on it is what makes SQLite's planner prefer them.)
PENDING_ROWS = text("status = 'pending'")
PENDING = literal_column("'pending'")


class InboxMessage(SQLModel, table=True):
    """The dedupe key is (platform, account, chat, platform message id): OneBot's ids are 32-bit
    hashes, unique only per chat and only for a while. `msg_id` is set to NULL once the message is
    older than `server.dedupe_days` (the payload keeps the id), so the key stops matching."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "account", "chat_id", "msg_id", name="uq_inbox_chat_key"),
        Index("ix_inbox_pending", "handled_at", "id"),
        Index("ix_inbox_keyed_age", "received_at", sqlite_where=KEYED, postgresql_where=KEYED),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    account: str
    chat_id: str = ""
    msg_id: str | None = None
    payload: dict = Field(sa_type=JSONType)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    handled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    error: str | None = None


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at", sqlite_where=PENDING_ROWS, postgresql_where=PENDING_ROWS),
        Index("ix_outbox_remote", "platform", "remote_id"),
        Index("ix_outbox_chat", "chat_id", "status", "id", sqlite_where=PENDING_ROWS, postgresql_where=PENDING_ROWS),
        # which chats have a pending row no lane of this worker holds: a seek per lease state (queries._QUEUED)
        Index("ix_outbox_claim", "chat_id", "claimed_by", "claimed_until", sqlite_where=PENDING_ROWS,
              postgresql_where=PENDING_ROWS),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    account: str
    chat_type: str
    chat_id: str
    payload: dict = Field(sa_type=JSONType)
    ticket_id: int | None = Field(default=None, index=True)
    status: str = "pending"  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = None
    remote_id: str | None = None  # platform message id once sent (for quote-replies)
    # A worker claims a row for `lease` seconds before sending it, so two servers never both send it.
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    claimed_by: str | None = None


class ReplyUrl(SQLModel, table=True):
    """A one-time reply address a platform hands us with a message (WeCom's response_url), kept in
    the database until used or expired: after a restart, or on the other server, it still works."""

    __tablename__ = "reply_url"
    __table_args__ = (Index("ix_reply_url_chat", "platform", "account", "chat_id", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    account: str
    chat_id: str
    url: str
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
