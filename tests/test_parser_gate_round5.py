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



# ---- round 8 (written_l: board posts and SMS; sentences written for these tests) ----
@pytest.mark.parametrize("text", [
    # defects stated in a board post's own words, with a soft scope cue (希望, 能不能, 态度)
    "写字楼扶梯多次故障\n金港大厦一楼的扶梯这个月已经故障了四次，每次都是运行中突然急停，上下班人多的时候大家都挤在上面。"
    "希望大厦管理方请专业单位检修，查明原因，给大家一个交代。",
    "出租楼人员登记问题\n我们街上有一栋出租楼，住的基本是新搬来的人，很多人没有办理居住证，半年换一拨人，邻居们心里都不踏实。"
    "希望派出所能来了解一下情况，加强管理，谢谢。",
    "茶楼投资分享会\n城北一家茶楼每周三下午都有分享会，主讲人宣称投五万元半年翻倍，还让老人带亲戚朋友来听，现场签合同交钱，"
    "发展下线。我婆婆已经去了好几次。希望相关部门去了解一下。",
    "孩子说幼儿园午点是前一天剩的馒头 跟园长反映了 态度很敷衍",
    "后面院子那个瘫痪的婆婆 儿子也不管 可不可以帮一下",
    "后面院子那个瘫痪的婆婆 吃不上饭 可不可以帮一下",
    # an all-clear someone else claims covers only its own clause
    "锅炉房那边一直有股燃气味 我跟物业说了三次 物业说没问题 能不能派人来测一下",
    # a suggestion whose topic is fire-safety education is a report of that item
    "建议在桂溪社区开展一次消防宣传\n我们桂溪社区有很多老人和出租户，大家平时对用火用电都比较随意，不少人没见过灭火器怎么用，"
    "遇到情况不知道怎么办。希望社区联系消防站来开展一次宣传和演练。",
])
def test_round8_board_post_defects_filed(text):
    assert parse(text).report


@pytest.mark.parametrize("text, why", [
    # a fee charged is a billing matter
    ("兴趣班私自收取高额资料费\n孩子报的兴趣班最近突然要求每个学生再交八百元资料费，说是统一规定，家长们都很有意见。"
     "这种情况是否符合规定，希望教育部门查一查，给家长们一个说法。", "billing"),
    # a post titled as a complaint about staff conduct
    ("社区主任在业主群里辱骂居民\n昨天我在群里问疫苗接种的时间安排，社区主任不但没回答，还在群里骂我事多，引来很多人围观。"
     "作为基层干部，这样对待群众实在不应该，希望街道能够调查处理，给个说法。", "service_complaint"),
    # a film's fire after a space
    ("刚看了个电视剧 整栋楼着火的那种 吓得我不敢睡", "other_sense"),
    # a guard rail put up: all clear
    ("河边的护栏已经立起了 还挂了牌子 辛苦大家", "all_clear"),
    # an automated delivery message
    ("您的包裹已放在12栋单元门旁边的快递柜 取件码5521 请尽快取件 祝您生活愉快", "notice"),
])
def test_round8_not_reports(text, why):
    r = parse(text)
    assert not r.report and r.why_not == why, r
