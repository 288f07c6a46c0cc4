"""Report gate, round 5 (issue 14, points 1 and 4): harmless senses, all-clears, stories of the
past, notices and office complaints are no tickets; walls, noise, food, drains, wasps and requests
for fire-safety talks are. Sentences written for this file, not taken from the data sets."""

import pytest

from pingan.parser import parse

NOT_REPORTS = [
    # figurative or harmless senses
    "困得不行 眼皮一直在打架",
    "家里的猫跟狗又打架了 拍了个视频",
    "俩小孩在客厅打架 抢玩具 头都大了",
    "门口来了个磨剪子戗菜刀的 要磨刀的赶紧下来",
    "夜市那家臭豆腐排好长的队",
    "他就是个臭棋篓子 下一盘输一盘",
    "有道题问消防车道上能不能停车 答案是不能",
    "考试考炸了 不想说话",
    # all-clear updates
    "小区东门的垃圾昨天拉走了 没那么臭了",
    "5栋楼道的灭火器都换成新的了",
    "楼下KTV的音响调小了 跟老板说好了十点关门",
    "东门那些黑车这几天没看到了 城管来整治过",
    # stories of the past
    "以前楼下天天有人吵架，自从换了物业安静多了",
    "98年这条街着过一场大火，老辈子都还记得",
    # group notices and questions about them, licensing, offices
    "下周开始入户排查群租房和飞线充电，请房东配合",
    "疏散演练那天我家老人下不了楼咋个办",
    "政务大厅取号机坏了三天了，大家挤在一起乱排",
]

REPORTS = [
    ("幸福路那条巷子被卖菜的占完了，消防车进不来", "fire"),
    ("那家修车铺晚上老板一家就住在里头，旁边堆的全是机油", "fire"),
    ("能不能组织一次消防知识讲座，主要讲电瓶车充电", "fire"),
    ("我们几个退休的想请社区来讲讲用火用电安全", "fire"),
    ("业主们申请搞一次消防演练，想请社区牵头", "fire"),
    ("幼儿园旁边那堵隔墙往外斜了，墙根在渗水", "facility"),
    ("顶楼的女儿墙酥了，一摸就掉沙，下面是出入口", "facility"),
    ("地下车库那里有人住，铺了床，好几家人住在里面", "dispute"),
    ("楼上装修从早上八点钻到晚上十点，周末都不停", "dispute"),
    ("对面那家的狗从早叫到晚，根本没法休息", "dispute"),
    ("夜市那家烧烤摊的肉颜色都不对，像冻了几年的", "food"),
    ("在巷口那个摊子吃了小龙虾拉了好几回", "food"),
    ("坡下那家洗水厂（洗衣服的）排的水是绿的，直接进了河", "environment"),
    ("单元门口的树上有一窝马蜂，小孩天天在下面玩", "other"),
]


@pytest.mark.parametrize("text", NOT_REPORTS)
def test_not_a_report(text):
    r = parse(text)
    assert not r.report, (text, r.category, r.item)


@pytest.mark.parametrize("text,category", REPORTS)
def test_report(text, category):
    r = parse(text)
    assert r.report and r.category == category, (text, r.report, r.category, r.why_not)

