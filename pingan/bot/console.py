"""The local console platform: `pingan chat` and `pingan demo` speak to the bot through it.

Group chats are named by their group name; private chats by the person's name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from pingan.messages import ChatRef, Inbound, Location, Mention, Outbound

PLATFORM = "console"
ACCOUNT = "console"


def group_chat(name: str) -> ChatRef:
    return ChatRef(PLATFORM, ACCOUNT, "group", name)


def private_chat(name: str) -> ChatRef:
    return ChatRef(PLATFORM, ACCOUNT, "private", name)


def message(chat: ChatRef, sender: str, text: str = "", reply_to: str | None = None,
            images: list[str] | None = None, location: Location | None = None) -> Inbound:
    return Inbound(chat=chat, msg_id=uuid.uuid4().hex, sender_id=sender, sender_name=sender, text=text,
                   reply_to=reply_to, images=images or [], location=location)


def render(out: Outbound) -> str:
    """Plain text with @name for mentions (the console has no real mentions)."""
    return "".join(f"@{p.name}" if isinstance(p, Mention) else p.text for p in out.parts)


def attachments(out: Outbound) -> str:
    """Where a chart or a ledger went: the console can only show its path."""
    lines = ([f"🖼️ 图表：{out.image}"] if out.image else []) + ([f"📎 附件：{out.file}"] if out.file else [])
    return "".join("\n" + line for line in lines)


@dataclass
class ConsoleSender:
    """Delivers to an in-memory transcript; each delivered message gets a number for quote-replies."""

    platform: str = PLATFORM
    delivered: list[tuple[str, ChatRef, Outbound]] = field(default_factory=list)
    printer: object = None
    prefix: str = "b"  # make ids unique per session when a database outlives the session

    async def send(self, out: Outbound) -> str:
        remote_id = f"{self.prefix}{len(self.delivered) + 1}"
        self.delivered.append((remote_id, out.target, out))
        if self.printer is not None:
            self.printer(remote_id, out)
        return remote_id
