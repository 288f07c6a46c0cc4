"""Round 9 of issue 14: classes of misses seen on the hand-written dev parts, each tested on wording of
its own (not the dev sentences): danger now in words no rule knew, danger cancelled by a word that
belongs elsewhere, and figures of speech that read as danger."""

import pytest

from pingan.parser import parse


@pytest.mark.parametrize("text, hazard", [
    # a sudden stroke's signs told by a relative
    ("我爷爷刚才吃饭的时候突然说不出话了，嘴巴也歪了", "casualty"),
    # someone chased with a weapon now
    ("两个人在菜市场门口吵，一个提着菜刀在追", "violence"),
    # a person or a car in the water now
    ("有辆面包车冲进河里了 司机还没出来", "drowning"),
    ("河里有个人在水里漂 看不清是男是女", "drowning"),
    # gas escaping told without the word 燃气
    ("楼上厨房软管脱了 气一直在跑 人不在家", "gas"),
    # a ride or a work platform stopped high up with people on it
    ("施工升降机卡在半空了 上头有人在喊", "trapped_lift"),
    # blood that will not stop
    ("小孩被碎玻璃划到手 血一直在流 止不住", "casualty"),
    # stones falling where traffic still passes
    ("山边那段路在掉石头，车还在过", "collapse"),
])
def test_danger_now_in_words_no_rule_knew(text, hazard):
    r = parse(text)
    assert r.report and r.urgent and r.hazard == hazard, r


@pytest.mark.parametrize("text", [
    # a suspicion a few words before the danger: 是不是 asks, it does not deny
    "好大一股味道 是不是哪里漏气了",
    "桥下躺了个人 一动不动 不晓得是不是被车撞了",
    # a negation in an earlier clause, after a space, does not reach the danger word
    "气表一直在转 我灶都没开 味道好大",
    # an order to raise the alarm is no group notice
    "有个娃娃掉进河里了 快通知下游的人拦一下",
    # "都还在" of traffic still passing is no all-clear
    "工地把燃气管挖破了 呼呼在冒气 人都还在旁边看",
    # fear felt now is no worry about later
    "有个男的一路跟着我 我好怕 在地铁口",
])
def test_danger_now_not_cancelled_by_a_word_that_belongs_elsewhere(text):
    r = parse(text)
    assert r.report and r.urgent, r


@pytest.mark.parametrize("text", [
    "这周加班加到我都晕了",
    "这个月的电费单看得我要晕了",  # (a bill: "要晕了" said by the writer)
    "邻居家装修吵了一整天 气到爆炸",
    "这家的冒菜辣得人直冒火",
    "被这首歌电到了 单曲循环一下午",
    "冬天静电电人好疼 开门都不敢摸",
    "您的验证码为5531，请勿泄露给他人",
    "家里的火灾险快到期了 要不要续",
    "游泳老师说下个月可以去深水区了",
    "刚才说有人拿刀 是误会了 人家在切菜",
    "两口子吵了一晚上 现在不吵了",
])
def test_figures_of_speech_and_called_off_alarms_are_no_emergency(text):
    r = parse(text)
    assert not r.urgent, r


def test_a_person_who_fainted_is_still_danger_now():
    # the figures above must not swallow the real thing
    for text in ("我妈晕倒在厨房了 叫不醒", "隔壁婆婆气晕了 倒在地上不动", "有个工人热晕了 倒在工地上"):
        r = parse(text)
        assert r.report and r.urgent and r.hazard == "casualty", (text, r)


def test_chest_pain_and_fainting_now_is_danger_now():
    r = parse("我要晕过去了 胸口好痛 一个人在家")
    assert r.report and r.urgent, r


@pytest.mark.parametrize("text, bad", [
    ("吃了菌子 好几个人都在吐 有个站都站不稳了", "站"),
    ("车子冲进河里了 人还在里面", "冲进"),
])
def test_a_verb_before_a_place_suffix_is_no_place(text, bad):
    r = parse(text)
    assert r.urgent, r
    assert r.location is None or bad not in r.location, r


@pytest.mark.parametrize("text, place", [
    ("田坎上那根电线杆歪了 电线都垂到地上了", "田坎"),
    ("5号门岗那里有两个人在推搡保安", "5号门岗"),
    ("下穿隧道的排水沟堵了 一下雨就积水", "下穿隧道"),
    ("老年活动室里头的插座烧黑了", "老年活动室"),
    ("单元门的锁坏了一个多月了 谁都进得来", "单元门"),
])
def test_generic_spots_residents_name_alone_are_the_place(text, place):
    r = parse(text)
    assert r.report and r.location and place in r.location, r


def test_a_street_lamp_is_no_road():
    r = parse("小区花园的路灯杆 底下检修门没了 里面电线露出来 小孩子在旁边耍")
    assert r.report and r.location and r.location.startswith("小区花园") and not r.location.endswith("的路"), r
    # and 检修门 is a door, not a maintenance notice


def test_a_thin_hazard_word_is_filed_when_the_model_is_sure_and_asked_when_not(monkeypatch):
    from pingan.parser import engine
    from pingan.parser import model as parser_model
    text = "楼道里头那家把鞋柜 花盆 坛坛罐罐全堆出来 过个人都难"
    monkeypatch.setattr(parser_model.ParserModel, "p_report", lambda self, t, feats=None: 0.97)
    assert parse(text).report
    monkeypatch.setattr(engine, "_MODEL_CORROBORATE", 0.99)
    r = parse(text)
    assert not r.report and r.ask, r  # below it: asked, never dropped silently


@pytest.mark.parametrize("text, place", [
    ("科技园那家塑料厂半夜往河里排黑水", "科技园那家塑料厂"),
    ("桥头那个鱼塘边上没有护栏 娃娃天天在边上耍", "鱼塘"),
    ("建设路那家火锅店的后厨把液化气罐放在过道里", "建设路那家火锅店"),
])
def test_a_place_and_the_place_pointed_to_in_it_are_one_location(text, place):
    r = parse(text)
    assert r.report and r.location and place in r.location, r


@pytest.mark.parametrize("text, bad", [
    ("前几天小区里有家阳台着火了 现在消防栓还是没水", "前几天"),
    ("老板把二楼隔成宿舍了 住了二十几个人", "隔成"),
    ("他们把潲水直接倒进小区的下水道 臭得很", "倒进"),
])
def test_a_time_or_a_verb_is_no_part_of_a_place_name(text, bad):
    r = parse(text)
    assert r.location is None or bad not in r.location, r


def test_a_place_takes_the_spot_written_after_it():
    r = parse("金牛区抚琴街道一个菜市场后面的排水沟被鱼鳞堵死了，臭得很")
    assert r.report and r.location and r.location.endswith("菜市场后面的排水沟"), r
    r = parse("锦绣花园C区12栋的楼道灯坏了好久了")
    assert r.location == "锦绣花园C区12栋的楼道", r
    # what follows 的 that is no spot stays out
    r = parse("锦绣花园C区12栋的业主反映 电梯天天坏")
    assert r.location and r.location.startswith("锦绣花园C区12栋") and "业主" not in r.location, r


def test_an_anonymised_place_written_after_a_named_one_is_kept_with_it():
    r = parse("A市A1区玉林街道芳草街某栋一楼开了个酒吧，每晚噪音到凌晨")
    assert r.location and r.location.endswith("芳草街某栋一楼"), r


def test_a_board_post_titled_as_a_complaint_tells_of_a_past_danger_not_one_now():
    text = ("关于翠苑小区电梯多次困人的问题反映。上个月8号楼的电梯把我父亲困在里面四十分钟，打物业电话没人接，"
            "最后是消防员来才救出来。之后又困过两次，物业一直说在等配件，请有关部门督促物业彻底维修。")
    r = parse(text)
    assert r.report and not r.urgent, r
    # the same story told as it happens is danger now
    r = parse("翠苑小区8号楼电梯困人了 我爸在里面 打物业电话没人接 快来")
    assert r.report and r.urgent and r.hazard == "trapped_lift", r


@pytest.mark.parametrize("text", [
    "好多邻居都不晓得燃气漏了要先关阀门再开窗",                # what to do first: a lesson, not a leak
    "二手车市场门口堆了一排废机油桶 有泄漏 地上全是油",      # an oil leak is no gas leak
    "上周五楼道着过火 早就灭了 但是烧焦的电线还吊在那里没人管",  # the damage left, not a fire now
])
def test_a_lesson_an_oil_leak_or_the_damage_left_is_no_emergency(text):
    assert not parse(text).urgent


def test_a_title_line_over_a_long_body_with_no_word_of_now_is_no_emergency():
    text = ("城中村出租房人员混杂\n尊敬的领导：我们村里几乎每家都把房子隔成小单间出租，住了很多外地来打工的人，"
            "房东不登记也不看身份证。最近村里治安不好，有人丢东西，还有人打架，希望派出所多来巡逻，把出租房登记管起来。")
    r = parse(text)
    assert r.report and not r.urgent, r


def test_an_anonymised_place_written_in_a_level_is_kept_with_it():
    r = parse("您好！A市A2区八里庄街道某小区门口有一家棋牌室，后面隔间住了人，电线乱接")
    assert r.report and r.location == "A市A2区八里庄街道某小区门口", r


@pytest.mark.parametrize("text, bad", [
    ("尊敬的社区领导：我们是东大街的沿街商户，想请消防站来给商户讲一下灭火器怎么用", "尊敬"),
    ("中学食堂饭菜里吃出了虫子 娃娃都不敢吃了", "饭菜里"),
    ("农家乐里的小摩天轮没有检验标志 天天有娃娃坐", "家乐里"),
])
def test_a_greeting_or_inside_a_word_is_no_place(text, bad):
    r = parse(text)
    assert r.location is None or bad not in r.location, r


@pytest.mark.parametrize("text, bad", [
    ("小区改造后消防车道变成了停车位，消防车根本开不进小区", "开不进"),
    ("桥洞下的限高杆没有了，但桥下面天天有货车撞", "但桥"),
    ("景区门口天天有黑车司机拦着游客的路拉客", "游客的路"),
    ("公租房小区住的都是老人和低收入家庭，消防栓都是坏的", "家庭"),
])
def test_a_clause_a_conjunction_or_a_household_is_no_place(text, bad):
    r = parse(text)
    assert r.location is None or bad not in r.location, r


def test_a_patrol_verb_is_no_part_of_the_place():
    r = parse("抽查金泉农贸市场周边4家卤菜摊，其中1家使用过期卤料，已督促下架")
    assert r.location and not r.location.startswith("抽查"), r


@pytest.mark.parametrize("text, hazard", [
    ("有个女的翻到桥上栏杆外面去了 好像要跳 快来人", "other"),
    ("smell of gas 很重 在我们家楼道 不敢开灯", "gas"),
    ("6栋elevator stuck 里面有老人", "trapped_lift"),
    ("对面楼火都窜到四楼了 好多人在喊", "fire"),
    ("后山起山火了 往村子这边烧过来了", "fire"),
    # a panicked question in its own clause does not make the danger hypothetical
    ("厨房管子嘶嘶的响 好臭 怎么办啊", "gas"),
])
def test_danger_now_in_more_words(text, hazard):
    r = parse(text)
    assert r.report and r.urgent and r.hazard == hazard, r


@pytest.mark.parametrize("text", [
    "这家串串辣得很 吃得我嘴巴冒烟",
    "今天傍晚的火烧云好漂亮 快出来看",
    "那部剧里女主着火那场戏演技好假",
    "接到个诈骗电话 说我快递着火了要理赔",
    "3栋电梯被困老人已安全救出，情绪稳定",
    "@李姐 上周化工仓库泄漏的后续报告交了没",
])
def test_more_figures_and_closed_cases_are_no_emergency(text):
    assert not parse(text).urgent


@pytest.mark.parametrize("text", [
    "完了 我的人设彻底塌了 开会的时候叫错了领导的名字",
    "看球看到最后一分钟进球 我直接炸了",
    "这个月加班加得像被关在笼子里一样",
    "钓鱼的时候手机落水了 捞起来还能用",
])
def test_a_persona_a_fan_a_cage_or_a_phone_is_no_emergency(text):
    assert not parse(text).urgent
