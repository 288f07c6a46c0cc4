"""The web workbench's state: sign-in links already used, sessions, and the signing key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from pingan.models.types import UTCDateTime


class WebLinkUse(SQLModel, table=True):
    """A one-time sign-in link that has been used (its nonce): a second use is refused."""

    __tablename__ = "web_link_uses"

    nonce: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(max_length=64)
    used_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class WebSession(SQLModel, table=True):
    """A signed-in browser. `id` is the SHA-256 of the cookie's value (a stolen table signs no one in)."""

    __tablename__ = "web_sessions"

    id: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(max_length=64, index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class WebKey(SQLModel, table=True):
    """The key sign-in links are signed with, when PINGAN_WEB_SECRET is not set: made on first use
    and shared through the database, so `pingan web link` and the server agree."""

    __tablename__ = "web_keys"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128)


class WebPhoto(SQLModel, table=True):
    """A ticket's photo (its n-th attachment) fetched from the platform's short-lived link and kept
    in `[web] photos_dir`, so the ticket page still shows it after the link expires."""

    __tablename__ = "web_photos"
    __table_args__ = (UniqueConstraint("ticket_id", "n", name="uq_web_photos_ticket_n"),
                      Index("ix_web_photos_due", "fetched_at", "next_attempt_at"))

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(index=True)
    n: int
    ref: str
    path: str | None = None  # file name under photos_dir, once fetched
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    fetched_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    error: str | None = None
