"""WeCom (企业微信): wire ↔ core types, nothing more.

- Group robot webhook (消息推送, send-only): a WeCom group in the org file names its robot by
  `chat_id`; the webhook key is a secret read from the environment variable
  PINGAN_WECOM_WEBHOOK_<CHAT_ID> (chat_id upper-cased, anything not A-Z/0-9 → '_'). Text with
  `mentioned_list` (userids) / `mentioned_mobile_list` (mobiles); images as msgtype=image
  (base64 + md5). At most `per_minute` (20) messages a minute per robot; errcode 45009/130101 →
  retry later.
- Intelligent robot (智能机器人) callback at /wecom/bot: GET URL check (msg_signature, timestamp,
  nonce, echostr), POST encrypted JSON {"encrypt": …} — the WXBizMsgCrypt scheme (SHA-1 signature
  over sorted token/timestamp/nonce/encrypt; AES-256-CBC, key = base64(EncodingAESKey + "="),
  IV = key[:16], PKCS#7 to 32; plaintext = 16 random bytes + 4-byte length + msg + receiveid,
  receiveid "" for internal robots). Only messages that @ the robot arrive in groups. The first
  reply, if ready within the budget, goes back as the passive reply (an encrypted `stream` message
  with finish=true); later replies go to the message's `response_url` (usable once, within an hour;
  kept in the database) as markdown, else to the group's webhook if one is configured. A quote
  carries the quoted text, not its id: its one ticket number names the ticket."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import secrets
import time
import uuid
from contextlib import nullcontext
from datetime import timedelta

import aiohttp
from aiohttp import web
from sqlalchemy import and_, delete, insert, select
from wechatpy.crypto import PrpCrypto
from wechatpy.utils import WeChatSigner

from pingan.bot.http import HttpClient
from pingan.bot.outbox import SendError
from pingan.config import WeComSettings
from pingan.messages import ChatRef, Inbound, Mention, Outbound, Text
from pingan.models import ReplyUrl

log = logging.getLogger("pingan.wecom")
PLATFORM = "wecom"
ENV_PREFIX = "PINGAN_WECOM_WEBHOOK_"
RATE_ERRORS = {45009, 130101}


def webhook_env_name(chat_id: str) -> str:
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", chat_id.upper())


def plain_text(out: Outbound) -> str:
    return "".join(p.text if isinstance(p, Text) else f"@{p.name}" for p in out.parts)


# --- crypto -----------------------------------------------------------------------------------

class BadCallback(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, encrypt)
    return signer.signature


class AiBotCrypto:
    """WXBizMsgCrypt-compatible encrypt/decrypt for the intelligent robot (JSON, receiveid "")."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str = "") -> None:
        key = base64.b64decode(encoding_aes_key + "=")
        if len(key) != 32:
            raise ValueError("EncodingAESKey must be 43 characters")
        self.token, self.key, self.receive_id = token, key, receive_id

    def _verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        want = signature(self.token, timestamp, nonce, encrypt)
        if not secrets.compare_digest(want.encode(), (msg_signature or "").encode()):
            raise BadCallback(403, "bad msg_signature")

    def decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        self._verify(msg_signature, timestamp, nonce, encrypt)
        try:
            return PrpCrypto(self.key).decrypt(encrypt, self.receive_id)
        except Exception as exc:  # bad base64, padding, length, receiveid
            raise BadCallback(400, f"cannot decrypt: {type(exc).__name__}") from None

    def encrypt(self, plaintext: str, nonce: str | None = None, timestamp: str | None = None) -> dict:
        nonce = nonce or secrets.token_hex(8)
        timestamp = timestamp or str(int(time.time()))
        enc = PrpCrypto(self.key).encrypt(plaintext, self.receive_id)
        enc = enc.decode() if isinstance(enc, bytes) else enc
        return {"encrypt": enc, "msgsignature": signature(self.token, timestamp, nonce, enc),
                "timestamp": timestamp, "nonce": nonce}


# --- response_urls ------------------------------------------------------------------------------

REPLY_URL = ReplyUrl.__table__


class ResponseUrls:
    """Each message's response_url, usable once within an hour, kept in the database so that a
    restart, or the other server's outbox worker, can still answer through it. The newest unexpired
    one of a chat is used first."""

    def __init__(self, sessions, clock, write_lock=None, ttl: timedelta = timedelta(minutes=55)) -> None:
        self.sessions, self.clock, self.write_lock, self.ttl = sessions, clock, write_lock, ttl

    def _chat(self, account: str, chat_id: str):
        return and_(REPLY_URL.c.platform == PLATFORM, REPLY_URL.c.account == account, REPLY_URL.c.chat_id == chat_id)

    async def put(self, account: str, chat_id: str, url: str) -> None:
        now = self.clock.now()
        async with self.write_lock or nullcontext(), self.sessions() as session:
            await session.exec(delete(REPLY_URL).where(self._chat(account, chat_id), REPLY_URL.c.expires_at <= now))
            await session.exec(insert(REPLY_URL).values(platform=PLATFORM, account=account, chat_id=chat_id,
                                                        url=url, expires_at=now + self.ttl))
            await session.commit()

    async def take(self, account: str, chat_id: str) -> str | None:
        """The newest usable URL of the chat, deleted as it is taken (two servers never share one)."""
        newest = (select(REPLY_URL.c.id).where(self._chat(account, chat_id), REPLY_URL.c.expires_at > self.clock.now())
                  .order_by(REPLY_URL.c.id.desc()).limit(1).with_for_update(skip_locked=True).scalar_subquery())
        async with self.write_lock or nullcontext(), self.sessions() as session:
            url = (await session.exec(delete(REPLY_URL).where(REPLY_URL.c.id == newest)
                                      .returning(REPLY_URL.c.url))).scalar_one_or_none()
            await session.commit()
        return url


# --- the sender -------------------------------------------------------------------------------

class WeComSender:
    platform = PLATFORM

    def __init__(self, settings: WeComSettings, http: HttpClient, clock, env: dict[str, str] | None = None,
                 response_urls: ResponseUrls | None = None) -> None:
        self.settings, self.http, self.clock = settings, http, clock
        self.env = dict(os.environ) if env is None else env
        self.response_urls = response_urls  # None: webhooks only

    def webhook_key(self, chat_id: str) -> str | None:
        return self.env.get(webhook_env_name(chat_id)) or None

    def rate_limit(self, target: ChatRef) -> tuple[str, int, float] | None:
        if self.webhook_key(target.chat_id) is None:
            return None
        return (f"wecom:robot:{target.chat_id}", self.settings.per_minute, 60.0)

    async def send(self, out: Outbound) -> str | None:
        t = out.target
        url = await self.response_urls.take(t.account, t.chat_id) if self.response_urls and t.account else None
        if url is not None:
            await self._post(url, {"msgtype": "markdown", "markdown": {"content": self.markdown(out)}})
            return None
        key = self.webhook_key(t.chat_id)
        if key is None:
            raise SendError(f"WeCom chat {t.chat_id}: no webhook key (set {webhook_env_name(t.chat_id)}) "
                            "and no fresh response_url", permanent=True)
        hook = f"{self.settings.webhook_base}?key={key}"
        text = plain_text(out)
        if text.strip() or out.file:
            mentions = out.mentions()
            body = {"content": text + (f"\n[附件] {os.path.basename(out.file)}" if out.file else ""),
                    "mentioned_list": [m.user_id for m in mentions if m.user_id],
                    "mentioned_mobile_list": [m.mobile for m in mentions if not m.user_id and m.mobile]}
            await self._post(hook, {"msgtype": "text", "text": body})
        if out.image:
            try:
                with open(out.image, "rb") as f:
                    raw = f.read()
            except OSError as exc:
                raise SendError(f"image {out.image!r} unreadable: {exc}", permanent=True) from None
            await self._post(hook, {"msgtype": "image", "image": {
                "base64": base64.b64encode(raw).decode(), "md5": hashlib.md5(raw).hexdigest()}})
        return None

    @staticmethod
    def markdown(out: Outbound) -> str:
        return "".join(p.text if isinstance(p, Text) else (f"<@{p.user_id}>" if p.user_id else f"@{p.name}")
                       for p in out.parts if isinstance(p, (Text, Mention)))

    async def _post(self, url: str, payload: dict) -> None:
        try:
            async with self.http.session().post(url, data=json.dumps(payload, ensure_ascii=False).encode(),
                                                headers={"Content-Type": "application/json"}) as r:
                if r.status == 429 or r.status >= 500:
                    retry = r.headers.get("Retry-After")
                    raise SendError(f"WeCom HTTP {r.status}",
                                    retry_after=float(retry) if retry and retry.isdigit() else None)
                if r.status != 200:
                    raise SendError(f"WeCom HTTP {r.status}")
                data = await r.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise SendError(f"WeCom: {type(exc).__name__} {exc}") from None
        code = int((data or {}).get("errcode") or 0) if isinstance(data, dict) else -2
        if code in RATE_ERRORS:
            raise SendError(f"WeCom errcode {code}: sending too fast", retry_after=60)
        if code == 93000 or code == 40008:  # invalid webhook key / message type: retrying cannot help
            raise SendError(f"WeCom errcode {code} {data.get('errmsg', '')}".strip(), permanent=True)
        if code != 0:
            raise SendError(f"WeCom errcode {code} {(data or {}).get('errmsg', '') if isinstance(data, dict) else ''}".strip())


# --- the intelligent-robot callback -------------------------------------------------------------

_LEADING_AT = re.compile(r"^\s*@\S+\s*")


def callback_to_inbound(d: dict, bot_name: str = "") -> Inbound | None:
    """A decrypted robot callback → Inbound (None for events and stream refreshes)."""
    if not isinstance(d, dict):
        raise BadCallback(400, "callback is not a JSON object")
    msgtype = d.get("msgtype")
    if msgtype not in ("text", "image", "mixed", "voice", "file"):
        return None
    frm = d.get("from") if isinstance(d.get("from"), dict) else {}
    userid, aibotid, msgid = frm.get("userid"), d.get("aibotid"), d.get("msgid")
    if not all(isinstance(v, str) and v for v in (userid, aibotid, msgid)):
        raise BadCallback(400, "msgid, aibotid and from.userid are required")
    group = d.get("chattype") == "group"
    chat_id = d.get("chatid") if group else userid
    if not isinstance(chat_id, str) or not chat_id:
        raise BadCallback(400, "chatid is required for group messages")
    text, images = body_of(d)
    quote = d.get("quote")
    quoted = body_of(quote)[0] if isinstance(quote, dict) else ""
    if bot_name and f"@{bot_name}" in text:
        text = text.replace(f"@{bot_name}", "", 1)
    elif group:
        text = _LEADING_AT.sub("", text, count=1)
    return Inbound(chat=ChatRef(PLATFORM, aibotid, "group" if group else "private", chat_id), msg_id=msgid,
                   sender_id=userid, sender_name=userid, text=text.strip(), mentions_bot=group, images=images,
                   quoted_text=quoted or None)


def body_of(d: dict) -> tuple[str, list[str]]:
    """The text and image URLs of a message body (a callback, or the message it quotes)."""
    def content(obj) -> str:
        return str(obj.get("content") or "") if isinstance(obj, dict) else ""

    msgtype, text, images = d.get("msgtype"), "", []
    if msgtype == "text":
        text = content(d.get("text"))
    elif msgtype == "voice":
        text = content(d.get("voice"))
    elif msgtype == "image" and isinstance(d.get("image"), dict) and d["image"].get("url"):
        images.append(str(d["image"]["url"]))
    elif msgtype == "mixed" and isinstance(d.get("mixed"), dict):
        for item in d["mixed"].get("msg_item") or []:
            if not isinstance(item, dict):
                continue
            if item.get("msgtype") == "text":
                text += content(item.get("text"))
            elif item.get("msgtype") == "image" and isinstance(item.get("image"), dict) and item["image"].get("url"):
                images.append(str(item["image"]["url"]))
    return text, images


class WeComAdapter:
    platform = PLATFORM

    def __init__(self, bot, pipeline, settings: WeComSettings, http: HttpClient | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.bot, self.pipeline, self.settings = bot, pipeline, settings
        self.http = http or HttpClient()
        self.crypto = AiBotCrypto(settings.bot_token, settings.bot_aes_key) if settings.bot_aes_key else None
        self.response_urls = ResponseUrls(bot.sessions, bot.clock, pipeline.gate)
        self.sender = WeComSender(settings, self.http, bot.clock, env, self.response_urls)

    def register(self, app: web.Application) -> None:
        for path in ("/wecom/bot", "/wecom/bot/"):
            app.router.add_get(path, self.verify)
            app.router.add_post(path, self.callback)

    async def close(self) -> None:
        pass

    def _params(self, q) -> tuple[str, str, str]:
        if self.crypto is None:
            raise BadCallback(503, "WeCom robot token/AES key not configured")
        sig, ts, nonce = q.get("msg_signature"), q.get("timestamp"), q.get("nonce")
        if not (sig and ts and nonce):
            raise BadCallback(400, "msg_signature, timestamp and nonce are required")
        return sig, ts, nonce

    async def verify(self, request: web.Request) -> web.Response:
        try:
            sig, ts, nonce = self._params(request.query)
            echostr = request.query.get("echostr")
            if not echostr:
                raise BadCallback(400, "echostr is required")
            plain = self.crypto.decrypt(sig, ts, nonce, echostr)
        except BadCallback as exc:
            return web.Response(status=exc.status, text=str(exc))
        return web.Response(text=plain)

    async def callback(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            sig, ts, nonce = self._params(request.query)
            try:
                outer = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise BadCallback(400, "body is not JSON") from None
            if not isinstance(outer, dict) or not isinstance(outer.get("encrypt"), str):
                raise BadCallback(400, 'body must be {"encrypt": "…"}')
            plain = self.crypto.decrypt(sig, ts, nonce, outer["encrypt"])
            try:
                d = json.loads(plain)
            except ValueError:
                raise BadCallback(400, "decrypted body is not JSON") from None
            inbound = callback_to_inbound(d, self.settings.bot_name)
        except BadCallback as exc:
            log.warning("wecom callback rejected: %s %s", exc.status, exc)
            return web.Response(status=exc.status, text=str(exc))
        if inbound is None:
            return web.Response(text="")
        if isinstance(d.get("response_url"), str) and d["response_url"]:
            await self.response_urls.put(inbound.chat.account, inbound.chat.chat_id, d["response_url"])
        ready = await self.pipeline.passive_reply(inbound, self.settings.passive_budget_seconds)
        if ready is None:  # a re-delivery, or not ready in time: response_url / the webhook later
            return web.Response(text="")
        reply = {"msgtype": "stream", "stream": {"id": uuid.uuid4().hex, "finish": True,
                                                 "content": plain_text(ready)}}
        return web.json_response(self.crypto.encrypt(json.dumps(reply, ensure_ascii=False), nonce, ts))
