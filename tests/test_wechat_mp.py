"""WeChat Official Account: callbacks built (and encrypted) with wechatpy's own crypto against the
running server; a local aiohttp server stands in for the token and customer-service APIs."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import pytest
import xmltodict
from aiohttp import web
from wechatpy.crypto import WeChatCrypto

from pingan.bot.server import ADAPTERS, make_app
from pingan.models import InboxMessage, OutboxMessage, Ticket, TicketEvent
from tests.test_server import REPORT, Running, count, rows, settled, stub_server

TOKEN, APP_ID, AES_KEY = "wxtoken", "wx1234567890abcdef", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT, OPENID = "gh_xinlian", "o_resident_0001"


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def text_xml(content: str, msg_id: int, openid: str = OPENID, create: int = 1554685200) -> str:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def xml_of(msg_type: str, fields: str, msg_id: int | None = 1, openid: str = OPENID, create: int = 1554685200) -> str:
    mid = f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else ""
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{fields}{mid}</xml>")


class WeChatPeer:
    """Posts callbacks the way WeChat does (plaintext or safe mode)."""

    def __init__(self, running: Running, safe: bool = False) -> None:
        self.running, self.safe = running, safe
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        self.n = 0

    def params(self) -> dict:
        self.n += 1
        ts, nonce = str(int(time.time())), f"n{self.n}"
        q = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": OPENID}
        return q

    async def post(self, xml: str, raw: bytes | None = None):
        q = self.params()
        body = raw if raw is not None else xml.encode()
        if self.safe and raw is None:
            enc = self.crypto.encrypt_message(xml, q["nonce"], q["timestamp"])
            parsed = xmltodict.parse(enc)["xml"]
            q.update(encrypt_type="aes", msg_signature=parsed["MsgSignature"])
            body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{parsed['Encrypt']}]]></Encrypt></xml>").encode()
        resp = await self.running.client.post("/wechat/mp", params=q, data=body)
        text = await resp.text()
        if self.safe and resp.status == 200 and text.startswith("<xml>"):
            outer = xmltodict.parse(text)["xml"]
            text = self.crypto.decrypt_message(text, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
        return resp.status, text


def reply_content(xml: str) -> str:
    return xmltodict.parse(xml)["xml"]["Content"]


class ApiStub:
    """Token + customer-service + template endpoints; scripted failures."""

    def __init__(self) -> None:
        self.token_calls = 0
        self.custom: list[dict] = []
        self.template: list[dict] = []
        self.script: list = []  # responses for custom/send: dict (JSON) or int (HTTP status)
        self.server = None

    async def start(self) -> "ApiStub":
        async def token(request):
            assert request.query["grant_type"] == "client_credential" and request.query["appid"] == APP_ID
            self.token_calls += 1
            return web.json_response({"access_token": f"T{self.token_calls}", "expires_in": 7200})

        async def custom(request):
            body = await request.json()
            step = self.script.pop(0) if self.script else {"errcode": 0, "errmsg": "ok"}
            if isinstance(step, int):
                return web.Response(status=step, headers={"Retry-After": "30"} if step == 429 else {})
            if step.get("errcode") in (40001, 42001) and request.query["access_token"] != f"T{self.token_calls}":
                step = {"errcode": 0}
            self.custom.append({"token": request.query["access_token"], **body})
            return web.json_response(step)

        async def template(request):
            self.template.append(await request.json())
            return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 200228332})

        self.server = await stub_server([("GET", "/cgi-bin/token", token),
                                         ("POST", "/cgi-bin/message/custom/send", custom),
                                         ("POST", "/cgi-bin/message/template/send", template)])
        return self

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


@pytest.fixture
async def api():
    stub = await ApiStub().start()
    yield stub
    await stub.server.close()


@pytest.fixture
async def running(bot, settings, api, request):
    """The account in plaintext mode, or in safe mode (AES key set) for tests with safe=True."""
    safe = getattr(request.node, "callspec", None) and request.node.callspec.params.get("safe")
    w = settings.platforms.wechat
    w.enabled, w.token, w.aes_key, w.app_id, w.app_secret = True, TOKEN, AES_KEY if safe else "", APP_ID, "sec"
    w.api_base = api.base
    async with Running(make_app(bot, env={})) as r:
        yield r


def wechat_rows(bot):
    return rows(bot, OutboxMessage, OutboxMessage.platform == "wechat")


async def test_url_check(running):
    ts, nonce = str(int(time.time())), "abc"
    resp = await running.client.get("/wechat/mp", params={"signature": sign(TOKEN, ts, nonce), "timestamp": ts,
                                                          "nonce": nonce, "echostr": "hello123"})
    assert resp.status == 200 and await resp.text() == "hello123"
    resp = await running.client.get("/wechat/mp", params={"signature": "0" * 40, "timestamp": ts, "nonce": nonce,
                                                          "echostr": "x"})
    assert resp.status == 403


@pytest.mark.parametrize("safe", [False, True], ids=["plaintext", "safe"])
async def test_report_gets_passive_reply_not_pushed_twice(running, bot, api, safe):
    peer = WeChatPeer(running, safe)
    status, body = await peer.post(text_xml(REPORT, 6100001))
    assert status == 200
    assert "已受理" in reply_content(body) and "#1" in reply_content(body)
    (row,) = await wechat_rows(bot)
    assert row.status == "sent" and row.last_error == "passive reply"
    assert await running.worker.run_once() == 0
    assert api.custom == []  # never pushed again through the customer-service API
    assert await count(bot, Ticket) == 1


async def test_retries_make_one_ticket(running, bot):
    peer = WeChatPeer(running)
    results = [await peer.post(text_xml(REPORT, 6100002)) for _ in range(3)]
    assert results[0][0] == 200 and "已受理" in reply_content(results[0][1])
    assert results[1] == (200, "success") and results[2] == (200, "success")
    assert await count(bot, Ticket) == 1 and await count(bot, InboxMessage) == 1


async def test_slow_handling_answers_success_then_pushes(running, bot, api, settings):
    settings.platforms.wechat.passive_budget_seconds = 0.0
    peer = WeChatPeer(running)
    status, body = await peer.post(text_xml(REPORT, 6100003))
    assert (status, body) == (200, "success")
    await settled(running.app)
    assert await running.worker.run_once() >= 1
    assert len(api.custom) == 1 and api.custom[0]["touser"] == OPENID and "已受理" in api.custom[0]["text"]["content"]
    assert api.custom[0]["msgtype"] == "text" and api.token_calls == 1
    # a second push reuses the cached token
    await peer.post(text_xml("帮助", 6100004))
    await settled(running.app)
    await running.worker.run_once()
    assert api.token_calls == 1


async def test_token_refreshed_on_40001_and_5xx_retried_with_backoff(running, bot, api, settings, clock):
    settings.platforms.wechat.passive_budget_seconds = 0.0
    sender = running.app[ADAPTERS]["wechat"].sender
    await sender.tokens.get()  # T1 cached
    api.script = [{"errcode": 40001, "errmsg": "invalid credential"}]
    peer = WeChatPeer(running)
    await peer.post(text_xml("帮助", 6100005))
    await settled(running.app)
    assert await running.worker.run_once() == 1
    assert api.token_calls == 2 and api.custom[-1]["token"] == "T2"
    api.script = [503, 429]
    await peer.post(text_xml("帮助", 6100006))
    await settled(running.app)
    assert await running.worker.run_once() == 0
    (row,) = [r for r in await wechat_rows(bot) if r.status == "pending"]
    assert row.attempts == 1 and "HTTP 503" in row.last_error
    clock.advance(seconds=2)
    assert await running.worker.run_once() == 0  # 429 with Retry-After: 30
    (row,) = [r for r in await wechat_rows(bot) if r.status == "pending"]
    assert row.attempts == 2 and row.next_attempt_at - clock.now() >= timedelta(seconds=30)
    clock.advance(seconds=31)
    assert await running.worker.run_once() == 1


async def test_48h_window_template_or_dead(running, bot, api, settings, clock):
    settings.platforms.wechat.passive_budget_seconds = 0.0
    peer = WeChatPeer(running)
    await peer.post(text_xml("帮助", 6100007))
    await settled(running.app)
    clock.advance(hours=49)
    assert await running.worker.run_once() == 0
    (row,) = await wechat_rows(bot)
    assert row.status == "dead" and "template_id" in row.last_error and api.custom == []
    settings.platforms.wechat.template_id = "TPL1"
    await peer.post(text_xml("帮助", 6100008))
    await settled(running.app)
    clock.advance(hours=49)
    assert await running.worker.run_once() == 1
    assert api.template[0]["template_id"] == "TPL1" and api.template[0]["touser"] == OPENID
    assert "content" in api.template[0]["data"]
    # the platform's own verdict counts too: 45015 from custom/send → template
    api.script = [{"errcode": 45015, "errmsg": "response out of time limit"}]
    await peer.post(text_xml("帮助", 6100009))
    await settled(running.app)
    assert await running.worker.run_once() == 1 and len(api.template) == 2


async def test_subscribe_image_location_voice_and_unknown(running, bot):
    peer = WeChatPeer(running)
    ev = xml_of("event", "<Event><![CDATA[subscribe]]></Event>", msg_id=None, create=1554685300)
    status, body = await peer.post(ev)
    assert status == 200 and "欢迎关注" in reply_content(body)
    assert (await peer.post(ev)) == (200, "success")  # the same event again: FromUserName+CreateTime
    unsub = xml_of("event", "<Event><![CDATA[unsubscribe]]></Event>", msg_id=None, create=1554685301)
    assert (await peer.post(unsub)) == (200, "success")
    status, body = await peer.post(xml_of("video", "<MediaId>m</MediaId><ThumbMediaId>t</ThumbMediaId>", 6100010))
    assert "暂不支持" in reply_content(body)
    await peer.post(text_xml(REPORT, 6100011))
    status, body = await peer.post(xml_of("image", "<PicUrl><![CDATA[http://mmbiz/p.jpg]]></PicUrl>"
                                                   "<MediaId><![CDATA[med1]]></MediaId>", 6100012))
    assert "已补充到 #1" in reply_content(body)
    status, body = await peer.post(xml_of("location", "<Location_X>30.99</Location_X><Location_Y>103.61</Location_Y>"
                                                      "<Scale>15</Scale><Label><![CDATA[锦城花园]]></Label>", 6100013))
    assert "已补充到 #1" in reply_content(body)
    status, body = await peer.post(xml_of("voice", "<MediaId>v</MediaId><Format>amr</Format>"
                                                   "<Recognition><![CDATA[帮助]]></Recognition>", 6100014))
    assert "使用说明" in reply_content(body)
    (ticket,) = await rows(bot, Ticket)
    assert ticket.attachments == [{"image": "http://mmbiz/p.jpg"}] and ticket.lat == pytest.approx(30.99)
    assert await count(bot, InboxMessage) == 5


def photo_xml(url: str, msg_id: int) -> str:
    return xml_of("image", f"<PicUrl><![CDATA[{url}]]></PicUrl><MediaId><![CDATA[m{msg_id}]]></MediaId>", msg_id)


async def test_follow_up_window_photo_and_detail_attach_a_new_report_opens_its_own(running, bot):
    """WeChat sends a text and its photo as two callbacks: each reply says where it went."""
    peer = WeChatPeer(running)
    said = [("锦城花园3栋楼道起火了", "编号 #1"), ("http://mmbiz/1.jpg", "已补充到 #1"),
            ("火很大", "已把您的补充转给 #1"), ("就在二单元门口", "已把您的补充转给 #1"),
            ("另外5栋电梯也坏了", "编号 #2"), ("http://mmbiz/2.jpg", "已补充到 #2"),
            ("幸福里5栋门口的消防通道被车堵死了", "编号 #3"), ("http://mmbiz/3.jpg", "已补充到 #3")]
    for n, (words, answer) in enumerate(said, start=6200001):
        xml = photo_xml(words, n) if words.startswith("http") else text_xml(words, n)
        status, body = await peer.post(xml)
        assert status == 200 and answer in reply_content(body), (words, body)
    first, second, third = await rows(bot, Ticket)
    assert first.attachments == [{"image": "http://mmbiz/1.jpg"}] and first.urgent
    assert (second.item, second.attachments) == ("特种设备", [{"image": "http://mmbiz/2.jpg"}])
    assert third.location.startswith("幸福里5栋") and third.attachments == [{"image": "http://mmbiz/3.jpg"}]
    notes = await rows(bot, TicketEvent, TicketEvent.action == "note")
    assert [(e.ticket_id, e.note) for e in notes] == [(1, "火很大"), (1, "就在二单元门口")]


async def test_a_danger_right_after_a_report_is_its_own_urgent_ticket(running, bot):
    peer = WeChatPeer(running)
    await peer.post(text_xml(REPORT, 6200101))
    status, body = await peer.post(text_xml("火很大", 6200102))  # the charging bike caught fire
    assert "119" in reply_content(body) and "编号 #2" in reply_content(body)
    status, body = await peer.post(photo_xml("http://mmbiz/fire.jpg", 6200103))
    assert "已补充到 #2" in reply_content(body)
    first, second = await rows(bot, Ticket)
    assert second.urgent and not first.urgent and first.attachments is None


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>gh_xinlian</ToUserName><FromUserName>o_x</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_xinlian</ToUserName><FromUserName>o_x</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""


@pytest.mark.parametrize("safe", [False, True], ids=["plaintext", "safe"])
async def test_billion_laughs_and_xxe_are_400_and_change_nothing(running, bot, safe):
    peer = WeChatPeer(running, safe)
    for evil in (BILLION_LAUGHS, XXE):
        status, body = await peer.post(evil)  # in safe mode: encrypted inside a valid envelope
        assert status == 400, body
        status, body = await peer.post("", raw=evil.encode())  # and as the outer body itself
        assert status == 400, body
    assert await count(bot, InboxMessage) == 0 and await count(bot, OutboxMessage) == 0


async def test_bad_signatures_and_bodies(running, bot):
    q = {"signature": "0" * 40, "timestamp": "1", "nonce": "2"}
    assert (await running.client.post("/wechat/mp", params=q, data=text_xml("hi", 1).encode())).status == 403
    peer = WeChatPeer(running)
    for junk in [b"", b"not xml", b"<xml><MsgType>text</MsgType></xml>", b"<a><b/></a>", "锦城".encode("gbk"),
                 b"<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>x</CreateTime>"
                 b"<MsgType>text</MsgType><MsgId>zz</MsgId></xml>"]:
        status, _ = await peer.post("", raw=junk)
        assert status == 400, junk
    ts, nonce = "1", "2"
    q = {"signature": sign(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce, "encrypt_type": "aes",
         "msg_signature": "0" * 40}
    bad = b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"
    assert (await running.client.post("/wechat/mp", params=q, data=bad)).status == 403
    assert await count(bot, InboxMessage) == 0


# --- issue 13: replays, forgery, bad input, conformance ------------------------------------------

async def test_old_or_reused_signed_urls_are_refused(running, bot):
    old = str(int(time.time()) - 30 * 86400)
    q = {"signature": sign(TOKEN, old, "n0"), "timestamp": old, "nonce": "n0"}
    resp = await running.client.post("/wechat/mp", params=q, data=text_xml(REPORT, 7100001).encode())
    assert resp.status == 403 and "window" in await resp.text()
    ts = str(int(time.time()))
    q = {"signature": sign(TOKEN, ts, "n1"), "timestamp": ts, "nonce": "n1"}
    assert (await running.client.post("/wechat/mp", params=q, data=text_xml("帮助", 7100002).encode())).status == 200
    again = await running.client.post("/wechat/mp", params=q, data=text_xml("帮助", 7100002).encode())
    assert (again.status, await again.text()) == (200, "success")  # WeChat's own retry
    forged = await running.client.post("/wechat/mp", params=q, data=text_xml(REPORT, 7100003).encode())
    assert forged.status == 403  # the same signed URL carrying another message
    assert await count(bot, InboxMessage) == 1 and await count(bot, Ticket) == 0


@pytest.mark.parametrize("safe", [True], ids=["safe"])
async def test_plaintext_refused_when_an_aes_key_is_set(running, bot, safe):
    peer = WeChatPeer(running, safe=False)
    status, _ = await peer.post(text_xml(REPORT, 7200001))
    assert status == 403
    peer.safe = True
    status, body = await peer.post(text_xml("帮助", 7200002))
    assert status == 200 and "使用说明" in reply_content(body)
    assert await count(bot, InboxMessage) == 1


async def test_duplicated_fields_huge_numbers_and_doctype_are_400(running, bot):
    peer = WeChatPeer(running)
    dup = xml_of("voice", "<MediaId>v</MediaId><Recognition>帮助</Recognition><Recognition>x</Recognition>", 7300001)
    huge = xml_of("location", f"<Location_X>{10 ** 400}</Location_X><Location_Y>1e999</Location_Y>"
                              "<Scale>1</Scale><Label>x</Label>", 7300002)
    doctype = "<!DOCTYPE xml>" + text_xml(REPORT, 7300003)
    long_id = text_xml(REPORT, 10 ** 300)
    for xml in (dup, huge, doctype, long_id):
        status, body = await peer.post(xml)
        assert status == 400, (xml[:80], body)
    assert await count(bot, InboxMessage) == 0


async def test_subscribe_with_a_scan_event_key_is_welcomed(running, bot):
    peer = WeChatPeer(running)
    for i, key in enumerate(["qrscene_123", "scanbarcode|EAN13|6901234567892", "scanimage|abc"]):
        ev = xml_of("event", f"<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
                             "<Ticket><![CDATA[t]]></Ticket>", msg_id=None, openid=f"o_scan{i}", create=1554685400)
        status, body = await peer.post(ev)
        assert status == 200 and "欢迎关注" in reply_content(body), key


@pytest.mark.parametrize("code", [40003, 43004, 48001])
async def test_hopeless_errcodes_dead_letter_at_once(running, bot, api, settings, code):
    settings.platforms.wechat.passive_budget_seconds = 0.0  # pushed, not answered in the response
    api.script = [{"errcode": code, "errmsg": "hopeless"}]
    await WeChatPeer(running).post(text_xml("帮助", 7400001))
    await settled(running.app)
    await running.worker.run_once()
    (row,) = await wechat_rows(bot)
    assert row.status == "dead" and row.attempts == 1 and str(code) in row.last_error
