"""QQ through OneBot v11: a client speaking the real protocol over a real WebSocket (and HTTP POST)
against the running server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web

from pingan.bot.onebot import cq_escape, event_to_inbound, parse_cq, render_segments
from pingan.bot.server import make_app
from pingan.messages import ChatRef, Inbound, Mention, Outbound, Text
from pingan.models import InboxMessage, OutboxMessage, Ticket
from tests.test_server import REPORT, Running, count, rows, settled, stub_server, wait_count, wait_until

BOT_QQ = "10001"
GROUP = "700001"  # 新联社区平安工作群 (coordination) in the demo org
RESIDENTS = "700002"
TOKEN = "s3cret"


def group_event(text_or_segments, message_id: int, user_id: int = 30001, group_id: str = GROUP,
                self_id: str = BOT_QQ, **extra) -> dict:
    ev = {"time": 1554685200, "self_id": int(self_id), "post_type": "message", "message_type": "group",
          "sub_type": "normal", "message_id": message_id, "group_id": int(group_id), "user_id": user_id,
          "message": text_or_segments, "raw_message": "", "font": 0,
          "sender": {"user_id": user_id, "nickname": "张阿姨", "card": "3栋张阿姨", "role": "member"},
          "message_format": "array" if isinstance(text_or_segments, list) else "string",
          "real_id": message_id, "message_seq": message_id, "group_name": "新联社区平安工作群"}
    ev.update(extra)
    return ev


def private_event(text, message_id: int, user_id: int = 30002, self_id: str = BOT_QQ) -> dict:
    return {"time": 1554685200, "self_id": int(self_id), "post_type": "message", "message_type": "private",
            "sub_type": "friend", "message_id": message_id, "user_id": user_id, "message": text,
            "raw_message": text if isinstance(text, str) else "", "font": 0,
            "sender": {"user_id": user_id, "nickname": "李大爷"}}


class FakeOneBot:
    """NapCat-like reverse-WS client: sends events, answers actions with `echo`."""

    def __init__(self, running: Running, self_id: str = BOT_QQ, token: str = TOKEN) -> None:
        self.running, self.self_id, self.token = running, self_id, token
        self.actions: list[dict] = []
        self.next_id = 9000 + int(self_id) % 100 * 1000
        # ok | drop (close the socket instead of answering) | fail (retcode 1200, transient) |
        # hopeless (retcode 1404, no such action) | async (status "async": accepted for later)
        self.mode = "ok"
        self.delay = 0.0  # answer this late (a slow client under load)
        self.ws = None
        self._reader = None

    async def connect(self) -> "FakeOneBot":
        self.ws = await self.running.client.ws_connect(
            "/onebot/v11/ws", headers={"X-Self-ID": self.self_id, "X-Client-Role": "Universal",
                                       "Authorization": f"Bearer {self.token}", "User-Agent": "OneBot/11"})
        self._reader = asyncio.create_task(self._read())
        await self.ws.send_json({"post_type": "meta_event", "meta_event_type": "lifecycle", "sub_type": "connect",
                                 "self_id": int(self.self_id), "time": 1})
        return self

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            action = json.loads(frame.data)
            self.actions.append(action)
            if self.mode == "drop":
                await self.ws.close()
                return
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, asyncio.ensure_future, self._answer(action))
            else:
                await self._answer(action)

    async def _answer(self, action: dict) -> None:
        echo = action["echo"]
        if {"type": "at", "data": {"qq": "80000000"}} in action["params"].get("message", []):
            await self.ws.send_json({"status": "failed", "retcode": 1200, "data": None, "echo": echo,
                                     "message": "at anonymous", "wording": "at anonymous"})  # as NapCat
            return
        if self.mode in ("fail", "hopeless"):
            code, why = (1200, "发送超时") if self.mode == "fail" else (1404, "不支持的Api")
            await self.ws.send_json({"status": "failed", "retcode": code, "data": None,
                                     "message": why, "wording": why, "echo": echo})
            return
        if self.mode == "async":
            await self.ws.send_json({"status": "async", "retcode": 1, "data": None, "echo": echo})
            return
        self.next_id += 1
        data = {"message_id": self.next_id} if action["action"].startswith("send_") else None
        await self.ws.send_json({"status": "ok", "retcode": 0, "data": data, "message": "", "wording": "",
                                 "echo": echo})

    async def send(self, event: dict) -> None:
        await self.ws.send_json(event)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


@pytest.fixture
async def running(bot, settings):
    settings.platforms.onebot.enabled = True
    settings.platforms.onebot.access_token = TOKEN
    settings.platforms.onebot.action_timeout_seconds = 2
    async with Running(make_app(bot, env={})) as r:
        yield r



def adapter_of(running):
    from pingan.bot.server import ADAPTERS

    return running.app[ADAPTERS]["qq"]


# --- parsing ------------------------------------------------------------------------------------

def test_cq_string_parses_and_unescapes():
    segs = parse_cq("[CQ:reply,id=123][CQ:at,qq=10001] 办结&#91;1&#93; a&amp;b [CQ:image,file=a.jpg,url=http://x/y?a=1&#44;2]")
    assert [s["type"] for s in segs] == ["reply", "at", "text", "image"]
    assert segs[2]["data"]["text"] == " 办结[1] a&b "
    assert segs[3]["data"]["url"] == "http://x/y?a=1,2"
    assert cq_escape("a,[b]&", param=True) == "a&#44;&#91;b&#93;&amp;"


def test_event_mapping_array_form():
    ev = group_event([{"type": "reply", "data": {"id": "555"}}, {"type": "at", "data": {"qq": BOT_QQ}},
                      {"type": "at", "data": {"qq": "all"}}, {"type": "text", "data": {"text": " 到场 #3 "}},
                      {"type": "image", "data": {"file": "abc.image", "url": "https://q/abc"}},
                      {"type": "face", "data": {"id": "1"}}], 42)
    msg = event_to_inbound(ev)
    assert msg.chat == ChatRef("qq", BOT_QQ, "group", GROUP)
    assert (msg.msg_id, msg.sender_id, msg.sender_name) == ("42", "30001", "3栋张阿姨")
    assert msg.mentions_bot and msg.text == "到场 #3" and msg.reply_to == "555" and msg.images == ["https://q/abc"]


def test_event_mapping_string_form_and_private():
    msg = event_to_inbound(private_event("[CQ:at,qq=10001]查询 &#91;急&#93;", 7))
    assert msg.chat == ChatRef("qq", BOT_QQ, "private", "30002")
    assert msg.text == "查询 [急]" and msg.mentions_bot and msg.sender_name == "李大爷"


def test_meta_and_notice_events_are_not_messages():
    assert event_to_inbound({"post_type": "meta_event", "meta_event_type": "heartbeat", "self_id": 1,
                             "status": {}, "interval": 5000}) is None
    assert event_to_inbound({"post_type": "notice", "notice_type": "group_increase"}) is None
    assert event_to_inbound({"post_type": "message_sent", "message_type": "group"}) is None
    # clients that report the bot's own posts as ordinary messages: never answer ourselves
    assert event_to_inbound(group_event("【隐患 #1】消防·电瓶车违规充电", 9, user_id=int(BOT_QQ))) is None


def test_render_mentions_and_image(tmp_path):
    img = tmp_path / "p.png"
    img.write_bytes(b"\x89PNG")
    out = Outbound(ChatRef("qq", "", "group", GROUP),
                   [Text("请 "), Mention("周网格", "20002"), Text(" "), Mention("无号", None), Text(" 到场")],
                   image=str(img))
    segs = render_segments(out)
    assert segs[1] == {"type": "at", "data": {"qq": "20002"}}
    assert segs[2] == {"type": "text", "data": {"text": " @无号 到场"}}
    assert segs[3]["type"] == "image" and segs[3]["data"]["file"].startswith("base64://")


# --- over the wire ------------------------------------------------------------------------------

async def test_group_report_array_form_posts_with_at(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send({"post_type": "meta_event", "meta_event_type": "heartbeat", "self_id": 10001, "time": 2,
                   "status": {"online": True}, "interval": 30000})
    await ob.send(group_event([{"type": "text", "data": {"text": REPORT}}], 101))
    await wait_until(lambda: count(bot, InboxMessage))
    await settled(running.app)
    assert await running.worker.run_once() >= 1
    acts = [a for a in ob.actions if a["action"] == "send_group_msg"]
    assert acts and acts[0]["params"]["group_id"] == int(GROUP)
    assert {"type": "at", "data": {"qq": "20002"}} in acts[0]["params"]["message"]  # 周网格, grid 2
    sent = await rows(bot, OutboxMessage, OutboxMessage.status == "sent")
    assert sent[0].remote_id == str(ob.next_id - len(ob.actions) + 1)
    assert await count(bot, Ticket) == 1
    await ob.close()


async def test_string_form_private_report_and_quote_reply(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send(private_event(REPORT.replace("3栋", "3栋&#91;2单元&#93;"), 201))
    await wait_until(lambda: count(bot, InboxMessage))
    await settled(running.app)
    await running.worker.run_once()
    private = [a for a in ob.actions if a["action"] == "send_private_msg"]
    group = [a for a in ob.actions if a["action"] == "send_group_msg"]
    assert private and private[0]["params"]["user_id"] == 30002 and "已受理" in private[0]["params"]["message"][0]["data"]["text"]
    assert group
    (ticket,) = await rows(bot, Ticket)
    assert "[2单元]" in ticket.raw_text
    # the grid worker quote-replies to the bot's group post: the reply segment maps to the ticket
    post = await rows(bot, OutboxMessage, OutboxMessage.platform == "qq", OutboxMessage.chat_type == "group")
    await ob.send(group_event(f"[CQ:reply,id={post[0].remote_id}][CQ:at,qq={BOT_QQ}] 到场", 202, user_id=20002))
    await wait_count(bot, InboxMessage, 2, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    async with bot.sessions() as s:
        assert (await s.get(Ticket, ticket.id)).on_scene_at is not None
    await ob.close()


async def test_duplicate_message_id_makes_one_ticket(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    for _ in range(3):
        await ob.send(group_event(REPORT, 301))
    await ob.send(private_event("帮助", 302))  # a later message: the three above were read by then
    await wait_count(bot, InboxMessage, 2, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    assert await count(bot, InboxMessage) == 2 and await count(bot, Ticket) == 1
    await ob.close()


async def test_bad_or_missing_token_is_401_before_upgrade(running):
    for headers in ({"X-Self-ID": BOT_QQ}, {"X-Self-ID": BOT_QQ, "Authorization": "Bearer nope"}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await running.client.ws_connect("/onebot/v11/ws", headers=headers)
        assert err.value.status == 401
    ws = await running.client.ws_connect(f"/onebot/v11/ws?access_token={TOKEN}", headers={"X-Self-ID": BOT_QQ})
    await wait_until(lambda: adapter_of(running).connections)
    await ws.close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await running.client.ws_connect(f"/onebot/v11/ws?access_token={TOKEN}")  # no X-Self-ID
    assert err.value.status == 400


async def test_compression_offered_by_a_client_is_declined(running):
    """Deflating every small frame cost the server more than it saves on loopback or a LAN."""
    ws = await running.client.ws_connect(f"/onebot/v11/ws?access_token={TOKEN}", headers={"X-Self-ID": BOT_QQ},
                                         compress=15)
    assert ws.compress == 0
    await ws.close()


async def test_garbage_frames_keep_the_connection(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    for junk in ["not json", "[]", "null", '{"post_type":"message","message_type":"group"}',
                 '{"echo":"unknown","retcode":0}', '{"post_type":"message","message_type":"private","user_id":1,'
                 '"message_id":2,"message":{"type":"text"}}']:
        await ob.ws.send_str(junk)
    await ob.send(private_event("帮助", 401))
    await wait_until(lambda: count(bot, InboxMessage, InboxMessage.msg_id == "401"))
    assert not ob.ws.closed
    await ob.close()


async def test_dropped_connection_mid_send_retried_after_reconnect(running, bot, clock):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send(group_event(REPORT, 501))
    await wait_until(lambda: count(bot, InboxMessage))
    await settled(running.app)
    ob.mode = "drop"
    assert await running.worker.run_once() == 0
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.platform == "qq")
    assert row.status == "pending" and row.attempts == 1 and "disconnected" in row.last_error
    await wait_until(lambda: not adapter_of(running).connections)
    assert await running.worker.run_once() == 0  # backing off: nothing due yet
    ob2 = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    clock.advance(seconds=5)
    assert await running.worker.run_once() == 1
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.platform == "qq")
    assert row.status == "sent" and row.remote_id and len(ob2.actions) == 1
    await ob2.close()
    await ob.close()


async def test_send_while_disconnected_and_retcode_failure_are_retried(running, bot, clock):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send(group_event(REPORT, 601))
    await wait_until(lambda: count(bot, InboxMessage))
    await settled(running.app)
    ob.mode = "fail"
    await running.worker.run_once()
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.platform == "qq")
    assert row.status == "pending" and "retcode 1200" in row.last_error
    await ob.close()
    await wait_until(lambda: not adapter_of(running).connections)
    clock.advance(seconds=10)
    assert await running.worker.run_once() == 0
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.platform == "qq")
    assert row.attempts == 1 and row.status == "pending"  # no client: it waits, no attempt counted


async def test_group_goes_out_through_the_account_that_saw_it(running, bot):
    a = await FakeOneBot(running, "10001").connect()
    b = await FakeOneBot(running, "10002").connect()
    await wait_until(lambda: len(adapter_of(running).connections) == 2)
    await b.send(group_event(REPORT, 701, self_id="10002"))
    await wait_until(lambda: count(bot, InboxMessage))
    await settled(running.app)
    await running.worker.run_once()
    assert not a.actions and b.actions
    # a post to a group neither account has seen (account "") still goes out through someone
    sender = adapter_of(running).sender
    mid = await sender.send(Outbound(ChatRef("qq", "", "group", "700010"), [Text("hi")]))
    assert mid is not None
    await a.close()
    await b.close()


async def test_http_post_transport_signed(bot, settings):
    got: list[tuple[str, dict]] = []

    async def api(request: web.Request):
        assert request.headers["Authorization"] == "Bearer tkn"
        got.append((request.match_info["action"], await request.json()))
        return web.json_response({"status": "ok", "retcode": 0, "data": {"message_id": 77 + len(got)}})

    peer = await stub_server([("POST", "/{action}", api)])
    ob = settings.platforms.onebot
    ob.enabled, ob.secret, ob.access_token = True, "hmackey", "tkn"
    ob.api_url = str(peer.make_url("/"))
    try:
        async with Running(make_app(bot, env={})) as r:
            body = json.dumps(group_event(REPORT, 801), ensure_ascii=False).encode()
            sig = "sha1=" + hmac.new(b"hmackey", body, hashlib.sha1).hexdigest()
            assert (await r.client.post("/onebot/v11/http", data=body, headers={"X-Signature": "sha1=00"})).status == 403
            assert (await r.client.post("/onebot/v11/http", data=body)).status == 401
            resp = await r.client.post("/onebot/v11/http", data=body,
                                       headers={"X-Signature": sig, "X-Self-ID": BOT_QQ, "Content-Type": "application/json"})
            assert resp.status == 204
            again = await r.client.post("/onebot/v11/http", data=body, headers={"X-Signature": sig})
            assert again.status == 204  # a re-delivery is acknowledged and ignored
            await settled(r.app)
            assert await r.worker.run_once() >= 1
            assert got[0][0] == "send_group_msg" and got[0][1]["group_id"] == int(GROUP)
            assert await count(bot, Ticket) == 1
            meta = json.dumps({"post_type": "meta_event", "meta_event_type": "heartbeat", "self_id": 1}).encode()
            sig = "sha1=" + hmac.new(b"hmackey", meta, hashlib.sha1).hexdigest()
            assert (await r.client.post("/onebot/v11/http", data=meta, headers={"X-Signature": sig})).status == 204
    finally:
        await peer.close()


async def test_qq_per_chat_rate_limit_defers_without_counting_an_attempt(running, bot, clock, settings):
    settings.outbox.qq_per_chat_per_minute = 2
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    for i in range(3):
        await ob.send(private_event(f"帮助{i}", 900 + i))
    await wait_count(bot, InboxMessage, 3, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    assert await running.worker.run_once() == 2
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.status == "pending")
    assert row.attempts == 0 and row.next_attempt_at > clock.now()
    clock.advance(timedelta(seconds=61))
    assert await running.worker.run_once() == 1
    texts = [a["params"]["message"][0]["data"]["text"] for a in ob.actions]
    assert len(texts) == 3
    await ob.close()


# --- issue 13: forgery, bad input, platform conformance ------------------------------------------

async def test_no_token_refuses_to_start_unless_loopback_allowed(bot, settings):
    from pingan.errors import ConfigError

    settings.platforms.onebot.enabled = True
    with pytest.raises(ConfigError, match="allow_unauthenticated_loopback"):
        make_app(bot, env={})
    settings.platforms.onebot.allow_unauthenticated_loopback = True
    async with Running(make_app(bot, env={})) as r:  # the test client is on 127.0.0.1: let in
        ws = await r.client.ws_connect("/onebot/v11/ws", headers={"X-Self-ID": BOT_QQ})
        await wait_until(lambda: adapter_of(r).connections)
        await ws.close()


def test_anonymous_sticker_location_and_lagrange_at_mapping():
    anon = group_event([{"type": "text", "data": {"text": REPORT}}], 11, user_id=80000000,
                       anonymous={"id": 5566, "name": "匿名河马", "flag": "x"})
    msg = event_to_inbound(anon)
    assert msg.sender_id == "anonymous-5566" and msg.sender_name == "匿名河马"
    out = Outbound(ChatRef("qq", "", "group", GROUP), [Mention(msg.sender_name, msg.sender_id), Text(" 已受理")])
    assert render_segments(out) == [{"type": "text", "data": {"text": "@匿名河马 已受理"}}]  # never an at
    stickers = group_event([{"type": "image", "data": {"file": "a.gif", "url": "https://q/a", "sub_type": 1}},
                            {"type": "image", "data": {"file": "b", "url": "https://q/b", "emoji_id": "123",
                                                       "emoji_package_id": 9}},
                            {"type": "image", "data": {"file": "c.jpg", "url": "https://q/c", "sub_type": 0}}], 12)
    assert event_to_inbound(stickers).images == ["https://q/c"]
    card = {"app": "com.tencent.map", "view": "LocationShare", "ver": "0.0.0.1",
            "meta": {"Location.Search": {"address": "成都市都江堰市幸福路8号", "lat": "30.99", "lng": "103.62",
                                         "name": "锦城花园", "id": "1"}}}
    for data in ({"data": json.dumps(card, ensure_ascii=False)}, {"data": card}):  # NapCat, LLOneBot
        loc = event_to_inbound(group_event([{"type": "json", "data": data}], 13)).location
        assert (loc.lat, loc.lon, loc.label) == (30.99, 103.62, "锦城花园 成都市都江堰市幸福路8号")
    lagrange = group_event([{"type": "at", "data": {"qq": "20002", "name": "@周网格"}},
                            {"type": "text", "data": {"text": " 去看看"}}], 14)
    assert event_to_inbound(lagrange).text == "@周网格 去看看"


async def test_anonymous_report_answered_without_at(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send(group_event(REPORT, 1101, user_id=80000000, anonymous={"id": 77, "name": "匿名企鹅"}))
    await ob.send(group_event(f"[CQ:at,qq={BOT_QQ}] 帮助", 1102, user_id=80000000,
                              anonymous={"id": 77, "name": "匿名企鹅"}))
    await wait_count(bot, InboxMessage, 2)
    await settled(running.app)
    await running.worker.run_once()
    msgs = [a["params"]["message"] for a in ob.actions]
    assert any("@匿名企鹅" in json.dumps(m, ensure_ascii=False) for m in msgs)
    assert all({"type": "at", "data": {"qq": "80000000"}} not in m for m in msgs)
    assert await count(bot, OutboxMessage, OutboxMessage.status == "dead") == 0
    await ob.close()


async def test_bad_frames_fail_alone(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    huge = private_event("x", 1201)
    huge["message"] = [{"type": "location", "data": {"lat": 10 ** 400, "lon": 1}}]
    deep = '{"post_type":"message","message_type":"private","user_id":1,"message_id":2,"message":' + "[" * 5000 + "]" * 5000 + "}"
    long_id = private_event("x", 10 ** 200)
    nul = private_event("帮\u0000助\ud800", 1202)
    for junk in [json.dumps(huge), deep, "[" * 100000, json.dumps(long_id)]:
        await ob.ws.send_str(junk)
    await ob.ws.send_str(json.dumps(nul))
    await ob.send(private_event("帮助", 1203))
    await wait_count(bot, InboxMessage, 2, InboxMessage.handled_at.is_not(None))
    assert not ob.ws.closed and await count(bot, InboxMessage) == 2
    (stored,) = await rows(bot, InboxMessage, InboxMessage.msg_id == "1202")
    assert stored.payload["text"] == "帮助"
    await ob.close()


async def test_hopeless_retcode_dead_letters_at_once_and_async_is_success(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    ob.mode = "hopeless"
    await ob.send(private_event("帮助", 1301))
    await wait_count(bot, InboxMessage, 1, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    await running.worker.run_once()
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.chat_id == "30002")
    assert row.status == "dead" and row.attempts == 1
    ob.mode = "async"
    await ob.send(private_event("帮助", 1302))
    await wait_count(bot, InboxMessage, 2, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    assert await running.worker.run_once() >= 1
    assert (await rows(bot, OutboxMessage, OutboxMessage.chat_id == "30002"))[-1].status == "sent"
    await ob.close()


async def test_answer_after_the_timeout_is_matched_not_resent(running, bot, clock, settings):
    settings.platforms.onebot.action_timeout_seconds = 0.2
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send(private_event("帮助", 1401))
    await wait_count(bot, InboxMessage, 1, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    ob.delay = 0.5
    assert await running.worker.run_once() == 0  # timed out
    await wait_until(lambda: not adapter_of(running).connections[BOT_QQ].pending)  # the late answer came
    clock.advance(seconds=30)
    assert await running.worker.run_once() == 1
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.chat_id == "30002")
    assert row.status == "sent" and row.remote_id == str(ob.next_id)
    assert len(ob.actions) == 1  # posted once
    await ob.close()


async def test_temp_session_reply_carries_group_id(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    ev = private_event("帮助", 1501, user_id=30009)
    ev.update(sub_type="group", sender={"user_id": 30009, "nickname": "路人", "group_id": int(RESIDENTS)})
    await ob.send(ev)
    await wait_count(bot, InboxMessage, 1, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    await running.worker.run_once()
    (act,) = ob.actions
    assert act["action"] == "send_private_msg" and act["params"]["user_id"] == 30009
    assert act["params"]["group_id"] == int(RESIDENTS)
    await ob.close()


def test_a_temp_session_names_its_group_in_the_chat_not_in_its_identity():
    ev = private_event("帮助", 1801, user_id=30009)
    ev.update(sub_type="group", sender={"user_id": 30009, "group_id": int(RESIDENTS)})
    msg = event_to_inbound(ev)
    assert msg.chat.via == {"group_id": int(RESIDENTS)}
    assert msg.chat == ChatRef("qq", BOT_QQ, "private", "30009") and msg.chat.key() == "qq:10001:private:30009"
    assert Inbound.from_dict(json.loads(json.dumps(msg.to_dict()))).chat.via == {"group_id": int(RESIDENTS)}
    ev.update(sender={"user_id": 30009}, temp_source=3)  # the kind of temporary session, not a group
    assert event_to_inbound(ev).chat.via is None and event_to_inbound(private_event("帮助", 1802)).chat.via is None


async def test_temp_session_replies_keep_their_group_id_after_a_restart(bot, settings):
    """The reply is queued by one server and sent by another (or after a restart): its group id was
    stored with it, and with the ticket for what the reporter is told later."""
    o = settings.platforms.onebot
    o.enabled, o.access_token, o.action_timeout_seconds = True, TOKEN, 2
    ev = private_event(REPORT, 1701, user_id=30009)
    ev.update(sub_type="group", sender={"user_id": 30009, "nickname": "路人", "group_id": int(RESIDENTS)})
    async with Running(make_app(bot, env={})) as first:
        ob = await FakeOneBot(first).connect()
        await wait_until(lambda: adapter_of(first).connections)
        await ob.send(ev)
        await wait_count(bot, InboxMessage, 1, InboxMessage.handled_at.is_not(None))
        await settled(first.app)
        await ob.close()
    assert ob.actions == [] and await count(bot, OutboxMessage, OutboxMessage.status == "pending") == 2
    async with Running(make_app(bot, env={})) as second:  # a new adapter: nothing in memory
        assert adapter_of(second).temp_groups == {}
        ob = await FakeOneBot(second).connect()
        await wait_until(lambda: adapter_of(second).connections)
        assert await second.worker.run_once() == 2
        await ob.send(group_event(f"[CQ:at,qq={BOT_QQ}] 到场 #1", 1702, user_id=20002))
        await ob.send(group_event(f"[CQ:at,qq={BOT_QQ}] 办结 #1 已拔掉电源", 1703, user_id=20002))
        await wait_count(bot, InboxMessage, 3, InboxMessage.handled_at.is_not(None))
        await settled(second.app)
        await second.worker.run_once()
        to_them = [a["params"] for a in ob.actions if a["action"] == "send_private_msg"]
        assert len(to_them) == 3 and "编号 #1" in str(to_them[0]) and "已拔掉电源" in str(to_them[-1])
        assert all((p["user_id"], p["group_id"]) == (30009, int(RESIDENTS)) for p in to_them)
        await ob.close()


async def test_quoting_own_report_names_its_ticket(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send(group_event(REPORT, 1601, user_id=30005))
    await wait_count(bot, InboxMessage, 1, InboxMessage.handled_at.is_not(None))
    await ob.send(group_event(f"[CQ:reply,id=1601][CQ:at,qq={BOT_QQ}] 撤销", 1602, user_id=30005))
    await wait_count(bot, InboxMessage, 2, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    (ticket,) = await rows(bot, Ticket)
    assert ticket.status == "withdrawn"
    await ob.close()


async def test_recall_of_a_fresh_report_asks_the_reporter(running, bot, clock):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send(group_event(REPORT, 1701, user_id=30006))
    await wait_count(bot, InboxMessage, 1, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    await running.worker.run_once()
    sent = len(ob.actions)
    recall = {"post_type": "notice", "notice_type": "group_recall", "time": 2, "self_id": int(BOT_QQ),
              "group_id": int(GROUP), "user_id": 30006, "operator_id": 30006, "message_id": 1701}
    await ob.send({"post_type": "notice", "notice_type": "group_increase", "self_id": int(BOT_QQ),
                   "group_id": int(GROUP), "user_id": 30007, "operator_id": 0, "sub_type": "approve"})
    await ob.send(recall)
    await wait_count(bot, InboxMessage, 2, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    await running.worker.run_once()
    (ask,) = ob.actions[sent:]
    assert {"type": "at", "data": {"qq": "30006"}} in ask["params"]["message"]
    assert "撤销 #1" in json.dumps(ask, ensure_ascii=False)
    (ticket,) = await rows(bot, Ticket)
    assert ticket.status != "withdrawn"  # nothing changes without their word
    await ob.send(group_event(REPORT.replace("3栋", "5栋"), 1702, user_id=30006))
    await wait_count(bot, InboxMessage, 3, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    await running.worker.run_once()
    sent = len(ob.actions)
    clock.advance(minutes=30)  # recalled long after: nothing to ask
    await ob.send({**recall, "message_id": 1702})
    await wait_count(bot, InboxMessage, 4, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    await running.worker.run_once()
    assert len(ob.actions) == sent
    await ob.close()


async def test_http_post_signed_with_the_token_alone(bot, settings):
    ob = settings.platforms.onebot
    ob.enabled, ob.access_token = True, TOKEN
    async with Running(make_app(bot, env={})) as r:
        body = json.dumps(private_event("帮助", 1801), ensure_ascii=False).encode()
        sig = "sha1=" + hmac.new(TOKEN.encode(), body, hashlib.sha1).hexdigest()
        assert (await r.client.post("/onebot/v11/http", data=body, headers={"X-Signature": "sha1=00"})).status == 403
        assert (await r.client.post("/onebot/v11/http", data=body, headers={"X-Signature": sig})).status == 204
        assert await count(bot, InboxMessage) == 1


async def test_authenticated_onebot_is_not_rate_limited(bot, settings):
    settings.server.rate_limit_per_minute = 30
    ob = settings.platforms.onebot
    ob.enabled, ob.access_token = True, TOKEN
    async with Running(make_app(bot, env={})) as r:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        statuses = [(await r.client.post("/onebot/v11/http", data=json.dumps(private_event("帮助", 1900 + i)),
                                         headers=auth)).status for i in range(150)]
        assert statuses.count(204) == 150
        ws = await r.client.ws_connect("/onebot/v11/ws", headers={"X-Self-ID": BOT_QQ, **auth})
        await ws.close()
        bad = [(await r.client.post("/onebot/v11/http", data=b"{}")).status for _ in range(32)]
        assert bad[:30] == [401] * 30 and bad[30:] == [429, 429]  # failed authentications still count


async def test_ledger_in_a_qq_group_uploads_the_file(running, bot, tmp_path):
    import base64

    bot.settings.scheduler.files_dir = str(tmp_path / "files")
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send(group_event(f"[CQ:at,qq={BOT_QQ}] 台账", 2001, user_id=20010))  # 王书记
    await wait_count(bot, OutboxMessage, 1)
    await settled(running.app)
    await running.worker.run_once()
    said, upload = ob.actions
    assert said["action"] == "send_group_msg" and "详见附件" in json.dumps(said, ensure_ascii=False)
    assert upload["action"] == "upload_group_file" and upload["params"]["group_id"] == int(GROUP)
    assert upload["params"]["name"].endswith(".xlsx")
    assert base64.b64decode(upload["params"]["file"].removeprefix("base64://"))[:2] == b"PK"
    await ob.close()


async def test_new_report_with_its_photo_in_the_followup_window_is_its_own_ticket(running, bot):
    ob = await FakeOneBot(running).connect()
    await wait_until(lambda: adapter_of(running).connections)
    await ob.send(private_event(REPORT, 2101))
    await wait_count(bot, InboxMessage, 1, InboxMessage.handled_at.is_not(None))
    await ob.send(private_event([{"type": "text", "data": {"text": "锦城花园5栋消防通道被杂物堵死了"}},
                                 {"type": "image", "data": {"file": "p.jpg", "url": "https://q/p.jpg"}}], 2102))
    await wait_count(bot, InboxMessage, 2, InboxMessage.handled_at.is_not(None))
    await settled(running.app)
    first, second = await rows(bot, Ticket)
    assert not first.attachments and second.attachments == [{"image": "https://q/p.jpg"}]
    assert "消防通道" in second.raw_text
    await ob.close()
