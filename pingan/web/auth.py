"""Sign-in through the chat identity: a one-time link (signed, short-lived, used once) opens a
session kept in the database; every page and form is checked against it server-side.

A link is `base64url(person, expiry, nonce) . HMAC-SHA256`; its nonce is stored when used
(WebLinkUse), so a second use is refused even within its minutes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from pingan.models import Person, WebKey, WebLinkUse, WebSession
from pingan.models.org_index import OrgIndex

COOKIE = "pingan_session"
USED = "这个登录链接已经用过了。请在工作群里发「看板」重新获取。"


class LinkRefused(Exception):
    """A sign-in link that is forged, expired or already used; the message says which, in Chinese."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def signing_key(session, settings) -> bytes:
    """PINGAN_WEB_SECRET, else the key kept in the database: made on first use (the server makes it
    at start-up), committed with the caller's transaction."""
    if settings.web.secret:
        return settings.web.secret.encode()
    row = (await session.exec(select(WebKey).order_by(WebKey.id))).first()
    if row is None:
        row = WebKey(key=secrets.token_hex(32))
        session.add(row)
        await session.flush()
    return row.key.encode()


def link_url(settings, token: str) -> str:
    return f"{settings.workbench_url()}/web/login?t={token}"


async def sign_in_link(session, settings, person_id: str, now: datetime) -> str:
    """A one-time sign-in link for a person (the 「看板」 answer, `pingan web link`)."""
    key = await signing_key(session, settings)
    return link_url(settings, make_link_token(key, person_id, now, settings.web.link_minutes))


def make_link_token(key: bytes, person_id: str, now: datetime, minutes: int) -> str:
    payload = _b64(json.dumps({"p": person_id, "e": int((now + timedelta(minutes=minutes)).timestamp()),
                               "n": secrets.token_hex(16)}, separators=(",", ":")).encode())
    return payload + "." + _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def read_link_token(key: bytes, token: str) -> dict:
    """The link's claims if it is genuine (its age: `check_fresh`; its use: `link_used`, `use_link`)."""
    payload, _, sig = (token or "").partition(".")
    try:
        good = hmac.compare_digest(_unb64(sig), hmac.new(key, payload.encode(), hashlib.sha256).digest())
        claims = json.loads(_unb64(payload)) if good else None
    except (ValueError, UnicodeError):
        claims = None
    if not isinstance(claims, dict) or not {"p", "e", "n"} <= claims.keys():
        raise LinkRefused("这个登录链接无效。请在工作群里发「看板」重新获取。")
    return claims


def check_fresh(claims: dict, now: datetime, minutes: int) -> None:
    if now.timestamp() > claims["e"]:
        raise LinkRefused(f"这个登录链接已过期（{minutes}分钟内有效）。请在工作群里发「看板」重新获取。")


async def link_used(session, claims: dict) -> bool:
    return await session.get(WebLinkUse, claims["n"]) is not None


async def use_link(sessions, claims: dict, now: datetime, hours: float) -> tuple[str, WebSession]:
    """Spend the link and open a session: (cookie value, session). The nonce's primary key makes a
    second use fail even when two browsers race."""
    cookie = secrets.token_urlsafe(32)
    ws = WebSession(id=_hash(cookie), person_id=claims["p"], csrf=secrets.token_urlsafe(24), created_at=now,
                    expires_at=now + timedelta(hours=hours))
    async with sessions() as session:
        session.add(WebLinkUse(nonce=claims["n"], person_id=claims["p"], used_at=now))
        try:
            await session.flush()
        except IntegrityError:
            raise LinkRefused(USED) from None
        session.add(ws)
        await session.commit()
    return cookie, ws


async def session_of(sessions, cookie: str | None, now: datetime) -> WebSession | None:
    if not cookie:
        return None
    async with sessions() as session:
        ws = await session.get(WebSession, _hash(cookie))
    if ws is None or ws.ended_at is not None or ws.expires_at <= now:
        return None
    return ws


async def end_session(sessions, ws: WebSession, now: datetime) -> None:
    async with sessions() as session:
        row = await session.get(WebSession, ws.id)
        if row is not None:
            row.ended_at = now
            await session.commit()


@dataclass
class Viewer:
    """Who is looking, and the units they may see (their unit and everything below it)."""

    person: Person
    units: frozenset[str]
    session: WebSession

    @classmethod
    def of(cls, org: OrgIndex, ws: WebSession) -> "Viewer | None":
        person = org.people.get(ws.person_id)  # staff only: the index holds no residents
        if person is None or person.unit_id not in org.units:
            return None
        return cls(person, frozenset(org.descendants(person.unit_id)), ws)

    def may_see_unit(self, unit_id: str | None) -> bool:
        return unit_id in self.units

    def may_see(self, ticket) -> bool:
        """A ticket is visible if its community, grid, holder or department is in the viewer's subtree."""
        return any(u in self.units for u in (ticket.unit_id, ticket.grid_id, ticket.holder_unit_id,
                                             ticket.department_id) if u)
