"""A resident's message read against their own tickets: urging, answering the place question,
cancelling, rating in any words, questions and complaints — through the router, on the real desk."""

from datetime import datetime

import pytest
from sqlmodel import func, select

from pingan.models import OutboxMessage, Status, Ticket, TicketEvent
from pingan.reports.ledger import COLUMN, Ledger
from tests.conftest import COORD, STREET, TZ
from tests.test_flow import texts, ticket

GAS = "山水天成8栋二单元楼道好大一股煤气味"
LIFT = "锦城花园5栋电梯坏了，上下楼很不方便"


async def tickets(h) -> int:
    async with h.bot.sessions() as s:
        return (await s.exec(select(func.count()).select_from(Ticket))).one()


async def actions(h, n) -> list[str]:
    async with h.bot.sessions() as s:
        q = select(TicketEvent.action).where(TicketEvent.ticket_id == n).order_by(TicketEvent.id)
        return list((await s.exec(q)).all())


async def resolved_lift(h):
    await h.say("刘阿姨", LIFT, group=None)
    await h.say("周网格", "到场 #1")
    await h.say("周网格", "办结 #1 已联系维保修好")
    h.new()


async def test_urging_an_urgent_ticket_at_night_re_alerts_and_counts(h):
    h.clock.set(datetime(2019, 4, 9, 2, 3, tzinfo=TZ))
    out = await h.say("林女士", GAS, group=None)
    receipt = texts(out, "林女士")
    assert receipt.startswith("🚨 请立即离开房间") and "本助手不会替您报警，请您亲自拨打" in receipt
    assert receipt.index("本助手不会替您报警") < receipt.index("#1")
    assert "明早" not in receipt
    post = texts(out, COORD)
    assert post.startswith("🚨燃气泄漏【紧急隐患 #1】") and "@周网格" in post and "@王书记" in post
    h.clock.advance(minutes=37)
    out = await h.say("林女士", "怎么还没有人来", group=None)
    assert await tickets(h) == 1
    answer = texts(out, "林女士")
    assert "#1" in answer and "周网格" in answer and "02:03 上报" in answer and "还没有人到场" in answer
    assert "请问具体在哪里" not in answer
    alert = texts(out, COORD)
    assert "【催办 #1】" in alert and "@周网格" in alert and "@王书记" in alert and "已过 37分钟" in alert
    await h.say("林女士", "都半小时了！！", group=None)
    out = await h.say("林女士", "快点来人啊😭", group=None)
    assert "【催办 #1】" in texts(out, STREET)  # the third urge also reaches the street
    t = await ticket(h, 1)
    assert t.urges == 3 and await tickets(h) == 1
    assert (await actions(h, 1)).count("urge") == 3
    ledger = Ledger(h.bot.org, h.bot.taxonomy, h.clock.tz, h.clock.now(), h.bot.settings.policy.on_scene_minutes)
    assert ledger.row(t)[COLUMN["催办次数"]] == 3


async def test_urging_a_ticket_someone_reached_tells_the_holder(h):
    await h.say("刘阿姨", LIFT, group=None)
    await h.say("周网格", "到场 #1")
    h.new()
    out = await h.say("刘阿姨", "什么时候能修好啊", group=None)
    assert "已到场" in texts(out, "刘阿姨") and "📢 #1 上报人催办" in texts(out, COORD)
    assert await tickets(h) == 1


async def test_the_answer_to_where_places_the_ticket_not_a_new_one(h):
    h.clock.set(datetime(2019, 4, 9, 2, 3, tzinfo=TZ))
    out = await h.say("林女士", "楼道里好大一股煤气味，快来人", group=None)
    assert "请问是哪个小区（或哪条路）的楼道" in texts(out, "林女士")  # the parser keeps 楼道 as the place
    out = await h.say("林女士", "就在山水天成8栋二单元楼道头", group=None)
    t = await ticket(h, 1)
    assert await tickets(h) == 1 and t.location.startswith("山水天成8栋") and t.grid_id == "xinlian-g2"
    assert "已补充到 #1" in texts(out, "林女士")


@pytest.mark.parametrize("words", ["不用来了 燃气公司已经来了", "搞错了 不用来了", "已经好了"])
async def test_cancelling_a_non_urgent_ticket_asks_then_withdraws(h, words):
    await h.say("刘阿姨", LIFT, group=None)
    h.new()
    out = await h.say("刘阿姨", words, group=None)
    assert "需要撤销 #1 吗？回复 1 撤销，2 继续处理" in texts(out, "刘阿姨")
    assert "🔕 #1 上报人说" in texts(out, COORD) and words in texts(out, COORD)
    assert (await ticket(h, 1)).status == Status.dispatched
    out = await h.say("刘阿姨", "1", group=None)
    assert (await ticket(h, 1)).status == Status.withdrawn and await tickets(h) == 1


async def test_keep_it_open_with_2(h):
    await h.say("刘阿姨", LIFT, group=None)
    await h.say("刘阿姨", "算了不用来了", group=None)
    out = await h.say("刘阿姨", "2", group=None)
    assert "继续处理" in texts(out, "刘阿姨") and (await ticket(h, 1)).status == Status.dispatched


async def test_an_urgent_ticket_is_not_closed_on_the_reporters_word(h):
    await h.say("林女士", GAS, group=None)
    h.new()
    out = await h.say("林女士", "不用来了 燃气公司已经来了", group=None)
    assert "工作人员到场确认安全后才会办结" in texts(out, "林女士")
    assert "紧急事项请到场确认安全后再「办结 #1」" in texts(out, COORD)
    assert (await ticket(h, 1)).status == Status.dispatched and await tickets(h) == 1


@pytest.mark.parametrize("words", ["非常满意！", "挺好的，谢谢你们", "修好了👍"])
async def test_rating_satisfied_in_any_words(h, words):
    await resolved_lift(h)
    await h.say("刘阿姨", words, group=None)
    t = await ticket(h, 1)
    assert (t.status, t.feedback) == (Status.closed, words) and await tickets(h) == 1


@pytest.mark.parametrize("words", ["不太满意,电梯还是坏的", "根本没修好", "电梯还是坏的😡"])
async def test_unsatisfied_with_a_reason_reopens(h, words):
    await resolved_lift(h)
    out = await h.say("刘阿姨", words, group=None)
    t = await ticket(h, 1)
    assert t.status == Status.reopened and await tickets(h) == 1
    assert "@周网格" in texts(out, COORD) and words in texts(out, COORD)


async def test_a_question_and_a_complaint_create_nothing(h):
    await h.say("刘阿姨", LIFT, group=None)
    h.new()
    out = await h.say("刘阿姨", "请问维修要收费吗？", group=None)
    assert "已转给 #1 的处理人员" in texts(out, "刘阿姨") and "❓ #1 上报人问" in texts(out, COORD)
    out = await h.say("刘阿姨", "你们这个服务态度太差了，我要投诉", group=None)
    assert "已转告社区负责人王书记" in texts(out, "刘阿姨") and "@王书记" in texts(out, COORD)
    assert await tickets(h) == 1 and (await ticket(h, 1)).status == Status.dispatched
    assert {"question", "complaint"} <= set(await actions(h, 1))


async def test_urging_with_no_ticket_opens_none(h):
    out = await h.say("路人", "怎么还没有人来", group=None)
    assert await tickets(h) == 0 and texts(out, "路人")


async def test_another_hazard_is_a_new_ticket_and_says_the_first_is_open(h):
    await h.say("刘阿姨", LIFT, group=None)
    out = await h.say("刘阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    assert await tickets(h) == 2 and "#1 仍在处理中" in texts(out, "刘阿姨")


async def test_the_same_hazard_soon_after_is_more_about_it(h):
    await h.say("刘阿姨", LIFT, group=None)
    out = await h.say("刘阿姨", "电梯坏了好几天了，老人下不了楼", group=None)
    assert await tickets(h) == 1 and "已把您的补充转给 #1" in texts(out, "刘阿姨")
    assert "💬 #1 上报人补充" in texts(out, COORD)


async def test_the_same_hazard_at_another_place_asks_one_numbered_question(h):
    await h.say("刘阿姨", LIFT, group=None)
    out = await h.say("刘阿姨", "山水天成6栋电梯也坏了", group=None)
    assert "是说 #1" in texts(out, "刘阿姨") and "回复 1 是，2 是新的问题" in texts(out, "刘阿姨")
    assert await tickets(h) == 1
    out = await h.say("刘阿姨", "2", group=None)
    assert await tickets(h) == 2 and (await ticket(h, 2)).location.startswith("山水天成6栋")


@pytest.mark.parametrize("text,first", [
    ("山水天成8栋厨房天然气漏气了", "🚨 请立即离开房间"),
    ("锦城花园3栋着火了，好大的烟", "🚨 请立即拨打 119！马上离开，不要乘电梯"),
    ("锦城花园门口有人拿刀砍人", "🚨 请立即拨打 110！远离对方"),
    ("锦城花园3栋门口有个老人晕倒了", "🚨 请立即拨打 120！"),
    ("锦城花园5栋电梯困人了，里面有小孩", "🚨 请按电梯里的警铃或对讲按钮，拨打电梯应急电话 96333"),
    ("锦城花园3栋有人触电了", "🚨 先切断电源"),
])
async def test_each_hazard_kinds_first_line(h, text, first):
    out = await h.say("居民乙", text, group=None)
    receipt = texts(out, "居民乙")
    assert (await ticket(h, 1)).urgent, text
    assert receipt.startswith(first) and "本助手不会替您报警，请您亲自拨打。" in receipt.splitlines()[1]


async def test_emergency_numbers_and_lines_come_from_config(h):
    h.bot.settings.emergency.gas = "028-87654321"
    out = await h.say("居民乙", GAS, group=None)
    assert "燃气公司抢修电话 028-87654321" in texts(out, "居民乙").splitlines()[0]
    h.bot.settings.emergency.texts = {"fire": "🚨 本市火警：请拨打 119。"}
    out = await h.say("居民丙", "锦城花园3栋着火了", group=None)
    assert texts(out, "居民丙").startswith("🚨 本市火警：请拨打 119。")


async def posted_on_qq(h, chat_id: str) -> str:
    """What the bot queued for a QQ group (the console harness delivers only console chats)."""
    async with h.bot.sessions() as s:
        rows = (await s.exec(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
                             .order_by(OutboxMessage.id))).all()
    return "\n".join("".join(p.get("text") or f"@{p['mention']['name']}" for p in r.payload["parts"]) for r in rows)


async def test_a_place_answer_that_moves_an_urgent_ticket_keeps_its_context(h):
    await h.say("居民丁", "楼道里着火了！好大的烟", group=None)
    out = await h.say("居民丁", "伏龙小区3栋", group=None)
    t = await ticket(h, 1)
    assert (t.unit_id, t.holder_person_id, t.also_unit_id) == ("xianglong", "ma-xianglong", "xinlian")
    there = await posted_on_qq(h, "700101")  # 祥龙社区平安群
    assert there.startswith("🚨火情【紧急隐患 #1】") and "楼道里着火了" in there and "@马网格" in there
    assert "@唐书记" in there and "由新联社区转来" in there and "前到场" in there
    assert "已转祥龙社区处理" in texts(out, COORD)
    out = await h.say("王书记", "到场 #1")  # the first community's lead may still act while it is open
    assert (await ticket(h, 1)).status == Status.on_scene


@pytest.mark.parametrize("words,status", [
    ("到场1号", Status.on_scene), ("1号到了", Status.on_scene), ("#1 已到", Status.on_scene),
    ("1号搞定了", Status.resolved), ("#1 办好了", Status.resolved), ("#1 处理好了，已断电", Status.resolved),
])
async def test_workers_natural_words(h, words, status):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    if status == Status.resolved:
        await h.say("周网格", "到场 #1")
    await h.say("周网格", words)
    assert (await ticket(h, 1)).status == status


async def test_a_quote_reply_到了_and_a_bare_one(h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    out = await h.say("周网格", "到了")
    assert "请写上编号" in texts(out, COORD) and (await ticket(h, 1)).status == Status.dispatched
    await h.say("周网格", "到啦", reply_to=h.remote_id_of("隐患 #1】"))
    assert (await ticket(h, 1)).status == Status.on_scene


async def test_users_words_are_quoted_as_written(h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    await h.say("周网格", "到场 #1")
    out = await h.say("周网格", "办结 #1 已断电，车已推走（物业配合）")
    assert (await ticket(h, 1)).resolution_note == "已断电，车已推走（物业配合）"
    assert "已断电，车已推走（物业配合）" in texts(out, "张阿姨")


@pytest.mark.parametrize("name,dept", [("煤气公司", "djy-gas"), ("消防队", "djy-fire"), ("警察", "djy-police-yf"),
                                       ("房管局", "djy-housing"), ("燃气", "djy-gas")])
async def test_departments_are_named_loosely(h, name, dept):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    await h.say("周网格", f"派单 #1 {name}")
    assert (await ticket(h, 1)).department_id == dept


async def test_an_unknown_department_lists_the_choices(h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    out = await h.say("周网格", "派单 #1 气象局")
    assert "没有找到部门「气象局」" in texts(out, COORD) and "燃气公司" in texts(out, COORD)


async def test_corrections_by_community_staff(h):
    await h.say("张阿姨", "这里好危险哦 锦城花园3栋楼道", group=None)
    out = await h.say("王书记", "改类 #1 燃气")
    t = await ticket(h, 1)
    assert (t.category, t.item) == ("facility", "燃气管道") and "改类" in texts(out, COORD)
    out = await h.say("王书记", "改地点 #1 山水天成2栋")
    t = await ticket(h, 1)
    assert (t.location, t.grid_id, t.holder_person_id) == ("山水天成2栋", "xinlian-g1", "li-wangge")
    assert "@李网格" in texts(out, COORD)
    await h.say("王书记", "改派 #1 第三网格")
    assert (await ticket(h, 1)).holder_person_id == "wu-wangge"
    await h.say("王书记", "改派 #1 @周网格")
    assert (await ticket(h, 1)).holder_person_id == "zhou-wangge"
    out = await h.say("周网格", "改类 #1 消防")  # a grid worker asks the community
    assert "由社区工作人员或上级处理" in texts(out, COORD) and (await ticket(h, 1)).item == "燃气管道"
    assert (await actions(h, 1)).count("correct") == 5


async def test_merge_and_every_reporter_hears_the_outcome(h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    await h.say("李大爷", "锦城花园3栋楼道有电瓶车在充电", group=None)
    h.new()
    out = await h.say("王书记", "合并 #2 #1")
    assert (await ticket(h, 2)).status == Status.returned and "已合并到 #1" in texts(out, "李大爷")
    await h.say("周网格", "到场 #1")
    out = await h.say("周网格", "办结 #1 已断电")
    assert "已办结" in texts(out, "张阿姨") and "已并入 #1）已办结：已断电" in texts(out, "李大爷")


async def test_corrections_export_as_parser_training_rows(h, tmp_path):
    from pingan.rules.corrections import training_rows

    await h.say("张阿姨", "这里好危险哦 锦城花园3栋楼道", group=None)
    await h.say("王书记", "改类 #1 燃气管道")
    async with h.bot.sessions() as s:
        rows = await training_rows(s, datetime(2019, 4, 1, tzinfo=TZ))
    assert rows == [{"text": "这里好危险哦 锦城花园3栋楼道", "report": True, "category": "facility",
                     "item": "燃气管道", "location": "锦城花园3栋", "urgent": False}]


async def test_a_grid_workers_return_waits_for_the_leads_review(h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    h.new()
    out = await h.say("周网格", "退回#1 不属于我们网格管")
    assert (await ticket(h, 1)).status == Status.dispatched
    assert "申请退回：不属于我们网格管" in texts(out, COORD) and "@王书记" in texts(out, COORD)
    assert "社区正在复核" in texts(out, "张阿姨")
    out = await h.say("王书记", "退回 #1 同意")
    t = await ticket(h, 1)
    assert (t.status, t.return_reason) == (Status.returned, "不属于我们网格管（社区复核同意）")
    out = await h.say("张阿姨", "明明就在锦城花园，怎么不归你们管", group=None)
    t = await ticket(h, 1)
    assert (t.status, t.holder_person_id) == (Status.reopened, "wang-shequ") and await tickets(h) == 1
    assert "退回后上报人有异议" in texts(out, COORD) and "@王书记" in texts(out, COORD)


async def test_the_lead_may_refuse_a_grid_workers_return(h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    await h.say("周网格", "退回#1 不属于我们网格管")
    out = await h.say("王书记", "退回 #1 不同意")
    assert (await ticket(h, 1)).status == Status.dispatched and "return_refused" in await actions(h, 1)
    assert "经王书记复核不同意" in texts(out, COORD) and "@周网格" in texts(out, COORD)
    assert "将继续处理" in texts(out, "张阿姨")
    out = await h.say("王书记", "退回 #1 同意")  # nothing awaits 复核 any more: not a 退回 without a reason
    assert (await ticket(h, 1)).status == Status.dispatched and "没有待复核的退回申请" in texts(out, COORD)


async def test_unsatisfied_with_a_number_reopens_a_returned_ticket(h):
    await h.say("张阿姨", "锦城花园3栋楼道里有人给电瓶车充电", group=None)
    await h.say("王书记", "退回 #1 已核实无人充电")  # the community's own 退回 needs no review
    assert (await ticket(h, 1)).status == Status.returned
    out = await h.say("张阿姨", "不满意 #1", group=None)
    t = await ticket(h, 1)
    assert (t.status, t.holder_person_id) == (Status.reopened, "wang-shequ")
    assert "由社区负责人王书记复核处理" in texts(out, "张阿姨")


async def test_help_lists_the_new_words(h):
    staff = texts(await h.say("王书记", "帮助"))
    assert "改类 #12" in staff and "合并 #12 #13" in staff and "到了" in staff and "煤气公司" in staff
    resident = texts(await h.say("居民乙", "帮助", group=None))
    assert "本助手不会替您报警" in resident and "怎么还没人来" in resident and "不用来了" in resident


async def test_a_danger_now_on_a_non_urgent_ticket_is_its_own_urgent_report(h):
    await h.say("王阿姨", "锦城花园3栋电梯又坏了 老人上不去楼", group=None)
    out = await h.say("王阿姨", "电梯里面还关了个人！！", group=None)
    assert await tickets(h) == 2 and (await ticket(h, 2)).urgent
    assert texts(out, "王阿姨").startswith("🚨 请按电梯里的警铃") and "#1 仍在处理中" in texts(out, "王阿姨")


@pytest.mark.parametrize("words", ["撤销 #1", "撤销"])
async def test_an_urgent_ticket_withdrawn_by_its_reporter_waits_for_a_worker(h, words):
    await h.say("林女士", GAS, group=None)
    h.new()
    out = await h.say("林女士", words, group=None)
    assert "工作人员到场确认安全后才会办结" in texts(out, "林女士")
    post = texts(out, COORD)
    assert "紧急事项请到场确认安全后再「办结 #1」" in post and "@周网格" in post and "@王书记" in post
    assert (await ticket(h, 1)).status == Status.dispatched and "cancel_request" in await actions(h, 1)
    await h.say("周网格", "到场 #1")
    await h.say("周网格", "办结 #1 阀门已关，已通风")
    assert (await ticket(h, 1)).status == Status.resolved


async def test_a_non_urgent_ticket_is_withdrawn_on_the_reporters_word(h):
    await h.say("刘阿姨", LIFT, group=None)
    out = await h.say("刘阿姨", "撤销 #1", group=None)
    assert (await ticket(h, 1)).status == Status.withdrawn and "已撤销 #1" in texts(out, "刘阿姨")


async def test_the_urgent_group_post_leads_with_the_hazard_and_its_own_safety_line(h):
    out = await h.say("居民乙", "锦城花园3栋着火了，好大的烟", group=None)
    post = texts(out, COORD)
    assert post.startswith("🚨火情【紧急隐患 #1】") and "@周网格" in post and "@王书记" in post
    assert "⚠️ 请立即拨打 119！马上离开，不要乘电梯" in post and "如有明火" not in post


async def test_an_unsure_message_asks_and_1_files_it(h):
    out = await h.say("居民乙", "这里好危险哦", group=None)
    assert texts(out, "居民乙") == "这是要报告隐患吗？回复 1 是，2 不是。"
    assert await tickets(h) == 0 and texts(out, COORD) == ""  # nothing opened, nobody @-mentioned
    out = await h.say("居民乙", "1", group=None)
    t = await ticket(h, 1)
    assert await tickets(h) == 1 and t.raw_text == "这里好危险哦" and t.category == "other"
    assert "编号 #1" in texts(out, "居民乙")


async def test_a_cry_for_help_naming_no_hazard_is_asked_safety_first(h):
    """"救命" with nothing the rules can file is never dropped: the question opens with what to do now."""
    out = await h.say("居民丙", "救命 我们被关起了", group=None)
    said = texts(out, "居民丙")
    assert said.startswith("🚨") and "110" in said and said.endswith("这是要报告隐患吗？回复 1 是，2 不是。")
    assert await tickets(h) == 0  # the question first: the model and the cry alone file nothing


async def test_a_joke_with_a_cry_for_help_is_left_alone(h):
    out = await h.say("居民丙", "哈哈哈笑死 救命", group=None)
    said = texts(out, "居民丙")
    assert "🚨" not in said and "这是要报告隐患吗" not in said and await tickets(h) == 0


@pytest.mark.parametrize("answer", ["2", "不是"])
async def test_an_unsure_message_answered_no_opens_nothing(h, answer):
    await h.say("居民乙", "担心他们会打起来", group=None)
    out = await h.say("居民乙", answer, group=None)
    assert "没有登记" in texts(out, "居民乙") and await tickets(h) == 0 and texts(out, COORD) == ""


async def test_the_question_expires(h):
    await h.say("居民乙", "这里好危险哦", group=None)
    h.clock.advance(minutes=h.bot.settings.bot.question_minutes + 1)
    await h.say("居民乙", "1", group=None)
    assert await tickets(h) == 0


async def test_an_unsure_message_with_an_open_ticket_asks_which(h):
    await h.say("刘阿姨", LIFT, group=None)
    h.clock.advance(hours=3)  # past the first hours, when anything said in private is about it
    out = await h.say("刘阿姨", "这里好危险哦", group=None)
    assert texts(out, "刘阿姨").startswith("是说 #1") and "回复 1 是，2 是新的问题。" in texts(out, "刘阿姨")
    assert await tickets(h) == 1 and texts(out, COORD) == ""
    out = await h.say("刘阿姨", "是", group=None)
    assert await tickets(h) == 1 and "💬 #1 上报人补充" in texts(out, COORD)


async def test_an_urgent_message_is_never_held_back_by_a_question(h):
    out = await h.say("居民乙", "救命啊 着火了", group=None)
    assert await tickets(h) == 1 and "要报告隐患吗" not in texts(out, "居民乙")
    assert texts(out, COORD).startswith("🚨")


async def test_a_danger_after_a_thin_report_is_its_own_ticket_not_its_place(h):
    await h.say("居民乙", "这里好危险哦", group=None)
    await h.say("居民乙", "1", group=None)  # #1: 其他, no place yet
    out = await h.say("居民乙", "锦城花园3栋着火了，好大的烟", group=None)
    assert await tickets(h) == 2 and (await ticket(h, 2)).urgent and (await ticket(h, 1)).location is None
    assert texts(out, COORD).startswith("🚨火情【紧急隐患 #2】")
