"""Paging that wakes people at night: an urgent report nobody answers is paged by SMS and voice
through the real Tencent Cloud SDKs (against a local stand-in that checks their signatures),
then up the ladder, until someone answers in chat or replies 「1」 to the SMS (the provider's reply
callback); and the night's figures in the morning hand-over and digest."""

from __future__ import annotations

import csv
import re
from datetime import datetime

import aiohttp
import pytest
from sqlmodel import select

from pingan.bot.outbox import OutboxWorker
from pingan.models import OutboxMessage, TicketEvent
from pingan.paging.tencent import SmsSender, paging_senders
from pingan.messages import ChatRef, Outbound, Text
from pingan.bot.outbox import SendError
from pingan.scheduler import sweep
from tests.conftest import COORD, STREET, TZ
from tests.tencentcloud_standin import StandIn

GAS = "幸福里5栋2单元闻到好大一股煤气味"  # urgent → grid 3 吴网格 (13800000003); community lead 王书记
NIGHT = datetime(2019, 4, 9, 2, 0, tzinfo=TZ)


@pytest.fixture
async def provider(bot, clock):
    stand_in = StandIn("AKIDtest", "secret-key-test", clock.now)
    runner, host = await stand_in.start()
    p = bot.settings.paging
    p.enabled, p.voice, p.scheme, p.sms_endpoint, p.vms_endpoint = True, True, "http", host, host
    p.secret_id, p.secret_key = "AKIDtest", "secret-key-test"
    p.sms_app_id, p.vms_app_id, p.sign_name = stand_in.sms_app_id, stand_in.vms_app_id, stand_in.sign_name
    p.sms_template_id, p.voice_template_id = "2000001", "3000001"
    yield stand_in
    await runner.cleanup()


@pytest.fixture
def pager(h, bot, clock, provider):
    h.worker = OutboxWorker(bot.sessions, clock, bot.settings.outbox,
                            {"console": h.sender, **paging_senders(bot.settings.paging)}, bot.org)
    return h


async def tick(h, **advance):
    h.clock.advance(**advance)
    await sweep(h.bot)
    await h.worker.run_once()
    return "\n".join(t for _, t in h.new())


async def page_events(h):
    async with h.bot.sessions() as s:
        evs = (await s.exec(select(TicketEvent).where(TicketEvent.action.in_(["page", "page_answered"]))
                            .order_by(TicketEvent.id))).all()
    return list(evs)


async def test_an_unanswered_urgent_night_report_pages_the_holder_and_lead_then_climbs(pager, provider, tmp_path):
    h = pager
    h.clock.set(NIGHT)
    await h.say("刘婆婆", GAS, group=None)
    assert await tick(h, minutes=4) == "" and provider.sent == []  # 4 minutes: not yet
    out = await tick(h, minutes=1)
    assert "📞 #1 紧急隐患 5分钟 无人签收或到场，已电话、短信呼叫 吴网格、王书记" in out
    assert sorted(provider.sent) == [("sms", "+8613800000003", ["#1", "设施·燃气管道", "幸福里5栋2单元"]),
                                     ("sms", "+8613800000010", ["#1", "设施·燃气管道", "幸福里5栋2单元"]),
                                     ("voice", "+8613800000003", ["#1", "设施·燃气管道", "幸福里5栋2单元"]),
                                     ("voice", "+8613800000010", ["#1", "设施·燃气管道", "幸福里5栋2单元"])]
    assert await tick(h, minutes=2) == ""  # between steps: nothing new
    out = await tick(h, minutes=3)  # 02:10: the street
    assert "陈主任" in out and ("sms", "+8613800000020", ["#1", "设施·燃气管道", "幸福里5栋2单元"]) in provider.sent
    await h.say("陈主任", "签收 #1", group=STREET)
    await tick(h, minutes=1)
    evs = await page_events(h)
    assert [(e.action, (e.data or {}).get("step")) for e in evs] == [("page", 1), ("page", 2), ("page_answered", None)]
    assert evs[0].note == "吴网格、王书记" and evs[-1].note == "陈主任" and evs[-1].data["after_seconds"] == 300  # 02:05 → 02:10
    card = "\n".join(t for _, t in await h.say("陈主任", "查询 #1", group=STREET))
    assert "02:05 短信呼叫 → 02:10 短信呼叫 → 02:10 签收" in card  # the pages in the ticket's history
    from pingan.reports.ledger import HEADERS, export_ledger

    await export_ledger(h.bot, "xinlian", NIGHT.date(), NIGHT.date(), tmp_path / "l.csv", as_csv=True)
    row = dict(zip(HEADERS, list(csv.reader(open(tmp_path / "l.csv", encoding="utf-8-sig")))[1]))
    assert row["短信呼叫"] == "02:05 吴网格、王书记；02:10 陈主任" and row["呼叫响应"] == "陈主任 5分钟"
    sent = len(provider.sent)
    out = await tick(h, minutes=10)
    assert "📞" not in out and len(provider.sent) == sent  # answered: no more pages
    h.clock.set(NIGHT.replace(hour=7))  # the morning hand-over sums up the night
    out = await tick(h, seconds=0)
    assert "🌙 昨夜上报 1 件，其中紧急 1 件，平均 10分钟 响应；短信呼叫 3 次（1 件），1 件有人响应。" in out


async def test_a_page_queued_when_someone_answers_is_cancelled(h, provider):
    h.clock.set(NIGHT)  # h's outbox worker sends to chats only: the pages wait in the outbox
    await h.say("刘婆婆", GAS, group=None)
    h.clock.advance(minutes=5)
    await sweep(h.bot)  # pages queued, not yet sent
    await h.say("吴网格", "到场 #1", group=COORD)
    await tick(h, seconds=1)
    async with h.bot.sessions() as s:
        rows = (await s.exec(select(OutboxMessage).where(OutboxMessage.platform.in_(["sms", "voice"])))).all()
    assert rows and {r.status for r in rows} == {"cancelled"}
    assert provider.sent == []
    assert (await page_events(h))[-1].note == "吴网格"


async def test_the_provider_s_limits_and_refusals(bot, clock, provider):
    sms = SmsSender(bot.settings.paging)
    out = Outbound(ChatRef("sms", "", "phone", "13800000003"), [Text("#1"), Text("设施·燃气管道"), Text("幸福里")])
    assert await sms.send(out)
    with pytest.raises(SendError) as err:  # the same number again within 30 s: wait, not give up
        await sms.send(out)
    assert err.value.retry_after == 30 and not err.value.permanent
    clock.advance(seconds=31)
    provider.fail_next = ["RequestLimitExceeded"]
    with pytest.raises(SendError) as err:
        await sms.send(out)
    assert err.value.retry_after == 1
    provider.fail_next = ["LimitExceeded.PhoneNumberDailyLimit"]
    with pytest.raises(SendError) as err:
        await sms.send(out)
    assert err.value.permanent
    bad = Outbound(ChatRef("sms", "", "phone", "12345"), out.parts)
    with pytest.raises(SendError) as err:
        await sms.send(bad)
    assert err.value.permanent and "IncorrectPhoneNumber" in str(err.value)
    bot.settings.paging.secret_key = "wrong"
    with pytest.raises(SendError) as err:
        await SmsSender(bot.settings.paging).send(out)
    assert err.value.permanent and "AuthFailure.SignatureFailure" in str(err.value)


async def test_a_page_the_provider_refuses_for_good_alerts_the_admins(pager, provider):
    h = pager
    h.clock.set(NIGHT)
    await h.say("刘婆婆", GAS, group=None)
    provider.fail_next = ["LimitExceeded.PhoneNumberDailyLimit"]
    await tick(h, minutes=5)
    async with h.bot.sessions() as s:
        rows = (await s.exec(select(OutboxMessage).where(OutboxMessage.chat_id == "700099"))).all()  # admins
    said = "".join(p["text"] for r in rows for p in r.payload["parts"])
    assert "消息发送失败已放弃" in said and re.search(r"(sms|voice):13800000", said) and "PhoneNumberDailyLimit" in said


def test_paging_switched_on_with_a_piece_missing_is_a_config_error():
    from pingan.config import load_settings
    from pingan.errors import ConfigError

    env = {"PINGAN__PAGING__ENABLED": "true", "PINGAN__PAGING__SMS_APP_ID": "1400000001",
           "PINGAN__PAGING__SIGN_NAME": "平安社区", "PINGAN__PAGING__SMS_TEMPLATE_ID": "2000001"}
    with pytest.raises(ConfigError, match="secret_id, secret_key not set"):
        load_settings(None, env=env)
    ok = load_settings(None, env={**env, "PINGAN_TENCENTCLOUD_SECRET_ID": "AKID", "PINGAN_TENCENTCLOUD_SECRET_KEY": "k"})
    assert ok.paging.enabled and ok.paging.secret_id == "AKID"


async def test_the_night_s_figures_in_the_morning_hand_over_and_the_officials_digest(pager, provider, tmp_path):
    """One night: an urgent report paged at 02:00 and answered, and a roster that leaves the small
    hours unstaffed; the morning hand-over and the officials' digest that morning say the same."""
    from pingan.scheduler.jobs import post_digests
    from tests.test_roster import load, write

    h = pager
    h.clock.set(NIGHT.replace(day=8, hour=12))  # the Monday before
    await load(h.bot, write(tmp_path, "单位,日期,班次,开始,结束,姓名,职务\n"
                                      "新联社区,2019-04-08,夜班,20:00,00:00,王书记,值班员\n"))  # nobody after midnight
    h.clock.set(NIGHT.replace(hour=1, minute=55))
    await h.say("刘婆婆", GAS, group=None)
    assert "📞 #1" in await tick(h, minutes=5)  # 02:00: paged
    h.clock.advance(minutes=3)
    await h.say("吴网格", "签收 #1", group=COORD)  # 02:03: 8 minutes after the report
    assert "📵 #1 吴网格 已响应" in await tick(h, minutes=1)
    h.clock.set(NIGHT.replace(hour=7))
    hand_over = await tick(h, seconds=0)
    figures = ("上报 1 件，其中紧急 1 件，平均 8分钟 响应；短信呼叫 2 次（1 件），1 件有人响应；"
               "⚠️ 无人值班 1 段：新联社区 00:00–07:00。")
    assert "🌙 昨夜" + figures in hand_over
    h.clock.set(NIGHT.replace(hour=8, minute=30))
    assert await post_digests(h.bot, "official")  # the officials' morning digest, of yesterday
    async with h.bot.sessions() as s:
        rows = (await s.exec(select(OutboxMessage).where(OutboxMessage.chat_id == "700011"))).all()  # the street's
    digest = "".join(p["text"] for r in rows for p in r.payload["parts"])
    assert "【永丰街道 平安日报】2019-04-08" in digest and "🌙 夜间（4月8日22:00–07:00）" + figures in digest


async def test_an_sms_reply_1_answers_the_page_and_stops_the_climb(pager, provider):
    """The provider's reply callback through the real HTTP server: forged, stale and unknown-number
    bodies are refused with a 4xx and change nothing; the paged grid worker's 「1」 stops the paging."""
    from aiohttp.test_utils import TestServer

    from pingan.bot.server import make_app

    h = pager
    h.clock.set(NIGHT)
    await h.say("刘婆婆", GAS, group=None)
    assert "📞 #1" in await tick(h, minutes=5)  # step 1: 吴网格 (13800000003) and 王书记
    h.bot.settings.paging.reply_token = "s3cret-path"
    server = TestServer(make_app(h.bot, env={}, extra_senders={"console": h.sender}), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/paging/tencent/sms-reply/s3cret-path"))
    try:
        refused = [
            await provider.reply(url.replace("s3cret-path", "guess"), "13800000003", "1"),  # forged URL
            await provider.reply(url, "13800000003", "1", sign="别家签名"),  # not our signature
            await provider.reply(url, "13800000003", "1", time=int(NIGHT.timestamp()) - 3600),  # a replay
            await provider.reply(url, "13800000003", "1", time="now"),
            await provider.reply(url, "13800000003", "1", sign=None),
            await provider.reply(url, "13912345678", "1"),  # nobody's number
            await provider.reply(url, "13800000003", "1", nationcode="852"),
        ]
        assert [status for status, _ in refused] == [403, 403, 400, 400, 400, 404, 404]
        assert all(body["result"] != 0 and body["errmsg"] for _, body in refused)
        async with aiohttp.ClientSession() as client, client.post(url, data=b"{not json") as resp:
            assert resp.status == 400
        assert [e.action for e in await page_events(h)] == ["page"]  # nothing changed
        assert await provider.reply(url, "13800000003", "好的") == (200, {"result": 0, "errmsg": "OK", "answered": []})
        h.clock.advance(minutes=1)
        assert await provider.reply(url, "+86 138-0000-0003", "1") == (200, {"result": 0, "errmsg": "OK", "answered": [1]})
        assert await provider.reply(url, "13800000003", "收到") == (200, {"result": 0, "errmsg": "OK", "answered": []})
    finally:
        await server.close()
    await h.worker.run_once()
    assert "📵 #1 吴网格 已短信回复收到，停止短信和电话呼叫。" in "\n".join(t for _, t in h.new())
    answered = (await page_events(h))[-1]
    assert answered.action == "page_answered" and answered.note == "吴网格"
    assert answered.data["via"] == "sms" and answered.data["after_seconds"] == 60
    sent = len(provider.sent)
    assert "📞" not in await tick(h, minutes=10) and len(provider.sent) == sent  # no step 2: the climb stopped
