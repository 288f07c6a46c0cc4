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
from pingan.messages import ChatRef, Mention, Outbound, Text
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
        self.mode = "ok"  # ok | drop (close the socket instead of answering) | fail (retcode 1404)
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
            if self.mode == "fail":
                await self.ws.send_json({"status": "failed", "retcode": 1404, "data": None,
                                         "message": "不支持的Api", "wording": "不支持的Api", "echo": action["echo"]})
                continue
            self.next_id += 1
            await self.ws.send_json({"status": "ok", "retcode": 0, "data": {"message_id": self.next_id},
                                     "message": "", "wording": "", "echo": action["echo"]})

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
    assert row.status == "pending" and "retcode 1404" in row.last_error
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
