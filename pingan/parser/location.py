"""Find the place a message talks about: estate/building/unit/room, street/crossing, landmark.

Works on cleaned text (half-width digits, simplified script). Place names are recognised by
their suffix (花园, 小区, 路, 桥 …, from the lexicon); the name is the run of characters
before the suffix, trimmed after the last "cut" word (住在, 的, 我们 …). Building chains
(3栋2单元501, B区, 2-3-501) attach to a preceding place or stand alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pingan.parser.lexicon import Lexicon
from pingan.parser import place_model
from pingan.parser.gazetteer import gazetteer
from pingan.parser.rx import with_first_char_check, word_tree

_NUM = r"(?:[0-9]+|[一二三四五六七八九十百零两]+)"
_ALNUM = r"(?:[0-9]+|[A-Za-z]|[一二三四五六七八九十]+)"
# one link of a building chain
_LINK = (rf"(?:{_ALNUM}(?:期|区|座|幢|栋|号楼|号院|单元|组(?![织长员人])|社(?![会区团]))|{_NUM}(?:楼|层|号|室|户|号门)|[0-9]+-[0-9]+(?:-[0-9]+)?"
         rf"|[0-9]{{3,4}}(?![0-9年月日号点分元块个人岁天次])|[A-Za-z][0-9]{{1,4}})")
# a standalone chain must contain a strong unit: a village group ("三组") counts, and so does a
# room number naming a household ("601那家")
_STRONG = re.compile(rf"{_ALNUM}(?:期|区|座|幢|栋|号楼|号院|单元|组)|[0-9]+-[0-9]+|{_NUM}室|[0-9]{{3,4}}(?=那家|这家|家|号房)")
# a name never ends in these: "好像是" + "601", "吃了" + "学校", "送去" + "医院" are clauses running into a place
_NUMERALS = frozenset("一二三四五六七八九十百")
_CLAUSE_TAIL = frozenset("是在了到说把被给从向往对跟用过去")
_NAME_CHARS = r"[\u4e00-\u9fffA-Za-z0-9]"
# the Chinese characters (里 itself not among them) right before a 里: "幸福里", "在幸福里和平里"
# "在成洛大道", "位于…": the writer says where it is, over a place that only names the hazard's owner
_AT = re.compile(r"(?:在|位于|地址是?|地点是?)[:]?$")
_AT_WEIGHT = 1.5
# "小区是清水湾", "养老院叫福寿康养老院": the writer names the place outright
_NAMED_AS = re.compile(r"(?:(?:小区|院子|院落|村|社区|楼盘|单位|学校|幼儿园|养老院|敬老院|工厂|厂|公司|店|写字楼|大厦|市场|"
                       r"游乐场|公园|地方|这里|那里)(?:的名字)?(?:是|就是|叫|名叫|叫做)"
                       r"|名字?叫(?:做)?)[:]?$")
# "我们是某镇黄泥村": the writer's home, named outright but perhaps not where the hazard is
_WE_ARE = re.compile(r"我们(?:村|小区|社区)?(?:是|就是)[:]?$")
_WE_ARE_WEIGHT = 0.5
# a message-board title ("关于某县城南河道夏季安全隐患。", "反映某县城西一家养老院的问题。"): it sums up
# with a hidden or general place what the body names; a place in the body wins over it
_TITLE = re.compile(r"(?:关于|反映|举报|投诉)[^。!?]{2,60}?(?:问题|情况|隐患|反映|投诉|举报|建议|报告)(?:及建议|的?反映)?[。!?]")
_TITLE_WEIGHT = 1.0
# "肖家河" + "正街", "府河" + "北路": a direction or number and a road after a one-character suffix
_ROAD_AFTER = re.compile(r"(?:[东南西北正中横]|[一二三四五六七八九十]+)(?:路|街|巷)")
_ROAD_AFTER_SUF = re.compile(rf"{_NAME_CHARS}{{1,3}}?(?:路|街|巷|大道|大街)")
_TITLE_LINE = 40  # characters: a first line no longer than this, over a body twice as long, is a title
_TITLE_LINE_WEIGHT = 2.0
_LEVEL_WEIGHT = 1.5
# "我是金牛区抚琴街道的居民…红星中学后面的围墙": the writer's home, said before the place of the hazard
_HOME = re.compile(r"的?(?:居民|业主|住户|村民|租客|房东|商户|家长|员工|职工)")
_HOME_WEIGHT = 0.75
_TAKEN_TO = frozenset(("医院", "卫生院", "诊所"))
_TAKEN_BY = frozenset("送去进到往")
_FLOOR = re.compile(r"负?(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})(?:楼|层)(?:附近|那里|这里)?")
# "我在少城路上班，每天走人民公园旁边的小巷子": where the writer works or studies, like where they live
_WORKS = re.compile(r"(?:上班|工作|打工|做生意|开店|读书|上学)")
# a place that is a clause by itself ("…钢筋都露出来了。玉林小区老6栋", "…砸到人了，青羊小区11栋，快来"):
# the writer says where it is, as with 在/位于
_CLAUSE_EDGE = ",，。.!！?？;；:：、 \n"
_HOLDS_ESTATE = ("路", "街", "巷", "大道", "大街", "社区", "村")
_I_AM_IN = re.compile(r"(?:我|我们|我家|本人)(?:就|也)?在$")  # "我在清溪苑住": 在 before, 住 after
_LIVES_AFTER = re.compile(r"(?:这边|那边)?住(?![了满人])")
_LIVES = re.compile(r"(?:家住|住在|家在)(?:隔壁|旁边|对面|附近)?的?$")  # "我家住在隔壁的清水河小区"
_RESIDENTIAL = ("小区", "花园", "家园", "苑", "新村", "华庭", "华府", "公馆", "雅居", "名城", "山庄", "大院", "院")
# "郫都区一家养老院": a counted place in a named one says more than the name alone
_COUNTED_WEIGHT = 0.5
_FIRST_GENERIC = 5  # characters
# "一家民办养老院", "一个商业广场": a place counted, not named
_COUNTED_BEFORE = re.compile(r"(?:一些|有些|好些|一|几|某)(?:家|个|所|座|栋|处|片|间)?$")
# a hidden place no more than a level ("某县城", "某区", "该镇"): a place the message names elsewhere wins
_VAGUE = re.compile(r"(?:某|本|该)[省市区县镇乡村]?(?:城|城区|区)?")
# "镇卫生院旁边的" + "夕阳红老年公寓": a landmark and the place by it are read as one
_BY = ("旁边", "附近", "对面", "边上", "隔壁", "旁", "边")
# an anonymised or counted place ("某小区", "A3区某商场", "城区一家幼儿园"): a message-board title hides the
# name the body gives; 某 before an administrative level ("某县太平镇新街村") is still a place
_ANONYMOUS = re.compile(r"某[^省市区县镇乡村]*$|(?:一|几|好几)(?:家|所|个|座|栋|条|处|片|间|户)")
# a name never starts with these: the tail of 我们, 下面/对面 ("(我)们小区", "(下)面莫站")
_NOT_FIRST = frozenset("们面")
# a suffix followed by this is a word, not a place: 路过 (passing by), 巷子 (a generic alley), 院子, 院坝, 河沟 (a ditch),
# 厂家 / 厂商 (the maker: "设备厂家倒闭了"), 城管 (the city inspectors: "市场监管和城管"), 村民 (villagers: "我是某村村民")
_NOT_AFTER_SUFFIX = {"路": "过灯由费线程况", "巷": "子", "院": "子坝", "河": "沟", "厂": "家商", "城": "管", "村": "民"}

# a message that opens with a place and points into it ("红光路那家按摩店", "公园里面有个男的",
# "农贸市场后面那个仓库"): the writer says first where it is, as with 在/位于
_LEAD = re.compile(r"(?:那|这)(?:家|个|排|边|栋|条|段|片|座|间|几|一)|里面|里头|后面|旁边|门口|那里|这里")


# "五块石那条" + "街", "华西坝那个" + "小区": a name, then a pointer to the place it holds
_POINTED = re.compile(r"(?P<x>[\u4e00-\u9fff]{2,6})(?:那|这)(?:条|个|家|座|栋|片|所)$")
# "沙河堡的老" + "小区": a name, 的, and a word that only describes the place
_OF_GENERIC = re.compile(r"([\u4e00-\u9fff]{2,5})的(?:老|新|小|大|老旧|破旧|一个)")
# a measure word begins no name ("这家" + "养老院"); a count is none ("两支" + "广场舞", "一辆" + "七座")
_MEASURES = frozenset("家个所座栋条处间位")
_COUNT = re.compile(r"[一二两三四五六七八九十几]+[个支家辆条座栋位名户间处只台部所套]")
# a message opening with a name and a pointer into it ("西街那家", "龙泉驿那边", "五块石那一片")
_BARE_LEAD = re.compile(r"(?P<x>[\u4e00-\u9fff]{2,4}?)(?:那边|这边|那一片|这一片|那一带|一带|片区|那家|那个|那栋|那条|那片)")
_SAYS_WHERE = re.compile(r"就在|地址|位置在|地点在")
# ... unless the name is a person's ("我妈那边", "老板那个", "张阿姨那家")
_PERSON_END = frozenset("人哥姐妈爸爷奶叔姨婆公师生板员子儿女娃友伯舅嫂弟妹")
# "一栋", "一幢", "一座" alone count buildings, "一户" households ("我家住在一栋老楼里"); building 1 is written 1栋
_COUNTED = re.compile(r"一(?:栋|幢|座|户)")
_POINT = re.compile(r"(?:那|这)(?:家|个|排|栋|条|座|间)?[小大老新]?")
_POINTER = re.compile(r"(?:那|这)(?:家|个|排|栋|座|间|所)[小大老新]?")  # one that must be there: "工业园那家电池厂"
_POINTED_SHOP = re.compile(r"[\u4e00-\u9fff]{1,4}?[店馆厂场坊室所](?![\u4e00-\u9fff]{0,1}[长员主])")
_SPOT_OF = re.compile(r"(?:后面|前面|旁边|对面|里面|外面|背后|侧面)?的(?:一家|一个|一间|一处)?")
_ANON_AFTER_LEVEL = re.compile(r"某[\u4e00-\u9fff]{0,4}?(?:小区|院落|号院|院|村|社区|楼盘|中学|小学|学校|幼儿园|商场|市场|厂|公司|"
                               r"店|网吧|酒店|宾馆|大厦|工地|出租楼|楼|栋|桥洞|农家乐)(?:[0-9一二三四五六七八九十]+[组栋号])?"
                               r"(?:[0-9一二三四五六七八九十负]{1,2}(?:楼|层))?(?:门口|旁边|后面|对面|里面|下面)?")
_LEVEL_END = frozenset("区县市镇乡街道路村栋个家座条片")  # a level or a pointer ("那栋") before a 里 estate
_TAGGED_HEAD = 150  # characters of a message the learned tagger reads
_POINTER_BEFORE = re.compile(_POINTER.pattern + "$")


def _home(s: str, start: int, end: int) -> bool:
    """Where the writer lives or works ("住在金桂小区", "我家在…", "我在清溪苑住"), said of the place at start:end."""
    return bool(_HOME.match(s, end) or _LIVES.search(s, max(0, start - 6), start) or _WORKS.match(s, end)
                or _LIVES_AFTER.match(s, end) and _I_AM_IN.search(s, max(0, start - 4), start))


def _opens(s: str, start: int, end: int) -> bool:
    return start <= 1 and _LEAD.match(s, end) is not None


def _word_not_place(s: str, suf: str, end: int) -> bool:
    nxt = s[end:end + 1]
    return bool(nxt) and nxt in _NOT_AFTER_SUFFIX.get(suf[-1:], "")


_PART_OF_TOWN = re.compile(r"(?:城|镇|县城|市区|城区)?[东南西北]?(?:边|面|部|郊|区|片区)?|[东南西北]城|老城区?|新城区?")
_LI = re.compile(r"(?P<run>[\u4e00-\u91cb\u91cd-\u9fff]{1,8})(?=里)")


@dataclass
class Span:
    start: int
    end: int
    named: bool
    chain: bool
    counted: str = ""  # "郫都区一家养老院": a place ("place") or a level ("level") and a counted place in it

    def text(self, s: str) -> str:
        return s[self.start:self.end]


_NEAR_WORDS = frozenset({"附近", "旁边", "周边", "那边", "这边", "一带"})


class _Found:
    """Spans found in one text so far; a later finder never overlaps an earlier one."""

    def __init__(self, s: str):
        self.s = s
        self.spans: list[Span] = []
        self.taken = [False] * (len(s) + 1)

    def add(self, start: int, end: int, named: bool, chain: bool) -> None:
        if any(self.taken[start:end]):
            return
        for k in range(start, end):
            self.taken[k] = True
        self.spans.append(Span(start, end, named, chain))

    def replace(self, start: int, end: int, named: bool, chain: bool, counted: str) -> None:
        """Put one span over [start, end), dropping the spans it covers (one it only overlaps stays out)."""
        if any(sp.start < end and sp.end > start and (sp.start < start or sp.end > end) for sp in self.spans):
            return
        self.spans = [sp for sp in self.spans if sp.end <= start or sp.start >= end]
        for k in range(start, end):
            self.taken[k] = True
        self.spans.append(Span(start, end, named, chain, counted))

    def merged(self) -> list[Span]:
        """In text order, "锦城花园 3栋" / "锦城花园的3栋" neighbours merged."""
        out: list[Span] = []
        for sp in sorted(self.spans, key=lambda sp: sp.start):
            if out:
                prev = out[-1]
                gap = self.s[prev.end:sp.start]
                # a bare chain joins the place before it ("锦城花园 3栋"); a place after a bare chain
                # joins it only when written together ("3栋锦城花园"), not "一共六栋 青龙街18号院"
                if gap in ("", " ", "的") and sp.chain and not sp.named or gap == "" and prev.chain and not prev.named:
                    out[-1] = Span(prev.start, sp.end, prev.named or sp.named, True, prev.counted)
                    continue
            out.append(sp)
        return out


class LocationFinder:
    def __init__(self, lex: Lexicon):
        loc = lex.location
        est = sorted(set(loc.get("estate_suffixes", [])), key=len, reverse=True)
        roads = sorted(set(loc.get("road_suffixes", [])), key=len, reverse=True)
        after = sorted(set(loc.get("after", [])), key=len, reverse=True)
        self.cut = sorted(set(loc.get("cut_after", [])), key=len, reverse=True)
        self.cut_by_first: dict[str, list[str]] = {}  # only cut words whose first character is there
        for w in self.cut:
            self.cut_by_first.setdefault(w[0], []).append(w)
        self.generic = frozenset(loc.get("generic_names", []))
        # right before a suffix these leave no name at all ("附近" + "学校", "整条" + "街")
        self.no_name_after = frozenset(loc.get("no_name_after", []))
        # a name with one of these is a clause, not a place ("想问一下社区", "有人跳河")
        self.not_in_names = tuple(loc.get("not_in_names", []))
        # a place-name suffix that ends a word which is no place ("电线路", "公交线路")
        self.false_endings = tuple(loc.get("false_endings", []))
        self.li_not_after = frozenset(loc.get("li_not_after", ""))
        self.li_not_before = frozenset(loc.get("li_not_before", ""))
        admin = "|".join(sorted(loc.get("admin_suffixes", []), key=len, reverse=True))  # regular expressions
        # one administrative level right before a place: "A3区", "武侯区", "玉林街道", "青山镇"
        self.admin_tail = re.compile(rf"(?:[A-Za-z][0-9]{{0,3}}|[\u4e00-\u9fff]{{2,4}}?)(?:{admin})$") if admin else None
        self.gaz = gazetteer()  # the levels known by name: "哈尔滨" + "道里区", "宁波江北区" is no river
        # longest first (a suffix that starts another one is tried after it), grouped for speed
        alt = lambda ws: word_tree(sorted(set(ws), key=lambda w: (-len(w), w)))  # noqa: E731
        chain = rf"(?:{_LINK})(?:[-, ]?(?:{_LINK}))*"
        generic_places = sorted(set(loc.get("generic_places", [])), key=len, reverse=True)
        # no named place: a building chain with a generic place, or the generic place alone
        # ("3栋2单元楼道", "地下室", "小区东门", "菜市场门口"), kept as detail for the worker
        patterns = "".join(f"|{p}" for p in loc.get("generic_patterns", []))
        # (behind a first-character look-ahead: the optional chain in front hides the words' first characters)
        self.generic_place = re.compile(with_first_char_check(rf"(?:{chain})?(?:{alt(generic_places)}{patterns})(?:{alt(after)})?")) \
            if generic_places else None
        weak = sorted(set(loc.get("generic_weak", [])), key=len, reverse=True)
        self.generic_weak = re.compile(with_first_char_check(rf"(?:{alt(weak)})(?:{alt(after)})?")) if weak else None
        self.chain_only = re.compile(with_first_char_check(chain))
        self.after_re = re.compile(rf"(?:{alt(after)})") if after else None
        self.place = re.compile(
            rf"(?P<name>{_NAME_CHARS}{{1,12}}?)(?P<suf>{alt(est + roads)})"
        )
        self.place2 = re.compile(rf"(?P<name>{_NAME_CHARS}{{2,10}}?)(?P<suf>{alt(est + roads)})")
        self.suffixes = frozenset(est + roads)
        self.plain_suffixes = tuple(x for x in self.suffixes if len(x) >= 2)
        self.continued = re.compile(rf"{_NAME_CHARS}{{1,3}}?(?:{alt([x for x in est + roads if len(x) >= 2])})")
        self.suffix_re = re.compile(rf"(?:{alt(est + roads)})")
        self.roads = frozenset(roads)
        self.crossing = re.compile(
            rf"(?P<a>{_NAME_CHARS}{{1,10}}?(?:{alt(roads)}))(?:和|与|跟|同|交|、|/|,)?(?P<b>[\u4e00-\u9fff]{{1,6}}?(?:{alt(roads)}))"
            rf"(?P<tail>十字路口|交叉路口|交叉口|交界处|交汇处|路口|口)"
        )
        self.chain = re.compile(with_first_char_check(chain))
        heads = loc.get("counted_heads", "")
        # "一家" + "托管机构", "一个" + "老小区", "一栋" + "自建房": a counted place, ended by a head character
        self.counted_re = re.compile(
            rf"(?:的)?一(?:家|个|所|栋|条|座|处|片|间)(?:(?:(?![有是在了把被给说要和就都也还又])[\u4e00-\u9fffA-Za-z]){{0,7}}?[{heads}]|KTV|ktv)"
            rf"(?=[^\u4e00-\u9fffA-Za-z]|的|里|内|外|边|旁|附近|门口|后面|前面|对面|楼上|楼下|隔壁|$)"
            rf"(?:的?(?:[0-9]{{1,2}}|[一二三四五六七八九十]{{1,3}})(?:楼|层)(?![0-9房梯道顶板]))?") if heads else None
        # a generic spot written right after a building chain ("2单元" + "电梯厅", "8栋" + "车库")
        spots = generic_places + list(loc.get("chain_spots", []))
        self.spot = re.compile(rf"(?:的)?(?:{alt(spots)})") if spots else None
        self.this_estate = re.compile(
            r"(?:我们|咱们|我家|住在|是|在)(?P<n>[\u4e00-\u9fffA-Za-z0-9]{2,6}?)(?:这个|那个)(?:小区|院子|院落|楼盘)"
        )

    # -- helpers -----------------------------------------------------------------------
    def _trim_name(self, name: str) -> str:
        """Drop everything up to and including the last cut word."""
        best = -1
        for w in (w for ch in set(name) for w in self.cut_by_first.get(ch, ())):
            i = name.rfind(w)
            if w == "里" and i > 0 and name[i - 1] in _NUMERALS:
                continue  # "九里堤", "三里屯", "五里墩": a distance in the name, not "inside"
            if i >= 0 and i + len(w) > best:
                # a cut word at the very end would leave an empty name: skip unless it is the whole thing
                # a word that never ends a name ("接送附近" + "学校", "整条" + "街") leaves none
                if i + len(w) < len(name) or i == 0 and len(w) == len(name) \
                        or i + len(w) == len(name) and w in self.no_name_after:
                    best = max(best, i + len(w))
        name = name[best:] if best >= 0 else name
        # long runs are usually a clause, not a name: keep the tail
        if len(name) > 8:
            name = name[-6:]
        return name

    def _is_generic(self, name: str, suf: str, boundary: bool = False) -> bool:
        if not name or name in self.generic or any(x in name for x in self.not_in_names):
            return True
        if len(name) >= 2 and name[0] in "和与及或" and name[1:] in self.generic:
            return True  # "请镇上和" + "卫生院": a conjunction and a generic word name nothing
        if (name + suf).endswith(self.false_endings):
            return True
        if len(name) >= 2 and name[-1] == "都" and name[-2] == suf[:1]:
            return True  # "站都站不稳", "走都走不动": a verb said twice for emphasis, not "…站"
        if len(name) == 1 and not boundary:
            return True  # "府河" at a boundary is a name; "下河" or "(我)们小区" inside a clause is not
        if _COUNT.match(name):
            return True  # "两支" + "广场舞", "一辆" + "七座": a count, not a name
        if name.isdigit() or name[-1] in _CLAUSE_TAIL or name[0] in _NOT_FIRST or name[-1] == "的":
            # "(在)逃的" + "社区矫正": one character and 的 describe, they do not name
            return True
        return False

    def _extend(self, s: str, end: int) -> tuple[int, bool]:
        """Extend a place span over a following chain / 东门 / 边; returns (end, has_chain)."""
        has_chain = False
        while True:
            j = end
            if j < len(s) and s[j] in " 的" and j + 1 < len(s) and (s[j + 1].isdigit() or s[j + 1].isascii() and s[j + 1].isalpha()):
                j += 1
            if j < len(s) and s[j] in "老新" and _STRONG.match(s, j + 1):
                j += 1  # "玉林小区老6栋": the old building 6, as residents call it
            m = self.chain.match(s, j)
            if m and m.end() > j and not _COUNTED.match(m.group(0)):
                end, has_chain = m.end(), True
                continue
            if self.after_re is not None:
                m = self.after_re.match(s, end)
                if m:
                    end = m.end()
                    continue
            return end, has_chain

    # -- main --------------------------------------------------------------------------
    def find_all(self, s: str) -> list[Span]:
        found = _Found(s)
        self._crossings(found)
        self._named(found)
        for m in self.this_estate.finditer(s):
            name = m.group("n")
            if not self._is_generic(name, "小区") and not any(w in name for w in ("这", "那", "小区")):
                found.add(m.start("n"), m.end("n"), True, False)
        self._li_estates(found)
        self._counted(found)
        self._chains(found)
        return found.merged()

    def _counted(self, found: _Found) -> None:
        """"郫都区一家养老院", "九里堤南路一个老小区", "东光街道一个小区", "簇桥一家家具作坊": a place or a
        level, then a counted place in it; the worker needs both, so the span holds the whole phrase."""
        s = found.s
        if "一" not in s or self.counted_re is None:
            return
        for m in self.counted_re.finditer(s):
            k = m.start()
            before = next((sp for sp in found.spans if sp.end == k and sp.named), None)
            if before is not None:
                start = self._whole_level(s, self._with_admin(s, before.start))
            else:
                start = self._with_admin(s, k)
                if start == k:  # a bare name after a level: "武侯区簇桥" + "一家", "金牛区城北" + "一家"
                    # ("锦江区牛市口附近的" + "一个老院子": the name is before 附近)
                    e = k - 2 if s[k - 2:k] in _NEAR_WORDS else k
                    for n in (2, 3, 4):
                        if e - n < 0 or not re.fullmatch(r"[\u4e00-\u9fff]+", s[e - n:e]) \
                                or self._trim_name(s[e - n:e]) != s[e - n:e] or self._is_generic(s[e - n:e], ""):
                            continue
                        lv = self._with_admin(s, e - n)
                        if lv < e - n:
                            start = lv
                            break
                if start == k:
                    continue
            head = s[start:k].removesuffix("的")
            if _PART_OF_TOWN.fullmatch(head) or _VAGUE.fullmatch(head) or len(head) < 2:
                continue  # "老城区的一个院子", "某区一家": which one is not said
            # only a level before it ("簇桥街道的一个居民小区"): an estate named elsewhere wins
            end = m.end()
            if self.after_re is not None and (a := self.after_re.match(s, end)):
                end = a.end()  # "一家化工厂" + "外墙边", "一个小区" + "门口"
            found.replace(start, end, True, False, "level" if self._level_only(head) else "place")

    def _crossings(self, found: _Found) -> None:
        """"人民路和建设路路口"."""
        if "口" not in found.s and "处" not in found.s:
            return  # every crossing ends in 口 or 处
        for m in self.crossing.finditer(found.s):
            a_full = m.group("a")
            suf_len = 1 if a_full[-1] in self.roads else 2
            a_name = self._trim_name(a_full[:-suf_len])
            b_name = self._trim_name(m.group("b")[:-1])
            if self._is_generic(a_name, "路") or self._is_generic(b_name, "路"):
                continue
            found.add(m.start("a") + (len(a_full) - suf_len - len(a_name)), m.end(), True, False)

    def _named(self, found: _Found) -> None:
        """Names before a place suffix ("锦城花园", "府河", "河西新村"), with what follows them."""
        s, pos = found.s, 0
        levels = self.gaz.levels_in(s)
        while (m := self._search_place(s, pos)) is not None:
            inside = next((b for a, b in levels if a <= m.start("suf") and m.end("suf") < b), None)
            if inside is not None:
                pos = inside  # "宁波江北区", "兰州城关区": the suffix is inside a level's name
                continue
            trimmed = self._trim_name(m.group("name"))
            start = m.end("name") - len(trimmed)
            raw = m.group("name")
            pointed = _POINTED.search(raw) if len(trimmed) < 2 else None
            if pointed is not None and self._trim_name(pointed.group("x")) == pointed.group("x") \
                    and not self._is_generic(pointed.group("x"), ""):
                # "五块石那条街", "华西坝那个小区": the name before the pointer is the place
                trimmed, start = raw[pointed.start():], m.start("name") + pointed.start()
            elif len(trimmed) < 2:
                # "天府花城": "天"+"府" is too short; try a longer name from the same start
                m2 = self.place2.match(s, start)
                # the longer name is trimmed too: "湖就在滨湖" + "公园" is "滨湖公园", "在城西化工" + "园区"
                # is "城西化工园区"; a measure word does not begin one ("这家" + "养老院")
                name2 = self._trim_name(m2.group("name")) if m2 else ""
                if m2 and len(name2) >= 2 and len(m2.group("name")) <= 6 and name2[0] not in _MEASURES \
                        and not self._is_generic(name2, m2.group("suf")):
                    m, trimmed = m2, name2
                    start = m2.end("name") - len(name2)
                elif m2 and (of := _OF_GENERIC.fullmatch(m2.group("name"))) and len(m2.group("name")) <= 6 \
                        and self._trim_name(of.group(1)) == of.group(1) and not self._is_generic(of.group(1), ""):
                    # "沙河堡的老" + "小区": the place is all of it
                    m, trimmed = m2, m2.group("name")
            lv = next((a for a, b in levels if a < start < b), None)
            if lv is not None:  # "天津南开区…" found from 开: the level's whole name
                start, trimmed = lv, s[lv:m.end("name")]
            end0 = m.end()
            for _ in range(3):  # "锦" + "城" + "花园", "柏条河" + "绿道"
                m2 = self.suffix_re.match(s, end0)
                if not m2:
                    break
                end0 = m2.end()
            m3 = (self.continued.match(s, end0) or _ROAD_AFTER.match(s, end0)) if end0 - m.end("name") == 1 else None
            if m3:
                end0 = m3.end()  # "河西新村": 河 was part of the name
            suf = s[m.end("name"):end0]
            pos = end0
            if len(suf) == 1 and suf not in self.roads and self._is_admin(trimmed) and _ROAD_AFTER_SUF.match(s, end0):
                # "成华区" + "府" + "青路": the suffix begins the road's name
                pos = m.start("suf")
                continue
            boundary = (start == 0 or not re.match(_NAME_CHARS, s[start - 1])) and suf[:1] in "河江湖桥堰塘"
            if self._is_generic(trimmed, suf, boundary) or _word_not_place(s, suf, end0):
                # "我们小区3栋" — the chain alone can still be a place; "今天路过", "去巷子里". The suffix
                # may begin the next name ("住进了城" + "西敬老院"): search on from it
                pos = m.start("suf")
                continue
            end, chain = self._extend(s, end0)
            anon = _ANONYMOUS.search(trimmed)
            if anon is not None:
                # "某老旧小区", "A4区某中学", "桐梓林一个小区": kept, but a place the message names
                # elsewhere wins; before a counted one ("一个小区") only what precedes it is said
                named = False
                if anon.group(0)[0] != "某":
                    end, chain = start + anon.start(), False
                    # what precedes "一个小区" is a place ("桐梓林一个小区"), unless only a part of town
                    named = _PART_OF_TOWN.fullmatch(s[start:end]) is None
                if end - start >= 2:
                    found.add(start, end, named, chain)
                pos = max(pos, end0)
                continue
            found.add(start, end, _VAGUE.fullmatch(s, start, end0) is None, chain)
            pos = max(pos, end)

    def _search_place(self, s: str, pos: int) -> re.Match | None:
        """`self.place.search(s, pos)`, begun at most 12 characters (the longest name) before the
        next suffix: the lazy name would otherwise be tried from every position."""
        q = self.suffix_re.search(s, pos)
        return self.place.search(s, max(pos, q.start() - 12)) if q else None

    def _li_estates(self, found: _Found) -> None:
        """"幸福里", "和平里", "锦绣里3栋": 里 ends an estate's two-character name unless that is a
        room, container, time... ("楼道里", "电梯里", "夜里"); one character ("这里", "家里") never is."""
        s = found.s
        for m in _LI.finditer(s):
            k = m.end("run")
            if s[k + 1:k + 2] in self.li_not_before:
                continue  # "里面", "里边": inside something
            run = self._trim_name(m.group("run"))
            name = run[-2:]  # "楼下那栋幸福里": the name is 幸福
            if len(run) > 2 and run[-3] not in _LEVEL_END:
                continue  # "食堂饭菜里", "农家乐里": inside a longer word, not an estate (but "玉林街道和平里")
            if len(name) < 2 or name[-1] in self.li_not_after or s[k - len(name) - 1:k - len(name)] in ("往", "朝") or self._is_generic(name, "里") \
                    or any(name.endswith(g) for g in self.generic if len(g) >= 2):
                continue
            end, chain = self._extend(s, k + 1)
            a = k - len(name)
            if end == k + 1 and s[a - 1:a] in ("在", "到", "进", "从") and s[a - 2:a] != "住在" \
                    and "\u4e00" <= s[k + 1:k + 2] <= "\u9fff":
                continue  # "在树荫里摆摊", "在车流里乱窜": in something, not an estate ("住在幸福里，" is one)
            found.add(k - len(name), end, True, chain)

    def _chains(self, found: _Found) -> None:
        """Building chains not attached to a name yet ("3栋2单元"), or right after a bare estate
        name ("山水天成3栋")."""
        s, taken = found.s, found.taken
        for m in self.chain_only.finditer(s):
            if _COUNTED.match(m.group(0)):
                continue  # "一栋七十年代的筒子楼": a count, not building 1
            strong = _STRONG.search(s, m.start(), min(len(s), m.end() + 2))
            if strong is None or strong.end() > m.end() or any(taken[m.start():m.end()]):
                continue
            end, _ = self._extend(s, m.end())
            start, named = m.start(), False
            lo = max(0, start - 10)
            lo = max([lo] + [k + 1 for k in range(lo, start) if taken[k]])  # not into a place before it
            run = re.search(rf"{_NAME_CHARS}{{2,10}}$", s[lo:start])
            if run and not re.search(r"[0-9A-Za-z]$", run.group(0)):
                name = self._trim_name(run.group(0))
                if 2 <= len(name) <= 6 and not self._is_generic(name, "") \
                        and not any(name.endswith(g) for g in self.generic if len(g) >= 2):
                    start, named = start - len(name), True
            found.add(start, end, named, True)

    def vague(self, s: str) -> bool:
        """Only building numbers ("3栋", "2单元门口"): which estate or road is not said."""
        spans = self.find_all(s)
        if not spans:
            return self._generic(s, None) is not None  # "楼道", "地下室": which building?
        return not any(sp.named for sp in spans)

    def _with_admin(self, s: str, start: int) -> int:
        """Move a place's start left over the administrative levels written before it
        ("武侯区玉林街道" + "玉林小区"), so the span holds them however a reader quotes it."""
        if self.admin_tail is None:
            return start
        while start > 0:
            known = self.gaz.level_before(s, start)
            if known < start:
                start = known
                continue
            head = s[max(0, start - 8):start]
            m = None
            for k in range(len(head) - 1):  # longest level first, never across a cut word or a level
                level = head[k:]
                cand = self.admin_tail.fullmatch(level)
                # no cut word inside the level's name or running into it ("关于锦江区" is no level "于锦江区")
                if cand and not any(ch in "省市区县镇乡" for ch in level[:-1]) \
                        and not any(w in head[max(0, k - len(w) + 1):-1] if len(w) > 1 else head[k] == w
                                    for w in self.cut):  # one character inside a name cuts nothing ("新都区")
                    m = cand
                    break
            if m is None:
                return start
            start -= len(m.group(0))
        return start

    def _generic(self, s: str, focus: int | None) -> str | None:
        if self.generic_place is None:
            return None
        found = [m for m in self.generic_place.finditer(s)]
        if not found and self.generic_weak is not None:
            found = [m for m in self.generic_weak.finditer(s)]  # "消防栓锈死了", "门口那根电线"
        # "送去医院", "进了医院": where the hurt were taken, not where the hazard is
        found = [m for m in found if not (m.group(0) in _TAKEN_TO and s[max(0, m.start() - 1):m.start()] in _TAKEN_BY)] or found
        if not found:
            return None
        lead = next((m for m in found if _opens(s, m.start(), m.end())), None)
        if lead is not None:
            # "城中村那排平房屋顶塌了": the writer opens with the place; "菜市场旁边那家小饭馆": with
            # the place the writer points to right after it
            nxt = next((m for m in found if m.start() >= lead.end()), None)
            if nxt is not None and _POINT.fullmatch(s, lead.end(), nxt.start()):
                return s[lead.start():nxt.end()]
            return lead.group(0)
        # nearest the hazard; the first one named, unless another is much nearer ("工地上的围挡…砸到路边的车")
        top = min(found, key=lambda m: abs(m.start() - focus) - (_FIRST_GENERIC if m is found[0] else 0)
                  if focus is not None else m.start())
        if top.group(0) == "小区":
            # "小区锅炉房", "小区里的绿化带": the estate word says less than the spot written in it
            nxt = next((o for o in found if o.start() >= top.end()), None)
            if nxt is not None and s[top.end():nxt.start()] in ("", "里", "的"):
                return s[top.start():nxt.end()]
        if top.group(0).startswith("电梯"):
            # "电梯里…卡在5楼": a lift is found by its floor
            floor = next((m for m in found if _FLOOR.fullmatch(m.group(0))), None)
            if floor is not None:
                return floor.group(0)
        return top.group(0)

    def _bare_lead(self, s: str) -> str | None:
        """"西街那家麻将馆", "龙泉驿那边", "五里墩那个作坊": a message that opens with a name without a
        suffix and points into it; the name is the place (a person, "我妈那边", is none)."""
        m = _BARE_LEAD.match(s)
        if m is None or _SAYS_WHERE.search(s, m.end()):
            return None  # "盖井那个盖子烂了……就在小区进门那个转角上": the writer says where later
        x = m.group("x")
        if "的" in x or self._trim_name(x) != x or self._is_generic(x, "") or x[-1] in _PERSON_END \
                or any(x.endswith(g) for g in self.generic if len(g) >= 2):
            return None
        return x

    def best(self, s: str, focus: int | None = None) -> str | None:
        """The rules' pick; where it names no place (a generic spot, or nothing), the learned tagger's
        confident span instead: it knows wording the suffix rules do not ("楼下车棚", "村后面的砖厂"); where
        the tagger does not take a named pick for a place, its span may overrule it (`_overruled`)."""
        spans = self.find_all(s)
        out, named = self._pick(s, focus, spans)
        if s:  # (a named pick is never empty)
            # only a long message's head is tagged: its place is there (150 characters: 2 of 8,230 written messages'
            # places lost against 200, for a tenth of a long message's parse)
            head = s[:_TAGGED_HEAD]
            tagging = (head, [sp for sp in spans if sp.end <= len(head)],
                       focus if focus is not None and focus < len(head) else None)
            out = (place_model.learned_place(self, *tagging) or out) if not named else self._overruled(*tagging, out)
        out = self._pointed(s, spans, out)
        k = s.find(out) if out else -1
        if k > 0:  # a pick begun inside an administrative name ("尔滨道里区…" of "哈尔滨道里区…") takes all of it
            a = self.gaz.start_of(s, k)
            out = s[a:k] + out
        return out

    def _overruled(self, head: str, spans: list[Span], focus: int | None, out: str) -> str:
        """A named pick the tagger does not take for a place ("装修成餐馆", "货车频繁撞桥", "小学和一个菜市场"):
        the tagger's confident span instead (as confident as where the rules name nothing), unless that is only
        a generic spot or one pointed at ("锅炉房", "那个建筑工地"), which the named pick says better, or where
        the writer lives. `head`, `spans`, `focus`: what is tagged of the message."""
        if len(spans) == 1 and self._residential(out):
            return out  # an estate named plainly, the only candidate: what the rules are surest of (no tagging)
        found = place_model.tagged(self, head, spans)
        k = head.find(out)
        if k < 0 or any(a < k + len(out) and k < b for a, b, _ in found):
            return out  # the tagger takes it for a place too (or cannot see it)
        alt = place_model.learned_place(self, head, [], focus, found)
        a = head.find(alt) if alt else -1
        if a < 0 or alt in out or out in alt or _POINTER.search(alt) or _home(head, a, a + len(alt)) \
                or self.generic_place is not None and self.generic_place.fullmatch(alt):
            return out  # a spot, a place pointed at or the writer's home: the named pick says more
        # right after the pick, the place in it ("A2区八里庄街道" + "某小区门口"): the two are one
        return out + alt if a == k + len(out) else alt

    def _pick(self, s: str, focus: int | None, spans: list[Span]) -> tuple[str | None, bool]:
        """The rules' place and whether it names one (an estate, road, landmark, building number), not
        only a generic spot."""
        if not any(sp.named for sp in spans):
            lead = self._bare_lead(s)
            if lead is not None:
                return lead, True
        if not spans:
            return self._generic(s, focus), False

        def score(sp: Span) -> tuple:
            near = 0.0
            if focus is not None:
                d = min(abs(sp.start - focus), abs(sp.end - focus))
                near = 1.0 if d <= 40 else 0.0
            at = _AT_WEIGHT if _AT.search(s, max(0, sp.start - 4), sp.start) or _opens(s, sp.start, sp.end) \
                or _NAMED_AS.search(s, max(0, sp.start - 8), sp.start) else \
                _WE_ARE_WEIGHT if _WE_ARE.search(s, max(0, sp.start - 6), sp.start) else 0.0
            title = -title_weight if sp.end <= title_end and any_body else 0.0
            level = -_LEVEL_WEIGHT if any_estate and self._level_only(sp.text(s)) else 0.0
            if not at and self._whole_clause(s, sp):
                at = _AT_WEIGHT
            home = -_HOME_WEIGHT if _home(s, sp.start, sp.end) and any(
                o.named and o.start > sp.end + 3 and not self._level_only(o.text(s)) for o in spans) else 0.0
            if home:
                at = 0.0  # "住在金桂小区": where the writer lives, not where the hazard is
            counted = _COUNTED_WEIGHT if sp.counted == "place" else -_LEVEL_WEIGHT if sp.counted == "level" and any(
                o.named and not o.counted and o.start >= title_end and self._residential(o.text(s)) for o in spans) else 0.0
            return (2 * sp.named + sp.chain + near + at + title + level + home + counted, -sp.start)

        t = _TITLE.match(s)
        title_end = t.end() if t else 0

        def any_named_body(end: int) -> bool:
            return any(sp.named and sp.start >= end for sp in spans)

        line = s.find("\n")
        title_weight = _TITLE_WEIGHT
        if not title_end and 0 < line <= _TITLE_LINE and len(s) - line > 2 * line:
            # a message-board post's title line over its body ("九里堤北路火锅店占用疏散通道\n尊敬的领导：
            # 九里堤北路一家火锅店，…"): the title shortens what the body names in full
            title_end, title_weight = line, _TITLE_LINE_WEIGHT
            if focus is not None and focus < line and any_named_body(line):
                focus = None  # the hazard named in the title says nothing of which body place is near it
        any_body = title_end > 0 and any(sp.named and sp.start >= title_end for sp in spans)
        # "金牛区营门口街道…花照壁小区": a worker needs the estate or road, not the district or street
        # (one named plainly: with a building number, or a two-character suffix such as 小区, 花园, 大道)
        any_estate = any(sp.named and not self._level_only(sp.text(s)) and self._plain(sp.text(s), sp.chain)
                         and not _COUNTED_BEFORE.search(s, max(0, sp.start - 3), sp.start) for sp in spans)
        top = max(spans, key=score)
        k = spans.index(top)
        if k > 0 and spans[k - 1].named and s[spans[k - 1].end:top.start] == "的" \
                and s[spans[k - 1].start:spans[k - 1].end].endswith(_BY):
            # "镇卫生院旁边的夕阳红老年公寓": the landmark before it is kept
            top = Span(spans[k - 1].start, top.end, True, top.chain)
        elif k + 1 < len(spans) and spans[k + 1].named and s[top.end:spans[k + 1].start] == "的" \
                and s[top.start:top.end].endswith(_BY) or k + 1 < len(spans) and spans[k + 1].named \
                and spans[k + 1].start == top.end and s[top.start:top.end].endswith(_BY):
            top = Span(top.start, spans[k + 1].end, True, spans[k + 1].chain)
        end = top.end
        nxt = next((sp for sp in spans if sp.start > top.start), None)
        if nxt is not None and self._is_admin(s[top.start:top.end]) \
                and re.fullmatch(rf"{_NAME_CHARS}{{0,4}}", s[top.end:nxt.start]) and (nxt.start == top.end or nxt.chain):
            # "锦江区玉林街道" + "南苑新村", "东升街道" + "和平里" + "12幢": the level and the estate are one place
            end = nxt.end
        elif nxt is not None and nxt.named and nxt.start == top.end and not top.chain \
                and s[top.start:top.end].endswith(_HOLDS_ESTATE) and self._residential(nxt.text(s)):
            # "金沙路" + "丽景苑", "清水河社区" + "龙潭苑": the road or community and the estate on it are one place
            end = nxt.end
        if end > top.end and s[top.start:end].endswith(_BY):
            # "五津街道" + "老车站旁边" + "的废品收购站": the level, the landmark and the place by it
            after_by = next((sp for sp in spans if sp.start == end + 1 and sp.named), None)
            if after_by is not None and s[end] == "的":
                end = after_by.end
        start = self._with_admin(s, top.start) if top.named else top.start
        if start < end:
            start = self._whole_level(s, start)
        out = s[start:end].strip(" ,的")
        if not out:
            return None, False
        out = self._with_building(s, spans, top, out, focus)
        # a building number ("3栋2单元") says which place as well as a name does, and so does a bare
        # building the estate joined ("6栋" + "锦绣花园" → "锦绣花园6栋车库")
        return out, top.named or top.chain or any(sp.named and sp.text(s) in out for sp in spans)

    def _pointed(self, s: str, spans: list[Span], out: str | None) -> str | None:
        """The pick widened to where a worker walks: an anonymised place written in it ("…街道某小区门口"), the
        place the writer points to in it or the spot written after it ("工业园那家电池厂", "…12栋的楼道"), and
        a named place that points to the pick ("光荣北路那家汽修店")."""
        a = s.find(out) if out else -1
        if a < 0:
            return out
        b = a + len(out)

        def place_at(k: int) -> int | None:  # the end of a place starting at k
            end = next((sp.end for sp in spans if sp.start == k), None)
            if end is not None:
                return end
            g = (self.generic_place.match(s, k) if self.generic_place is not None else None) \
                or _POINTED_SHOP.match(s, k)  # "那家汽修店", "那个洗车场"
            return g.end() if g else None

        def place_to(k: int) -> int | None:  # the start of a named place ending at k ("楼下那栋…" adds nothing)
            start = next((sp.start for sp in spans if sp.end == k and sp.named), None)
            lead = self._bare_lead(s) if start is None else None
            return 0 if lead is not None and len(lead) == k else start

        m = _ANON_AFTER_LEVEL.match(s, b)
        if m is not None:
            # "A2区猛追湾街道" + "某小区门口", "芳草街" + "某栋一楼": the anonymised place in it is where it is,
            # with every level before it
            a, b = self._whole_level(s, self._with_admin(s, a)), m.end()
        # the place the writer points to in it ("那家汽修店"), or the spot written after it ("…菜市场后面的排水沟",
        # "…12栋的楼道"): a worker walks to the spot
        m = _POINTER.match(s, b) or _SPOT_OF.match(s, b)
        if m is not None and (end := place_at(m.end())) is not None and end - b <= 10:
            b = end
        m = _POINTER_BEFORE.search(s, max(0, a - 4), a)
        if m is not None and m.end() == a and (start := place_to(m.start())) is not None:
            a = start
        return s[a:b]

    def _whole_clause(self, s: str, sp: Span) -> bool:
        """A named place standing as a clause by itself, between punctuation marks or the ends; the
        clause may go on with a spot or a second place word ("天回镇" + "老街", "一环路东三段" + "天桥")."""
        if not sp.named or sp.end - sp.start < 3 or sp.start > 0 and s[sp.start - 1] not in _CLAUSE_EDGE:
            return False
        k = sp.end
        while k < len(s) and s[k] not in _CLAUSE_EDGE and k - sp.end <= 5:
            k += 1
        rest = s[sp.end:k]
        if k < len(s) and s[k] not in _CLAUSE_EDGE:
            return False
        return not rest or self.generic_place is not None and self.generic_place.fullmatch(rest) is not None \
            or self.suffix_re.search(rest) is not None and any(rest.endswith(x) for x in self.suffixes)

    def _with_building(self, s: str, spans: list[Span], top: Span, out: str, focus: int | None) -> str:
        """"我家住新桥小区，反映一下我们6栋的问题": the estate and the building written apart are one
        place for the worker ("新桥小区6栋"): a bare building chain joins an estate named without one, and
        an estate joins a bare chain; only when the message names one estate and one bare chain. The chain
        keeps the generic spot written right after it ("2单元" + "电梯厅", "8栋" + "车库"). A chain written
        again longer is one chain ("3栋", "3栋三楼"); of several, a message-board title opening with one
        says which ("9号楼地基下沉" over "我家住6号楼")."""
        named = [sp for sp in spans if sp.named and not sp.chain and not self._level_only(sp.text(s))]
        bare: dict[str, Span] = {}
        for sp in spans:
            if sp.chain and not sp.named:
                t = sp.text(s).lstrip("的 ")
                bare.setdefault(t, sp)
        # a chain that begins another is the same building ("3栋" and "3栋三楼"): the longer one stays
        keys = [t for t in bare if not any(o != t and o.startswith(t) for o in bare)]
        title_end = s.find("\n")
        in_title = [t for t in keys if 0 <= bare[t].start and bare[t].end <= title_end and bare[t].start <= 1] \
            if 0 < title_end <= 40 else []
        if len(keys) > 1 and len(in_title) == 1:
            keys = in_title
        if len(keys) != 1 or not _STRONG.search(keys[0]):
            return out
        chain = bare[keys[0]]
        ctext = keys[0] + self._spot_after(s, keys[0])
        if len({sp.text(s) for sp in named}) == 1:
            estate = named[0]
            if out.endswith(estate.text(s)):  # the estate, maybe with the levels before it
                return out + ctext
            if top is chain or top.text(s).lstrip("的 ") == keys[0]:
                return estate.text(s) + ctext
            return out
        if in_title and top.named and top.chain and keys[0] not in out:
            # "5栋2单元楼梯间堆满杂物 … 建华小区5栋2单元601": the title's building and spot, in the estate
            for k in range(len(out)):
                if self.chain.fullmatch(out, k) and k >= 2:
                    return out[:k] + ctext
        return out

    def _spot_after(self, s: str, chain: str) -> str:
        """The longest generic spot written right after any mention of `chain` ("楼梯间", "的楼道")."""
        if self.spot is None:
            return ""
        best, k = "", s.find(chain)
        while k >= 0:
            m = self.spot.match(s, k + len(chain))
            if m and len(m.group(0)) > len(best):
                best = m.group(0)
            k = s.find(chain, k + 1)
        return best

    def _residential(self, text: str) -> bool:
        """An estate named plainly ("锦城花园", "文庙街17号院"), not a counted one."""
        text = self.chain.sub("", text)
        return any(text.endswith(x) and len(text) - len(x) >= 2 for x in _RESIDENTIAL) and "一" not in text

    def _whole_level(self, s: str, start: int) -> int:
        """A span that begins inside a level's name ("新都区新繁街道…" found as "区新繁街道…") takes the whole level."""
        if s[start] in "区县市镇乡" and self.admin_tail is not None:
            known = self.gaz.level_before(s, start + 1)
            if known < start:
                return self._with_admin(s, known)
            for k in range(max(0, start - 4), start):
                if self.admin_tail.fullmatch(s[k:start + 1]) and not any(ch in "省市区县镇乡" for ch in s[k:start]):
                    return self._with_admin(s, k)
        return start

    def _plain(self, text: str, chain: bool) -> bool:
        return chain or any(text.endswith(x) and len(text) - len(x) >= 2 for x in self.plain_suffixes)

    def _level_only(self, text: str) -> bool:
        """An administrative level (district, street, town), not a place a worker can walk to."""
        return self._is_admin(text) or self._with_admin(text, len(text)) == 0

    def _is_admin(self, text: str) -> bool:
        return self.admin_tail is not None and self.admin_tail.search(text) is not None
