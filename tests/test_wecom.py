"""WeCom: the group-robot webhook against a local stand-in (rate limit, retries, images), and the
intelligent-robot callback encrypted as the protocol specifies (built here from the spec with
`cryptography`, independently of the adapter's code)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import time
from datetime import timedelta

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pingan.bot.http import HttpClient
from pingan.bot.outbox import OutboxWorker
from pingan.bot.server import make_app
from pingan.bot.wecom import ResponseUrls, WeComSender, callback_to_inbound, webhook_env_name
from pingan.messages import ChatRef, Mention, Outbound, Text
from pingan.models import InboxMessage, OutboxMessage, ReplyUrl, Ticket
from tests.test_server import REPORT, Running, count, rows, settled, stub_server

TOKEN, AES_KEY = "wctoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
AIBOT, GROUP_CHAT = "aibot_xinlian", "wrXinlianResidents"
KEY = base64.b64decode(AES_KEY + "=")


# --- the protocol, from the spec ----------------------------------------------------------------

def spec_encrypt(plaintext: str, receive_id: str = "") -> str:
    msg = plaintext.encode()
    raw = os.urandom(16) + struct.pack(">I", len(msg)) + msg + receive_id.encode()
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode()


def spec_decrypt(encrypt: str) -> str:
    dec = Cipher(algorithms.AES(KEY), modes.CBC(KEY[:16])).decryptor()
    raw = dec.update(base64.b64decode(encrypt)) + dec.finalize()
    raw = raw[: -raw[-1]]
    n = struct.unpack(">I", raw[16:20])[0]
    assert raw[20 + n:] == b""  # receiveid "" for an internal robot
    return raw[20:20 + n].decode()


def spec_sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def robot_message(content: str, msgid: str, chattype: str = "group", userid: str = "liwangge",
                  response_url: str = "", quote: dict | None = None) -> dict:
    d = {"msgid": msgid, "aibotid": AIBOT, "chattype": chattype, "from": {"userid": userid},
         "response_url": response_url, "msgtype": "text", "text": {"content": content}}
    if chattype == "group":
        d["chatid"] = GROUP_CHAT
    if quote:
        d["quote"] = quote
    return d


class Peer:
    def __init__(self, running: Running) -> None:
        self.running, self.n = running, 0

    async def post(self, payload: dict, sig: str | None = None):
        self.n += 1
        ts, nonce = str(int(time.time())), f"nonce{self.n}"
        enc = spec_encrypt(json.dumps(payload, ensure_ascii=False))
        q = {"msg_signature": sig or spec_sign(TOKEN, ts, nonce, enc), "timestamp": ts, "nonce": nonce}
        resp = await self.running.client.post("/wecom/bot", params=q, data=json.dumps({"encrypt": enc}))
        text = await resp.text()
        if resp.status == 200 and text:
            body = json.loads(text)
            assert body["msgsignature"] == spec_sign(TOKEN, body["timestamp"], body["nonce"], body["encrypt"])
            return resp.status, json.loads(spec_decrypt(body["encrypt"]))
        return resp.status, text


class Hooks:
    """Stands in for the webhook and for response_url; scripted failures."""

    def __init__(self) -> None:
        self.webhook: list[tuple[str, dict]] = []
        self.uploads: list[tuple[str, str, bytes]] = []  # (key, file name, bytes) sent to upload_media
        self.responses: list[dict] = []
        self.codes: list[str] = []  # each response_url's response_code, in the order used
        self.script: list = []
        self.server = None

    async def start(self) -> "Hooks":
        async def webhook(request):
            body = await request.json()
            step = self.script.pop(0) if self.script else {"errcode": 0, "errmsg": "ok"}
            if isinstance(step, int):
                return web.Response(status=step)
            if step.get("errcode") == 0:
                self.webhook.append((request.query["key"], body))
            return web.json_response(step)

        async def respond(request):
            self.responses.append(await request.json())
            self.codes.append(request.query.get("response_code"))
            return web.json_response({"errcode": 0, "errmsg": "ok"})

        async def upload(request):
            assert request.query["type"] == "file"
            form = await request.post()
            media = form["media"]
            self.uploads.append((request.query["key"], media.filename, media.file.read()))
            return web.json_response({"errcode": 0, "errmsg": "ok", "type": "file", "media_id": f"M{len(self.uploads)}",
                                      "created_at": "1380000000"})

        self.server = await stub_server([("POST", "/cgi-bin/webhook/send", webhook),
                                         ("POST", "/cgi-bin/webhook/upload_media", upload),
                                         ("POST", "/cgi-bin/aibot/response", respond)])
        return self

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


@pytest.fixture
async def hooks():
    h = await Hooks().start()
    yield h
    await h.server.close()


ENV = {webhook_env_name(GROUP_CHAT): "KEY-RES", webhook_env_name("ops-robot"): "KEY-OPS"}


@pytest.fixture
async def running(bot, settings, hooks):
    w = settings.platforms.wecom
    w.enabled, w.bot_token, w.bot_aes_key, w.bot_name = True, TOKEN, AES_KEY, "平安小助手"
    w.webhook_base = hooks.url("/cgi-bin/webhook/send")
    async with Running(make_app(bot, env=ENV)) as r:
        yield r


# --- webhook ------------------------------------------------------------------------------------

def test_env_name():
    assert webhook_env_name("wrXinlianResidents") == "PINGAN_WECOM_WEBHOOK_WRXINLIANRESIDENTS"
    assert webhook_env_name("ops-robot.1") == "PINGAN_WECOM_WEBHOOK_OPS_ROBOT_1"


async def test_webhook_text_mentions_and_image(settings, clock, hooks, tmp_path):
    settings.platforms.wecom.webhook_base = hooks.url("/cgi-bin/webhook/send")
    http = HttpClient()
    sender = WeComSender(settings.platforms.wecom, http, clock, env=ENV)
    img = tmp_path / "p.png"
    img.write_bytes(b"\x89PNG-bytes")
    out = Outbound(ChatRef("wecom", "", "group", "ops-robot"),
                   [Mention("李网格", "liwangge", "13800000001"), Text(" 请到场 "), Mention("周网格", None, "13800000002")],
                   image=str(img))
    await sender.send(out)
    (key1, text), (key2, image) = hooks.webhook
    assert key1 == key2 == "KEY-OPS"
    assert text == {"msgtype": "text", "text": {"content": "@李网格 请到场 @周网格", "mentioned_list": ["liwangge"],
                                                "mentioned_mobile_list": ["13800000002"]}}
    assert image["msgtype"] == "image"
    assert base64.b64decode(image["image"]["base64"]) == b"\x89PNG-bytes"
    assert image["image"]["md5"] == hashlib.md5(b"\x89PNG-bytes").hexdigest()
    await http.close()


async def _enqueue(bot, clock, chat_id: str, n: int, account: str = "") -> None:
    async with bot.sessions() as s:
        await bot.enqueue(s, [Outbound(ChatRef("wecom", account, "group", chat_id), [Text(f"m{i}")]) for i in range(n)],
                    clock.now())
        await s.commit()


async def drain(worker) -> int:
    """Passes until one sends nothing (a pass takes at most OutboxWorker.RUN rows of a chat)."""
    total = 0
    while sent := await worker.run_once():
        total += sent
    return total


async def test_webhook_20_per_minute_per_robot_and_order(bot, settings, clock, hooks):
    settings.platforms.wecom.webhook_base = hooks.url("/cgi-bin/webhook/send")
    http = HttpClient()
    worker = OutboxWorker(bot.sessions, clock, settings.outbox,
                          {"wecom": WeComSender(settings.platforms.wecom, http, clock, env=ENV)}, bot.org)
    await _enqueue(bot, clock, "ops-robot", 23)
    await _enqueue(bot, clock, GROUP_CHAT, 2)
    assert await drain(worker) == 22  # 20 for one robot, 2 for the other
    pending = await rows(bot, OutboxMessage, OutboxMessage.status == "pending")
    assert len(pending) == 3 and all(r.attempts == 0 for r in pending)
    clock.advance(seconds=61)
    assert await drain(worker) == 3
    texts = [b["text"]["content"] for k, b in hooks.webhook if k == "KEY-OPS"]
    assert texts == [f"m{i}" for i in range(23)]  # in order
    await http.close()


async def test_webhook_errors_back_off_and_dead_letter(bot, settings, clock, hooks):
    settings.platforms.wecom.webhook_base = hooks.url("/cgi-bin/webhook/send")
    settings.outbox.max_attempts = 3
    http = HttpClient()
    worker = OutboxWorker(bot.sessions, clock, settings.outbox,
                          {"wecom": WeComSender(settings.platforms.wecom, http, clock, env=ENV)}, bot.org)
    hooks.script = [{"errcode": 45009, "errmsg": "api freq out of limit"}, 502]
    await _enqueue(bot, clock, "ops-robot", 2)
    assert await worker.run_once() == 0
    first, second = await rows(bot, OutboxMessage)
    assert first.attempts == 1 and "45009" in first.last_error and second.attempts == 0  # order kept
    assert first.next_attempt_at - clock.now() >= timedelta(seconds=60)
    clock.advance(seconds=61)
    assert await worker.run_once() == 0  # 502
    clock.advance(seconds=5)
    assert await worker.run_once() == 2
    # no key for this chat: dead at once, with an alert to the admins' group
    await _enqueue(bot, clock, "no-such-robot", 1)
    assert await worker.run_once() == 0
    dead = await rows(bot, OutboxMessage, OutboxMessage.status == "dead")
    assert len(dead) == 1 and "PINGAN_WECOM_WEBHOOK_NO_SUCH_ROBOT" in dead[0].last_error
    alerts = await rows(bot, OutboxMessage, OutboxMessage.chat_id == "700099")
    assert alerts and "发送失败" in alerts[0].payload["parts"][0]["text"]
    await http.close()


# --- intelligent robot ----------------------------------------------------------------------------

def test_callback_mapping_strips_at_and_keeps_quote_out_of_text():
    msg = callback_to_inbound(robot_message("@平安小助手 到场 #3", "m1", quote={"msgtype": "text",
                                                                          "text": {"content": "【隐患 #3】"}}),
                              bot_name="平安小助手")
    assert msg.chat == ChatRef("wecom", AIBOT, "group", GROUP_CHAT)
    assert (msg.text, msg.sender_id, msg.mentions_bot, msg.msg_id) == ("到场 #3", "liwangge", True, "m1")
    assert msg.quoted_text == "【隐患 #3】"
    single = callback_to_inbound(robot_message("查询", "m2", chattype="single"))
    assert single.chat == ChatRef("wecom", AIBOT, "private", "liwangge") and single.text == "查询"
    enter = callback_to_inbound({"msgtype": "event", "event": {"eventtype": "enter_chat"}, "msgid": "e1",
                                 "aibotid": AIBOT, "chattype": "single", "from": {"userid": "zhangayi"}})
    assert enter.event == "subscribe" and enter.chat == ChatRef("wecom", AIBOT, "private", "zhangayi")
    assert callback_to_inbound({"msgtype": "event", "event": {"eventtype": "template_card_event"}}) is None


async def test_url_check(running):
    ts, nonce = "1554685200", "n1"
    echo = spec_encrypt("echo-8823")
    resp = await running.client.get("/wecom/bot", params={"msg_signature": spec_sign(TOKEN, ts, nonce, echo),
                                                          "timestamp": ts, "nonce": nonce, "echostr": echo})
    assert resp.status == 200 and await resp.text() == "echo-8823"
    resp = await running.client.get("/wecom/bot", params={"msg_signature": "0" * 40, "timestamp": ts,
                                                          "nonce": nonce, "echostr": echo})
    assert resp.status == 403


async def test_group_report_passive_stream_reply_then_response_url(running, bot, hooks):
    peer = Peer(running)
    resp_url = hooks.url("/cgi-bin/aibot/response") + "?response_code=RC1"
    status, reply = await peer.post(robot_message(f"@平安小助手 {REPORT}", "msg-1", response_url=resp_url))
    assert status == 200 and reply["msgtype"] == "stream" and reply["stream"]["finish"] is True
    assert "已受理" in reply["stream"]["content"] and "#1" in reply["stream"]["content"]
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.platform == "wecom")
    assert row.status == "sent"
    assert await count(bot, Ticket) == 1
    # the same msgid again (a retry): acknowledged, ignored
    assert await peer.post(robot_message(f"@平安小助手 {REPORT}", "msg-1", response_url=resp_url)) == (200, "")
    assert await count(bot, Ticket) == 1 and await count(bot, InboxMessage) == 1


async def test_late_replies_use_response_url_once_then_webhook(running, bot, hooks, settings):
    settings.platforms.wecom.passive_budget_seconds = 0.0
    peer = Peer(running)
    resp_url = hooks.url("/cgi-bin/aibot/response") + "?response_code=RC2"
    assert await peer.post(robot_message("@平安小助手 帮助", "msg-2", response_url=resp_url)) == (200, "")
    await settled(running.app)
    assert await running.worker.run_once() == 1
    assert len(hooks.responses) == 1 and hooks.responses[0]["msgtype"] == "markdown"
    assert "<@liwangge>" in hooks.responses[0]["markdown"]["content"]
    # response_url is spent: the next message to that group goes through its webhook
    async with bot.sessions() as s:
        await bot.enqueue(s, [Outbound(ChatRef("wecom", AIBOT, "group", GROUP_CHAT), [Text("通知")])], bot.clock.now())
        await s.commit()
    assert await running.worker.run_once() == 1
    assert hooks.webhook[-1] == ("KEY-RES", {"msgtype": "text", "text": {"content": "通知", "mentioned_list": [],
                                                                         "mentioned_mobile_list": []}})


async def test_a_quote_reply_names_the_ticket_by_the_quoted_text(running, bot):
    """WeCom sends the quoted message's text, not its id: the one ticket number in it is the ticket."""
    peer = Peer(running)
    status, reply = await peer.post(robot_message(f"@平安小助手 {REPORT}", "q-1", userid="resident-7"))
    assert "#1" in reply["stream"]["content"]
    posted = {"msgtype": "text", "text": {"content": "【隐患 #1】消防安全·电动车违规停放充电 请王书记到场"}}
    status, reply = await peer.post(robot_message("@平安小助手 到场", "q-2", userid="wangshuji", quote=posted))
    assert status == 200 and "#1" in reply["stream"]["content"]
    (ticket,) = await rows(bot, Ticket)
    assert ticket.status == "on_scene" and ticket.on_scene_at is not None
    # a quoted digest names several tickets: ask for the number, change nothing
    digest = {"msgtype": "text", "text": {"content": "今日:#1 进行中;#2 已办结"}}
    status, reply = await peer.post(robot_message("@平安小助手 办结", "q-3", userid="wangshuji", quote=digest))
    assert "请写上编号" in reply["stream"]["content"]
    (ticket,) = await rows(bot, Ticket)
    assert ticket.status == "on_scene"


async def test_response_urls_outlive_a_restart_newest_first_until_they_expire(running, bot, hooks, settings, clock):
    settings.platforms.wecom.passive_budget_seconds = 0.0
    peer = Peer(running)
    for n in (1, 2):
        url = hooks.url("/cgi-bin/aibot/response") + f"?response_code=RC{n}"
        assert await peer.post(robot_message("@平安小助手 帮助", f"r-{n}", response_url=url)) == (200, "")
    await settled(running.app)
    # a new server (same database) answers through the stored URLs: the newest first, each once
    async with Running(make_app(bot, env=ENV)) as restarted:
        assert await restarted.worker.run_once() == 2
        assert hooks.codes == ["RC2", "RC1"] and all("<@liwangge>" in r["markdown"]["content"] for r in hooks.responses)
        assert hooks.webhook == []
        target = ChatRef("wecom", AIBOT, "group", GROUP_CHAT)
        for text in ("通知一", "通知二"):
            url = hooks.url("/cgi-bin/aibot/response") + "?response_code=RC3"
            await ResponseUrls(bot.sessions, clock).put(AIBOT, GROUP_CHAT, url)
            clock.advance(timedelta(minutes=56))  # expired before it is used: the webhook instead
            async with bot.sessions() as s:
                await bot.enqueue(s, [Outbound(target, [Text(text)])], bot.clock.now())
                await s.commit()
            assert await restarted.worker.run_once() == 1
        assert len(hooks.responses) == 2 and [b["text"]["content"] for _, b in hooks.webhook] == ["通知一", "通知二"]
    assert await count(bot, ReplyUrl) == 1  # the expired ones of a chat are cleared as new ones come


async def test_private_chat_maps_to_channel_unit(running, bot):
    peer = Peer(running)
    status, reply = await peer.post(robot_message(REPORT, "msg-3", chattype="single", userid="resident-9"))
    assert status == 200 and "已受理" in reply["stream"]["content"]
    (ticket,) = await rows(bot, Ticket)
    assert ticket.unit_id == "xinlian"


async def test_bad_signature_and_garbage(running, bot):
    peer = Peer(running)
    assert (await peer.post(robot_message("hi", "x1"), sig="0" * 40))[0] == 403
    ts, nonce = "1", "2"
    for body in [b"", b"{}", b'{"encrypt": 1}', b"[1]", b"\xff\xfe"]:
        q = {"msg_signature": spec_sign(TOKEN, ts, nonce, ""), "timestamp": ts, "nonce": nonce}
        resp = await running.client.post("/wecom/bot", params=q, data=body)
        assert 400 <= resp.status < 500, body
    for inner in ["not json", json.dumps({"msgtype": "text", "aibotid": AIBOT}), json.dumps([1, 2])]:
        enc = spec_encrypt(inner)
        q = {"msg_signature": spec_sign(TOKEN, ts, nonce, enc), "timestamp": ts, "nonce": nonce}
        resp = await running.client.post("/wecom/bot", params=q, data=json.dumps({"encrypt": enc}))
        assert resp.status == 400, inner
    enc = "QUJD" * 8  # valid base64, not a valid ciphertext
    q = {"msg_signature": spec_sign(TOKEN, ts, nonce, enc), "timestamp": ts, "nonce": nonce}
    assert (await running.client.post("/wecom/bot", params=q, data=json.dumps({"encrypt": enc}))).status == 400
    assert await count(bot, InboxMessage) == 0


# --- issue 13 ---------------------------------------------------------------------------------------

async def test_webhook_splits_long_texts_uploads_files_and_40058_is_hopeless(bot, settings, clock, hooks, tmp_path):
    settings.platforms.wecom.webhook_base = hooks.url("/cgi-bin/webhook/send")
    http = HttpClient()
    sender = WeComSender(settings.platforms.wecom, http, clock, env=ENV)
    long = "\n".join(f"#{i} 锦城花园{i}栋楼道电瓶车充电,请尽快处理。" for i in range(120))
    assert len(long.encode()) > 2 * 2048
    await sender.send(Outbound(ChatRef("wecom", "", "group", "ops-robot"), [Mention("李网格", "liwangge"), Text(" " + long)]))
    parts = [b["text"] for _, b in hooks.webhook]
    assert len(parts) >= 3 and all(len(p["content"].encode()) <= 2048 for p in parts)
    assert "\n".join(p["content"] for p in parts) == "@李网格 " + long
    assert parts[0]["mentioned_list"] == ["liwangge"] and "mentioned_list" not in parts[1]
    ledger = tmp_path / "台账.xlsx"
    ledger.write_bytes(b"PK\x03\x04ledger")
    hooks.webhook.clear()
    await sender.send(Outbound(ChatRef("wecom", "", "group", "ops-robot"), [Text("台账 详见附件。")], file=str(ledger)))
    assert hooks.uploads == [("KEY-OPS", "台账.xlsx", b"PK\x03\x04ledger")]
    assert [b for _, b in hooks.webhook] == [
        {"msgtype": "text", "text": {"content": "台账 详见附件。", "mentioned_list": [], "mentioned_mobile_list": []}},
        {"msgtype": "file", "file": {"media_id": "M1"}}]
    worker = OutboxWorker(bot.sessions, clock, settings.outbox, {"wecom": sender}, bot.org)
    hooks.script = [{"errcode": 40058, "errmsg": "invalid parameter"}]
    await _enqueue(bot, clock, "ops-robot", 1)
    await worker.run_once()
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.chat_id == "ops-robot")
    assert row.status == "dead" and row.attempts == 1
    await http.close()


async def test_private_video_and_enter_chat_get_an_answer_mixed_as_a_string_is_read(running, bot):
    peer = Peer(running)
    video = {"msgid": "v1", "aibotid": AIBOT, "chattype": "single", "from": {"userid": "resident-3"},
             "msgtype": "video", "video": {"url": "https://wecom/v.mp4"}}
    status, reply = await peer.post(video)
    assert status == 200 and "暂不支持" in reply["stream"]["content"]
    enter = {"msgid": "e1", "aibotid": AIBOT, "chattype": "single", "from": {"userid": "resident-3"},
             "msgtype": "event", "event": {"eventtype": "enter_chat"}, "create_time": 1700000000}
    status, reply = await peer.post(enter)
    assert status == 200 and "欢迎" in reply["stream"]["content"]
    mixed = {"msgid": "x1", "aibotid": AIBOT, "chattype": "single", "from": {"userid": "resident-3"},
             "msgtype": "mixed", "mixed": json.dumps({"msg_item": [
                 {"msgtype": "text", "text": {"content": REPORT}},
                 {"msgtype": "image", "image": {"url": "https://wecom/p.jpg"}}]}, ensure_ascii=False)}
    status, reply = await peer.post(mixed)
    assert status == 200 and "已受理" in reply["stream"]["content"]
    (ticket,) = await rows(bot, Ticket)
    assert ticket.attachments == [{"image": "https://wecom/p.jpg"}]


async def test_deep_json_is_400_before_and_after_decryption(running, bot):
    ts, nonce = "1", "2"
    deep = b'{"encrypt": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    q = {"msg_signature": spec_sign(TOKEN, ts, nonce, ""), "timestamp": ts, "nonce": nonce}
    assert (await running.client.post("/wecom/bot", params=q, data=deep)).status == 400
    enc = spec_encrypt("[" * 50000 + "]" * 50000)
    q = {"msg_signature": spec_sign(TOKEN, ts, nonce, enc), "timestamp": ts, "nonce": nonce}
    assert (await running.client.post("/wecom/bot", params=q, data=json.dumps({"encrypt": enc}))).status == 400
    assert await count(bot, InboxMessage) == 0


async def test_a_chat_id_with_a_nul_byte_is_answered_not_a_500(running, bot):
    """Stored cleaned (PostgreSQL refuses NUL): the passive reply's claim looks the chat up as stored."""
    msg = {**robot_message(f"@平安小助手 {REPORT}", "msg-nul"), "chatid": GROUP_CHAT + "\x00"}
    status, reply = await Peer(running).post(msg)
    assert status == 200 and "已受理" in reply["stream"]["content"]
    (row,) = await rows(bot, InboxMessage)
    assert "\x00" not in row.chat_id and row.handled_at is not None
