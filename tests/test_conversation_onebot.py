"""The conversation scenarios end to end: `pingan serve`'s app on a real port, a OneBot v11 peer over
a real WebSocket, the real pipeline, outbox and database."""

from __future__ import annotations

from pingan.models import InboxMessage, OutboxMessage, Status, Ticket
from tests.test_onebot import GROUP, FakeOneBot, adapter_of, group_event, private_event, running  # noqa: F401
from tests.test_server import count, rows, settled, wait_count, wait_until

RESIDENT = 30002
ZHOU, WANG = "20002", "20010"  # 周网格 (grid 2) and 王书记 (the community lead) in the demo org


class Peer:
    """One OneBot connection; `say` sends an event and returns what the bot sent because of it."""

    def __init__(self, running, bot) -> None:
        self.running, self.bot, self.n, self.seen = running, bot, 500, 0

    async def __aenter__(self) -> "Peer":
        self.ob = await FakeOneBot(self.running).connect()
        await wait_until(lambda: adapter_of(self.running).connections)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ob.close()

    async def say(self, event_of, text, **kw) -> list[dict]:
        self.n += 1
        await self.ob.send(event_of(text, self.n, **kw))
        await wait_count(self.bot, InboxMessage, self.n - 500, InboxMessage.handled_at.is_not(None))
        await settled(self.running.app)
        while await self.running.worker.run_once():
            pass
        fresh = self.ob.actions[self.seen:]
        self.seen = len(self.ob.actions)
        return fresh


def text_of(actions: list[dict], action: str) -> str:
    return "\n".join("".join(seg["data"].get("text", "") for seg in a["params"]["message"])
                     for a in actions if a["action"] == action)


def ats(actions: list[dict]) -> set[str]:
    return {seg["data"]["qq"] for a in actions for seg in a["params"]["message"] if seg["type"] == "at"}


async def test_gas_leak_urge_re_alert_and_a_natural_arrival(running, bot, clock):
    async with Peer(running, bot) as peer:
        out = await peer.say(private_event, "山水天成8栋二单元楼道好大一股煤气味", user_id=RESIDENT)
        first = text_of(out, "send_private_msg")
        assert first.startswith("🚨 请立即离开房间") and "本助手不会替您报警，请您亲自拨打" in first
        assert text_of(out, "send_group_msg").startswith("🚨燃气泄漏【紧急隐患 #1】") and {ZHOU, WANG} <= ats(out)
        clock.advance(minutes=25)
        out = await peer.say(private_event, "怎么还没有人来😭", user_id=RESIDENT)
        assert await count(bot, Ticket) == 1
        assert "还没有人到场" in text_of(out, "send_private_msg")
        assert "【催办 #1】" in text_of(out, "send_group_msg") and {ZHOU, WANG} <= ats(out)
        post = await rows(bot, OutboxMessage, OutboxMessage.chat_id == GROUP)
        await peer.say(group_event, f"[CQ:reply,id={post[0].remote_id}] 到了", user_id=int(ZHOU))
        async with bot.sessions() as s:
            t = await s.get(Ticket, 1)
        assert (t.status, t.urges) == (Status.on_scene, 1)


async def test_cancel_rating_and_a_question_create_nothing(running, bot, clock):
    async with Peer(running, bot) as peer:
        await peer.say(private_event, "锦城花园5栋电梯坏了，上下楼很不方便", user_id=RESIDENT)
        out = await peer.say(private_event, "请问要等多久？", user_id=RESIDENT)
        assert "#1" in text_of(out, "send_private_msg") and await count(bot, Ticket) == 1
        await peer.say(group_event, "到场1号", user_id=int(ZHOU))
        await peer.say(group_event, "1号搞定了，维保换了门机", user_id=int(ZHOU))
        out = await peer.say(private_event, "不太满意,电梯还是坏的", user_id=RESIDENT)
        async with bot.sessions() as s:
            assert (await s.get(Ticket, 1)).status == Status.reopened
        assert "电梯还是坏的" in text_of(out, "send_group_msg") and ZHOU in ats(out)
        out = await peer.say(private_event, "不用来了 已经好了", user_id=RESIDENT)
        assert "需要撤销 #1 吗" in text_of(out, "send_private_msg")
        await peer.say(private_event, "1", user_id=RESIDENT)
        async with bot.sessions() as s:
            assert (await s.get(Ticket, 1)).status == Status.withdrawn
        assert await count(bot, Ticket) == 1


async def test_an_unsure_message_is_asked_about_then_filed_and_an_urgent_withdrawal_waits(running, bot, clock):
    async with Peer(running, bot) as peer:
        out = await peer.say(private_event, "这里好危险哦", user_id=RESIDENT)
        assert text_of(out, "send_private_msg") == "这是要报告隐患吗？回复 1 是，2 不是。"
        assert text_of(out, "send_group_msg") == "" and await count(bot, Ticket) == 0
        await peer.say(private_event, "1", user_id=RESIDENT)
        assert await count(bot, Ticket) == 1
        await peer.say(private_event, "锦城花园3栋着火了，好大的烟", user_id=RESIDENT)
        out = await peer.say(private_event, "撤销 #2", user_id=RESIDENT)
        assert "工作人员到场确认安全后才会办结" in text_of(out, "send_private_msg") and {ZHOU, WANG} <= ats(out)
        async with bot.sessions() as s:
            assert (await s.get(Ticket, 2)).status == Status.dispatched
