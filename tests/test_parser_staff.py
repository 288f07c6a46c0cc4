"""Round "staff voice" (issue 14): messages grid workers, community staff, property managers and
guards write in their work groups. Sentences written for these tests, one class of wording each."""

from __future__ import annotations

import pytest

from pingan.parser import parse

# danger now, even when staff have already called for help or told the maintenance company
URGENT = [
    "5栋1号电梯困人，轿厢里有两个老人，已通知维保，请求支援",
    "西门菜市场有个人遭电了，趴在地上，已打120",
    "村口那辆三轮车翻下坎了，车上两个人受伤，120已打",
    "幸福里有个老人在楼梯上摔了，头破了，已打120",
    "8栋门口那条大狗把小孩咬了，咬得很深，已报110",
    "厂区飘过来一股黄色气体，居民咳嗽眼睛痛，有人喘不上气，已报120",
    "二组一户人家里吃了席好多人食物中毒，还在吐，卫生院忙不过来，请求支援",
    "城东化工厂那边有刺鼻气体飘过来，好多人咳嗽，有个老人喘不上气，已报120",
    "有个小伙子说他被关在出租屋，手机要被收走了，他们不让他走，已报110",
]

# closing and progress updates: the thing was removed, replaced or rebuilt, the people got out
ALL_CLEAR = [
    "2栋楼道的杂物已全部清走，住户签了字",
    "6栋电梯困人已解救，2人均无碍",
    "掉进塘里的那个娃娃救起来了，送医院检查了，人是清醒的",
    "老街那家面馆的液化气罐已换成管道气了",
    "3号楼外墙空鼓的地方已凿除，下面拉了警戒线",
    "河边那几个违建棚子已被城管取缔了",
    "北门围墙的缺口已经砌起来了",
    "小学门口的斑马线重新画了，减速带也装了",
    "施工单位已在燃气管道上方设了警示标识",
    "经现场查看，所谓“着火”是烧烤店的油烟，不是着火",
    "楼上那户装修的已经停了晚上施工",
    "经核实，那户是做手工艺品的，排除吸毒嫌疑",
]

# task notices to every grid, estate or school
NOTICE = [
    "明天大风，请各物业检查楼顶广告牌和雨棚",
    "各物业：下月起消防控制室夜间必须两人值班",
    "各位注意：最近有人冒充供电所上门收费，请提醒住户",
    "中秋前开展一次安全隐患大排查，重点是燃气和电动车",
]

# staff questions about the rules
QUESTION = [
    "电动车充电超过几小时算违规？是按次数还是按时长？",
    "消防栓被圈进花园了，能不能直接拆除？",
    "网格员的交通补贴什么时候发",
]

# summaries of past work
PAST = [
    "上月共排查出租屋56户，发现隐患9处，已全部整改",
    "上季度辖区电梯困人事件共5起，均在20分钟内解救",
    "本季度共调解邻里纠纷14件，成功12件",
    "11月份共接到占道经营投诉17起，比上月少了5起",
]

# findings staff already acted on stay reports
FINDINGS = [
    "光明路12号门面里私拉电线给电瓶车充电，已通知房东整改",
]


@pytest.mark.parametrize("text", URGENT)
def test_danger_now_after_help_called(text):
    r = parse(text)
    assert r.report and r.urgent, (text, r)


@pytest.mark.parametrize("text", ALL_CLEAR)
def test_closing_update_is_all_clear(text):
    r = parse(text)
    assert not r.report, (text, r)
    assert not r.urgent


@pytest.mark.parametrize("text", NOTICE)
def test_task_notice(text):
    r = parse(text)
    assert not r.report and r.why_not == "notice", (text, r)


@pytest.mark.parametrize("text", QUESTION)
def test_staff_question(text):
    r = parse(text)
    assert not r.report and r.why_not == "question", (text, r)


@pytest.mark.parametrize("text", PAST)
def test_work_summary_is_past(text):
    r = parse(text)
    assert not r.report and not r.urgent and r.why_not == "past", (text, r)


@pytest.mark.parametrize("text", FINDINGS)
def test_finding_already_acted_on_is_a_report(text):
    r = parse(text)
    assert r.report and not r.urgent, (text, r)



# a person under mental-health supervision turning violent now: the person is the topic (重点人群)
@pytest.mark.parametrize("text", ["5-1-202那个男的又发病了，在用斧头砍邻居的门",
                                  "楼下那个精神病人拿起菜刀在追人，保安在拦，快来人！"])
def test_key_person_violent(text):
    r = parse(text)
    assert r.report and r.urgent and r.category == "key_groups" and r.hazard == "violence", (text, r)
