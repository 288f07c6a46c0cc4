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
from pingan.messages import MAX_ID, UNSUPPORTED_REPLY, ChatRef, Inbound, Mention, Outbound, Text, check_id, storable
from pingan.models import ReplyUrl

log = logging.getLogger("pingan.wecom")
PLATFORM = "wecom"
ENV_PREFIX = "PINGAN_WECOM_WEBHOOK_"
RATE_ERRORS = {45009, 130101}
HOPELESS = {93000, 40008, 40058}  # invalid webhook key / message type / parameter: retrying cannot help
TEXT_BYTES = 2048  # a webhook text's content limit (UTF-8 bytes)


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
        """Through a fresh response_url (markdown), else the group's webhook (text split to its
        limit, image, and the file uploaded as media). A file needs the webhook: without one its
        name is all that can go."""
        t = out.target
        key = self.webhook_key(t.chat_id)
        url = await self.response_urls.take(t.account, t.chat_id) if self.response_urls and t.account else None
        if url is None and key is None:
            raise SendError(f"WeCom chat {t.chat_id}: no webhook key (set {webhook_env_name(t.chat_id)}) "
                            "and no fresh response_url", permanent=True)
        hook = f"{self.settings.webhook_base}?key={key}" if key else None
        note = f"\n[附件] {os.path.basename(out.file)}" if out.file and hook is None else ""
        if url is not None:
            await self._post(url, {"msgtype": "markdown", "markdown": {"content": self.markdown(out) + note}})
        else:
            await self._text_and_image(hook, out)
        if out.file and hook is not None:
            await self._file(key, hook, out.file)
        return None

    async def _text_and_image(self, hook: str, out: Outbound) -> None:
        text = plain_text(out)
        mentions = out.mentions()
        for i, chunk in enumerate(split_text(text) if text.strip() else []):
            body = {"content": chunk}
            if i == 0:  # @ people once, with the first part
                body.update(mentioned_list=[m.user_id for m in mentions if m.user_id],
                            mentioned_mobile_list=[m.mobile for m in mentions if not m.user_id and m.mobile])
            await self._post(hook, {"msgtype": "text", "text": body})
        if out.image:
            raw = _read(out.image, "image")
            await self._post(hook, {"msgtype": "image", "image": {
                "base64": base64.b64encode(raw).decode(), "md5": hashlib.md5(raw).hexdigest()}})

    async def _file(self, key: str, hook: str, path: str) -> None:
        """upload_media (type=file, multipart field `media`) → media_id → a `file` message."""
        form = aiohttp.FormData(quote_fields=False)  # the file name as UTF-8, as browsers send it
        form.add_field("media", _read(path, "file"), filename=os.path.basename(path),
                       content_type="application/octet-stream")
        upload = self.settings.webhook_base.rsplit("/", 1)[0] + f"/upload_media?key={key}&type=file"
        data = await self._post(upload, form=form)
        if not isinstance(data.get("media_id"), str):
            raise SendError("WeCom upload_media: no media_id in the answer")
        await self._post(hook, {"msgtype": "file", "file": {"media_id": data["media_id"]}})

    @staticmethod
    def markdown(out: Outbound) -> str:
        return "".join(p.text if isinstance(p, Text) else (f"<@{p.user_id}>" if p.user_id else f"@{p.name}")
                       for p in out.parts if isinstance(p, (Text, Mention)))

    async def _post(self, url: str, payload: dict | None = None, form: aiohttp.FormData | None = None) -> dict:
        if form is None:
            kw = {"data": json.dumps(payload, ensure_ascii=False).encode(), "headers": {"Content-Type": "application/json"}}
        else:
            kw = {"data": form}
        try:
            async with self.http.session().post(url, **kw) as r:
                if r.status == 429 or r.status >= 500:
                    retry = r.headers.get("Retry-After")
                    raise SendError(f"WeCom HTTP {r.status}",
                                    retry_after=float(retry) if retry and retry.isdigit() else None)
                if r.status != 200:
                    raise SendError(f"WeCom HTTP {r.status}")
                data = await r.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise SendError(f"WeCom: {type(exc).__name__} {exc}") from None
        if not isinstance(data, dict):
            raise SendError("WeCom: malformed answer")
        code = int(data.get("errcode") or 0) if str(data.get("errcode") or 0).lstrip("-").isdigit() else -2
        if code in RATE_ERRORS:
            raise SendError(f"WeCom errcode {code}: sending too fast", retry_after=60)
        if code != 0:
            raise SendError(f"WeCom errcode {code} {data.get('errmsg', '')}".strip(), permanent=code in HOPELESS)
        return data


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise SendError(f"{what} {path!r} unreadable: {exc}", permanent=True) from None


def split_text(text: str, limit: int = TEXT_BYTES) -> list[str]:
    """Parts of at most `limit` UTF-8 bytes, cut at line ends where possible."""
    parts, cur = [], ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one line longer than a part: cut it (never mid-character)
            head = line.encode()[:limit].decode("utf-8", "ignore")
            parts += [cur, head] if cur else [head]
            cur, line = "", line[len(head):]
        if len((cur + line).encode()) > limit:
            parts.append(cur)
            cur = ""
        cur += line
    return [p.rstrip("\n") for p in parts + [cur] if p.strip()]


# --- the intelligent-robot callback -------------------------------------------------------------

_LEADING_AT = re.compile(r"^\s*@\S+\s*")


def callback_to_inbound(d: dict, bot_name: str = "") -> Inbound | str | None:
    """A decrypted robot callback → Inbound; a string for an immediate polite reply (a video); None
    for other events and stream refreshes. Entering the private chat is welcomed like a new
    follower."""
    if not isinstance(d, dict):
        raise BadCallback(400, "callback is not a JSON object")
    msgtype = d.get("msgtype")
    event = d.get("event") if isinstance(d.get("event"), dict) else {}
    welcome = msgtype == "event" and event.get("eventtype") == "enter_chat"
    if msgtype not in ("text", "image", "mixed", "voice", "file", "video") and not welcome:
        return None
    frm = d.get("from") if isinstance(d.get("from"), dict) else {}
    try:
        userid, aibotid, msgid = (check_id(frm.get("userid"), "from.userid"), check_id(d.get("aibotid"), "aibotid"),
                                  check_id(d.get("msgid"), "msgid"))
    except ValueError:
        raise BadCallback(400, "msgid, aibotid and from.userid are required") from None
    if msgtype == "video":
        return UNSUPPORTED_REPLY
    group = d.get("chattype") == "group"
    chat_id = d.get("chatid") if group else userid
    if not isinstance(chat_id, str) or not chat_id or len(chat_id) > MAX_ID:
        raise BadCallback(400, "chatid is required for group messages")
    chat = ChatRef(PLATFORM, aibotid, "group" if group else "private", chat_id)
    if welcome:
        return Inbound(chat=chat, msg_id=msgid, sender_id=userid, sender_name=userid, event="subscribe")
    text, images = body_of(d)
    quote = d.get("quote")
    quoted = body_of(quote)[0] if isinstance(quote, dict) else ""
    if bot_name and f"@{bot_name}" in text:
        text = text.replace(f"@{bot_name}", "", 1)
    elif group:
        text = _LEADING_AT.sub("", text, count=1)
    return Inbound(chat=chat, msg_id=msgid, sender_id=userid, sender_name=userid, text=text.strip(),
                   mentions_bot=group, images=images, quoted_text=quoted or None)


def body_of(d: dict) -> tuple[str, list[str]]:
    """The text and image URLs of a message body (a callback, or the message it quotes)."""
    def content(obj) -> str:
        return str(obj.get("content") or "") if isinstance(obj, dict) and isinstance(obj.get("content") or "", str) else ""

    def image(obj) -> list[str]:
        url = obj.get("url") if isinstance(obj, dict) else None
        return [url] if isinstance(url, str) and url else []

    msgtype, text, images = d.get("msgtype"), "", []
    if msgtype == "text":
        text = content(d.get("text"))
    elif msgtype == "voice":
        text = content(d.get("voice"))
    elif msgtype == "image":
        images = image(d.get("image"))
    elif msgtype == "mixed":
        mixed = d.get("mixed")
        if isinstance(mixed, str):  # some integrations send it as a JSON string
            try:
                mixed = json.loads(mixed)
            except (ValueError, RecursionError):
                mixed = None
        items = mixed.get("msg_item") if isinstance(mixed, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("msgtype") == "text":
                text += content(item.get("text"))
            elif isinstance(item, dict) and item.get("msgtype") == "image":
                images += image(item.get("image"))
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
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise BadCallback(400, "body is not JSON") from None
            if not isinstance(outer, dict) or not isinstance(outer.get("encrypt"), str):
                raise BadCallback(400, 'body must be {"encrypt": "…"}')
            plain = self.crypto.decrypt(sig, ts, nonce, outer["encrypt"])
            try:
                d = json.loads(plain)
            except (ValueError, RecursionError):
                raise BadCallback(400, "decrypted body is not JSON") from None
            inbound = callback_to_inbound(d, self.settings.bot_name)
        except BadCallback as exc:
            log.warning("wecom callback rejected: %s %s", exc.status, exc)
            return web.Response(status=exc.status, text=str(exc))
        if inbound is None:
            return web.Response(text="")
        if isinstance(inbound, str):
            return self._stream(inbound, nonce, ts)
        url = d.get("response_url")
        if isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= 2048 and storable(url) == url:
            await self.response_urls.put(inbound.chat.account, inbound.chat.chat_id, url)
        ready = await self.pipeline.passive_reply(inbound, self.settings.passive_budget_seconds)
        if ready is None:  # a re-delivery, or not ready in time: response_url / the webhook later
            return web.Response(text="")
        return self._stream(plain_text(ready), nonce, ts)

    def _stream(self, text: str, nonce: str, ts: str) -> web.Response:
        """The passive reply: one finished `stream` message, encrypted."""
        reply = {"msgtype": "stream", "stream": {"id": uuid.uuid4().hex, "finish": True, "content": text}}
        return web.json_response(self.crypto.encrypt(json.dumps(reply, ensure_ascii=False), nonce, ts))
