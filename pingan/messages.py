"""Platform-neutral message types. Adapters translate wire formats to and from these; nothing else
knows a platform's wire format."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Literal

ChatType = Literal["group", "private"]


@dataclass(frozen=True)
class ChatRef:
    """Where a message lives: platform ('qq', 'wechat', 'wecom', 'console'), bot account, chat.
    `via`: what the platform needs besides the chat id to answer there (a QQ temporary session's
    group), opaque to the core: the adapter sets it on an inbound chat, replies carry it, the outbox
    stores it with them (so any server, after any restart, sends them the same way), and only that
    platform's sender reads it. Not part of the chat's identity."""

    platform: str
    account: str
    chat_type: ChatType
    chat_id: str
    via: dict | None = field(default=None, compare=False, hash=False)

    def key(self) -> str:
        return f"{self.platform}:{self.account}:{self.chat_type}:{self.chat_id}"

    @classmethod
    def from_dict(cls, d: dict) -> "ChatRef":
        return cls(d["platform"], d["account"], d["chat_type"], d["chat_id"], d.get("via"))


# the polite answer to a message type the bot cannot read (video, file, sticker-only…)
UNSUPPORTED_REPLY = "暂不支持这类消息。请发送文字说明隐患和位置，也可以发照片或位置。紧急情况请直接拨打 119 / 110 / 120。"
MAX_ID = 128  # platform ids are short; a longer one is forged or broken (and would not index)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database stores them


def storable(s: str) -> str:
    """Text as every database can store it (NUL and lone surrogates dropped)."""
    return _UNSTORABLE.sub("", s)


def check_id(value: object, name: str) -> str:
    """A platform id (a number or a short string) as text; ValueError if missing or unusable."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"missing or invalid {name}")
    s = storable(str(value) if isinstance(value, str) or abs(value) < 10 ** MAX_ID else "").strip()
    if not s or len(s) > MAX_ID:
        raise ValueError(f"missing or invalid {name}")
    return s


@dataclass
class Location:
    lat: float
    lon: float
    label: str = ""

    @classmethod
    def checked(cls, lat: object, lon: object, label: object = "") -> "Location":
        """From wire values (numbers or numeric strings); ValueError unless a real place on Earth."""
        try:
            la, lo = float(lat), float(lon)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raise ValueError("latitude/longitude are not numbers") from None
        if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
            raise ValueError("latitude/longitude out of range")
        return cls(la, lo, storable(str(label or ""))[:200])


@dataclass
class Inbound:
    """One message someone sent us."""

    chat: ChatRef
    msg_id: str
    sender_id: str
    text: str = ""
    sender_name: str = ""
    mentions_bot: bool = False
    reply_to: str | None = None  # platform message id of a quoted message
    quoted_text: str | None = None  # a quoted message's text, where the platform sends that, not its id
    images: list[str] = field(default_factory=list)
    location: Location | None = None
    received_at: datetime | None = None
    event: str | None = None  # e.g. 'subscribe', 'recall' for platform events that are not messages

    def __post_init__(self) -> None:  # whatever an adapter passes on, the inbox can store
        self.text, self.sender_name = storable(self.text), storable(self.sender_name)
        if self.quoted_text is not None:
            self.quoted_text = storable(self.quoted_text)
        self.images = [storable(i) for i in self.images]

    def to_dict(self) -> dict:
        # field by field: dataclasses.asdict deep-copies every value, and every message is stored
        d = {name: getattr(self, name) for name in _INBOUND_FIELDS}
        c, loc = self.chat, self.location
        d["chat"] = {"platform": c.platform, "account": c.account, "chat_type": c.chat_type, "chat_id": c.chat_id,
                     "via": dict(c.via) if c.via is not None else None}
        d["images"] = list(self.images)
        d["location"] = {"lat": loc.lat, "lon": loc.lon, "label": loc.label} if loc is not None else None
        d["received_at"] = self.received_at.isoformat() if self.received_at else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Inbound":
        d = dict(d)
        d["chat"] = ChatRef.from_dict(d["chat"])
        if d.get("location"):
            d["location"] = Location(**d["location"])
        if d.get("received_at"):
            d["received_at"] = datetime.fromisoformat(d["received_at"])
        return cls(**d)


_INBOUND_FIELDS = tuple(f.name for f in fields(Inbound))


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Mention:
    """@someone. `user_id` is their id on the target platform (None → rendered as a plain name)."""

    name: str
    user_id: str | None = None
    mobile: str | None = None


Part = Text | Mention


@dataclass
class Outbound:
    """One message we send: text and mention parts, optionally an image (file path) or a file."""

    target: ChatRef
    parts: list[Part]
    image: str | None = None
    file: str | None = None
    ticket_id: int | None = None

    def plain(self) -> str:
        return "".join(p.text if isinstance(p, Text) else f"@{p.name}" for p in self.parts)

    def mentions(self) -> list[Mention]:
        return [p for p in self.parts if isinstance(p, Mention)]

    def to_dict(self) -> dict:
        d = {
            # by hand: asdict deep-copies, and every reply and post is stored
            "parts": [{"text": p.text} if isinstance(p, Text)
                      else {"mention": {"name": p.name, "user_id": p.user_id, "mobile": p.mobile}} for p in self.parts],
            "image": self.image,
            "file": self.file,
        }
        if self.target.via:  # the outbox row's columns hold the chat; this, how to reach it
            d["via"] = self.target.via
        return d

    @classmethod
    def from_dict(cls, target: ChatRef, d: dict, ticket_id: int | None = None) -> "Outbound":
        parts: list[Part] = [Text(p["text"]) if "text" in p else Mention(**p["mention"]) for p in d["parts"]]
        if d.get("via"):
            target = replace(target, via=d["via"])
        return cls(target=target, parts=parts, image=d.get("image"), file=d.get("file"), ticket_id=ticket_id)
