"""`pingan demo`: a scripted day from the seed articles, replayed on a simulated clock through the
console platform — the same inbox → handlers → outbox path a real platform uses."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Callable

from sqlmodel import func, select

from pingan.bot.app import Bot
from pingan.bot.console import ConsoleSender, attachments, group_chat, message, private_chat, render
from pingan.bot.outbox import OutboxWorker
from pingan.clock import FrozenClock
from pingan.messages import Outbound, Text

COORD = "新联社区平安工作群"


@dataclass
class Step:
    at: str  # HH:MM on the demo day
    who: str
    text: str
    where: str | None = COORD  # a group name, or None for a private chat with the bot
    quote: str | None = None  # quote-reply to the bot's latest message containing this


@dataclass
class Scheduler:
    """From `at` on, the scheduler runs (every minute) between the steps: reminders, the ladder."""

    at: str


@dataclass
class EveningDigest:
    at: str


# The demo compresses the 中事 window to 3 hours so an overdue 呼叫 happens within the day.
DEMO_POLICY = {"resolve_medium": "3h"}

DAY = [
    Step("09:00", "张阿姨", "锦城花园3栋楼道里又有人给电瓶车充电!!线都拖到楼梯上了😡", where=None),
    Step("09:08", "周网格", "到场 #1"),
    Step("09:26", "周网格", "办结 #1 已劝离并断电,电瓶车推到集中充电棚了"),
    Step("09:30", "张阿姨", "满意", where=None),
    Step("09:40", "赵社工", "收到"),
    Step("09:41", "赵社工", "下午3点在社区二楼开平安社区推进会,请各网格员准时参加"),
    Step("10:00", "李大爷", "山水天成2栋外墙瓷砖一直往下掉,下面是娃娃耍的地方,太危险了", where=None),
    Step("10:09", "李网格", "到场", quote="隐患 #2】"),
    Step("10:30", "李网格", "呼叫 #2 外墙大面积空鼓,需要启动维修基金,社区解决不了"),
    Step("10:45", "王书记", "呼叫 #2 请街道协调房管局"),
    Step("11:05", "陈主任", "派单 #2 住建", where="永丰街道平安社区工作群"),
    Step("11:20", "王嬢嬢", "幸福里小区楼道堆了好多纸箱子,把消防通道堵了", where=None),
    Step("11:35", "王嬢嬢", "撤销 #3 邻居已经搬走了", where=None),
    Step("12:10", "马网格", "办结 #2"),
    Step("13:00", "刘婆婆", "闻到好大一股煤气味!!", where=None),
    Step("13:01", "刘婆婆", "幸福里5栋2单元", where=None),
    Step("13:06", "吴网格", "到场 #4"),
    Step("13:30", "吴网格", "办结 #4 燃气公司已关阀检修,是接口老化"),
    Step("14:00", "周网格", "帮助"),
    Scheduler("14:10"),
    # a late worker: reminders at 50 %/80 % of the 15 minutes, then the community's lead is called
    Step("14:20", "李大爷", "柏条河绿道新修的台阶两边没有护栏,娃娃容易摔下去", where=None),
    Step("14:41", "李网格", "到场 #5 路上堵车来晚了"),
    # nobody resolves it: reminders, then at the deadline the sweep calls up the community (呼叫)
    Step("17:30", "王书记", "签收 #5"),
    EveningDigest("18:00"),
]
# a gas-leak night: safety first, an urge re-alerts at once, a quote-reply 到了, one correction
GAS_NIGHT = [
    Step("23:05", "林女士", "山水天成8栋二单元楼道好大一股气味，闻着头晕，好吓人", where=None),
    Step("23:14", "林女士", "怎么还没有人来啊😭", where=None),
    Step("23:18", "周网格", "到了", quote="隐患 #6】"),
    Step("23:40", "周网格", "#6 处理好了，燃气公司已关阀，是一单元立管接口漏气"),
    Step("23:45", "王书记", "改地点 #6 山水天成8栋一单元楼道"),
    Step("23:50", "林女士", "谢谢你们，辛苦了", where=None),
]
# later that night: an urgent report nobody answers is paged by SMS (rules/paging.py), then up the ladder
PAGED_NIGHT = [
    Step("次日02:00", "刘婆婆", "幸福里5栋2单元楼道里煤气味好重!!", where=None),
    Step("次日02:13", "陈主任", "签收 #7 已电话叫醒吴网格,马上到", where="永丰街道平安社区工作群"),
    Step("次日02:24", "吴网格", "到场 #7"),
]
SCRIPT = DAY + GAS_NIGHT + PAGED_NIGHT  # each part is a list of steps in time order


def _demo_settings(bot: Bot) -> None:
    bot.settings.paging.enabled = True  # the night's page is shown, the SMS provider is the console
    for key, value in DEMO_POLICY.items():
        setattr(bot.settings.policy, key, value)
    if not bot.settings.scheduler.campaign_start:  # the seed's 百日攻坚 began on 2019-03-26
        bot.settings.scheduler.campaign_start = "2019-03-26"
    if bot.settings.scheduler.files_dir == "pingan-files":  # keep the demo's charts out of the cwd
        bot.settings.scheduler.files_dir = tempfile.mkdtemp(prefix="pingan-demo-")


class _Replay:
    """The script's day on a frozen clock: messages, the minute sweeps in between, the evening digest
    and the night after it."""

    def __init__(self, bot: Bot, clock: FrozenClock, echo: Callable[[str], None]) -> None:
        self.bot, self.clock, self.echo = bot, clock, echo
        self.lines: list[str] = []
        self.day = clock.now().date()
        self.sender = ConsoleSender(printer=self.show)
        pager = ConsoleSender(platform="sms", printer=self.show)  # stands in for the SMS provider
        self.worker = OutboxWorker(bot.sessions, clock, bot.settings.outbox, {"console": self.sender, "sms": pager},
                                   bot.org)

    def say(self, line: str) -> None:
        self.lines.append(line)
        self.echo(line)

    def show(self, remote_id: str, out) -> None:
        where = f"[{out.target.chat_id}]" if out.target.chat_type == "group" else f"[私聊 → {out.target.chat_id}]"
        if out.target.platform == "sms":  # a page: the SMS template's parameters
            where = f"[📱短信 → {out.target.chat_id}]"
            out = Outbound(out.target, [Text(" ".join(p.text for p in out.parts if isinstance(p, Text)))])
        body = (render(out) + attachments(out)).replace("\n", "\n        ")
        self.say(f"{self.clock.now():%H:%M} {where} 🤖 {self.bot.settings.bot.name}: {body}")

    def at(self, hhmm: str) -> datetime:
        """'HH:MM' on the demo day, '次日HH:MM' the night after it."""
        h, m = map(int, hhmm.removeprefix("次日").split(":"))
        return datetime.combine(self.day + timedelta(days=hhmm.startswith("次日")), time(h, m), tzinfo=self.clock.tz)

    async def scheduler_until(self, until: datetime) -> None:
        """Jump the clock to each minute the sweep has work (as the every-minute job would find it)."""
        from pingan.models import Ticket
        from pingan.rules.paging import next_page_at
        from pingan.scheduler import sweep
        from pingan.scheduler.sweep import SWEPT

        bot, clock = self.bot, self.clock
        for _ in range(500):
            async with bot.sessions() as session:
                q = select(func.min(Ticket.next_check_at)).where(Ticket.status.in_(SWEPT))
                nxt = (await session.exec(q)).one()
                page = await next_page_at(session, clock.now(), bot.settings.paging)
            nxt = nxt[0] if isinstance(nxt, tuple) else nxt
            nxt = min(x for x in (nxt, page) if x is not None) if (nxt or page) else None
            if nxt is None or nxt > until:
                break
            nxt = nxt.astimezone(clock.tz)
            if nxt.second or nxt.microsecond:  # the minute job sees it at the next whole minute
                nxt = nxt.replace(second=0, microsecond=0) + timedelta(minutes=1)
            clock.set(max(nxt, clock.now()))
            if await sweep(bot):
                self.say(f"{clock.now():%H:%M} ⏱ [定时巡检]")
            await self.worker.run_once()

    async def digest(self, step: EveningDigest) -> None:
        from pingan.scheduler.jobs import post_digests

        self.say(f"{step.at} ⏱ [晚间日报 {self.bot.settings.scheduler.community_digest_at}]")
        await post_digests(self.bot, "community", self.day)
        await self.worker.run_once()

    async def message(self, step: Step) -> None:
        chat = group_chat(step.where) if step.where else private_chat(step.who)
        reply_to = None
        if step.quote:
            reply_to = next(rid for rid, _, out in reversed(self.sender.delivered) if step.quote in render(out))
        where = f"[{step.where}]" if step.where else "[私聊]"
        quoted = f"（引用「{step.quote.strip('【】')}」的消息）" if step.quote else ""
        self.say(f"{self.clock.now():%H:%M} {where} {step.who}{quoted}: {step.text}")
        await self.bot.handle(message(chat, step.who, step.text, reply_to=reply_to))
        await self.worker.run_once()


async def run_demo(bot: Bot, clock: FrozenClock, echo: Callable[[str], None] = print, script=SCRIPT) -> list[str]:
    """Replay the script; returns the transcript lines (also echoed as they happen)."""
    _demo_settings(bot)
    replay = _Replay(bot, clock, echo)
    replay.say(f"=== pingan 演示：{replay.day:%Y-%m-%d} 新联社区的一天（模拟时钟，{bot.settings.bot.timezone}） ===")
    replay.say("（演示设置：中事办结时限 3 小时，便于一天内看到超期自动呼叫；默认 3 天。夜里紧急隐患无人响应即短信呼叫，短信在此显示）")
    scheduling = False
    for step in script:
        if isinstance(step, Scheduler):
            scheduling = True
            clock.set(replay.at(step.at))
            continue
        if scheduling:
            await replay.scheduler_until(replay.at(step.at))
        clock.set(replay.at(step.at))
        if isinstance(step, EveningDigest):
            await replay.digest(step)
        else:
            await replay.message(step)
    return replay.lines
