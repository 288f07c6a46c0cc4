"""WeChat Official Account (公众号): the residents' channel. Wire ↔ core types, nothing more.

Callback at /wechat/mp:
- every request: the URL's signature (constant-time), a timestamp within 5 minutes of now, and a
  nonce not seen with another body (WeChat signs the URL, not a plaintext body);
- GET: URL check (signature/timestamp/nonce → echo `echostr`);
- POST: plaintext, or with an EncodingAESKey set only safe mode (encrypt_type=aes, msg_signature);
  a DOCTYPE or a repeated field is refused. The message is stored first; then
  handling gets a short budget (`passive_budget_seconds`, ~3 s of WeChat's 5). If the first reply to
  this user is ready by then it goes back as the passive reply — the outbox row is claimed and marked
  sent so the worker never pushes it again; otherwise we answer "success" at once and handling goes
  on in the background, its replies going out through the customer-service API.
- WeChat retries a message it got no answer to (three tries): retries are deduplicated by MsgId
  (events by FromUserName+CreateTime) in the inbox and acknowledged with "success".

Pushes (`WeChatSender`): customer-service API (message/custom/send) within 48 hours of the user's
last message; outside it the configured template message, or the row goes dead with a clear error.
The access token is fetched and cached by one `AccessToken` object per process."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from datetime import datetime, timedelta

import aiohttp
import xmltodict
from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.messages import ImageMessage, LocationMessage, TextMessage, VoiceMessage
from wechatpy.replies import TextReply

from pingan.bot.http import HttpClient
from pingan.bot.outbox import SendError
from pingan.config import WeChatSettings
from pingan.messages import MAX_ID, UNSUPPORTED_REPLY, ChatRef, Inbound, Location, Mention, Outbound, Text

log = logging.getLogger("pingan.wechat")
PLATFORM = "wechat"
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid / expired access token: fetch a new one and retry once
WINDOW_CLOSED = {45015, 45047}  # outside the 48-hour window / over the customer-service quota
HOPELESS = {40003, 43004, 48001}  # bad openid / not following / no API right: retrying cannot help
WINDOW = timedelta(minutes=5)  # a signed callback URL is fresh this long around its timestamp
MAX_NONCES = 20_000


def render_text(out: Outbound) -> str:
    """WeChat has no @-mentions: names are plain text."""
    text = "".join(p.text if isinstance(p, Text) else f"@{p.name}" for p in out.parts if isinstance(p, (Text, Mention)))
    if out.image and not text:
        text = "[图片]"
    return text


class BadRequest(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def xml_fields(xml: str | bytes) -> dict:
    """The <xml> element's fields. A DOCTYPE (entities, XXE) and a repeated field (which would be
    read as a list) are refused: WeChat sends neither."""
    raw = xml if isinstance(xml, bytes) else xml.encode("utf-8", "surrogatepass")
    prolog = raw[: max(raw.find(b"<xml"), 0)].lower()  # a DOCTYPE can only come before the root
    if b"<!doctype" in prolog or b"<!entity" in prolog:
        raise BadRequest(400, "DOCTYPE/ENTITY refused")
    try:
        root = xmltodict.parse(raw.decode("utf-8"), disable_entities=True)
    except Exception as exc:  # not UTF-8, not XML at all
        raise BadRequest(400, f"not XML: {type(exc).__name__}") from None
    fields = root.get("xml") if isinstance(root, dict) else None
    if not isinstance(fields, dict):
        raise BadRequest(400, "no <xml> root")
    dup = next((k for k, v in fields.items() if isinstance(v, list)), None)
    if dup is not None:
        raise BadRequest(400, f"<{dup}> repeated")
    return fields


def message_to_inbound(msg, fields: dict | None = None) -> Inbound | None | str:
    """A parsed wechatpy message (and its raw fields) → Inbound; None for events we only
    acknowledge; a string for an immediate polite reply (unsupported types)."""
    source, target = str(msg.source or ""), str(msg.target or "")
    if not source or not target:
        raise BadRequest(400, "FromUserName/ToUserName missing")
    chat = ChatRef(PLATFORM, target, "private", source)
    event = (fields or {}).get("Event")
    if getattr(msg, "type", None) == "event" and isinstance(event, str) and event.lower() == "subscribe":
        # with or without a scan EventKey (qrscene_…, scanbarcode|…, scanimage|…): a new follower
        return Inbound(chat=chat, msg_id=f"ev:{source}:{msg.time}", sender_id=source, event="subscribe")
    if getattr(msg, "type", None) == "event":
        return None  # unsubscribe, menu clicks, location reports…: acknowledged, nothing to handle
    msg_id = str(msg.id or "")
    if not msg_id or msg_id == "0":
        msg_id = f"m:{source}:{msg.time}"
    if len(msg_id) > MAX_ID or len(source) > MAX_ID or len(target) > MAX_ID:
        raise BadRequest(400, "id too long")
    base = dict(chat=chat, msg_id=msg_id, sender_id=source)
    if isinstance(msg, TextMessage):
        return Inbound(**base, text=str(msg.content or ""))
    if isinstance(msg, ImageMessage):
        ref = msg.image or (f"wechat-media:{msg.media_id}" if msg.media_id else None)
        return Inbound(**base, images=[ref] if ref else [])
    if isinstance(msg, LocationMessage):
        try:
            loc = Location.checked(msg.location_x, msg.location_y, msg.label or "")
        except ValueError:
            raise BadRequest(400, "bad Location_X/Location_Y") from None
        return Inbound(**base, location=loc, text="")
    if isinstance(msg, VoiceMessage) and (msg.recognition or "").strip():
        return Inbound(**base, text=str(msg.recognition).strip())
    return UNSUPPORTED_REPLY


class WeChatMPAdapter:
    platform = PLATFORM

    def __init__(self, bot, pipeline, settings: WeChatSettings, http: HttpClient | None = None) -> None:
        self.bot, self.pipeline, self.settings = bot, pipeline, settings
        self.http = http or HttpClient()
        self.crypto = WeChatCrypto(settings.token, settings.aes_key, settings.app_id) if settings.aes_key else None
        self.last_seen: dict[tuple[str, str], datetime] = {}  # (account, openid) → their last message
        self.wall = time.time  # the callback timestamps are real time, whatever the bot's clock says
        self.nonces: dict[tuple[str, str], bytes] = {}  # (timestamp, nonce) → digest of its body
        self._prune_at = MAX_NONCES
        self.sender = WeChatSender(settings, self.http, bot.clock, self.last_seen)

    def register(self, app: web.Application) -> None:
        for path in ("/wechat/mp", "/wechat/mp/"):
            app.router.add_get(path, self.verify)
            app.router.add_post(path, self.callback)

    async def close(self) -> None:
        pass

    # --- signature checks -----------------------------------------------------------------------
    def _check(self, q, body: bytes = b"") -> None:
        """The URL's signature, in constant time, and its freshness: a timestamp within `WINDOW` of
        now and a nonce not seen with another body (WeChat signs the URL, not a plaintext body, so
        an old signed URL must not carry a new message)."""
        if not self.settings.token:
            raise BadRequest(503, "WeChat token not configured (PINGAN_WECHAT_TOKEN)")
        sig, ts, nonce = q.get("signature"), q.get("timestamp"), q.get("nonce")
        if not (sig and ts and nonce):
            raise BadRequest(400, "signature, timestamp and nonce are required")
        if not secrets.compare_digest(signature(self.settings.token, ts, nonce).encode(), sig.encode()):
            raise BadRequest(403, "bad signature")
        if not (ts.isdigit() and len(ts) <= 12 and abs(int(ts) - self.wall()) <= WINDOW.total_seconds()):
            raise BadRequest(403, "timestamp outside the 5-minute window (replayed or clock skew)")
        digest = hashlib.sha1(body).digest()
        if self.nonces.setdefault((ts, nonce), digest) != digest:
            raise BadRequest(403, "nonce already used for another message")
        if len(self.nonces) > self._prune_at:  # forget what the window refuses anyway
            stale = self.wall() - WINDOW.total_seconds()
            self.nonces = {k: v for k, v in self.nonces.items() if int(k[0]) >= stale}
            self._prune_at = max(MAX_NONCES, 2 * len(self.nonces))  # a busy window: prune less often

    async def verify(self, request: web.Request) -> web.Response:
        try:
            self._check(request.query)
        except BadRequest as exc:
            return web.Response(status=exc.status, text=str(exc))
        echostr = request.query.get("echostr")
        if echostr is None:
            return web.Response(status=400, text="echostr is required")
        return web.Response(text=echostr)

    def _decode(self, q, body: bytes) -> tuple[object, dict, bool]:
        self._check(q, body)
        fields = xml_fields(body)  # the message, or in safe mode its envelope
        safe = q.get("encrypt_type") == "aes"
        if self.crypto is not None and not safe:  # with a key set, only encrypted (signed) bodies
            raise BadRequest(403, "plaintext message refused: an EncodingAESKey is configured")
        if safe:
            if self.crypto is None:
                raise BadRequest(400, "safe mode message but no EncodingAESKey configured")
            xml = self._decrypt(q, body, fields.get("Encrypt"))
            fields = xml_fields(xml)
        else:
            xml = body.decode("utf-8")  # xml_fields parsed it: UTF-8
        try:
            msg = parse_message(xml)
            _ = (msg.id, msg.time, msg.source, msg.target)  # typed fields: fail here, not later
        except Exception as exc:
            raise BadRequest(400, f"not a WeChat message: {type(exc).__name__}") from None
        return msg, fields, safe

    def _decrypt(self, q, body: bytes, encrypt) -> str:
        msg_sig = q.get("msg_signature")
        if not msg_sig:
            raise BadRequest(400, "msg_signature is required in safe mode")
        if not isinstance(encrypt, str) or not encrypt:
            raise BadRequest(400, "Encrypt is required in safe mode")
        want = signature(self.settings.token, q["timestamp"], q["nonce"], encrypt)
        if not secrets.compare_digest(want.encode(), msg_sig.encode()):
            raise BadRequest(403, "bad msg_signature")
        try:
            return self.crypto.decrypt_message(body, msg_sig, q["timestamp"], q["nonce"])
        except Exception as exc:  # bad base64/padding, app id
            raise BadRequest(400, f"cannot decrypt: {type(exc).__name__}") from None

    # --- messages -------------------------------------------------------------------------------
    async def callback(self, request: web.Request) -> web.Response:
        body = await request.read()
        q = request.query
        try:
            msg, fields, safe = self._decode(q, body)
            inbound = message_to_inbound(msg, fields)
        except BadRequest as exc:
            log.warning("wechat callback rejected: %s %s", exc.status, exc)
            return web.Response(status=exc.status, text=str(exc))
        if inbound is None:
            return web.Response(text="success")
        if isinstance(inbound, str):
            return self._reply(msg, inbound, safe, q)
        self.last_seen[(inbound.chat.account, inbound.chat.chat_id)] = self.bot.clock.now()
        reply = await self.pipeline.passive_reply(inbound, self.settings.passive_budget_seconds)
        if reply is None:  # a retry of a stored message, or the answer is not ready: push it later
            return web.Response(text="success")
        return self._reply(msg, render_text(reply), safe, q)

    def _reply(self, msg, text: str, safe: bool, q) -> web.Response:
        xml = TextReply(message=msg, content=text).render()
        if safe and self.crypto is not None:
            xml = self.crypto.encrypt_message(xml, q.get("nonce", ""), q.get("timestamp"))
        return web.Response(text=xml, content_type="application/xml")


class AccessToken:
    """The process's one cached access token (two processes fetching in turn invalidate each other:
    run the sender in one process, or put a token service in front)."""

    def __init__(self, settings: WeChatSettings, http: HttpClient, clock) -> None:
        self.settings, self.http, self.clock = settings, http, clock
        self._token: str | None = None
        self._expires: datetime | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def get(self) -> str:
        async with self._lock:
            if self._token and self._expires and self.clock.now() < self._expires:
                return self._token
            if not (self.settings.app_id and self.settings.app_secret):
                raise SendError("WeChat app_id/app_secret not configured (PINGAN_WECHAT_APP_SECRET)", permanent=True)
            url = self.settings.api_base.rstrip("/") + "/cgi-bin/token"
            params = {"grant_type": "client_credential", "appid": self.settings.app_id,
                      "secret": self.settings.app_secret}
            data = await _get_json(self.http, url, params)
            self.fetches += 1
            if not data.get("access_token"):
                raise SendError(f"WeChat token: errcode {data.get('errcode')} {data.get('errmsg', '')}".strip())
            self._token = str(data["access_token"])
            ttl = float(data.get("expires_in") or 7200)
            self._expires = self.clock.now() + timedelta(seconds=max(ttl - 300, 60))
            return self._token

    def invalidate(self, token: str) -> None:
        if self._token == token:
            self._token = None


async def _get_json(http: HttpClient, url: str, params: dict | None = None, payload: dict | None = None) -> dict:
    try:
        if payload is None:
            cm = http.session().get(url, params=params)
        else:
            cm = http.session().post(url, params=params, data=json.dumps(payload, ensure_ascii=False).encode(),
                                     headers={"Content-Type": "application/json"})
        async with cm as r:
            if r.status == 429 or r.status >= 500:
                retry = r.headers.get("Retry-After")
                raise SendError(f"WeChat API HTTP {r.status}", retry_after=float(retry) if retry and retry.isdigit() else None)
            if r.status != 200:
                raise SendError(f"WeChat API HTTP {r.status}")
            data = await r.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        raise SendError(f"WeChat API: {type(exc).__name__} {exc}") from None
    if not isinstance(data, dict):
        raise SendError("WeChat API: malformed response")
    return data


class WeChatSender:
    """Pushes to residents' private chats through the customer-service API (template outside 48 h)."""

    platform = PLATFORM

    def __init__(self, settings: WeChatSettings, http: HttpClient, clock,
                 last_seen: dict[tuple[str, str], datetime] | None = None) -> None:
        self.settings, self.http, self.clock = settings, http, clock
        self.last_seen = {} if last_seen is None else last_seen
        self.tokens = AccessToken(settings, http, clock)

    async def _call(self, path: str, payload: dict) -> dict:
        url = self.settings.api_base.rstrip("/") + "/cgi-bin/" + path
        for attempt in (1, 2):
            token = await self.tokens.get()
            data = await _get_json(self.http, url, {"access_token": token}, payload)
            code = int(data.get("errcode") or 0)
            if code in TOKEN_ERRORS and attempt == 1:
                self.tokens.invalidate(token)
                continue
            return data
        return data

    def _window_open(self, account: str, openid: str) -> bool:
        seen = self.last_seen.get((account, openid))
        return seen is None or self.clock.now() - seen < timedelta(hours=self.settings.window_hours)

    async def send(self, out: Outbound) -> str | None:
        t = out.target
        if t.chat_type != "private":
            raise SendError("WeChat official accounts have no group chats", permanent=True)
        text = render_text(out)
        if self._window_open(t.account, t.chat_id):
            data = await self._call("message/custom/send",
                                    {"touser": t.chat_id, "msgtype": "text", "text": {"content": text}})
            code = int(data.get("errcode") or 0)
            if code == 0:
                return None  # the customer-service API returns no message id
            if code not in WINDOW_CLOSED:
                raise SendError(f"WeChat custom/send errcode {code} {data.get('errmsg', '')}".strip(),
                                retry_after=60 if code in (45009, -1) else None, permanent=code in HOPELESS)
        return await self._template(t.chat_id, text)

    async def _template(self, openid: str, text: str) -> str | None:
        if not self.settings.template_id:
            raise SendError("48-hour customer-service window closed and no template_id configured "
                            "(platforms.wechat.template_id): message not delivered", permanent=True)
        data = await self._call("message/template/send", {
            "touser": openid, "template_id": self.settings.template_id,
            "data": {self.settings.template_field: {"value": text[:200]}}})
        code = int(data.get("errcode") or 0)
        if code != 0:
            raise SendError(f"WeChat template/send errcode {code} {data.get('errmsg', '')}".strip(),
                            retry_after=60 if code in (45009, -1) else None, permanent=code in HOPELESS)
        mid = data.get("msgid")
        return None if mid is None else str(mid)
