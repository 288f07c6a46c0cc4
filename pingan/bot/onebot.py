"""QQ groups through OneBot v11 (NapCat, LLOneBot, Lagrange): wire ↔ core types, nothing more.

Transports:
- reverse WebSocket at /onebot/v11/ws (role Universal; X-Self-ID names the bot account): events in,
  actions out on the same socket, responses matched by `echo`;
- HTTP POST events at /onebot/v11/http (optionally signed: X-Signature: sha1=HMAC-SHA1(secret, body)),
  with actions sent to the client's HTTP API (`platforms.onebot.api_url`).

Several accounts may be connected at once. A group message addressed with account "" goes out
through an account that has seen that group (the last one to receive from it), else any connected
account. With no usable connection a send raises SendError and the outbox retries later."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import logging
import os
import re
import secrets
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from pingan.bot.http import HttpClient
from pingan.bot.outbox import SendError
from pingan.config import OneBotSettings
from pingan.messages import ChatRef, Inbound, Location, Mention, Outbound, Text

log = logging.getLogger("pingan.onebot")
PLATFORM = "qq"

# --- message parsing --------------------------------------------------------------------------

_CQ = re.compile(r"\[CQ:([A-Za-z0-9_.\-]+)((?:,[^,\]]*)*)\]")


def cq_unescape(s: str) -> str:
    return s.replace("&#44;", ",").replace("&#91;", "[").replace("&#93;", "]").replace("&amp;", "&")


def cq_escape(s: str, param: bool = False) -> str:
    s = s.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return s.replace(",", "&#44;") if param else s


def parse_cq(message: str) -> list[dict]:
    """A CQ-code string → the array form [{type, data}]."""
    segments: list[dict] = []
    pos = 0
    for m in _CQ.finditer(message):
        if m.start() > pos:
            segments.append({"type": "text", "data": {"text": cq_unescape(message[pos:m.start()])}})
        data = {}
        for kv in m.group(2).split(",")[1:]:
            k, _, v = kv.partition("=")
            data[k.strip()] = cq_unescape(v)
        segments.append({"type": m.group(1), "data": data})
        pos = m.end()
    if pos < len(message):
        segments.append({"type": "text", "data": {"text": cq_unescape(message[pos:])}})
    return segments


class BadEvent(ValueError):
    pass


def _str_id(value, name: str) -> str:
    if isinstance(value, bool) or value is None or not isinstance(value, (int, str)) or str(value).strip() == "":
        raise BadEvent(f"missing or invalid {name}")
    return str(value).strip()


def event_to_inbound(ev: dict, self_id: str | None = None) -> Inbound | None:
    """One OneBot v11 event → an Inbound, or None for events that are not messages to us (meta
    events, notices, requests, our own sent messages). Raises BadEvent for malformed messages."""
    if not isinstance(ev, dict):
        raise BadEvent("event is not an object")
    if ev.get("post_type") != "message":
        return None
    kind = ev.get("message_type")
    if kind not in ("group", "private"):
        return None
    me = _str_id(ev.get("self_id", self_id), "self_id")
    user_id = _str_id(ev.get("user_id"), "user_id")
    if user_id == me:  # some clients report the bot's own posts as messages: never answer ourselves
        return None
    msg_id = _str_id(ev.get("message_id"), "message_id")
    chat_id = _str_id(ev.get("group_id"), "group_id") if kind == "group" else user_id
    raw = ev.get("message", ev.get("raw_message", ""))
    if isinstance(raw, str):
        segments = parse_cq(raw)
    elif isinstance(raw, list):
        segments = raw
    elif isinstance(raw, dict):  # a single segment
        segments = [raw]
    else:
        raise BadEvent("message is neither a string nor an array")
    text, images, mentions_bot, reply_to, location = [], [], False, None, None
    for seg in segments:
        if not isinstance(seg, dict):
            continue
        t, data = seg.get("type"), seg.get("data") or {}
        if not isinstance(data, dict):
            continue
        if t == "text":
            text.append(str(data.get("text", "")))
        elif t == "at":
            qq = str(data.get("qq", ""))
            if qq == me:
                mentions_bot = True
            elif qq and qq != "all":
                text.append(f"@{data.get('name') or qq}")
        elif t == "reply" and data.get("id") not in (None, ""):
            reply_to = str(data["id"])
        elif t == "image":
            ref = data.get("url") or data.get("file")
            if ref:
                images.append(str(ref))
        elif t == "location":
            try:
                location = Location(float(data["lat"]), float(data["lon"]), str(data.get("title") or ""))
            except (KeyError, TypeError, ValueError):
                pass
    sender = ev.get("sender") if isinstance(ev.get("sender"), dict) else {}
    name = str(sender.get("card") or sender.get("nickname") or "")
    return Inbound(chat=ChatRef(PLATFORM, me, kind, chat_id), msg_id=msg_id, sender_id=user_id,
                   text="".join(text).strip(), sender_name=name, mentions_bot=mentions_bot, reply_to=reply_to,
                   images=images, location=location)


# --- rendering --------------------------------------------------------------------------------

def image_file(ref: str) -> str:
    """An image reference for the `image` segment: URLs and base64:// as given; a local file is
    inlined as base64:// (the OneBot client may run on another machine)."""
    if ref.startswith(("http://", "https://", "base64://", "file://")):
        return ref
    with open(ref, "rb") as f:
        return "base64://" + base64.b64encode(f.read()).decode()


def render_segments(out: Outbound) -> list[dict]:
    segs: list[dict] = []

    def text(s: str) -> None:
        if segs and segs[-1]["type"] == "text":
            segs[-1]["data"]["text"] += s
        elif s:
            segs.append({"type": "text", "data": {"text": s}})

    for p in out.parts:
        if isinstance(p, Mention):
            if p.user_id:
                segs.append({"type": "at", "data": {"qq": str(p.user_id)}})
            else:
                text(f"@{p.name}")
        elif isinstance(p, Text):
            text(p.text)
    if out.image:
        try:
            segs.append({"type": "image", "data": {"file": image_file(out.image)}})
        except OSError as exc:
            raise SendError(f"image {out.image!r} unreadable: {exc}", permanent=True) from None
    if out.file:
        text(f"\n[附件] {os.path.basename(out.file)}")
    return segs


# --- connections and the adapter --------------------------------------------------------------

@dataclass
class Connection:
    self_id: str
    ws: web.WebSocketResponse
    role: str
    pending: dict[str, asyncio.Future] = field(default_factory=dict)


def _check_response(resp: dict, action: str) -> dict | None:
    if not isinstance(resp, dict):
        raise SendError(f"{action}: malformed response")
    retcode = resp.get("retcode", 0)
    if resp.get("status") == "failed" or retcode not in (0, None):
        why = resp.get("wording") or resp.get("message") or resp.get("msg") or ""
        raise SendError(f"{action}: retcode {retcode} {why}".strip())
    data = resp.get("data")
    return data if isinstance(data, dict) else None


class OneBotAdapter:
    platform = PLATFORM

    def __init__(self, bot, pipeline, settings: OneBotSettings, http: HttpClient | None = None,
                 max_frame_bytes: int = 1 << 20) -> None:
        self.bot, self.pipeline, self.settings = bot, pipeline, settings
        self.http = http or HttpClient()
        self.max_frame_bytes = max_frame_bytes
        self.connections: dict[str, Connection] = {}  # self_id → the account's action connection
        self.group_accounts: dict[str, str] = {}  # group id → account that last received from it
        self._echo = itertools.count(1)
        self._prefix = secrets.token_hex(3)
        self.sender = OneBotSender(self)

    def register(self, app: web.Application) -> None:
        app.router.add_get("/onebot/v11/ws", self.ws_handler)
        app.router.add_get("/onebot/v11/ws/", self.ws_handler)
        app.router.add_post("/onebot/v11/http", self.http_handler)
        app.router.add_post("/onebot/v11/http/", self.http_handler)

    async def close(self) -> None:
        for conn in list(self.connections.values()):
            await conn.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # --- auth ---------------------------------------------------------------------------------
    def _token_ok(self, request: web.Request) -> bool:
        want = self.settings.access_token
        if not want:
            return True
        got = ""
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            got = auth[7:].strip()
        elif auth[:6].lower() == "token ":
            got = auth[6:].strip()
        got = got or request.query.get("access_token", "")
        return secrets.compare_digest(got.encode(), want.encode())

    # --- reverse WebSocket ----------------------------------------------------------------------
    async def ws_handler(self, request: web.Request) -> web.StreamResponse:
        if not self._token_ok(request):
            return web.json_response({"error": "bad or missing access token"}, status=401)
        self_id = request.headers.get("X-Self-ID", "").strip()
        role = request.headers.get("X-Client-Role", "Universal").strip() or "Universal"
        if not self_id.isdigit():
            return web.json_response({"error": "X-Self-ID header (the bot's QQ number) is required"}, status=400)
        if role.lower() not in ("universal", "event", "api"):
            return web.json_response({"error": f"unsupported X-Client-Role {role!r}"}, status=400)
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=self.max_frame_bytes)
        if not ws.can_prepare(request).ok:
            return web.json_response({"error": "WebSocket upgrade required"}, status=400)
        await ws.prepare(request)
        conn = Connection(self_id, ws, role.lower())
        if conn.role != "event":
            old = self.connections.get(self_id)
            self.connections[self_id] = conn
            if old is not None:
                await old.ws.close(code=aiohttp.WSCloseCode.POLICY_VIOLATION, message=b"replaced by a new connection")
        log.info("OneBot account %s connected (%s)", self_id, role)
        if conn.role != "event" and self.pipeline.on_enqueued is not None:
            self.pipeline.on_enqueued()  # its waiting rows can go now
        try:
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    await self._on_frame(conn, frame.data)
                elif frame.type == aiohttp.WSMsgType.BINARY:
                    try:
                        await self._on_frame(conn, frame.data.decode("utf-8"))
                    except UnicodeDecodeError:
                        log.warning("OneBot %s: undecodable binary frame ignored", self_id)
                elif frame.type == aiohttp.WSMsgType.ERROR:
                    log.warning("OneBot %s: websocket error %s", self_id, ws.exception())
        finally:
            if self.connections.get(self_id) is conn:
                del self.connections[self_id]
            for fut in conn.pending.values():
                if not fut.done():
                    fut.set_exception(SendError(f"OneBot account {self_id} disconnected"))
            conn.pending.clear()
            log.info("OneBot account %s disconnected", self_id)
        return ws

    async def _on_frame(self, conn: Connection, data: str) -> None:
        try:
            obj = json.loads(data)
        except ValueError:
            log.warning("OneBot %s: non-JSON frame ignored", conn.self_id)
            return
        if not isinstance(obj, dict):
            return
        if "post_type" in obj:
            await self._on_event(obj, conn.self_id, patient=True)
            return
        fut = conn.pending.pop(str(obj.get("echo")), None)
        if fut is not None and not fut.done():
            fut.set_result(obj)

    async def _on_event(self, ev: dict, self_id: str, patient: bool = False) -> bool:
        """Store the message (before anything else), then hand it to the pipeline. False if the
        event was malformed."""
        try:
            inbound = event_to_inbound(ev, self_id)
        except BadEvent as exc:
            log.warning("OneBot %s: malformed event ignored (%s)", self_id, exc)
            return False
        if inbound is None:
            return True
        if inbound.chat.chat_type == "group":
            self.group_accounts[inbound.chat.chat_id] = inbound.chat.account
        inbox_id = await self.pipeline.receive(inbound, patient=patient)
        if inbox_id is not None:
            self.pipeline.submit(inbox_id)
        return True

    # --- HTTP POST ------------------------------------------------------------------------------
    async def http_handler(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.settings.secret:
            sig = request.headers.get("X-Signature", "")
            if not sig:
                return web.json_response({"error": "missing X-Signature"}, status=401)
            want = "sha1=" + hmac.new(self.settings.secret.encode(), body, hashlib.sha1).hexdigest()
            if not secrets.compare_digest(sig.strip().lower().encode(), want.encode()):
                return web.json_response({"error": "bad X-Signature"}, status=403)
        elif self.settings.access_token and not self._token_ok(request):
            return web.json_response({"error": "bad or missing access token"}, status=401)
        try:
            ev = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(ev, dict):
            return web.json_response({"error": "event must be a JSON object"}, status=400)
        self_id = request.headers.get("X-Self-ID", "").strip() or None
        if not await self._on_event(ev, self_id or str(ev.get("self_id", ""))):
            return web.json_response({"error": "malformed message event"}, status=400)
        return web.Response(status=204)

    # --- actions --------------------------------------------------------------------------------
    def pick(self, target: ChatRef) -> Connection | None:
        if target.account:
            return self.connections.get(target.account)
        if target.chat_type == "group":
            preferred = self.group_accounts.get(target.chat_id)
            if preferred in self.connections:
                return self.connections[preferred]
        return next(iter(self.connections.values()), None)

    async def call(self, action: str, params: dict, target: ChatRef) -> dict | None:
        conn = self.pick(target)
        if conn is not None:
            return await self._call_ws(conn, action, params)
        if self.settings.api_url:
            return await self._call_http(action, params, target.account)
        who = f"account {target.account}" if target.account else "any account"
        raise SendError(f"OneBot: no connection for {who}", unavailable=True)

    async def _call_ws(self, conn: Connection, action: str, params: dict) -> dict | None:
        echo = f"{self._prefix}-{next(self._echo)}"
        fut = asyncio.get_running_loop().create_future()
        conn.pending[echo] = fut
        try:
            try:
                await conn.ws.send_str(json.dumps({"action": action, "params": params, "echo": echo},
                                                  ensure_ascii=False))
            except (ConnectionError, RuntimeError) as exc:
                raise SendError(f"OneBot {conn.self_id}: send failed ({exc})") from None
            try:
                resp = await asyncio.wait_for(fut, self.settings.action_timeout_seconds)
            except asyncio.TimeoutError:
                raise SendError(f"OneBot {conn.self_id}: {action} timed out") from None
        finally:
            conn.pending.pop(echo, None)
        return _check_response(resp, action)

    async def _call_http(self, action: str, params: dict, account: str) -> dict | None:
        headers = {"Content-Type": "application/json"}
        if self.settings.access_token:
            headers["Authorization"] = f"Bearer {self.settings.access_token}"
        if account:
            headers["X-Self-ID"] = account
        url = self.settings.api_url.rstrip("/") + "/" + action
        try:
            async with self.http.session().post(
                    url, data=json.dumps(params, ensure_ascii=False).encode(), headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.settings.action_timeout_seconds)) as r:
                if r.status != 200:
                    retry = r.headers.get("Retry-After")
                    raise SendError(f"OneBot HTTP {action}: HTTP {r.status}",
                                    retry_after=float(retry) if retry and retry.isdigit() else None)
                resp = await r.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise SendError(f"OneBot HTTP {action}: {type(exc).__name__} {exc}") from None
        return _check_response(resp, action)


class OneBotSender:
    platform = PLATFORM

    def __init__(self, adapter: OneBotAdapter) -> None:
        self.adapter = adapter

    def accounts(self) -> set[str] | None:
        """The accounts with a live connection here ('' = any account, for rows that name none);
        None with an HTTP API, which reaches every account."""
        if self.adapter.settings.api_url:
            return None
        live = set(self.adapter.connections)
        return live | {""} if live else live

    def rate_limit(self, target: ChatRef) -> tuple[str, int, float]:
        per = self.adapter.bot.settings.outbox.qq_per_chat_per_minute
        return (f"qq:{target.chat_type}:{target.chat_id}", per, 60.0)

    async def send(self, out: Outbound) -> str | None:
        t = out.target
        segments = render_segments(out)
        if not segments:
            return None
        if t.chat_type == "group":
            try:
                gid = int(t.chat_id)
            except ValueError:
                raise SendError(f"QQ group id {t.chat_id!r} is not a number", permanent=True) from None
            action, params = "send_group_msg", {"group_id": gid, "message": segments}
        else:
            try:
                uid = int(t.chat_id)
            except ValueError:
                raise SendError(f"QQ user id {t.chat_id!r} is not a number", permanent=True) from None
            action, params = "send_private_msg", {"user_id": uid, "message": segments}
        data = await self.adapter.call(action, params, t)
        mid = (data or {}).get("message_id")
        return None if mid is None else str(mid)
