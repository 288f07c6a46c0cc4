"""Round 11 (issue 14): classes of misses in the new written_o train part. Hazards outside the
taxonomy's items (category other), danger now in a door, a canopy or a charcoal-heated room, and
figures of speech that are no hazard. The sentences are written for these tests, not taken from any
data file."""

import pytest

from pingan.parser import parse


# an animal biting or charging, ice underfoot, a dead tree leaning, a broken public fixture, falling
# rocks, broken glass, a dog off the lead: reports, category other
@pytest.mark.parametrize("text", [
    "二号院那条大黄狗昨天又把送快递的咬了，主人还是不拴",
    "村口有几头野猪在拱菜地，还追着放学的娃儿跑",
    "梧桐苑北门那段台阶结了一层冰，早上好几个老人滑倒",
    "操场边那棵枯死的老杨树往跑道那边歪了，风一吹就晃",
    "人民公园儿童区的秋千链子锈断了一根，娃娃还在上面荡",
    "后山这几天一直有落石，村道上好几块大石头",
    "广场滑梯底下全是碎玻璃，不晓得哪个摔的酒瓶",
    "小区里有人遛比特犬从来不牵绳，也不戴嘴套",
])
def test_hazards_outside_the_taxonomy(text):
    r = parse(text)
    assert r.report and r.category == "other", r


@pytest.mark.parametrize("text,hazard", [
    ("快来 商场的旋转门把一个小娃儿卡住了 门还在转", "other"),
    ("菜场那个帆布顶棚兜了一大包水 往下坠 快撕开了 底下全是人", "collapse"),
    ("楼上邻居屋头烧炭盆取暖，门窗关得死死的，敲了半天门没人应", "casualty"),
    ("3栋有户人家在打老婆 叫得好惨", "violence"),
])
def test_danger_now(text, hazard):
    r = parse(text)
    assert r.report and r.urgent and r.hazard == hazard, r


# charcoal named in a reminder, a door that only sticks: not danger now
@pytest.mark.parametrize("text", [
    "提醒大家冬天不要在屋头烧炭取暖，门窗关死了容易中毒",
    "上次旋转门卡住了一个小孩，后来物业修好了",
])
def test_not_danger_now(text):
    assert not parse(text).urgent


def test_steam_from_a_boiler_is_no_gas_leak():
    r = parse("厂里那台蒸汽锅炉一直在漏气，压力表也不准了")
    assert r.report and r.item == "特种设备" and not r.urgent, r


# a drum kit, an escape room, a dish, a match or homework are no fight, trap, fire or drowning
@pytest.mark.parametrize("text", [
    "我女儿在学打架子鼓，邻居都说打得好",
    "周末去玩密室逃脱，有一关是困在电梯里，好刺激",
    "这个干锅肥肠油一下锅噼里啪啦的，香得很",
    "昨晚那场球赛打到最后三秒绝杀，炸了",
    "作业多得要把娃儿淹死了，天天写到十一点",
    "最近加班太多，感觉要被压垮了",
    "这锅红汤看着就像着火了，太辣了",
])
def test_figures_of_speech(text):
    r = parse(text)
    assert not r.report and not r.urgent, r


# a child gone in a street or a mall is missing (casualty, category other), by water it is drowning
@pytest.mark.parametrize("text,hazard", [
    ("我家6岁的儿子在万达广场门口走丢了，穿蓝色外套", "casualty"),
    ("小孩不见了！刚才还在超市门口，4岁，扎两个辫子", "casualty"),
    ("塘边那个娃儿刚才还在耍水，一转眼不见了", "drowning"),
])
def test_a_missing_child(text, hazard):
    r = parse(text)
    assert r.report and r.urgent and r.hazard == hazard, r
    if hazard == "casualty":
        assert r.category == "other", r


def test_a_missing_child_found_again_is_no_alarm():
    assert not parse("刚才走丢的孩子已经找到了，谢谢大家").urgent


# a fight that did not happen or was broken up, a leak ruled out: all clear; a fight going on is not
@pytest.mark.parametrize("text", [
    "刚才楼下没打起来，就是吵了两句，保安已经劝开了",
    "燃气公司来看了，说没有漏气，是厨房下水的味道",
])
def test_all_clear(text):
    r = parse(text)
    assert not r.report and not r.urgent, r


def test_a_fight_not_yet_broken_up_is_still_danger():
    r = parse("两个醉汉在烧烤摊打架 保安还没劝开")
    assert r.report and r.urgent, r


# places: where the writer lives said as 我在…住 is not the hazard's; more suffixes (商厦, 宫, 酒楼);
# a pavilion is no "…里" estate; a bin room is a generic place
@pytest.mark.parametrize("text,place", [
    ("我在锦绣苑住，跟我们小区没关系，是旁边那家宏达化工厂晚上偷偷排废气", "宏达化工厂"),
    ("我家在清风苑，不是我们小区，是对面那个金鼎商厦的地下室堆了好多汽油", "金鼎商厦的地下室"),
    ("有个老人在文殊宫门口晕倒了，叫不答应", "文殊宫门口"),
    ("有人天天晚上在小区凉亭里打牌赌钱", "小区凉亭"),
    ("垃圾房旁边那根电线的皮掉完了，铜丝都露出来了", "垃圾房旁边"),
])
def test_places(text, place):
    assert parse(text).location == place


def test_hazard_hints_name_the_kind_no_rule_named():
    """[hazard_hints]: the text's words give an urgent report's kind where no rule, item or category does."""
    from pingan.parser.engine import _hinted_hazard
    from pingan.parser.lexicon import get_lexicon
    from pingan.taxonomy import default_taxonomy

    lex = get_lexicon(default_taxonomy())
    assert _hinted_hazard("路口那块广告牌被风吹得往下倒，下面全是人", lex) == "collapse"
    assert _hinted_hazard("桥洞下面有个人躺了两天，叫他没反应", lex) == "casualty"
    assert _hinted_hazard("树倒下来压住了车，里面好像还有人", lex) == "casualty"  # a person first
    assert _hinted_hazard("楼道里堆满了纸箱", lex) is None


def test_a_hazard_hint_outside_the_kinds_is_refused(tmp_path):
    from pingan.errors import ConfigError
    from pingan.parser.lexicon import build_lexicon
    from pingan.taxonomy import default_taxonomy

    bad = tmp_path / "lex.toml"
    bad.write_text('[hazard_hints]\nearthquake = ["地震"]\n', "utf-8")
    with pytest.raises(ConfigError, match="hazard_hints.earthquake"):
        build_lexicon(default_taxonomy(), bad)
