"""Every (action, status) pair: legal moves land on the documented status, illegal ones raise; and
moves through the bot: deadlines in local days, 派单 to an unreachable department, 呼叫/不满意 wording."""

from datetime import datetime, timedelta

import pytest

from pingan.lifecycle import Action, IllegalMove, allowed, target
from pingan.models import Status, Ticket
from pingan.models import Status as S
from tests.conftest import COORD, STREET, TZ

LEGAL = {
    Action.dispatch: {S.new: S.dispatched},
    Action.ack: {s: S.acknowledged for s in (S.dispatched, S.escalated, S.transferred, S.reopened)},
    Action.on_scene: {s: S.on_scene for s in (S.dispatched, S.acknowledged, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.progress: {s: S.in_progress for s in (S.dispatched, S.acknowledged, S.on_scene, S.escalated, S.transferred, S.reopened)},
    Action.resolve: {s: S.resolved for s in (S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.close: {S.resolved: S.closed},
    Action.escalate: {s: S.escalated for s in (S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.transfer: {s: S.transferred for s in (S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.return_: {s: S.returned for s in (S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.withdraw: {s: S.withdrawn for s in (S.new, S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
    Action.reopen: {S.resolved: S.reopened, S.closed: S.reopened, S.returned: S.reopened},  # disputing a 退回
    Action.grade: {s: s for s in (S.new, S.dispatched, S.acknowledged, S.on_scene, S.in_progress, S.escalated, S.transferred, S.reopened)},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(S))
def test_every_move(action, status):
    expected = LEGAL[action].get(status)
    if expected is None:
        with pytest.raises(IllegalMove):
            target(action, status)
    else:
        assert target(action, status) == expected


def test_terminal_statuses_allow_only_reopen_after_close():
    assert allowed(S.withdrawn) == []
    assert allowed(S.returned) == [Action.reopen]  # the reporter disputes a 退回
    assert allowed(S.closed) == [Action.reopen]
    assert set(allowed(S.resolved)) == {Action.close, Action.reopen}


# --- through the bot: deadlines, 派单 to an unreachable department, 呼叫 and 不满意 wording -------------
EBIKE = "锦城花园3栋楼道里有人给电瓶车充电"  # → grid 2, 周网格; community 新联社区 (王书记)
MIDNIGHT = datetime(2019, 4, 9, 0, 0, tzinfo=TZ)  # 2019-04-08 24:00 local


async def _ticket(h, n=1) -> Ticket:
    async with h.bot.sessions() as s:
        return await s.get(Ticket, n)


def _texts(out, chat=None) -> str:
    return "\n".join(t for c, t in out if chat is None or c == chat)


@pytest.mark.parametrize("hh,mm", [(7, 30), (9, 0), (19, 30)])  # 07:30 local is still 04-07 in UTC
async def test_grade_small_is_due_at_local_midnight(h, hh, mm):
    h.clock.set(datetime(2019, 4, 8, hh, mm, tzinfo=TZ))
    await h.say("张阿姨", EBIKE, group=None)
    h.clock.advance(minutes=5)
    out = await h.say("周网格", "定级 #1 小")
    assert (await _ticket(h)).resolve_due == MIDNIGHT
    assert "定级为小事（马上办），办结期限 24:00" in _texts(out, COORD)


async def test_a_small_thing_reported_in_the_night_is_due_the_next_day_not_in_minutes(h):
    h.clock.set(datetime(2019, 4, 7, 23, 55, tzinfo=TZ))  # after quiet hours began: tomorrow's work
    await h.say("张阿姨", EBIKE, group=None)
    assert (await _ticket(h)).resolve_due == MIDNIGHT
    h.clock.set(datetime(2019, 4, 9, 9, 0, tzinfo=TZ))  # graded the day after its deadline passed
    out = await h.say("周网格", "定级 #1 小")
    assert (await _ticket(h)).resolve_due == MIDNIGHT + timedelta(days=1)  # today, not already gone by
    assert "办结期限 24:00" in _texts(out, COORD)


async def test_after_a_call_up_the_ticket_can_be_resolved_and_shows_the_new_holders_deadline(h):
    h.clock.set(datetime(2019, 4, 8, 9, 0, tzinfo=TZ))
    await h.say("张阿姨", "幸福里5栋门口的井盖没有了", group=None)  # 中事: 3 days
    await h.say("吴网格", "到场 #1")
    h.clock.set(datetime(2019, 4, 12, 10, 0, tzinfo=TZ))  # past the grid's window
    await h.say("吴网格", "呼叫 #1 需要市政来换井盖")
    t = await _ticket(h)
    assert t.resolve_due == datetime(2019, 4, 15, 10, 0, tzinfo=TZ)  # the street's own 3 days, from now
    card = _texts(await h.say("吴网格", "查询 #1"))
    assert "办结期限：04-15 10:00" in card
    out = await h.say("吴网格", "办结 #1 市政已换新井盖")  # the worker on scene finishes with the street's help
    assert (await _ticket(h)).status == Status.resolved and "不能" not in _texts(out)


async def test_grade_counts_working_days_in_local_dates(h):
    # Saturday 07:30 local is Friday 23:30 UTC: one working day is Monday 07:30, not Tuesday
    h.bot.settings.policy.working_days, h.bot.settings.policy.resolve_medium = True, "1d"
    h.clock.set(datetime(2019, 4, 13, 7, 30, tzinfo=TZ))
    await h.say("张阿姨", EBIKE, group=None)
    await h.say("周网格", "定级 #1 中")
    assert (await _ticket(h)).resolve_due == datetime(2019, 4, 15, 7, 30, tzinfo=TZ)


async def test_transfer_to_department_without_liaison_warns_and_keeps_a_follower(h):
    from pingan.scheduler import sweep

    await h.say("张阿姨", EBIKE, group=None)
    out = await h.say("王书记", "派单 #1 燃气")
    t = await _ticket(h)
    assert (t.status, t.department_id, t.holder_unit_id) == (Status.transferred, "djy-gas", "djy-gas")
    assert t.holder_person_id == "wang-shequ"  # the dispatcher follows it up by phone
    warning = "⚠️ 都江堰燃气公司未登记联络人，机器人无法通知，请电话联系该部门并跟进。"
    assert "已派单 都江堰燃气公司" in _texts(out, COORD) and warning in _texts(out, COORD)
    district = _texts(out, "都江堰市平安社区工作组")  # the department's nearest group
    assert "【派单 #1】" in district and "未登记联络人，由王书记电话跟进" in district and "请签收" not in district
    out = await h.say("王书记", "查询 #1", group=None)
    assert "责任：都江堰燃气公司（跟进：王书记）" in _texts(out, "王书记")
    # 小事: the department's window is 09:00–24:00; the half-time reminder @-mentions the follower
    h.clock.advance(hours=7, minutes=31)
    await sweep(h.bot)
    await h.worker.run_once()
    reminders = [(chat, t) for chat, t in h.new() if "【办结提醒 #1】" in t]
    assert reminders and all("@王书记" in t for _, t in reminders)
    assert {chat for chat, _ in reminders} == {COORD}  # where 王书记 is, not the district's group


async def test_transfer_confirmation_in_private_chat_carries_the_warning(h):
    await h.say("张阿姨", EBIKE, group=None)
    out = await h.say("王书记", "派单 #1 燃气", group=None)
    assert "都江堰燃气公司未登记联络人" in _texts(out, "王书记")


async def test_call_up_confirms_to_staff_and_tells_the_resident_separately(h):
    await h.say("张阿姨", EBIKE, group=None)
    await h.say("周网格", "呼叫 #1")
    out = await h.say("王书记", "呼叫 #1", group=None)
    assert _texts(out, "王书记").strip() == "⬆️ #1 已呼叫永丰街道协调处理。"
    assert "您反映的 #1 已呼叫永丰街道协调处理" in _texts(out, "张阿姨")


async def test_an_officials_call_up_goes_above_the_official(h):
    """王书记 (community) calling up a grid's ticket means the street, not himself."""
    await h.say("张阿姨", EBIKE, group=None)
    out = await h.say("王书记", "呼叫 #1")
    t = await _ticket(h)
    assert (t.holder_unit_id, t.holder_person_id, t.escalations) == ("yongfeng", "chen-jiedao", 1)
    assert "@陈主任" in _texts(out, STREET) and "@王书记" not in _texts(out, COORD)
    out = await h.say("周网格", "呼叫 #1")  # the grid worker is below the street: one tier above the holder
    assert (await _ticket(h)).holder_unit_id == "dujiangyan"
    await h.say("李大爷", "锦城花园3栋楼道堆满了杂物", group=None)
    await h.say("孙处长", "呼叫 #2", group=None)  # nobody is above the city: one tier above the holder
    async with h.bot.sessions() as s:
        assert (await s.get(Ticket, 2)).holder_unit_id == "xinlian"


async def test_a_withdrawal_reaches_whoever_holds_the_ticket_now(h):
    await h.say("张阿姨", EBIKE, group=None)
    await h.say("王书记", "呼叫 #1")  # now the street's
    out = await h.say("张阿姨", "撤销 #1 邻居已经把车推走了", group=None)
    assert "🚫 #1 已由上报人撤销：邻居已经把车推走了" in _texts(out, COORD)
    assert "无需再处理" in _texts(out, STREET) and "@陈主任" in _texts(out, STREET)


async def test_call_up_reason_reaches_the_upper_tier(h):
    await h.say("张阿姨", EBIKE, group=None)
    await h.say("周网格", "呼叫 #1")
    out = await h.say("王书记", "呼叫 #1 燃气公司要来")
    street = _texts(out, STREET)
    assert "【呼叫 #1】" in street and "由王书记呼叫" in street and "原因：燃气公司要来" in street


async def test_unsatisfied_reason_reaches_the_worker(h):
    await h.say("张阿姨", EBIKE, group=None)
    await h.say("周网格", "到场 #1")
    await h.say("周网格", "办结 #1 已劝离")
    out = await h.say("张阿姨", "不满意，电瓶车还在充，根本没人来", group=None)
    assert (await _ticket(h)).status == Status.reopened
    group = _texts(out, COORD)
    assert "重新打开" in group and "居民说：电瓶车还在充，根本没人来" in group and "@周网格" in group
