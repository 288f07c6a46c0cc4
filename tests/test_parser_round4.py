"""Hazard parser, round 4 (issue 14): urgent false alarms down without losing urgent recall. Classes of
false alarms seen in the train parts of the hand-written corpora and the tuned sets (never their single
sentences). Each case fails without the rule it names; the emergencies next to them stay urgent."""

from __future__ import annotations

import pytest

from pingan.parser import parse


@pytest.mark.parametrize("text", [
    # tiles or facing falling off a wall by a lift entrance: a facade, not a lift falling (lift_people)
    "5栋电梯口外墙的瓷砖往下掉，请物业来看看",
    "3单元电梯口那面墙的墙皮往下掉，好多渣渣",
    # an animal killed for a meal is no weapon (weapon: 杀只, 杀一只)
    "周末回来吃饭嘛，你爸说要杀只鸭子，楼下那个路灯坏了你回来的时候注意点",
    # an injury told to claim compensation or legal aid afterwards (weapon: 赔偿, 工伤, 打官司, 律师)
    "我老汉在厂里干活受伤了，厂里不给赔偿，想问下社区能不能帮忙申请法律援助",
    # a balcony sunk out of level is a building defect, nobody going under (water_people: 阳台)
    "我们楼好多户的阳台都往下沉了，住了好多老人，裂缝也越来越多，希望来鉴定一下",
    # worn-away road markings (看不见了) are no one gone under the water (water_people: 看不见)
    "学校门口的斑马线都磨得看不见了，娃娃们过马路好危险，请交警来重新画一下",
    # 到现在也没有动静 is a renovation not moving, not an old person silent (elderly_unresponsive)
    "我们楼住的都是老人，墙裂了好多年，说要纳入老旧小区改造，到现在也没有动静",
    # someone in a sublet room cooking is not shut in (lift_people: 煮饭, 做饭, 群租)
    "那套房子隔成了十几个单间，有人在里面煮饭，进出电梯都挤不上去",
    # deep water named as what a place is (water: 就是深水区)
    "小区后面那个堰塘边上的栏杆断了，下面就是深水区，也没有警示牌",
    # how heated a quarrel is (都快打起来了), not a fight starting (fight_imminent)
    "楼上漏水把楼下的天花板泡烂了，物业也不管，两家人都快打起来了",
    # a consequence, not a fall (踩上去就掉下去: falling, water_people)
    "二组路口的井盖被偷了 上面就搭了块纸板 小孩子踩上去就掉下去",
])
def test_danger_words_of_a_non_urgent_hazard_are_no_emergency(text):
    r = parse(text)
    assert not r.urgent, (text, r.hazard, r.matched)


@pytest.mark.parametrize("text, hazard", [
    # the same rules still catch the emergencies they were written for
    ("菜市场两个摊主打起来了，一个拿了杀猪刀出来", "violence"),
    ("电梯突然往下掉，里面还有人在喊", "trapped_lift"),
    ("沙河那里有学生在游泳 有一个往下沉了 在喊", "drowning"),
    ("小孩掉进深水区了，快来人", "drowning"),
    ("隔壁独居的婆婆好几天没出门了，敲门也没反应", "casualty"),
    ("小区门口两个人打起来了，一个拿着砍刀", "violence"),
    ("井盖没盖 有个小孩掉下去了 在喊", "casualty"),
])
def test_emergencies_next_to_the_round4_classes_stay_urgent(text, hazard):
    r = parse(text)
    assert r.urgent, (text, r.matched)
    assert r.hazard == hazard


# ---- round 8: category words (sentences written for these tests) ----
@pytest.mark.parametrize("text, item, word", [
    ("我们院子里住着一个精神疾病患者 最近经常半夜在院子里乱吼 大家都有点怕", "社区特殊人群", "精神疾病患者"),
    ("老宿舍楼的楼梯垮了一截 二楼的人下不来 快来看看", "老旧危房", "楼梯塌"),
    ("小区地下车库逢雨必淹 每次下大雨车子都泡在水里", "生活性排污", "必淹"),
    ("那个坐轮椅的孃孃 一个人在家 好几天都没人管了", "弱势群体", "坐轮椅"),
    ("有个小孩被电梯门夹住了 在哭 快来", "特种设备", "被电梯"),
    # an exit blocked by something named in between; a fire engine that cannot get in
    ("我们院子唯一的出口被一个违章搭的棚子堵死了 消防车根本开不进来", "应急通道堵塞", "消防车根本开不进"),
    ("我们院子唯一的出口被一个违章搭的棚子堵死了 消防车根本开不进来", "应急通道堵塞", "出口被一个违章搭的棚子堵"),
])
def test_round8_item_words(text, item, word):
    r = parse(text)
    assert r.item == item and word in r.matched, r
