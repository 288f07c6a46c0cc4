"""What a handler gets: the message, who sent it, where from, and the desk/notifier to act with."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from pingan.clock import Clock
from pingan.config import Settings
from pingan.messages import Inbound, Mention, Text
from pingan.models import ChatGroup, Person, Role
from pingan.models.stage import new_row, stage_resident
from pingan.models.org_index import OrgIndex
from pingan.notify import Notifier
from pingan.taxonomy import Taxonomy
from pingan.tickets import TicketDesk


@dataclass
class Context:
    msg: Inbound
    inbox_id: int | None
    session: AsyncSession  # the message's transaction: whatever the handler changes commits with it
    reports: async_sessionmaker  # read-only sessions for long reports (see Bot.reports)
    settings: Settings
    org: OrgIndex
    taxonomy: Taxonomy
    clock: Clock
    now: datetime
    sender: Person | None
    desk: TicketDesk
    notify: Notifier
    handled_by: str | None = None
    cache: dict = field(default_factory=dict)  # filters share parsed results through here
    later: list = field(default_factory=list)  # see after_commit

    def after_commit(self, job) -> None:
        """Run `async job(notifier)` once this message's transaction has committed, outside it: for
        long read-only work (an official's 台账) that must not hold up other messages. What it sends
        through the notifier is enqueued in a transaction of its own."""
        self.later.append(job)

    @property
    def group(self) -> ChatGroup | None:
        if self.msg.chat.chat_type != "group":
            return None
        return self.org.group(self.msg.chat.platform, self.msg.chat.chat_id)

    @property
    def unit_id(self) -> str | None:
        """The unit this chat serves: the group's, or the channel's (an official account)."""
        if self.group is not None:
            return self.group.unit_id
        channel = self.org.channel(self.msg.chat.platform, self.msg.chat.account)
        return channel.unit_id if channel else None

    @property
    def is_staff(self) -> bool:
        return self.sender is not None and self.sender.role != Role.resident

    def reply(self, text: str) -> None:
        """Answer in the chat the message came from; in a group, @ the sender."""
        parts = [Text(text)]
        if self.msg.chat.chat_type == "group":
            parts = [Mention(self.msg.sender_name or (self.sender.name if self.sender else ""), self.msg.sender_id), Text(" " + text)]
        self.notify.to_chat(self.msg.chat, parts)

    async def ensure_sender(self) -> Person:
        """The sender as a person; an unknown sender becomes a resident (so reports are never refused)."""
        if self.sender is not None:
            return self.sender
        platform, ext = self.msg.chat.platform, self.msg.sender_id
        pid = "r-" + hashlib.sha1(f"{platform}:{ext}".encode()).hexdigest()[:16]
        person = new_row(Person, id=pid, name=self.msg.sender_name or "居民", role=Role.resident)
        stage_resident(self.session.sync_session, person, platform, ext)
        self.sender = person
        return person


class KnownSenders:
    """Recent senders by (platform, external id), so a busy chat costs no lookup per message. Filled
    only after a commit (never a person a rollback undid); emptied when the organisation is
    reloaded after an import (Bot.refresh_org), since people may have new roles."""

    SIZE = 50_000

    def __init__(self) -> None:
        self._people: dict[tuple[str, str], Person] = {}

    def get(self, platform: str, external_id: str) -> Person | None:
        return self._people.get((platform, external_id))

    def remember(self, platform: str, external_id: str, person: Person) -> None:
        key = (platform, external_id)
        self._people.pop(key, None)
        self._people[key] = person
        if len(self._people) > self.SIZE:  # forget the least recently remembered
            del self._people[next(iter(self._people))]
