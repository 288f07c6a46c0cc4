"""Each rule module's exact texts and recipients (pingan/rules/): what every action announces to
whom, and what each deadline window posts at each of its points. A changed word fails here first."""

from datetime import datetime

import pytest

from pingan.lifecycle import Action
from pingan.notify import span
from pingan.rules import RULES, WINDOWS
from pingan.scheduler import sweep
from pingan.scheduler.plan import points
from tests.conftest import COORD, STREET, TZ

EBIKE = "锦城花园3栋楼道有人给电瓶车充电"  # → 新联社区第二网格, 周网格; the community's lead is 王书记
GAS = "锦城花园3栋2单元燃气泄漏了,好大的味道"  # urgent
DISTRICT = "都江堰市平安社区工作组"
HEAD = "消防·电瓶车违规充电（小事）📍锦城花园3栋\n“锦城花园3栋楼道有人给电瓶车充电”\n"
GAS_HEAD = "设施·燃气管道（大事）📍锦城花园3栋2单元\n“锦城花园3栋2单元燃气泄漏了,好大的味道”\n"
# the gas leak's own safety line (rules/safety.py), in the group post and to a reporter nobody reached
EMERGENCY = ("⚠️ 请立即离开房间，不要开关电器、不要打火、不要用手机（到室外再打）；安全的话打开门窗。"
             "到室外后拨打 119 或燃气公司抢修电话。")


def at(hh, mm, day=8):
    return datetime(2019, 4, day, hh, mm, tzinfo=TZ)


async def swept(h, when) -> list[tuple[str, str]]:
    h.clock.set(when)
    await sweep(h.bot)
    await h.worker.run_once()
    return h.new()


async def steps(h, *moves) -> list[tuple[str, str]]:
    """Say each (who, text, group) three minutes apart; what the last one made the bot say."""
    out = []
    for who, text, group in moves:
        h.clock.advance(minutes=3)
        out = await h.say(who, text, group=group)
    return out


def test_every_action_and_every_point_has_its_rule():
    assert set(RULES) == set(Action)
    kinds = {(w.name, kind) for w in WINDOWS.values() for kind in w.steps}
    assert kinds == {("dispatch", "dispatch"), ("on_scene", "remind"), ("on_scene", "overdue_on_scene"),
                     ("on_scene", "urgent_repeat"), ("resolve", "remind"), ("resolve", "overdue"),
                     ("supervision", "supervise"), ("feedback", "auto_close")}
    assert {a for a, r in RULES.items() if r.by_reporter} == {Action.withdraw, Action.close, Action.reopen}


# --- actions ---------------------------------------------------------------------------------------

async def test_dispatch_posts_to_the_grid_and_answers_the_reporter(h):
    out = await steps(h, ("张阿姨", EBIKE, None))
    assert out == [
        (COORD, "【隐患 #1】消防·电瓶车违规充电（小事·马上办）\n📍锦城花园3栋\n📝“锦城花园3栋楼道有人给电瓶车充电”\n"
                "👤上报：张**  备岗：王书记\n@周网格 ⏰请 09:18 前到场，回复「到场 #1」"),
        ("张阿姨", "✅ 已受理，编号 #1\n类别：消防·电瓶车违规充电\n地点：锦城花园3栋\n"
                  "责任人：网格员 周网格，承诺 15 分钟内到场（09:18 前）\n查询进度回复「查询 #1」，撤销回复「撤销 #1」。"),
    ]


async def test_urgent_dispatch_also_mentions_the_lead_and_gives_the_numbers(h):
    out = await steps(h, ("张阿姨", GAS, None))
    assert out[0] == (COORD, f"🚨燃气泄漏【紧急隐患 #1】设施·燃气管道（大事·呼叫办）\n📍锦城花园3栋2单元\n"
                             f"📝“锦城花园3栋2单元燃气泄漏了,好大的味道”\n👤上报：张**\n{EMERGENCY}\n"
                             "@周网格 @王书记 ⏰请 09:18 前到场，回复「到场 #1」")
    # the reporter's receipt opens with what to do about gas now (rules/safety.py), then the ticket
    assert out[1][0] == "张阿姨" and out[1][1].startswith("🚨 请立即离开房间，不要开关电器")
    assert "本助手不会替您报警" in out[1][1] and "已通知工作人员紧急处置，编号 #1" in out[1][1]


@pytest.mark.parametrize("text,said", [
    ("签收 #1", "✅ #1 已签收（周网格）"),
    ("处理中 #1 已电话联系物业", "🔧 #1 处置中（周网格）：已电话联系物业"),
    ("定级 #1 中", "📏 #1 定级为中事（协商办），办结期限 04-11 09:03"),
], ids=["ack", "progress", "grade"])
async def test_group_only_actions(h, text, said):
    out = await steps(h, ("张阿姨", EBIKE, None), ("周网格", text, COORD))
    assert out == [(COORD, said)]


async def test_arrival_tells_the_group_and_the_reporter(h):
    out = await steps(h, ("张阿姨", EBIKE, None), ("周网格", "到场 #1", COORD))
    assert out == [(COORD, "✅ #1 周网格 已到场（09:06，用时 3分钟）"),
                   ("张阿姨", "您反映的 #1（消防·电瓶车违规充电）工作人员已到场处置。")]


async def test_escalate_posts_the_call_up_with_its_reason_and_tells_the_reporter(h):
    out = await steps(h, ("张阿姨", EBIKE, None), ("周网格", "到场 #1", COORD), ("周网格", "呼叫 #1 需要物业配合", COORD))
    assert out == [
        (COORD, "📣【呼叫 #1】消防·电瓶车违规充电（小事）📍锦城花园3栋\n“锦城花园3栋楼道有人给电瓶车充电” — 由周网格呼叫社区（村）\n"
                "原因：需要物业配合\n历史：09:03 上报 → 09:03 派发 → 09:06 到场 → 09:09 呼叫\n"
                "@王书记 请签收，回复「签收 #1」；需部门处理请回复「派单 #1 部门」"),
        ("张阿姨", "您反映的 #1 已呼叫新联社区协调处理。"),
    ]
    # the caller's confirmation is the group post (it was made in that group)


async def test_transfer_asks_the_departments_liaison_and_resolve_asks_the_reporter_to_rate(h):
    out = await steps(h, ("张阿姨", EBIKE, None), ("王书记", "派单 #1 消防", COORD))
    assert out == [
        (DISTRICT, "📤【派单 #1】消防·电瓶车违规充电 📍锦城花园3栋\n“锦城花园3栋楼道有人给电瓶车充电”\n"
                   "历史：09:03 上报 → 09:03 派发 → 09:06 派单\n@徐队长 请签收，回复「签收 #1」"),
        (COORD, "📤 #1 已派单 都江堰市消防救援大队（王书记）"),
    ]
    out = await steps(h, ("徐队长", "办结 #1 已清理", COORD))
    assert out == [(COORD, "✅ #1 已办结（徐队长）：已清理"),
                   ("张阿姨", "您反映的 #1（消防·电瓶车违规充电）已办结：已清理。\n"
                             "满意请回复「满意」，不满意请回复「不满意」，我们会重新处理。")]


async def test_reopen_reaches_the_holder_with_the_residents_words_and_withdraw_tells_both_groups(h):
    await steps(h, ("张阿姨", EBIKE, None), ("王书记", "派单 #1 消防", COORD), ("徐队长", "办结 #1 已清理", COORD))
    out = await steps(h, ("张阿姨", "不满意 #1 还在充", None))
    assert out == [(DISTRICT, "🔁 #1 居民回访不满意，已重新打开，请再次处置。 @徐队长\n居民说：还在充"),
                   ("张阿姨", "已收到，#1 已重新打开，工作人员会再次处理。")]
    out = await steps(h, ("张阿姨", "撤销 #1", None))
    assert out == [(DISTRICT, "🚫 #1 已由上报人撤销，无需再处理 @徐队长"), (COORD, "🚫 #1 已由上报人撤销"),
                   ("张阿姨", "已撤销 #1。")]


async def test_close_and_return(h):
    await steps(h, ("张阿姨", EBIKE, None), ("周网格", "到场 #1", COORD), ("周网格", "办结 #1 已清理", COORD))
    out = await steps(h, ("张阿姨", "满意", None))
    assert out == [(COORD, "👍 #1 居民回访：满意，已关闭"), ("张阿姨", "感谢您的评价，#1 已关闭。")]
    h.bot.settings.bot.review_returns = False  # the 退回 itself; its 复核 is in test_conversation.py
    out = await steps(h, ("张阿姨", EBIKE + "了", None), ("周网格", "退回 #2 重复", COORD))
    assert out == [(COORD, "↩️ #2 已退回（周网格）：重复"),
                   ("张阿姨", "您反映的 #2 经核实已退回：重复。如有疑问请回复或联系社区。")]


# --- windows ---------------------------------------------------------------------------------------

async def test_on_scene_window_reminds_then_calls_the_lead(h):
    await h.say("张阿姨", EBIKE, group=None)  # 09:00, due 09:15
    h.new()
    assert await swept(h, at(9, 8)) == [(COORD, f"⏰【到场提醒 #1】{HEAD}到场期限 09:15（还剩 7分钟），到场后回复「到场 #1」\n@周网格 ")]
    assert await swept(h, at(9, 12)) == [(COORD, f"⏰【到场提醒 #1】{HEAD}到场期限 09:15（还剩 3分钟），到场后回复「到场 #1」\n@周网格 ")]
    assert await swept(h, at(9, 16)) == [(COORD, f"⏰【超时未到场 #1】{HEAD}派发 09:00，15 分钟到场期限 09:15 已过（1分钟），"
                                                 "责任人尚未回复「到场」。\n@周网格 @王书记 请立即到场；社区值班负责人请督促或另行安排人员。")]


async def test_on_scene_minutes_come_from_the_policy(h):
    h.bot.settings.policy.on_scene_minutes = 10
    out = await h.say("张阿姨", EBIKE, group=None)
    assert "承诺 10 分钟内到场（09:10 前）" in dict(out)["张阿姨"]
    assert (await swept(h, at(9, 11)))[-1][1].startswith(f"⏰【超时未到场 #1】{HEAD}派发 09:00，10 分钟到场期限 09:10 已过")


async def test_urgent_ticket_repeats_and_every_third_repeat_reaches_the_street(h):
    await h.say("张阿姨", GAS, group=None)
    h.new()
    assert await swept(h, at(9, 16)) == [
        (COORD, f"🚨【超时未到场 #1】{GAS_HEAD}派发 09:00，15 分钟到场期限 09:15 已过（1分钟），责任人尚未回复「到场」。\n"
                "@周网格 @王书记 请立即到场；社区值班负责人请督促或另行安排人员。"),
        ("张阿姨", f"{EMERGENCY}\n您反映的 #1 工作人员还没有到场，我们正在加急催办，并已通知社区负责人。")]
    assert await swept(h, at(9, 20)) == [(COORD, f"🚨【紧急 第1次催办 #1】{GAS_HEAD}已派发 20分钟 仍无人回复「到场」\n"
                                                 "@周网格 @王书记 请立即到场并回复「到场 #1」。")]
    await swept(h, at(9, 25))
    assert await swept(h, at(9, 30)) == [
        (COORD, f"🚨【紧急 第3次催办 #1】{GAS_HEAD}已派发 30分钟 仍无人回复「到场」\n@周网格 @王书记 请立即到场并回复「到场 #1」。"),
        (STREET, f"🚨【紧急·无人到场 #1】{GAS_HEAD}已派发 30分钟 仍无人回复「到场」\n@陈主任 请永丰街道立即联系社区并协调到场。")]
    out = await h.say("周网格", "到场 #1")  # the street that was alerted hears that someone came
    assert (STREET, "✅ #1 周网格 已到场（09:30，用时 30分钟），无需再协调") in out


async def test_resolution_window_reminds_then_calls_up_out_of_the_community_then_supervises(h):
    await h.say("张阿姨", EBIKE, group=None)
    await swept(h, at(9, 16))
    assert await swept(h, at(16, 31)) == [(COORD, f"⏰【办结提醒 #1】{HEAD}⚠️ 至今无人回复「到场」\n"
                                                  "办结期限 24:00（还剩 7小时29分钟），办结后回复「办结 #1 处理结果」；"
                                                  "需上级协调回复「呼叫 #1」\n@周网格 ")]
    await swept(h, at(21, 1))
    # 24:00 is in quiet hours: the automatic 呼叫 waits for 07:00
    assert await swept(h, at(7, 1, day=9)) == [
        (COORD, "📣【呼叫 #1】消防·电瓶车违规充电（小事）📍锦城花园3栋\n“锦城花园3栋楼道有人给电瓶车充电” — 由系统自动（超期）呼叫社区（村）\n"
                "历史：04-08 09:00 上报 → 04-08 09:00 派发 → 07:01 呼叫\n@王书记 请签收，回复「签收 #1」；需部门处理请回复「派单 #1 部门」"),
        ("张阿姨", "您反映的 #1 已呼叫新联社区协调处理。")]
    out = await swept(h, at(7, 1, day=10))  # the community's own deadline: on to the street, the last automatic 呼叫
    assert [chat for chat, _ in out] == [STREET, COORD, "张阿姨"] and "由系统自动（超期）呼叫街道（乡镇）" in out[0][1]
    t = await _ticket(h)
    assert (t.holder_unit_id, [p.kind for p in points(t, TZ)]) == ("yongfeng", ["remind", "remind", "overdue", "supervise", "supervise"])
    # above the community nobody is called up automatically: 普通 督办 at the street's deadline
    assert await swept(h, at(7, 1, day=11)) == [
        (STREET, "📌【督办·普通 #1】消防·电瓶车违规充电（小事）📍锦城花园3栋\n“锦城花园3栋楼道有人给电瓶车充电”\n"
                 "办结期限 04-10 24:00，已超时 7小时1分钟；责任：永丰街道\n"
                 "@陈主任 请立即处置并回复进展（办结回复「办结 #1 处理结果」）。")]
    yellow = next(p for p in points(await _ticket(h), TZ) if p.level == "黄牌")
    body = ("🟨【督办·黄牌 #1】消防·电瓶车违规充电（小事）📍锦城花园3栋\n“锦城花园3栋楼道有人给电瓶车充电”\n"
            f"办结期限 04-10 24:00，已超时 {span(yellow.at - at(0, 0, day=11))}；责任：永丰街道\n")
    assert await swept(h, yellow.at) == [
        (STREET, body + "@陈主任 请立即处置并回复进展（办结回复「办结 #1 处理结果」）。"),
        (DISTRICT, body + "@刘组长 请都江堰市跟进督办。")]  # from 黄牌 on, the tier above hears of it
    assert (await _ticket(h)).supervision == "黄牌"


async def test_feedback_window_closes_an_unrated_ticket_and_says_how_to_reopen(h):
    await steps(h, ("张阿姨", EBIKE, None), ("周网格", "到场 #1", COORD), ("周网格", "办结 #1 已清理", COORD))
    assert await swept(h, at(10, 0, day=11)) == [
        ("张阿姨", "您反映的 #1 办结已 3 天，没有收到评价，已自动关闭。如果问题还在，回复「不满意 #1」可以重新打开。")]


async def _ticket(h):
    from pingan.models import Ticket

    async with h.bot.sessions() as s:
        return await s.get(Ticket, 1)
