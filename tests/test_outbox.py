"""The outbox: backoff (and retry_after), per-chat order, dead letters with an admin alert, restarts,
leases, and two workers (two engines, as two servers would have) never sending a row twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from pingan.bot.outbox import OutboxWorker, SendError, claim_replies
from pingan.messages import ChatRef, Inbound, Outbound, Text
from pingan.models import OutboxMessage
from pingan.models.db import make_engine, session_factory
from tests.test_server import rows


class FakeSender:
    platform = "qq"

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures: list[Exception] = []  # raised, in turn, before succeeding
        self.delay = delay
        self.limit = None

    def rate_limit(self, target):
        return self.limit

    async def send(self, out: Outbound) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((out.target.chat_id, out.plain()))
        if getattr(self, "shared", None) is not None:
            self.shared.append((out.target.chat_id, out.plain()))
        return f"r{len(self.sent)}"


def chat(cid: str) -> ChatRef:
    return ChatRef("qq", "", "group", cid)


async def enqueue(bot, clock, *items: tuple[str, str], alert: bool = False) -> None:
    async with bot.sessions() as s:
        await bot.enqueue(s, [Outbound(chat(c), [Text(t)]) for c, t in items], clock.now())
        await s.commit()


@pytest.fixture
def sender():
    return FakeSender()


@pytest.fixture
def worker(bot, clock, sender):
    return OutboxWorker(bot.sessions, clock, bot.settings.outbox, {"qq": sender}, bot.org)


async def test_sends_in_order_and_records_remote_ids(bot, clock, worker, sender):
    await enqueue(bot, clock, ("A", "a1"), ("B", "b1"), ("A", "a2"), ("A", "a3"))
    assert await worker.run_once() == 4
    assert [t for c, t in sender.sent if c == "A"] == ["a1", "a2", "a3"]
    assert all(r.status == "sent" and r.remote_id and r.claimed_until is None for r in await rows(bot, OutboxMessage))


async def test_backoff_is_exponential_capped_and_honours_retry_after(bot, clock, worker, sender, settings):
    settings.outbox.max_attempts = 20
    assert [worker.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert worker.backoff(30).total_seconds() == settings.outbox.max_delay_seconds
    await enqueue(bot, clock, ("A", "a1"), ("A", "a2"), ("B", "b1"))
    sender.failures = [SendError("boom")]
    assert await worker.run_once() == 1  # A's head failed; A's second waits; B goes
    a1, a2, b1 = await rows(bot, OutboxMessage)
    assert (a1.attempts, a1.status, a2.status, b1.status) == (1, "pending", "pending", "sent")
    assert a1.next_attempt_at == clock.now() + timedelta(seconds=2)
    clock.advance(seconds=1)
    assert await worker.run_once() == 0
    sender.failures = [SendError("slow down", retry_after=90)]
    clock.advance(seconds=1)
    assert await worker.run_once() == 0
    a1 = (await rows(bot, OutboxMessage))[0]
    assert a1.attempts == 2 and a1.next_attempt_at == clock.now() + timedelta(seconds=90)
    clock.advance(seconds=90)
    assert await worker.run_once() == 2
    assert [t for c, t in sender.sent] == ["b1", "a1", "a2"]


async def test_a_stuck_chat_does_not_starve_the_others(bot, clock, worker, sender, settings):
    """A chat whose head is backing off, with more queued behind it than a whole batch, must not
    fill every pass: the other chats' messages still go out at once."""
    settings.outbox.batch = 5
    await enqueue(bot, clock, *[("A", f"a{i}") for i in range(20)])
    sender.failures = [SendError("group muted")]
    assert await worker.run_once() == 0  # a0 fails and backs off; a1… wait behind it
    await enqueue(bot, clock, ("B", "b1"), ("C", "c1"))
    assert await worker.run_once() == 2
    assert [t for _, t in sender.sent] == ["b1", "c1"]


async def test_dead_letter_alerts_admins_once(bot, clock, worker, sender, settings):
    settings.outbox.max_attempts = 2
    await enqueue(bot, clock, ("A", "a1"), ("A", "a2"))
    sender.failures = [SendError("x"), SendError("y")]
    await worker.run_once()
    clock.advance(seconds=3)
    await worker.run_once()  # a1 dead, alert queued; a2 goes next pass (woken)
    dead = await rows(bot, OutboxMessage, OutboxMessage.status == "dead")
    assert len(dead) == 1 and "y" in dead[0].last_error
    assert await worker.run_once() == 2  # a2 and the alert to the admins' group (700099)
    assert ("700099", ) == tuple({c for c, t in sender.sent if "发送失败" in t})
    # an alert that itself dies raises no further alert
    sender.failures = [SendError("a"), SendError("b")]
    async with bot.sessions() as s:
        s.add(OutboxMessage(platform="qq", account="", chat_type="group", chat_id="700099",
                            payload={**Outbound(chat("700099"), [Text("⚠️")]).to_dict(), "alert": True},
                            next_attempt_at=clock.now(), created_at=clock.now()))
        await s.commit()
    await worker.run_once()
    clock.advance(seconds=3)
    await worker.run_once()
    assert len(await rows(bot, OutboxMessage, OutboxMessage.status == "pending")) == 0


async def test_permanent_error_dead_at_once(bot, clock, worker, sender):
    await enqueue(bot, clock, ("A", "a1"))
    sender.failures = [SendError("no such group", permanent=True)]
    await worker.run_once()
    (row, *alerts) = await rows(bot, OutboxMessage)
    assert row.status == "dead" and row.attempts == 1 and alerts


async def test_survives_restart(bot, clock, sender, settings):
    first = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org)
    await enqueue(bot, clock, ("A", "a1"), ("A", "a2"))
    sender.failures = [SendError("down")]
    await first.run_once()
    del first  # the process goes away; the table is the queue
    clock.advance(seconds=2)
    second = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org)
    assert await second.run_once() == 2 and [t for _, t in sender.sent] == ["a1", "a2"]


async def claim(bot, clock, *targets: ChatRef):
    async with bot.sessions() as session:
        claimed = await claim_replies(session, clock.now(), list(targets))
        await session.commit()
    return claimed


async def test_passive_claims_of_a_group_take_each_chat_in_order(bot, clock, worker, sender):
    """Claims made together: a chat named twice gets its first and second rows; an image (no
    passive reply can carry it) stops its chat there; a chat with nothing pending gets None."""
    await enqueue(bot, clock, ("A", "a1"), ("B", "b1"), ("A", "a2"), ("A", "a3"))
    async with bot.sessions() as s:
        await bot.enqueue(s, [Outbound(chat("C"), [Text("图")], image="chart.png"), Outbound(chat("C"), [Text("c2")])],
                          clock.now())
        await s.commit()
    got = await claim(bot, clock, chat("A"), chat("C"), chat("B"), chat("A"), chat("C"), chat("D"))
    assert [g and g[1].plain() for g in got] == ["a1", None, "b1", "a2", None, None]
    assert await worker.run_once() == 3 and sender.sent == [("A", "a3"), ("C", "图"), ("C", "c2")]


async def test_lease_blocks_other_workers_until_it_expires(bot, clock, sender, settings):
    a = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org, worker_id="A")
    b = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org, worker_id="B")
    await enqueue(bot, clock, ("A", "a1"), ("A", "a2"))
    chains = await a._claim(10)  # A claims, then "crashes" before sending
    assert [r.id for r in chains[0]] == [1, 2]
    assert await b.run_once() == 0
    assert await claim(bot, clock, chat("A")) == [None]  # nor can a passive reply take it
    clock.advance(seconds=settings.outbox.lease_seconds + 1)
    assert await b.run_once() == 2 and len(sender.sent) == 2


async def test_passive_claim_wins_over_worker(bot, clock, worker, sender):
    await enqueue(bot, clock, ("A", "first"), ("A", "second"))
    [(rid, out)] = await claim(bot, clock, chat("A"))
    assert out.plain() == "first"
    assert await worker.run_once() == 1 and sender.sent == [("A", "second")]


@pytest.mark.parametrize("claimed", [True, False])
async def test_replies_held_for_a_passive_reply(bot, clock, worker, sender, claimed):
    """While an adapter may still answer in its HTTP response, the worker leaves that chat's reply
    alone (and sends the rest); after the hold, an unclaimed reply goes out the normal way."""
    resident = ChatRef("qq", "", "private", "30001")
    msg = Inbound(chat=resident, msg_id="m1", sender_id="30001", sender_name="张阿姨",
                  text="锦城花园3栋楼道里有人给电瓶车充电")
    handled = await bot.process(await bot.receive(msg), hold_replies_until=clock.now() + timedelta(seconds=3))
    assert {o.target.chat_type for o in handled.outbound} == {"private", "group"}
    await worker.run_once()
    assert sender.sent and all(c != "30001" for c, _ in sender.sent)  # the group was told; the receipt waits
    if claimed:
        [(_, out)] = await claim(bot, clock, resident)
        assert "已受理" in out.plain()
    clock.advance(seconds=3)
    await worker.run_once()
    assert [c for c, _ in sender.sent].count("30001") == (0 if claimed else 1)


@pytest.mark.parametrize("lanes", [False, True])
async def test_a_passive_reply_is_written_sent_in_the_message_s_own_transaction(bot, clock, worker, sender, lanes):
    """Bot.ingest with a passive window: the receipt comes back to go in the HTTP response, its
    row already sent (nothing pushes it again); the group post goes the usual way."""
    if lanes:
        bot.lanes = worker
    msg = resident_says("锦城花园3栋楼道里有人给电瓶车充电", who="30001")
    handled = await bot.ingest(msg, clock.now() + timedelta(seconds=3))
    assert handled is not None and "已受理" in handled.passive.plain()
    mine = [r for r in await rows(bot, OutboxMessage) if r.chat_id == "30001"]
    assert [(r.status, r.last_error, r.claimed_by) for r in mine] == [("sent", "passive reply", None)]
    if not lanes:
        await worker.run_once()
    else:
        stop, task = await running(worker)
        await until(lambda: sender.sent)
        stop.set()
        await asyncio.wait_for(task, 2)
    assert sender.sent and all(c != "30001" for c, _ in sender.sent)  # only the group post was pushed


async def test_a_passive_reply_never_overtakes_a_pending_row_of_its_chat_nor_comes_late(bot, clock, worker, sender):
    resident = ChatRef("qq", "", "private", "30001")
    async with bot.sessions() as s:
        await bot.enqueue(s, [Outbound(resident, [Text("旧消息")])], clock.now())
        await s.commit()
    handled = await bot.ingest(resident_says("锦城花园3栋楼道里有人给电瓶车充电", who="30001"),
                               clock.now() + timedelta(seconds=3))
    assert handled is not None and handled.passive is None  # 旧消息 is owed first: both go by the outbox
    late = await bot.ingest(resident_says("锦城花园5栋消防通道被车堵了", who="30002"), clock.now())
    assert late is not None and late.passive is None  # no time left to answer in the response
    await worker.run_once()
    assert [t[:3] for c, t in sender.sent if c == "30001"] == ["旧消息", "✅ 已"]
    assert any(c == "30002" for c, _ in sender.sent)


async def test_rate_limited_rows_wait_without_an_attempt(bot, clock, worker, sender):
    sender.limit = ("qq:A", 2, 60.0)
    await enqueue(bot, clock, ("A", "1"), ("A", "2"), ("A", "3"))
    assert await worker.run_once() == 2
    (row,) = await rows(bot, OutboxMessage, OutboxMessage.status == "pending")
    assert row.attempts == 0 and row.claimed_until is None
    clock.advance(seconds=61)
    assert await worker.run_once() == 1


async def test_two_workers_on_two_engines_never_double_send(bot, clock, settings):
    """Two servers (separate engines and connection pools) racing over one table."""
    other_engine = make_engine(settings.database.url)
    try:
        s1, s2 = FakeSender(delay=0.002), FakeSender(delay=0.002)
        shared: list = []
        s1.shared = s2.shared = shared
        w1 = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": s1}, bot.org, worker_id="w1")
        w2 = OutboxWorker(session_factory(other_engine), clock, settings.outbox, {"qq": s2}, bot.org, worker_id="w2")
        items = [(f"C{i % 7}", f"m{i}") for i in range(120)]
        await enqueue(bot, clock, *items)

        async def drain(w):
            for _ in range(1000):  # a loaded machine makes more passes meet the other's write lock
                if len(shared) >= len(items) and not (w1.finished or w2.finished):
                    return
                try:
                    await w.run_once(limit=15)
                except Exception as exc:  # SQLite may refuse a concurrent writer: that worker just retries
                    assert "locked" in str(exc) or "busy" in str(exc).lower()
                await asyncio.sleep(0)

        await asyncio.gather(drain(w1), drain(w2))
        assert Counter(t for _, t in shared) == Counter(t for _, t in items)  # each exactly once
        assert s1.sent and s2.sent  # both took part
        for c in {c for c, _ in items}:  # and each chat in order, whichever worker sent it
            assert [t for ch, t in shared if ch == c] == [t for ch, t in items if ch == c]
        assert all(r.status == "sent" for r in await rows(bot, OutboxMessage))
    finally:
        await other_engine.dispose()


async def test_run_forever_wakes_on_enqueue(bot, clock, worker, sender):
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop, interval=30))
    await asyncio.sleep(0.05)
    await enqueue(bot, clock, ("A", "now"))
    worker.wake()
    for _ in range(100):
        if sender.sent:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert sender.sent == [("A", "now")]


class AccountSender(FakeSender):
    """A sender that can reach only some accounts now (as OneBot with its connected clients)."""

    def __init__(self, accounts: set[str]) -> None:
        super().__init__()
        self.live = accounts

    def accounts(self):
        return self.live


async def test_rows_of_an_unreachable_account_wait_without_attempts(bot, clock, settings):
    """A 30-minute QQ outage (no client connected): nothing is claimed, no attempt is counted, no
    dead letter; once the client is back every chat goes out in order."""
    settings.outbox.max_attempts = 2
    sender = AccountSender(set())
    worker = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org)
    await enqueue(bot, clock, *[(f"C{i % 3}", f"m{i}") for i in range(9)])
    for _ in range(30):
        clock.advance(minutes=1)
        assert await worker.run_once() == 0
    assert {(r.status, r.attempts, r.claimed_until) for r in await rows(bot, OutboxMessage)} == {("pending", 0, None)}
    sender.live = {""}
    assert await worker.run_once() == 9
    for c in ("C0", "C1", "C2"):
        assert [t for ch, t in sender.sent if ch == c] == [f"m{i}" for i in range(9) if f"C{i % 3}" == c]


async def test_no_connection_at_send_time_is_not_an_attempt(bot, clock, worker, sender):
    """The client went away between claim and send: the row is released, not failed."""
    await enqueue(bot, clock, ("A", "a1"), ("A", "a2"))
    sender.failures = [SendError("OneBot: no connection for any account", unavailable=True)]
    assert await worker.run_once() == 0
    assert [(r.attempts, r.status, r.claimed_until) for r in await rows(bot, OutboxMessage)] == [(0, "pending", None)] * 2
    assert await worker.run_once() == 2 and [t for _, t in sender.sent] == ["a1", "a2"]


async def test_only_the_server_holding_the_account_claims_its_rows(bot, clock, settings):
    """Two servers on one database: the one without the account's connection never claims (or
    fails, or blocks) its rows; the one with it sends them all, in order."""
    other_engine = make_engine(settings.database.url)
    try:
        with_socket, without = AccountSender({"10001", ""}), AccountSender(set())
        w1 = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": with_socket}, bot.org, worker_id="w1")
        w2 = OutboxWorker(session_factory(other_engine), clock, settings.outbox, {"qq": without}, bot.org,
                          worker_id="w2")
        async with bot.sessions() as s:
            await bot.enqueue(s, [Outbound(ChatRef("qq", "10001", "group", f"G{i % 4}"), [Text(f"m{i}")])
                                  for i in range(40)], clock.now())
            await s.commit()
        assert await w2.run_once() == 0 and await w2._claim(100) == []
        sent = 0
        for _ in range(10):
            sent += await w1.run_once()
            assert await w2.run_once() == 0
        assert sent == 40 and not without.sent
        for g in range(4):
            assert [t for c, t in with_socket.sent if c == f"G{g}"] == [f"m{i}" for i in range(40) if i % 4 == g]
    finally:
        await other_engine.dispose()


async def test_platforms_without_a_sender_are_not_queued(bot, clock):
    """Under `serve`, the demo org's console groups have no sender: nothing is queued for them (they
    stayed pending forever)."""
    from pingan.bot.server import make_app

    settings = bot.settings
    settings.platforms.onebot.enabled, settings.platforms.onebot.access_token = True, "tok"
    make_app(bot, env={})
    assert bot.outbox_platforms == {"qq"}
    async with bot.sessions() as s:
        await bot.enqueue(s, [Outbound(ChatRef("console", "", "group", "新联"), [Text("x")]),
                              Outbound(chat("A"), [Text("y")])], clock.now())
        await s.commit()
    assert [r.platform for r in await rows(bot, OutboxMessage)] == ["qq"]


class MergingSender(FakeSender):
    def __init__(self, chars: int) -> None:
        super().__init__()
        self.chars = chars

    def merge_limit(self, target):
        return self.chars

    def rate_limit(self, target):
        return self.limit and (f"qq:{target.chat_id}", *self.limit[1:])


async def test_queued_posts_to_one_chat_go_as_one_message_in_order(bot, clock, settings):
    sender = MergingSender(chars=40)
    sender.limit = ("qq:A", 2, 60.0)
    worker = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org)
    x = "x" * 10
    await enqueue(bot, clock, *[("A", f"post{i}-{x}") for i in range(7)], ("B", "b1"))
    assert await worker.run_once() == 5  # 16 characters a post: two merged messages of A, one of B
    a = [t for c, t in sender.sent if c == "A"]
    assert a == [f"post0-{x}\n\npost1-{x}", f"post2-{x}\n\npost3-{x}"]
    assert len(await rows(bot, OutboxMessage, OutboxMessage.status == "pending")) == 3  # rate limit
    clock.advance(seconds=61)
    assert await worker.run_once() == 3
    assert [t for c, t in sender.sent if c == "A"][2:] == [f"post4-{x}\n\npost5-{x}", f"post6-{x}"]
    done = await rows(bot, OutboxMessage, OutboxMessage.chat_id == "A")
    assert all(r.status == "sent" and r.attempts == 1 for r in done)
    assert done[0].remote_id == done[1].remote_id  # one message on the platform


async def test_a_refused_merged_post_is_retried_alone_so_only_the_culprit_dies(bot, clock, settings):
    sender = MergingSender(chars=1000)
    worker = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org)
    await enqueue(bot, clock, ("A", "a1"), ("A", "a2"), ("A", "a3"))
    sender.failures = [SendError("refused", permanent=True), SendError("refused", permanent=True)]
    await worker.run_once()  # merged: refused; a1 alone: refused, dead
    await worker.run_once()  # the chat is free again (and the admins hear of a1)
    states = [(r.payload["parts"][0]["text"], r.status) for r in await rows(bot, OutboxMessage, OutboxMessage.chat_id == "A")]
    assert states == [("a1", "dead"), ("a2", "sent"), ("a3", "sent")]
    assert [t for c, t in sender.sent if c == "A"] == ["a2\n\na3"]


async def test_a_failed_merged_post_backs_off_as_its_first_row(bot, clock, settings):
    sender = MergingSender(chars=1000)
    worker = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org)
    await enqueue(bot, clock, ("A", "a1"), ("A", "a2"))
    sender.failures = [SendError("busy")]
    assert await worker.run_once() == 0
    first, second = await rows(bot, OutboxMessage, OutboxMessage.chat_id == "A")
    assert (first.attempts, second.attempts) == (1, 0) and first.next_attempt_at > clock.now()
    clock.advance(seconds=settings.outbox.base_delay_seconds + 1)
    assert await worker.run_once() == 2 and sender.sent == [("A", "a1\n\na2")]


class GatedSender(FakeSender):
    """Chat A's sends wait until the test opens the gate (a platform slow to answer)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def send(self, out: Outbound) -> str:
        if out.target.chat_id == "A":
            await self.gate.wait()
        return await super().send(out)


async def until(cond) -> None:
    for _ in range(300):
        if cond():
            return
        await asyncio.sleep(0.01)


async def test_a_slow_chat_holds_up_no_other_and_keeps_its_order(bot, clock, settings):
    sender = GatedSender()
    worker = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop, interval=30))
    await enqueue(bot, clock, ("A", "a1"), ("B", "b1"))
    worker.wake()
    await until(lambda: sender.sent)
    await enqueue(bot, clock, ("A", "a2"), ("B", "b2"))  # A's first send is still unanswered
    worker.wake()
    await until(lambda: len(sender.sent) == 2)
    assert sender.sent == [("B", "b1"), ("B", "b2")]
    sender.gate.set()
    await until(lambda: len(sender.sent) == 4)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert [t for c, t in sender.sent if c == "A"] == ["a1", "a2"]
    assert all(r.status == "sent" and r.claimed_until is None for r in await rows(bot, OutboxMessage))


# --- sending from memory: replies leased to the running worker at insert (Bot.lanes) ------------

def resident_says(text: str, who: str = "9001", n: int = 1) -> Inbound:
    return Inbound(chat=ChatRef("qq", "", "private", who), msg_id=f"m{who}-{n}", sender_id=who, text=text)


async def running(worker):
    stop = asyncio.Event()
    return stop, asyncio.create_task(worker.run_forever(stop, interval=30))  # no claim pass on its own


async def test_a_reply_goes_from_memory_without_a_claim_and_is_recorded(bot, clock, worker, sender):
    bot.lanes, bot.outbox_platforms = worker, {"qq"}  # as serve sets them
    claims = []
    real_claim = worker._claim
    worker._claim = lambda *a, **k: claims.append(1) or real_claim(*a, **k)
    stop, task = await running(worker)
    await until(lambda: claims)  # its first pass, on an empty table
    handled = await bot.handle(resident_says("锦城花园3栋楼道里有人给电瓶车充电"))
    await until(lambda: any(c == "9001" for c, _ in sender.sent))
    await until(lambda: not worker.lanes)  # recorded, the lanes let go
    stop.set()
    await asyncio.wait_for(task, 2)
    assert claims == [1]  # the pass at start only
    assert {o.target.chat_id for o in handled.outbound if o.target.platform == "qq"} == {"9001", "700001"}
    assert [t for c, t in sender.sent if c == "9001"][0].startswith("✅")
    assert all(r.status == "sent" and r.claimed_by is None for r in await rows(bot, OutboxMessage))


async def old_then_receipt(sender, stop, task) -> None:
    """Once both have gone: resident 9001 got 旧消息 first, then the new report's receipt."""
    await until(lambda: len([1 for c, _ in sender.sent if c == "9001"]) >= 2)
    stop.set()
    await asyncio.wait_for(task, 2)
    texts = [t for c, t in sender.sent if c == "9001"]
    assert texts[0] == "旧消息" and texts[1].startswith("✅")


async def test_a_reply_queues_behind_a_row_still_pending_for_its_chat(bot, clock, worker, sender, settings):
    """A chat whose head is backing off: the new reply is not sent from memory ahead of it."""
    private = ChatRef("qq", "", "private", "9001")
    async with bot.sessions() as s:
        await bot.enqueue(s, [Outbound(private, [Text("旧消息")])], clock.now())
        await s.commit()
    sender.failures = [SendError("busy")]
    assert await worker.run_once() == 0  # 旧消息 waits for its retry
    bot.lanes = worker
    stop, task = await running(worker)
    await bot.handle(resident_says("锦城花园3栋楼道里有人给电瓶车充电"))
    await asyncio.sleep(0.05)
    assert not [t for c, t in sender.sent if c == "9001"]  # nothing overtook 旧消息
    clock.advance(seconds=settings.outbox.base_delay_seconds + 1)
    worker.wake()
    await old_then_receipt(sender, stop, task)


async def test_a_reply_queues_behind_rows_claimed_and_not_yet_in_their_lane(bot, clock, worker, sender):
    """Between a claim's commit and its chains joining their lanes, the chat's rows are this
    worker's (a live lease) yet in no lane: a new reply to that chat waits in the table."""
    private = ChatRef("qq", "", "private", "9001")
    async with bot.sessions() as s:
        await bot.enqueue(s, [Outbound(private, [Text("旧消息")])], clock.now())
        await s.commit()
    chains = await worker._claim(10)  # claimed, not taken up
    bot.lanes = worker
    await bot.handle(resident_says("锦城花园3栋楼道里有人给电瓶车充电"))
    replies = [r for r in await rows(bot, OutboxMessage) if r.chat_id == "9001"]
    assert [r.claimed_by for r in replies] == [worker.worker_id, None]  # the reply queues in the table
    coordination = [r for r in await rows(bot, OutboxMessage) if r.chat_id == "700001"]
    assert coordination[0].claimed_by == worker.worker_id  # a chat with nothing claimed goes from memory
    worker._take_up(chains)
    worker._claimed.clear()
    stop, task = await running(worker)
    worker.wake()
    await old_then_receipt(sender, stop, task)


async def test_a_lane_whose_send_fails_hands_its_rows_back_in_order(bot, clock, worker, sender, settings):
    bot.lanes, bot.outbox_platforms = worker, {"qq"}
    stop, task = await running(worker)
    sender.failures = [SendError("busy")]  # the first send: the report's coordination post
    await bot.handle(resident_says("锦城花园3栋楼道里有人给电瓶车充电", who="9001"))
    await bot.handle(resident_says("锦城花园5栋消防通道被车堵了", who="9002"))
    await until(lambda: not worker.lanes)  # the failure and the hand-back are recorded
    posts = [r for r in await rows(bot, OutboxMessage) if r.chat_id == "700001"]
    assert len(posts) == 2 and (posts[0].attempts, posts[0].status) == (1, "pending")
    assert (posts[1].attempts, posts[1].status, posts[1].claimed_by) == (0, "pending", None)  # back in the table
    assert sorted(c for c, _ in sender.sent) == ["9001", "9002"]  # the receipts went meanwhile
    clock.advance(seconds=settings.outbox.base_delay_seconds + 1)
    worker.wake()
    await until(lambda: any(c == "700001" for c, _ in sender.sent))
    stop.set()
    await asyncio.wait_for(task, 2)
    posted = [t for c, t in sender.sent if c == "700001"]
    assert [p.split("】")[0] for p in posted] == ["【隐患 #1", "【隐患 #2"]  # in order
    assert all(r.status == "sent" for r in await rows(bot, OutboxMessage))


async def test_a_lane_never_sends_a_row_whose_lease_ran_out(bot, clock, settings):
    """a1's send hangs past the lease: a claim pass takes a1 and a2 again, yet each goes once, in order."""
    sender = GatedSender()
    worker = OutboxWorker(bot.sessions, clock, settings.outbox, {"qq": sender}, bot.org)
    await enqueue(bot, clock, ("A", "a1"), ("A", "a2"))
    stop, task = await running(worker)  # its first pass claims both into A's lane; a1 waits at the gate
    await until(lambda: worker.lanes)
    clock.advance(seconds=settings.outbox.lease_seconds + 1)
    worker.wake()
    await asyncio.sleep(0.05)
    sender.gate.set()
    await until(lambda: len(sender.sent) >= 2)
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert sender.sent == [("A", "a1"), ("A", "a2")]
    assert all(r.status == "sent" for r in await rows(bot, OutboxMessage))


async def test_what_the_lanes_sent_is_recorded_in_the_next_group_s_transaction(bot, clock, worker, sender):
    """No transaction of its own for the acknowledgements: the next group marks them sent (here
    the worker's loop is not even running)."""
    bot.lanes, bot.outbox_platforms = worker, {"qq"}
    await bot.ingest(resident_says("锦城花园3栋楼道里有人给电瓶车充电", who="9001"))
    await until(lambda: len(sender.sent) >= 2 and worker.finished)  # receipt and post, sent from memory
    assert {r.status for r in await rows(bot, OutboxMessage)} == {"pending"}  # leased, not yet recorded
    await bot.ingest(resident_says("锦城花园5栋楼道里有人给电瓶车充电", who="9002"))
    first = [r for r in await rows(bot, OutboxMessage) if r.chat_id == "9001"]
    assert [r.status for r in first] == ["sent"] and first[0].remote_id is not None
    assert not [o for o in worker.finished if o[1][0].chat_id == "9001"]


async def test_while_groups_keep_coming_the_worker_leaves_the_recording_to_them(bot, clock, worker, sender):
    """A running worker whose lanes finished does not open a transaction of its own while groups
    are committing: the next group records what was sent; once they stop, the worker does."""
    bot.lanes, bot.outbox_platforms = worker, {"qq"}
    worker.RECORD_GRACE = 1.0  # the next group comes well inside it
    own = []
    real_record = worker._record
    worker._record = lambda outcomes: own.append(len(outcomes)) or real_record(outcomes)
    stop, task = await running(worker)
    await bot.ingest(resident_says("锦城花园3栋楼道里有人给电瓶车充电", who="9001"))
    await until(lambda: len(sender.sent) >= 2 and worker.finished)
    await asyncio.sleep(0.05)  # the lanes' record_due woke the loop meanwhile
    assert own == []
    await bot.ingest(resident_says("锦城花园5栋楼道里有人给电瓶车充电", who="9002"))
    assert [r.status for r in await rows(bot, OutboxMessage) if r.chat_id == "9001"] == ["sent"]
    assert own == []
    await until(lambda: own)  # no group came within the grace: the worker recorded the second's sends
    stop.set()
    await asyncio.wait_for(task, 2)
    assert all(r.status == "sent" for r in await rows(bot, OutboxMessage))


async def test_which_chats_have_a_row_no_lane_holds(bot, clock):
    """A pending row nobody leased, another worker's, or (for a chat whose lane holds none) one of this
    worker's expired leases makes a new row queue behind it; rows this worker holds under a running
    lease do not, however many are in flight (each case is a seek on ix_outbox_claim, never a walk)."""
    from pingan.models.queries import chats_with_queued

    now = clock.now()
    later, earlier = now + timedelta(minutes=5), now - timedelta(minutes=5)

    def row(cid: str, by: str | None, until) -> OutboxMessage:
        return OutboxMessage(platform="qq", account="", chat_type="group", chat_id=cid, payload={},
                             next_attempt_at=now, created_at=now, claimed_by=by, claimed_until=until)

    def key(cid: str) -> tuple[str, str, str, str]:
        return ("qq", "", "group", cid)

    async with bot.sessions() as s:
        s.add_all([row("mine", "w1", later) for _ in range(300)]
                  + [row("free", None, None), row("other", "w2", later), row("expired", "w1", earlier)])
        await s.commit()
        chats = [key(c) for c in ("mine", "free", "other", "expired", "empty")]
        assert await chats_with_queued(s, chats, set(), "w1", now) == {key("free"), key("other"), key("expired")}
        # the lane of "expired" holds rows: whether that row is in it is the lane's to say (expired_leases)
        assert await chats_with_queued(s, chats, {key("expired")}, "w1", now) == {key("free"), key("other")}
        # no worker sending from memory: any pending row counts
        assert await chats_with_queued(s, chats, set(), None, now) == {key(c) for c in ("mine", "free", "other", "expired")}
