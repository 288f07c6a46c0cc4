"""Durable inbox and outbox: nothing that reached us is lost, nothing we owe is forgotten."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from pingan.models.types import JSONType, UTCDateTime


class InboxMessage(SQLModel, table=True):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "account", "msg_id", name="uq_inbox_key"),
        Index("ix_inbox_pending", "handled_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    account: str
    msg_id: str
    payload: dict = Field(sa_type=JSONType)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    handled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    error: str | None = None


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_remote", "platform", "remote_id"),
        Index("ix_outbox_chat", "chat_id", "status", "id"),
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
