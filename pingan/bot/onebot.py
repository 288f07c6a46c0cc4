"""QQ groups through OneBot v11 (NapCat, LLOneBot, Lagrange): wire ↔ core types, nothing more.

Transports:
- reverse WebSocket at /onebot/v11/ws (role Universal; X-Self-ID names the bot account): events in,
  actions out on the same socket, responses matched by `echo`;
- HTTP POST events at /onebot/v11/http (optionally signed: X-Signature: sha1=HMAC-SHA1(secret, body)),
  with actions sent to the client's HTTP API (`platforms.onebot.api_url`).

Without an access token or secret the adapter refuses to start, unless
`allow_unauthenticated_loopback` lets clients on this machine in. Files go up with
upload_group_file / upload_private_file (NapCat, LLOneBot).

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
from pingan.bot.ratelimit import IPAllowList
from pingan.config import OneBotSettings
from pingan.errors import ConfigError
from pingan.fastjson import dumps, loads
from pingan.messages import ChatRef, Inbound, Location, Mention, Outbound, Text, check_id

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


ANONYMOUS_QQ = "80000000"  # the shared user_id of anonymous group members: an `at` to it fails


def _str_id(value, name: str) -> str:
    try:
        return check_id(value, name)
    except ValueError as exc:
        raise BadEvent(str(exc)) from None


def _segments(raw) -> list:
    if isinstance(raw, str):
        return parse_cq(raw)
    if isinstance(raw, list):
        return raw
    if isinstance(raw, dict):  # a single segment
        return [raw]
    raise BadEvent("message is neither a string nor an array")


def _map_location(data: dict) -> Location | None:
    """A QQ location share: the `json` (Ark) segment of app com.tencent.map (NapCat, LLOneBot)."""
    raw = data.get("data")
    try:
        card = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return None
    if not isinstance(card, dict) or card.get("app") != "com.tencent.map" or not isinstance(card.get("meta"), dict):
        return None
    for place in card["meta"].values():
        if isinstance(place, dict) and "lat" in place and ("lng" in place or "lon" in place):
            label = " ".join(str(place.get(k) or "") for k in ("name", "address")).strip()
            return Location.checked(place["lat"], place.get("lng", place.get("lon")), label)
    return None


def _is_sticker(data: dict) -> bool:
    return str(data.get("sub_type", "0")) == "1" or bool(data.get("emoji_id") or data.get("emoji_package_id"))


@dataclass
class _Body:
    text: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    mentions_bot: bool = False
    reply_to: str | None = None
    location: Location | None = None


def _read_segments(segments: list, me: str) -> _Body:
    b = _Body()
    for seg in segments:
        if not isinstance(seg, dict) or not isinstance(seg.get("data") or {}, dict):
            continue
        t, data = seg.get("type"), seg.get("data") or {}
        if t == "text" and isinstance(data.get("text", ""), (str, int)):
            b.text.append(str(data.get("text", "")))
        elif t == "at":
            qq = str(data.get("qq", "")) if isinstance(data.get("qq"), (str, int)) else ""
            if qq == me:
                b.mentions_bot = True
            elif qq and qq != "all":
                name = data.get("name") if isinstance(data.get("name"), str) else ""
                b.text.append("@" + (name.removeprefix("@") or qq))  # Lagrange's name starts with "@"
        elif t == "reply" and isinstance(data.get("id"), (str, int)) and str(data["id"]):
            b.reply_to = _str_id(data["id"], "reply id")
        elif t == "image" and not _is_sticker(data):
            ref = data.get("url") or data.get("file")
            if isinstance(ref, str) and ref:
                b.images.append(ref)
        elif t in ("location", "json"):
            try:
                loc = (Location.checked(data.get("lat"), data.get("lon"), data.get("title") or "")
                       if t == "location" else _map_location(data))
            except ValueError as exc:
                raise BadEvent(f"bad location: {exc}") from None
            b.location = loc or b.location
    return b


def event_to_inbound(ev: dict, self_id: str | None = None) -> Inbound | None:
    """One OneBot v11 event → an Inbound, or None for events that are not messages to us (meta
    events, requests, most notices, our own sent messages). Raises BadEvent for malformed messages."""
    if not isinstance(ev, dict):
        raise BadEvent("event is not an object")
    if ev.get("post_type") == "notice":
        return notice_to_inbound(ev, self_id)
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
    b = _read_segments(_segments(ev.get("message", ev.get("raw_message", ""))), me)
    sender = ev.get("sender") if isinstance(ev.get("sender"), dict) else {}
    name = sender.get("card") or sender.get("nickname") or ""
    anon = ev.get("anonymous")
    if user_id == ANONYMOUS_QQ or isinstance(anon, dict):  # one shared id: tell them apart, never @ it
        anon = anon if isinstance(anon, dict) else {}
        user_id = "anonymous-" + _str_id(anon.get("id") or anon.get("name") or "0", "anonymous id")
        name = anon.get("name") or "匿名"
    gid = temp_group(ev) if kind == "private" else None
    via = {"group_id": gid} if gid is not None else None  # a reply must name it, from any server
    return Inbound(chat=ChatRef(PLATFORM, me, kind, chat_id, via), msg_id=msg_id, sender_id=user_id,
                   text="".join(b.text).strip(), sender_name=name if isinstance(name, str) else "",
                   mentions_bot=b.mentions_bot, reply_to=b.reply_to, images=b.images, location=b.location)


def temp_group(ev: dict) -> int | None:
    """The group a temporary session (private, sub_type "group") was started from: QQ takes a reply
    to it only with that group_id. (go-cqhttp's `temp_source` is the kind of session, 0 = group,
    not a group id.)"""
    if ev.get("sub_type") != "group":
        return None
    sender = ev.get("sender") if isinstance(ev.get("sender"), dict) else {}
    gid = ev.get("group_id") or sender.get("group_id")
    return int(gid) if isinstance(gid, (int, str)) and str(gid).isdigit() and len(str(gid)) < 20 else None


def notice_to_inbound(ev: dict, self_id: str | None) -> Inbound | None:
    """A member withdrawing their own group message becomes a 'recall' event naming that message
    (the core may ask whether the report is withdrawn too); other notices are only logged."""
    kind = ev.get("notice_type")
    if kind != "group_recall":
        log.info("OneBot notice %r ignored", kind if isinstance(kind, str) else type(kind).__name__)
        return None
    me = _str_id(ev.get("self_id", self_id), "self_id")
    user_id, gid = _str_id(ev.get("user_id"), "user_id"), _str_id(ev.get("group_id"), "group_id")
    recalled = _str_id(ev.get("message_id"), "message_id")
    if user_id == me:
        return None
    return Inbound(chat=ChatRef(PLATFORM, me, "group", gid), msg_id=f"recall:{recalled}", sender_id=user_id,
                   reply_to=recalled, event="recall")


# --- rendering --------------------------------------------------------------------------------

def image_file(ref: str) -> str:
    """A file reference for `image` segments and uploads: URLs and base64:// as given; a local file
    is inlined as base64:// (the OneBot client may run on another machine)."""
    if ref.startswith(("http://", "https://", "base64://", "file://")):
        return ref
    with open(ref, "rb") as f:
        return "base64://" + base64.b64encode(f.read()).decode()


def _qq_number(user_id: str | None) -> bool:
    return bool(user_id) and user_id.isdigit() and user_id != ANONYMOUS_QQ


def render_segments(out: Outbound) -> list[dict]:
    """Text, @-mentions and the image; a file is uploaded on its own (`OneBotSender.upload`)."""
    segs: list[dict] = []

    def text(s: str) -> None:
        if segs and segs[-1]["type"] == "text":
            segs[-1]["data"]["text"] += s
        elif s:
            segs.append({"type": "text", "data": {"text": s}})

    for p in out.parts:
        if isinstance(p, Mention):
            if _qq_number(p.user_id):
                segs.append({"type": "at", "data": {"qq": str(p.user_id)}})
            else:  # no QQ number (or an anonymous member): the name as text
                text(f"@{p.name}")
        elif isinstance(p, Text):
            text(p.text)
    if out.image:
        try:
            segs.append({"type": "image", "data": {"file": image_file(out.image)}})
        except OSError as exc:
            raise SendError(f"image {out.image!r} unreadable: {exc}", permanent=True) from None
    return segs


# --- connections and the adapter --------------------------------------------------------------

PERMANENT_RETCODES = {1400, 1404}  # bad request / no such action: retrying cannot help
LATE_ANSWERS = 256  # timed-out actions remembered per connection, to match their answers later
INFLIGHT = 256  # events of one socket stored and handled at once


@dataclass
class Connection:
    self_id: str
    ws: web.WebSocketResponse
    role: str
    pending: dict[str, asyncio.Future] = field(default_factory=dict)
    # an action whose answer did not come in time, by its content: a retry of the same action waits
    # for (or takes) that answer instead of sending it again
    overdue: dict[str, tuple[str, asyncio.Future]] = field(default_factory=dict)
    # events of this socket being stored and handled: a group of them commits together; past the
    # bound, the frames behind wait on the socket
    inflight: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(INFLIGHT))


def _action_key(action: str, params: dict) -> str:
    """The same action with the same parameters: a retry of one whose answer is late."""
    return hashlib.sha1(f"{action}\n{json.dumps(params, ensure_ascii=False, sort_keys=True)}".encode()).hexdigest()


def _check_response(resp: dict, action: str) -> dict | None:
    if not isinstance(resp, dict):
        raise SendError(f"{action}: malformed response")
    retcode = resp.get("retcode", 0)
    if resp.get("status") == "async":  # accepted, carried out later (retcode 1)
        return None
    if resp.get("status") == "failed" or retcode not in (0, None):
        why = resp.get("wording") or resp.get("message") or resp.get("msg") or ""
        raise SendError(f"{action}: retcode {retcode} {why}".strip(), permanent=retcode in PERMANENT_RETCODES)
    data = resp.get("data")
    return data if isinstance(data, dict) else None


_LOOPBACK = IPAllowList(["127.0.0.0/8", "::1/128"])


class OneBotAdapter:
    platform = PLATFORM

    def __init__(self, bot, pipeline, settings: OneBotSettings, http: HttpClient | None = None,
                 max_frame_bytes: int = 1 << 20) -> None:
        if not (settings.access_token or settings.secret):
            if not settings.allow_unauthenticated_loopback:
                raise ConfigError("OneBot is enabled without an access token or secret: set "
                                  "PINGAN_ONEBOT_ACCESS_TOKEN (and/or PINGAN_ONEBOT_SECRET), or "
                                  "platforms.onebot.allow_unauthenticated_loopback = true for a client on this machine")
            log.warning("OneBot has no access token or secret: accepting unauthenticated clients from loopback only")
        self.bot, self.pipeline, self.settings = bot, pipeline, settings
        self.http = http or HttpClient()
        self.max_frame_bytes = max_frame_bytes
        self.connections: dict[str, Connection] = {}  # self_id → the account's action connection
        self.group_accounts: dict[str, str] = {}  # group id → account that last received from it
        self.temp_groups: dict[tuple[str, str], int] = {}  # (account, user) → group of a temp session
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
        if not want:  # no token set: only a client on this machine, and only when allowed
            return self.settings.allow_unauthenticated_loopback and request.remote in _LOOPBACK
        got = ""
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            got = auth[7:].strip()
        elif auth[:6].lower() == "token ":
            got = auth[6:].strip()
        got = got or request.query.get("access_token", "")
        return secrets.compare_digest(got.encode(), want.encode())

    def _http_auth(self, request: web.Request, body: bytes) -> tuple[int, str] | None:
        """None if the HTTP POST is authentic, else (status, why). NapCat and LLOneBot sign the body
        with their token (X-Signature: sha1=HMAC-SHA1) and send no bearer token: the secret, or with
        none set the access token, is the signing key."""
        key = self.settings.secret or self.settings.access_token
        sig = request.headers.get("X-Signature", "")
        if sig and key:
            want = "sha1=" + hmac.new(key.encode(), body, hashlib.sha1).hexdigest()
            return None if secrets.compare_digest(sig.strip().lower().encode(), want.encode()) else (403, "bad X-Signature")
        if self.settings.secret:
            return 401, "missing X-Signature"
        return None if self._token_ok(request) else (401, "bad or missing access token")

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
        # compress=False: permessage-deflate, when a client offers it, is declined. Frames are a few
        # hundred bytes on loopback or a LAN, and deflating each was about 6% of a busy server's CPU
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=self.max_frame_bytes, compress=False)
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
                if frame.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    await self._frame_alone(conn, frame.data)
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

    async def _frame_alone(self, conn: Connection, data: str | bytes) -> None:
        try:
            await self._on_frame(conn, data if isinstance(data, str) else data.decode("utf-8"))
        except UnicodeDecodeError:
            log.warning("OneBot %s: undecodable binary frame ignored", conn.self_id)
        except Exception:  # e.g. the database refused it: this frame fails alone, the socket stays
            log.exception("OneBot %s: frame dropped", conn.self_id)

    async def _on_frame(self, conn: Connection, data: str) -> None:
        """One frame: an event, or the answer to an action. A bad frame is logged and dropped; the
        socket and the frames behind it carry on."""
        try:
            obj = loads(data)
        except (ValueError, RecursionError):
            log.warning("OneBot %s: non-JSON frame ignored", conn.self_id)
            return
        if not isinstance(obj, dict):
            return
        if "post_type" in obj:  # handled beside the frames behind it (in order: tasks start in turn)
            await conn.inflight.acquire()
            task = asyncio.create_task(self._event_alone(conn, obj))
            self.pipeline.tasks.add(task)
            task.add_done_callback(self.pipeline.tasks.discard)
            return
        echo = obj.get("echo")
        fut = conn.pending.pop(echo, None) if isinstance(echo, str) else None
        if fut is not None and not fut.done():
            fut.set_result(obj)

    async def _event_alone(self, conn: Connection, ev: dict) -> None:
        try:
            await self._on_event(ev, conn.self_id, patient=True)
        except Exception:  # e.g. the database refused it: this event fails alone, the socket stays
            log.exception("OneBot %s: event dropped", conn.self_id)
        finally:
            conn.inflight.release()

    async def _on_event(self, ev: dict, self_id: str, patient: bool = False) -> bool:
        """Store and handle the message (the pipeline's ingest). False if the event was malformed."""
        try:
            inbound = event_to_inbound(ev, self_id)
        except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:
            log.warning("OneBot %s: malformed event ignored (%s: %s)", self_id, type(exc).__name__, str(exc)[:200])
            return False
        if inbound is None:
            return True
        if inbound.chat.chat_type == "group":
            self.group_accounts[inbound.chat.chat_id] = inbound.chat.account
        elif ev.get("sub_type") == "group":  # a temporary session started from a group
            self._remember_temp(inbound, ev)
        await self.pipeline.ingest(inbound, patient=patient)
        return True

    def _remember_temp(self, inbound: Inbound, ev: dict) -> None:
        """For messages to this user that carry no `via` (e.g. to a person found by their identity)."""
        gid = temp_group(ev)
        if gid is not None:
            self.temp_groups[(inbound.chat.account, inbound.chat.chat_id)] = gid

    # --- HTTP POST ------------------------------------------------------------------------------
    async def http_handler(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        denied = self._http_auth(request, body)
        if denied is not None:
            return web.json_response({"error": denied[1]}, status=denied[0])
        try:
            ev = loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return web.json_response({"error": "body is not JSON"}, status=400)
        if not isinstance(ev, dict):
            return web.json_response({"error": "event must be a JSON object"}, status=400)
        self_id = request.headers.get("X-Self-ID", "").strip() or None
        if not await self._on_event(ev, self_id or ev.get("self_id")):
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
        """Send an action and wait for its answer. A slow client may answer after the timeout: the
        outbox then retries the same action, which waits for (or takes) that first answer instead of
        posting it twice."""
        key = _action_key(action, params) if conn.overdue else None  # made only when one may match
        echo, fut = conn.overdue.pop(key, (None, None)) if key else (None, None)
        if fut is None:
            echo = f"{self._prefix}-{next(self._echo)}"
            fut = conn.pending[echo] = asyncio.get_running_loop().create_future()
            try:
                await conn.ws.send_str(dumps({"action": action, "params": params, "echo": echo}))
            except (ConnectionError, RuntimeError) as exc:
                conn.pending.pop(echo, None)
                raise SendError(f"OneBot {conn.self_id}: send failed ({exc})") from None
        try:
            async with asyncio.timeout(self.settings.action_timeout_seconds):
                resp = await asyncio.shield(fut)  # kept on timeout, for a late answer
        except TimeoutError:
            conn.overdue[key or _action_key(action, params)] = (echo, fut)
            while len(conn.overdue) > LATE_ANSWERS:  # forget the oldest: its answer is not coming
                conn.pending.pop(conn.overdue.pop(next(iter(conn.overdue)))[0], None)
            raise SendError(f"OneBot {conn.self_id}: {action} timed out (its answer is still awaited)") from None
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

    MERGE_CHARS = 3000  # about a phone screen's scroll of posts; QQ takes longer messages

    def merge_limit(self, target: ChatRef) -> int:
        """Queued posts to one group go as one message (the group's 20 a minute then carry
        dozens of reports); a resident's private replies stay one message each."""
        return self.MERGE_CHARS if target.chat_type == "group" else 0

    @staticmethod
    def _number(value: str, what: str) -> int:
        if not value.isdigit():
            raise SendError(f"QQ {what} {value!r} is not a number", permanent=True)
        return int(value)

    async def send(self, out: Outbound) -> str | None:
        """The message (text, @-mentions, image), then its file as an upload to the chat."""
        t = out.target
        segments = render_segments(out)
        if t.chat_type == "group":
            where = {"group_id": self._number(t.chat_id, "group id")}
            action = "send_group_msg"
        else:
            where = {"user_id": self._number(t.chat_id, "user id")}
            gid = (t.via or {}).get("group_id") or self.adapter.temp_groups.get((t.account, t.chat_id))
            if gid is not None:  # a temporary session is answered through the group it came from
                where["group_id"] = gid
            action = "send_private_msg"
        data = await self.adapter.call(action, {**where, "message": segments}, t) if segments else None
        if out.file:
            await self.upload(out.file, t, where)
        mid = (data or {}).get("message_id")
        return None if mid is None else str(mid)

    async def upload(self, path: str, t: ChatRef, where: dict) -> None:
        """upload_group_file / upload_private_file (NapCat, LLOneBot), the file inlined as base64."""
        try:
            ref = image_file(path)
        except OSError as exc:
            raise SendError(f"file {path!r} unreadable: {exc}", permanent=True) from None
        action = "upload_group_file" if t.chat_type == "group" else "upload_private_file"
        params = {"group_id": where["group_id"]} if t.chat_type == "group" else {"user_id": where["user_id"]}
        await self.adapter.call(action, {**params, "file": ref, "name": os.path.basename(path)}, t)
