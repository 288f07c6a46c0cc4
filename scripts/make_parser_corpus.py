"""Write the generated parser training and dev corpus (tests/data/parser_corpus_{train,dev}.jsonl).

    python scripts/make_parser_corpus.py [--n 4000] [--seed 14]

Messages are composed from hand-written pieces below: a hazard statement per taxonomy item (and
per danger-to-life kind), places with and without administrative prefixes, openers and closers in
plain, colloquial and Sichuan wording, typos and emoji; and at least a third non-reports: questions,
billing, licensing, service complaints, suggestions, chit-chat, all-clear notes, notices, past
events, and a word-sense trap for every hazard keyword. Deterministic for a seed. The held-out files
(tests/data/parser_holdout*.jsonl) are written by hand and never generated from these pieces.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data"

ESTATES = ["锦城花园", "翠竹苑", "阳光小区", "金沙家园", "桂花巷小区", "南苑新村", "和平里", "东湖华府", "青龙苑",
           "红旗新村", "幸福家园", "银杏山庄", "北城公寓", "滨江花园", "龙泉小区", "西街大院", "长顺苑", "玉林小区"]
ROADS = ["人民路", "建设路", "解放大道", "光华街", "桂溪路", "府河路", "学府路", "春熙路", "沙湾路"]
ADMIN = ["", "", "", "武侯区", "A3区", "高新区", "锦江区玉林街道", "B市B2区", "双流区东升街道", "K8县青山镇"]
UNITS = ["", "3栋", "5栋2单元", "12幢", "A区6栋", "2期8栋", "7号楼", "1单元", "4栋301"]
DETAIL = ["", "楼道", "地下车库", "门口", "东门", "楼顶", "电梯口"]
OPENERS = ["", "", "", "你好，", "您好，", "社区的同志，", "麻烦问下，", "反映个事，", "喂，", "各位，", "我要反映，",
           "跟你们说个事哈，", "我是住在这边的居民，"]
CLOSERS = ["", "", "", "，麻烦处理一下", "，请尽快来看看", "，谢谢", "，好久了没人管", "！！", "😡", "🙏", "，咋个办哦",
           "，希望社区重视", "，莫得人管", "。"]
URGENT_CLOSERS = ["", "", "快来人！", "快点！！", "🆘", "救命啊", "赶紧来", "已经打了119", "快叫救护车"]

# item → (category, statements). A statement is one way a resident says it.
ITEMS = {
    "消防设施老化": ("fire", ["灭火器都过期了", "消防栓打开没水", "消防箱里的水带不见了", "应急灯全部不亮", "烟感报警器坏了",
                           "疏散指示牌掉了", "灭火器压力表指到红色了", "消防门关不上"]),
    "电瓶车违规充电": ("fire", ["有人把电瓶车推进楼道充电", "电动车停在过道里充电一晚上", "从窗户拉飞线给电瓶车充电",
                             "电瓶拿回家放在沙发边上充", "有人把电动车推进电梯", "电平车在楼到里冲电"]),
    "应急通道堵塞": ("fire", ["消防通道被私家车堵死了", "楼道堆满了纸箱和旧家具", "安全出口被锁住了", "消防车道上画了停车位",
                           "逃生楼梯堆满了杂物"]),
    "危化品存放": ("fire", ["门面里囤了好多桶汽油", "地下室放了十几个液化气罐", "仓库里堆着油漆和稀料", "有人在出租屋存放酒精桶"]),
    "三合一九小场所消防隐患": ("fire", ["小作坊前面做生意后面住人", "网吧窗户全焊了防盗网只有一个门", "服装加工厂楼下车间楼上住工人"]),
    "消防宣传": ("fire", ["从来没搞过消防演练", "好多老人不会用灭火器", "居民防火意识太差需要宣传"]),
    "电气设施": ("facility", ["电线老化外皮都裂了", "电表箱门坏了线露在外面", "配电箱门一直开着", "楼道电线乱拉像蜘蛛网",
                          "变压器嗡嗡响旁边就是幼儿园"]),
    "燃气管道": ("facility", ["燃气管道锈得很厉害", "燃气管被车撞歪了", "燃气立管被包进墙里了", "燃气表装在卫生间里"]),
    "失修围墙": ("facility", ["围墙裂了好大一条缝", "围墙往外歪了", "围墙倒了一截", "围墙上的砖头松了"]),
    "老旧危房": ("facility", ["外墙瓷砖往下掉", "老房子墙上好多裂缝", "阳台栏杆锈断了", "楼板开裂了", "危房还有人住"]),
    "人防物防技防隐患": ("security", ["监控坏了好久了", "门禁坏了谁都能进", "小区后门没人守", "路灯坏了晚上黑漆漆的"]),
    "黄赌毒": ("security", ["茶馆里天天有人赌钱", "足浴店晚上有不正当服务", "出租屋里有人吸毒", "麻将馆输赢好几万"]),
    "社区特殊人群": ("key_groups", ["那个精神病人又不吃药了天天骂人", "刑满释放的那个人老在小区转悠", "社区矫正的人好久没报到了"]),
    "来蓉人员": ("key_groups", ["出租屋搬来好多外地人没有登记", "租户一直不肯登记身份证"]),
    "弱势群体": ("key_groups", ["独居老人家里断水断电好几天了", "留守小孩一个人在家饭都没得吃", "孤寡老人生病了没人照顾"]),
    "小区物业矛盾纠纷": ("dispute", ["物业把绿地改成停车位收费", "物业收了钱不办事电梯坏了也不修", "物业不公开公共收益",
                               "业主和物业吵起来了"]),
    "传销窝点": ("dispute", ["一群年轻人天天关起门上课喊口号像传销", "地下室天天有人讲资本运作拉人头"]),
    "群租房": ("dispute", ["一套房子住了二十多个人", "二房东隔成了十几个单间出租", "客厅阳台都隔出来住人"]),
    "噪音扰民": ("dispute", ["楼上天天半夜蹦迪吵死了", "广场舞音响开到晚上十点", "工地晚上一直打桩吵得睡不着", "KTV每天唱到凌晨"]),
    "学校食堂": ("food", ["学校食堂的饭菜是馊的", "食堂的菜里吃出了虫子", "好几个学生吃了食堂拉肚子"]),
    "托幼养老机构": ("food", ["幼儿园厨房脏得很", "养老院给老人吃过期的东西", "幼儿园的水果都是烂的"]),
    "农村群宴": ("food", ["村里办坝坝宴摆四十多桌厨师没有健康证", "有人办酒摆了五十桌没报备"]),
    "食品小作坊": ("food", ["做豆腐的小作坊没有证照到处是污水", "巷子里有个作坊做辣条卫生条件差"]),
    "夏季水面安全": ("production", ["河边的护栏断了好多娃娃在耍水", "鱼塘边没有警示牌", "水库边上没有围栏"]),
    "特种设备": ("production", ["电梯年检过期了还在用", "电梯老是突然停一下", "扶梯咔咔响梯级凹下去了"]),
    "交通安全设施": ("traffic", ["红绿灯坏了车子乱开", "井盖不见了好大一个洞", "斑马线都磨没了也没有减速带", "人行道地砖翘起来了"]),
    "非法营运": ("traffic", ["地铁站出口好多黑车拉客", "黑摩的一车坐三个人"]),
    "生活性排污": ("environment", ["下水道堵了污水漫到路上", "化粪池满了往外冒", "下雨后小区积水排不出去"]),
    "生产性排污企业": ("environment", ["小厂往河里直接排废水", "工厂晚上偷排废气刺鼻", "石材厂粉尘飞得到处都是"]),
}

# danger to life now: hazard kind → (category, item or None, statements)
URGENT = {
    "fire": ("fire", None, ["着火了 火好大", "冒好大的黑烟 有火光", "垃圾堆烧起来了", "厨房起火了火苗窜出来了"]),
    "gas": ("facility", "燃气管道", ["一股好浓的煤气味", "天然气管道被挖破了嘶嘶地往外冒", "燃气表在滴答响 是不是漏气了"]),
    "electric": ("facility", "电气设施", ["电线断了掉在地上还在冒火花 有人路过", "有小孩摸了配电箱被电到了"]),
    "trapped_lift": ("production", "特种设备", ["电梯困人了 里面有个老人", "电梯卡在两层中间 人出不来"]),
    "collapse": ("facility", "老旧危房", ["有栋房子在往下垮", "屋顶塌下来了 里面还有人没出来"]),
    "drowning": ("production", "夏季水面安全", ["有个小孩掉河里了", "河里有人在扑腾 好像溺水了"]),
    "violence": ("security", None, ["有人拿刀在砍人", "一群人在打群架 有人拿着钢管", "有人拿着菜刀追着人跑"]),
    "casualty": ("key_groups", "弱势群体", ["独居老人倒在家里叫不醒", "老人晕倒在楼梯上 叫他没反应"]),
}

# non-reports: why_not → messages (with {place} sometimes)
NON_REPORTS = {
    "question": ["请问社区几点上班", "居住证在哪里办", "办低保要带什么材料", "请问医保在哪里交", "孩子入学要开什么证明",
                 "老年卡怎么办理", "社区有没有免费体检", "请问疫苗接种点周末开门吗", "公租房怎么申请",
                 "想问下社区食堂怎么收费", "请问灭火器在哪里买", "垃圾分类积分怎么兑换", "请问消防证怎么考"],
    # utility bills; a fee disputed with the property company is a 小区物业矛盾纠纷 (the taxonomy's 物业费)
    "billing": ["燃气费怎么涨了这么多", "这个月电费多了一倍", "有线电视费还在扣", "水费账单有滞纳金", "话费怎么充",
                "天然气费能在微信上交吗", "燃气卡在哪里充值", "暖气费能不能分期"],
    "licensing": ["营业执照怎么办", "食品经营许可证要多久", "开托管班要办哪些证", "装修要不要去物业报备",
                  "房屋出租要不要登记", "电动车上牌在哪里上"],
    "service_complaint": ["社区办事太慢了", "工作人员态度太差", "打了好几次电话都没人接", "窗口推来推去", "网格员从来没来过",
                          "12345打了也没人回复", "小程序老是登不上去", "补贴到现在都没到账"],
    "suggestion": ["建议多组织老年人活动", "希望多装几个快递柜", "建议增加一条公交线路", "希望多建几个停车场",
                   "建议图书室晚上也开放", "能不能开个四点半课堂"],
    "chatter": ["收到", "谢谢大家", "好久不见 最近好吗", "今天天气好巴适", "晚安各位", "哈哈哈笑死我了", "明天一起去赶场嘛",
                "大家中秋快乐", "有没有人拼车去机场", "我家娃娃考了一百分"],
    "other_sense": ["手机在充电 等会回你", "回家记得把煤气关好", "今天去游泳馆游泳了", "公交线路调整了", "电视剧里那场大火好假",
                    "这首歌最近好火", "他脾气火爆得很", "股市又大跌了", "我的微信被盗了", "燃气灶打不着火 去买电池",
                    "新买的电瓶车好好骑", "充电宝借我用一下", "考试心态炸了", "小区预埋了充电桩管线", "电梯广告好吵哈哈",
                    "刀削面好好吃", "打游戏被坑死了", "河边散步好舒服", "今天打了疫苗", "楼下在烧烤 好香",
                    "他家生意火得很", "电影里爆炸场面好震撼", "我在电梯里 信号不好", "买了把新菜刀 好锋利", "水果刀在哪里买",
                    "井盖上画的画好漂亮", "这句话漏了一个字", "那个明星塌房了", "倒车的时候小心点", "跟他打赌输了",
                    "今天太阳好毒", "跟同事撞衫了", "商场跳楼价大甩卖", "去菜市场砍价", "晚上吃炸鸡", "困了 想睡觉",
                    "救命 作业好多写不完", "灭火器多少钱一个", "被蚊子咬了好多包", "中暑了差点晕倒", "在KTV唱嗨了",
                    "天然气灶换了个新的 好用", "楼下火锅店开业打折", "电梯里好热"],
    "all_clear": ["井盖已经盖好了 谢谢", "电梯修好了 运行正常", "杂物已经清走了", "是误报 没有着火", "漏水的问题已经解决了"],
    "notice": ["【通知】本周六停水 请提前储水", "温馨提示:电瓶车不要推进楼道充电", "下周三开展燃气安全入户检查 请家中留人",
               "防溺水提示:请家长看管好孩子", "万一发生火灾请不要乘坐电梯"],
    "past": ["上个月隔壁着过火 现在修好了", "以前这条河淹死过人 现在装了护栏", "去年发过一次大水"],
}

LONG_REPORT = ("关于{place}{what}的投诉：我是{place}的居民，{what}，已经持续很长时间了。我们多次向物业和社区反映，"
               "每次都说会处理，可是到现在也没有人来解决，居民们都非常担心，怕哪天出了事后悔都来不及。"
               "希望相关部门能够重视这个问题，尽快安排人员到现场查看，督促整改，保障大家的安全。谢谢！")
LONG_NON = ("{topic}：本人是{place}的居民，最近遇到一个问题想咨询一下。{q}？我问过身边的邻居，大家说法都不一样，"
            "网上查到的信息也比较杂乱，不知道以哪个为准。麻烦相关部门的工作人员帮忙解答一下具体的政策和流程，"
            "需要准备哪些材料、到哪里办理、大概多长时间，非常感谢！")


def _place(rng: random.Random) -> tuple[str, str]:
    """(written, gold): the gold is the estate/road with its building, as a worker needs it."""
    if rng.random() < 0.2:
        name = rng.choice(ROADS) + rng.choice(["", "88号", "中段", "口"])
    else:
        name = rng.choice(ESTATES) + rng.choice(UNITS)
    admin = rng.choice(ADMIN)
    return admin + name + rng.choice(DETAIL), name


def _report(rng: random.Random) -> dict:
    item = rng.choice(list(ITEMS))
    cat, says = ITEMS[item]
    what = rng.choice(says)
    located = rng.random() < 0.6
    written, gold = _place(rng) if located else ("", None)
    if rng.random() < 0.08:
        text = LONG_REPORT.format(place=written or "我们小区", what=what)
    else:
        text = rng.choice(OPENERS) + written + rng.choice(["", "的", "那边", "这里"] if written else [""]) + what \
            + rng.choice(CLOSERS)
    return {"text": text, "report": True, "category": cat, "item": item, "location": gold, "urgent": False}


def _urgent(rng: random.Random) -> dict:
    hazard = rng.choice(list(URGENT))
    cat, item, says = URGENT[hazard]
    located = rng.random() < 0.5
    written, gold = _place(rng) if located else ("", None)
    text = written + rng.choice(["", " ", "，"]) + rng.choice(says) + " " + rng.choice(URGENT_CLOSERS)
    return {"text": text.strip(), "report": True, "category": cat, "item": item, "location": gold, "urgent": True,
            "size": "大", "hazard": hazard}


def _non_report(rng: random.Random) -> dict:
    why = rng.choice(list(NON_REPORTS))
    msg = rng.choice(NON_REPORTS[why])
    if why in ("question", "billing", "licensing") and rng.random() < 0.1:
        written, _ = _place(rng)
        text = LONG_NON.format(topic="关于" + msg[:6] + "的咨询", place=written, q=msg)
    else:
        lead = rng.choice(["", "", "", "你好，", "嗯 ", "问个事，", "我是{e}的，", "{e}这边，", "各位邻居，"])
        text = lead.format(e=rng.choice(ESTATES)) + msg + rng.choice(["", "", "？", "哈", "😂", "🙏", "。", "哦", "嘛"])
    return {"text": text, "report": False, "category": None, "item": None, "location": None, "urgent": False,
            "why_not": why}


def generate(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows, seen = [], set()
    for _ in range(n * 20):
        if len(rows) >= n:
            break
        r = rng.random()
        row = _non_report(rng) if r < 0.4 else _urgent(rng) if r < 0.52 else _report(rng)
        if row["text"] not in seen:
            seen.add(row["text"])
            rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    n = int(argv[argv.index("--n") + 1]) if "--n" in argv else 4000
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 14
    rows = generate(n, seed)
    cut = len(rows) * 4 // 5
    for name, part in (("parser_corpus_train.jsonl", rows[:cut]), ("parser_corpus_dev.jsonl", rows[cut:])):
        with open(OUT / name, "w", encoding="utf-8") as f:
            for r in part:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"wrote {name}: {len(part)} messages, {sum(not r['report'] for r in part)} non-reports")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
