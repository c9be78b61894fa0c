"""Removes what identifies a person from a closed case before it becomes a precedent: names, phone numbers, ID
numbers, bank cards, e-mail and chat accounts, detailed addresses.

Structured identifiers are found by pattern. Names by three means together: jieba's part-of-speech tagger (person
names `nr*`), cue words (我叫…, 对方…先生) and familiar forms (老张, 小李). A name found anywhere is then removed
everywhere, and every distinct person gets the same label throughout (某甲, 某乙, …), so the case still reads.
Province-, city- and district-level places stay (they say where a kind of dispute happens, not who); villages,
communities, streets, house numbers and rooms go. Over-removal is preferred to leaking.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

LABELS = "甲乙丙丁戊己庚辛壬癸"

SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪"
    "范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪"
    "庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣"
    "巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝萧冼裘楼斯宣仉泮屠傅寿"
    # Rarer ones, each still borne by many thousands of people (none of them a common word on its own).
    "禤訾亓逯笪仝麴厍蒯郜郦郗郇隗楚习衡阙殳沃蔚夔晁勾阚乜鞠巢荆竺桓汝鄢钦缑亢况郈琴佴谯邰伏钭厉戎祖茅闻惠宦蓬胥苍莘"
    "贡劳逄扶堵宰雍璩濮扈燕冀郏浦阎慕茹庾暨"
)
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "诸葛",
    "上官",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "司徒",
    "夏侯",
    "端木",
    "长孙",
    "宇文",
    "轩辕",
    "独孤",
    "南宫",
    "西门",
    "呼延",
    "万俟",
    "闻人",
    "澹台",
    "公羊",
    "太史",
    "申屠",
    "钟离",
    "宗政",
    "濮阳",
    "淳于",
    "单于",
    "赫连",
    "百里",
    "东郭",
    "南门",
    "拓跋",
    "第五",
)
TITLES = (
    "先生",
    "女士",
    "小姐",
    "师傅",
    "老师",
    "经理",
    "老板",
    "阿姨",
    "大爷",
    "大妈",
    "大姐",
    "大哥",
    "大叔",
    "大娘",
    "同志",
    "律师",
    "医生",
    "主任",
    "书记",
    "村长",
    "队长",
    "总",
    "姐",
    "哥",
    "叔",
    "婶",
    "奶奶",
    "工头",
    "老板娘",
    "老太",
    "老头",
    "科长",
    "局长",
    "所长",
    "院长",
    "校长",
    "厂长",
    "组长",
    "班长",
    "会计",
    "警官",
    "婆婆",
    "公公",
    "爷爷",
    "阿婆",
    "大伯",
    "伯伯",
    "嫂子",
    "师父",
    "老汉",
)
# Words after which the next two or three characters are very often a person's name: kinship, roles in a dispute.
KIN_AND_ROLES = (
    "老公",
    "丈夫",
    "老婆",
    "妻子",
    "爱人",
    "媳妇",
    "前夫",
    "前妻",
    "对象",
    "男友",
    "女友",
    "男朋友",
    "女朋友",
    "未婚夫",
    "未婚妻",
    "儿子",
    "女儿",
    "儿媳",
    "女婿",
    "父亲",
    "母亲",
    "爸爸",
    "妈妈",
    "我爸",
    "我妈",
    "公公",
    "婆婆",
    "岳父",
    "岳母",
    "丈母娘",
    "老丈人",
    "继父",
    "继母",
    "哥哥",
    "姐姐",
    "弟弟",
    "妹妹",
    "大哥",
    "二哥",
    "大姐",
    "二姐",
    "叔叔",
    "舅舅",
    "姑姑",
    "姨妈",
    "伯伯",
    "侄子",
    "侄女",
    "外甥",
    "孙子",
    "孙女",
    "外孙",
    "爷爷",
    "奶奶",
    "外公",
    "外婆",
    "嫂子",
    "弟媳",
    "姐夫",
    "妹夫",
    "小叔子",
    "小姑子",
    "房东",
    "租客",
    "房客",
    "承租人",
    "出租人",
    "老板",
    "老板娘",
    "包工头",
    "工头",
    "司机",
    "车主",
    "邻居",
    "业主",
    "同事",
    "朋友",
    "同学",
    "债主",
    "借款人",
    "出借人",
    "担保人",
    "保证人",
    "被告",
    "原告",
    "经理",
    "主管",
    "对方",
    "员工",
    "保姆",
    "师傅",
    "村民",
    "村长",
    "村支书",
    "书记",
    "会计",
    "医生",
    "护士",
    "老师",
    "班主任",
    "店主",
    "店长",
    "卖家",
    "买家",
    "商家",
    "中介",
    "介绍人",
    "证人",
    "股东",
    "法人",
    "负责人",
    "联系人",
    "当事人",
    "申请人",
    "被申请人",
    "受害人",
    "肇事者",
    "伤者",
    "死者",
    "患者",
    "病人",
    "亲戚",
    "表哥",
    "表姐",
    "表弟",
    "表妹",
    "堂哥",
    "堂弟",
    "调解员",
    "律师",
    "网友",
    "室友",
    "合伙人",
    "继承人",
    "监护人",
    "老人",
    "孩子",
    "小孩",
    "雇主",
    "东家",
    "物业经理",
    "楼上",
    "楼下",
    "隔壁",
    "户主",
    "名叫",
    "叫做",
    "姓名",
    "主任",
    "组长",
    "厂长",
    "队长",
    "班长",
    "所长",
    "科长",
    "站长",
    "局长",
    "老总",
    "出纳",
    "保安",
    "工人",
    "闺女",
    "丫头",
    "小舅子",
    "债务人",
    "债权人",
    "欠款人",
    "收款人",
    "付款人",
    "房主",
    "买方",
    "卖方",
    "甲方",
    "乙方",
    "舍友",
    "发小",
    "客户",
    "租户",
    "业务员",
    "销售",
    "快递员",
    "外卖员",
    "网约车司机",
    "驾驶员",
    "车间主任",
    "项目经理",
    "对方司机",
    "经营者",
    "实际经营者",
    "法定代表人",
    "法人代表",
    "户名",
    "开户人",
    "持卡人",
    "本名",
    "大名",
    "原名",
    "真名",
    "小名",
    "乳名",
    "外号",
    "绰号",
    "上诉人",
    "被上诉人",
    "被执行人",
    "申请执行人",
    "第三人",
    "代理人",
    "主刀",
    "主治医生",
    "客服",
    "支书",
    "村支书",
    "男人",
    "女人",
    "媳妇儿",
    "老伴",
    "前任",
    "小三",
    "情人",
    "之女",
    "之子",
    "之妻",
    "之夫",
    "之母",
    "之父",
    "其父",
    "其母",
    "其妻",
    "其夫",
    "其子",
    "其女",
    "个体户",
    "店老板",
    "养殖户",
    "承包户",
    "老大",
    "老二",
    "老三",
    "老四",
    "老五",
    "老幺",
    "他爹",
    "他娘",
    "俺爹",
    "俺娘",
    "他爸",
    "他妈",
    "她爸",
    "她妈",
    "护工",
    "屯长",
    "寨主",
    "网格员",
    "民警",
    "警官",
    "居民",
    "职工",
    "退休职工",
    "代表",
    "劳动者代表",
    "回访人",
    "回访对象",
    "出租方",
    "承租方",
    "被征收人",
    "作坊主",
    "主播",
    "教练",
    "领头的",
    "同班同学",
    "子女",
    "继承人",
    "被继承人",
    "当事人一",
    "当事人二",
    "当事人三",
    "我是",
    "的是",
    "就是",
    "真名叫",
    "实名为",
    "实名",
    "乘客",
    "旅客",
    "顾客",
    "消费者",
    "大户",
    "种植大户",
    "承包人",
    "发包人",
    "施工方",
    "包工队",
)
# Surnames of Dai, Naxi, Yi and other names (岩香, 玉香, 刀建平, 木丽华, 普丽芬) that are also common characters: a
# name only right after a role or a cue.
ROLE_ONLY_SURNAMES = "岩玉刀木普依召和"
# Tibetan and other names without a surname are built from these syllables (扎西顿珠, 次仁卓玛, 格桑拉姆).
TIBETAN_SYLLABLES = (
    "扎西",
    "次仁",
    "卓玛",
    "顿珠",
    "格桑",
    "尼玛",
    "达瓦",
    "拉姆",
    "央金",
    "多吉",
    "平措",
    "旺堆",
    "索朗",
    "德吉",
    "普布",
    "边巴",
    "洛桑",
    "丹增",
    "强巴",
    "白玛",
    "才旦",
    "措姆",
    "巴桑",
    "次旦",
    "旦增",
    "贡布",
    "加措",
    "嘉措",
    "罗布",
    "米玛",
    "曲珍",
    "仁增",
    "桑珠",
    "益西",
    "泽仁",
    "卓嘎",
)
# Rural pet names that are a person's name wherever they stand.
PET_NAMES = (
    "狗蛋",
    "狗剩",
    "二丫",
    "大丫",
    "三丫",
    "二柱子",
    "柱子",
    "铁柱",
    "铁蛋",
    "栓柱",
    "二狗",
    "三娃",
    "二娃",
    "毛蛋",
    "虎子",
    "二愣子",
    "丫蛋",
    "石头娃",
    "小宝",
    "阿毛",
    "阿宝",
)

_CJK = r"[\u4e00-\u9fff]"
_SURNAME_RE = "(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SURNAMES)) + "])"
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
# Units after which a number is an amount, a size or a time, not an identifier.
_AMOUNT_UNITS = (
    "元块角分万亿千百十美刀镑欧日月年号天周岁小时分钟秒米里斤克吨亩平方度次个条件套台辆人倍%‰层楼期"
)

# A street's name: Chinese characters, but never reaching back over a city or district, or a verb before it.
_STREET_NAME = r"(?:(?![省市区县到在住是从和与跟的了把被给向搬我家])[\u4e00-\u9fff])"

# A long number, its digits perhaps grouped by spaces or dashes (330106 1985 0312 2415, 6222-0212-3456-7890).
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[\s-]?)?\d(?:[\s-]?\d){6,22}[Xx]?(?![0-9A-Za-z])")


def _classify_number(m: re.Match[str]) -> str:
    raw = m.group(0)
    digits = re.sub(r"[^0-9Xx]", "", raw)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    following = m.string[m.end() : m.end() + 1]
    if (
        following
        and following in _AMOUNT_UNITS
        and len(digits) <= 12
        and not re.search(r"[\s-]", raw.strip())
    ):
        return raw  # 3000000元, 20231201号 (a date): not an identifier
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789":
        return "[电话]"
    if len(digits) in (15, 18) and re.fullmatch(
        r"[1-9]\d{5}(?:(?:18|19|20)\d{2}|\d{2})[01]\d[0-3]\d\d{3}[\dXx]?", digits
    ):
        return "[身份证号]"
    if 16 <= len(digits) <= 19:
        return "[银行卡号]"
    if digits[0] == "0" and 10 <= len(digits) <= 12:
        return "[电话]"
    return "[号码]"


PATTERNS: list[tuple[re.Pattern[str], str | None]] = [
    # Case and agreement numbers: （2023）浙0681民初1234号, 2023浙0683民初2891, 诸枫调〔2024〕第012号.
    (
        re.compile(
            r"[(（〔\[【]\s*(?:19|20)\d{2}\s*[)）〕\]】]\s*[\u4e00-\u9fff]{0,4}\d{0,6}[\u4e00-\u9fff]{0,6}"
            r"第?\s*\d+\s*号"
        ),
        "[案号]",
    ),
    (
        re.compile(
            r"(?<!\d)(?:19|20)\d{2}["
            + "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
            + r"]\d{2,6}[\u4e00-\u9fff]{1,3}\d+号?"
        ),
        "[案号]",
    ),
    (re.compile(r"[\u4e00-\u9fff]{1,6}[〔\[【]\s*(?:19|20)\d{2}\s*[〕\]】]\s*第?\s*\d+\s*号"), "[编号]"),
    # Registered businesses by their full name: 诸暨市永盛袜业有限公司, 义乌市佳美饰品商行.
    (
        re.compile(
            r"(?:(?![我你他她的在是到从和与跟了把被给向叫])[\u4e00-\u9fff]){2,16}?"
            r"(?<![某一家该本这那个])(?:有限责任公司|股份有限公司|有限公司|商行|经营部|门市部|个体工商户|合作社)"
        ),
        "[单位]",
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[邮箱]"),
    # Accounts named as such: 微信是wxid_abc123, QQ号 987654321, 支付宝 138…, 抖音号:dy_777.
    (
        re.compile(
            r"(微信号?|vx|VX|v信|威信|QQ号?|qq号?|扣扣|抖音号?|快手号?|支付宝(?:账号|账户|号)?|淘宝(?:账号|号)?|"
            r"钉钉号?|微博|账号|用户名|昵称|ID|id)\s*(?:号码|号)?\s*(?:是|为|叫|:|：)?\s*[A-Za-z0-9_.@+-]{4,}"
        ),
        r"\1[账号]",
    ),
    (
        re.compile(
            r"((?:账号|用户名|昵称|网名|微博|抖音号?|快手号?|小红书号?|ID)\s*(?:叫|是|为|:|：)\s*)@?"
            r"[^\s，。,；;！!？?（）()]{2,20}"
        ),
        r"\1[账号]",
    ),
    (
        re.compile(
            r"((?:微信名|微信昵称|网名|昵称|账号|抖音号?|抖音账号|快手号?|名字|店名|作坊|号码备注)\s*(?:叫|是|为|:|：)?\s*)"
            r"[“\"「『(（][^”\"」』)）]{1,20}[”\"」』)）]"
        ),
        r"\1[账号]",
    ),
    (re.compile(r"((?:叫|英文名|名叫|名字是|真名)\s*)[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+"), r"\1[姓名]"),
    # Landlines with a bracketed or spaced area code: (0571)88886666, （0575）87654321, 0575 8765 4321.
    (re.compile(r"[(（]\s*0\d{2,3}\s*[)）]\s*\d{3,4}[\s-]?\d{4}(?!\d)"), "[电话]"),
    (_LONG_NUMBER, None),
    # The end of a number: 身份证后四位是2415, 尾号8832的卡.
    (
        re.compile(r"((?:尾号|后四位|后4位|后六位|后6位|末四位|末4位|末尾)\s*(?:是|为|:|：)?\s*)\d{3,6}"),
        r"\1[号码]",
    ),
    # Licence plates: 浙A12345, 浙A·D12345, 沪B 8K8K8, 苏E-12345, 粤B12345挂.
    (
        re.compile(
            r"[" + _PROVINCES + r"]\s*[A-Za-z]\s*[·•.\s-]?\s*[A-Za-z0-9]{5,6}[挂学警港澳]?(?![A-Za-z0-9])"
        ),
        "[车牌]",
    ),
    # Any other handle: letters and digits mixed, or with an underscore (zhang_san88, lily1990).
    (
        re.compile(
            r"(?<![A-Za-z0-9_.-])(?=[A-Za-z0-9_.-]*[A-Za-z])(?=[A-Za-z0-9_.-]*[0-9_])[A-Za-z0-9][A-Za-z0-9_.-]{4,}"
            r"(?![A-Za-z0-9_.-])"
        ),
        "[账号]",
    ),
    # Street address with a house number, and whatever building / unit / room follows.
    (
        re.compile(
            _STREET_NAME + r"{1,6}(?:路|街|巷|弄|大道|胡同|道)\s*\d+\s*(?:[-之]\s*\d+\s*)?(?:号|弄)(?:院)?"
            r"(?:\s*\d+\s*(?:弄|号|栋|幢|号楼|单元|室|楼|层))*"
        ),
        "[地址]",
    ),
    # Building, unit and room: 3幢2单元501室, 12栋1802, 5号楼3单元, B座1203, 3-2-501.
    (
        re.compile(r"(?:[A-Za-z]|\d+)\s*(?:栋|幢|号楼|座|楼)\s*(?:\d+\s*(?:单元|楼|层|室|号|户)?\s*)+"),
        "[地址]",
    ),
    (re.compile(r"(?:\d+|[A-Za-z])\s*(?:栋|幢|号楼|座)"), "[地址]"),
    (re.compile(r"\d+\s*单元\s*(?:\d+\s*(?:楼|层|室|号|户)?\s*)*"), "[地址]"),
    (re.compile(r"(?<![\d.])\d{1,3}\s*[-－]\s*\d{1,3}\s*[-－]\s*\d{2,5}(?:\s*室)?(?![\d.])"), "[地址]"),
    (re.compile(r"(?<!\d)\d{3,5}\s*(?:室|房间|号房)"), "[地址]"),
    (re.compile(r"(?:(?<=楼上)|(?<=楼下)|(?<=对门)|(?<=隔壁)|(?<=对面))\s*\d{3,4}(?![0-9元块万])"), "[地址]"),
    # Numbered parts of a compound: 翠苑一区, 城北二村.
    (
        re.compile(
            r"(?:(?![省市县区我你他她的在住是到])[\u4e00-\u9fff]){2,4}[一二三四五六七八九十]+[区村期]"
            r"(?![\u4e00-\u9fff]{0,1}(?:委|民|里|干|口))"
        ),
        "[地址]",
    ),
    (
        re.compile(
            r"(?:(?<=公寓)|(?<=小区)|(?<=花园)|(?<=大厦)|(?<=家园)|(?<=新村)|(?<=苑)|(?<=座))\s*\d{2,5}(?![0-9元块万])"
        ),
        "[地址]",
    ),
    (re.compile(r"(?<=[是住在门上下])\d{3,4}(?=\s*(?:的|家|那户|住户|业主|租户))"), "[地址]"),
]

_PLACE_SUFFIX = (
    "村民委员会",
    "居民委员会",
    "村委会",
    "居委会",
    "社区",
    "小区",
    "花园",
    "公寓",
    "新村",
    "家园",
    "苑",
    "庄园",
    "山庄",
    "大厦",
    "广场",
    "府",
    "湾",
    "城",
    "里",
    "村",
    "镇",
    "乡",
    "街道",
    "屯",
    "寨",
    "坊",
    "组",
)
# Villages, communities, compounds and towns by name, with a group number: 栎桥村, 大唐村3组, 城东社区, 枫桥镇.
# Words before a place suffix that make it generic, not a name: 我们村, 这个小区, 农村, 城镇, 同一个小区.
_GENERIC_PLACE = re.compile(
    r"(?:我们|咱们|你们|他们|她们|我家|你家|他家|这个|那个|哪个|这|那|每个|整个|同一个|一个|"
    r"同|本|外|邻|隔壁|附近|老|新|农|城|乡|全|各|该|此|原|县|市|区|省|的|在|住|是|去|到|回|"
    r"个|们|里|大|小|所在)+$"
)
_PLACE_STOP = set("我你他她它们这个的在住是去到回从和与跟及了把被给对向找叫让有没不也都就还很要会能说邻")
_PLACE_SUFFIX_RE = re.compile(
    "村民委员会|居民委员会|村委会|居委会|社区|小区|花园|公寓|新村|家园|苑|庄园|山庄|大厦|村|镇|乡|街道|"
    "世家|华庭|公馆|名邸|豪庭|嘉园|雅居|华府|首府|御园|水岸|别墅"
)

# Cues that the next two or three characters are a person's name.
_NAME_CUES = re.compile(
    r"(?:我叫|名叫|叫做|本名|大名|全名|原名|真名|小名|乳名|外号|绰号|姓名[:：]\s*|叫他|喊他|叫她|喊她|"
    r"当事人[甲乙丙][:：\s]*)(?:叫|是|为)?\s*(" + _CJK + r"{2,3})"
)
# Weaker cues: the name after them must look like one (a surname, or 小/阿/老 and a character).
_WEAK_NAME_CUES = re.compile(
    r"(?:叫|称其|称他|称她|名字是)\s*((?:"
    + _SURNAME_RE
    + r"|[小阿老"
    + ROLE_ONLY_SURNAMES
    + r"])"
    + _CJK
    + r"{1,2})"
)
# A name alone in brackets, after a title or a role: 黄师傅（黄友才）.
_BRACKETED_NAME = re.compile(r"[（(]((?:" + _SURNAME_RE + r")" + _CJK + r"{1,2})[）)]")
_PET_NAME_RE = re.compile(r"(?:" + "|".join(sorted(PET_NAMES, key=len, reverse=True)) + r")")
_NICKNAME_RE = re.compile(
    r"老" + _SURNAME_RE + r"头|" + _SURNAME_RE + r"(?:老汉|老太|老头|老[大二三四五六七八九]|嫂|婶|姨|伯)"
)
# A name typed with spaces between its characters: 王 建 国.
_TIBETAN_NAME = re.compile("(?:" + "|".join(TIBETAN_SYLLABLES) + "){2}")
# Uyghur and foreign names written with a middle dot: 买买提江·艾力, 大卫·米勒.
_DOTTED_NAME = re.compile(r"[\u4e00-\u9fff]{1,6}[·•・][\u4e00-\u9fff]{1,6}")
_SPACED_NAME = re.compile(
    r"(" + _SURNAME_RE + r")\s+(" + _CJK + r")(?:\s+(" + _CJK + r"))?(?=\s|[^\u4e00-\u9fff]|$)"
)
_ROLES = set(KIN_AND_ROLES)
_ROLE_RE = re.compile(
    r"(?:" + "|".join(sorted(KIN_AND_ROLES, key=len, reverse=True)) + r")[\s:：]*(?:名叫|叫|是|为)?[\s:：]*"
)
_COMPOUND_NAME = re.compile(
    "(?:"
    + "|".join(COMPOUND_SURNAMES)
    + ")(?![一二三四五六七八九十百千万零两条款章节项编部分个次年月日天条])"
    + _CJK
    + "{1,2}"
)
_TITLE_RE = re.compile("|".join(sorted(TITLES, key=len, reverse=True)))
_FAMILIAR = re.compile(
    r"(?<![养赡敬送防退尊告古元天月父遗大])((?:老|小|阿)"
    + _SURNAME_RE
    + r")(?!"
    + _CJK
    + r"?(?:子|区|学|时|孩|家|板|师|姐|哥|妹|弟|伙|婆|公|爷|太|头|人|朋友|区|店|样|事))"
)
# 阿强, 阿芳: 阿 with a given name (not 阿姨, 阿婆…).
_A_NAME = re.compile(r"阿(?![姨婆公爷妈爸伯叔嫂哥姐弟妹里拉根富汗尔胶飞甘])(" + _CJK + r")")
# Where a name may start a clause, and what may follow a name.
_CLAUSE_START = set('，。、；：:！？!?（(“”"『』「」 \n和与跟及')
_AFTER_NAME = set(
    '，。、；：:！？!?）)“”" \n和与跟同及说讲在是把被的欠借要拿让给叫找对向从以已也都就还又将喝开打骂偷骗拉带'
    "承称同不没今昨前后每天家等夫妻因于曾系为现诉经均并共兄弟姐妹两俩仨"
)
_NEVER_IN_NAME = set("的是了在和与跟及把被给对向说也都就还很不没否")
# Characters that are never inside a name: a name does not reach over them.
_NOT_IN_NAME = set(
    "与和跟同及的是说在了把被给对向找叫让我你他她们这那个有没不也都就还很要会能讲问打骂欠借拿要还来去到"
    "从已经又再刚将于以为用等和啊吧呢吗呀哦嗯谁哪什么怎由"
)

_KEEP_PLACES = ("省", "市", "区", "县", "自治州", "自治区", "州", "盟", "旗")
_NOT_NAMES = {
    "法院",
    "政府",
    "公司",
    "物业",
    "派出所",
    "居委会",
    "村委会",
    "调解员",
    "老板",
    "老师",
    "小孩",
    "老人",
    "小区",
    "老家",
    "小时",
    "老婆",
    "老公",
    "小姐",
    "阿姨",
    "高速",
    "高中",
    "金额",
    "方面",
    "方式",
    "石头",
    "白天",
    "明天",
    "时间",
    "文件",
    "安全",
    "房子",
    "房租",
    "房东",
    "车子",
    "马上",
    "路上",
    "钱款",
    "江边",
}

_FULLWIDTH = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FULLWIDTH_KEEP = set("，。！？；：（）【】《》、")
_TO_HALFWIDTH = {k: v for k, v in _FULLWIDTH.items() if chr(k) not in _FULLWIDTH_KEEP}


_SPOKEN_DIGITS = {
    "零": "0",
    "〇": "0",
    "洞": "0",
    "一": "1",
    "幺": "1",
    "壹": "1",
    "二": "2",
    "两": "2",
    "贰": "2",
    "三": "3",
    "叁": "3",
    "四": "4",
    "肆": "4",
    "五": "5",
    "伍": "5",
    "六": "6",
    "陆": "6",
    "七": "7",
    "柒": "7",
    "拐": "7",
    "八": "8",
    "捌": "8",
    "九": "9",
    "玖": "9",
    "勾": "9",
}
# Five or more digits spoken or written in characters (幺三九 零五七五…, 壹叁捌…), perhaps ending in 叉 (an X).
_SPOKEN_NUMBER = re.compile(
    "[" + "".join(_SPOKEN_DIGITS) + r"](?:\s?[" + "".join(_SPOKEN_DIGITS) + r"]){4,}(?:\s?叉)?"
)


_SPOKEN_TAIL = re.compile(
    r"((?:尾号|后四位|后4位|末四位|后六位|后6位)\s*(?:是|为)?\s*)([" + "".join(_SPOKEN_DIGITS) + r"]{3,6})"
)


def spoken_digits_to_ascii(text: str) -> str:
    """一三八五七五六一二三四 → 13857561234, so the number patterns see a number written in characters."""

    def convert(spoken: str) -> str:
        return "".join(_SPOKEN_DIGITS.get(c, "X" if c == "叉" else c) for c in spoken)

    text = _SPOKEN_TAIL.sub(lambda m: m.group(1) + convert(m.group(2)), text)
    return _SPOKEN_NUMBER.sub(lambda m: convert(m.group(0)), text)


def to_halfwidth(text: str) -> str:
    """Full-width letters, digits and signs to ASCII (１３８… → 138…), Chinese punctuation kept as it is."""
    return text.translate(_TO_HALFWIDTH)


_SENTINEL = re.compile("\ue000(\\d+)\ue001")
_tagger_lock = threading.Lock()
_tagger = None


def _pos_tagger():
    global _tagger
    with _tagger_lock:
        if _tagger is None:
            import jieba
            import jieba.posseg

            _tagger = jieba.posseg.POSTokenizer(jieba.Tokenizer())
        return _tagger


def _dictionary():
    tagger = _pos_tagger()
    tagger.tokenizer.check_initialized()
    return tagger.word_tag_tab, tagger.tokenizer.FREQ


def _common_word(word: str) -> bool:
    """A word jieba's dictionary knows as something other than a name (车间, 方便, 麻将)."""
    tags, freq = _dictionary()
    tag = tags.get(word)
    return bool(tag) and not tag.startswith("nr") and freq.get(word, 0) >= 5


def _starts_with_a_verb(word: str) -> bool:
    tags, freq = _dictionary()
    return (tags.get(word) or "x")[0] in "vdpcrabt" and freq.get(word, 0) >= 100


def _is_name_word(word: str) -> bool:
    return (_dictionary()[0].get(word) or "").startswith("nr")


def _plausible_name(name: str, strict: bool = True) -> bool:
    """黄海涛 yes (海涛 is a given name), 麻将馆 no (麻将 is a word, 将馆 no name), 方便 no. Not strict (after 丈夫,
    房东…, where a name is expected): only a whole common word is refused (方志勇 stays a name)."""
    if len(name) < 2 or "某" in name or name in _NOT_NAMES or name in _ROLES or _common_word(name):
        return False
    surname = 2 if name[:2] in COMPOUND_SURNAMES else 1
    if len(name) > surname + 1 and _starts_with_a_verb(name[: surname + 1]):
        return False  # 申请调解, 马上还钱: a verb or an adverb, not a surname and a given name
    if strict:
        # jieba's dictionary tags many frequent words as names (许可, 钱财, 封锁, 荣誉): without a role or a cue
        # before it, a frequent word, or a word starting with one (司法鉴定, 荣誉权), is not taken for a name.
        freq = _dictionary()[1]
        if freq.get(name, 0) >= (30 if len(name) == 2 else 300) or (
            len(name) >= 3 and freq.get(name[:2], 0) >= 1000
        ):
            return False
    return not strict or not (
        len(name) - surname == 2 and _common_word(name[: surname + 1]) and not _is_name_word(name[surname:])
    )


def _clause_names(text: str) -> set[str]:
    """A surname and one or two characters at the start of a clause, followed by what follows names (、和说在把…):
    黄海涛、周丽和我…, 徐明说…, 禤国强欠了…"""
    out: set[str] = set()
    for i, ch in enumerate(text):
        if i and text[i - 1] not in _CLAUSE_START:
            continue
        if i >= 2 and text[i - 1] in "和与跟及" and _common_word(text[i - 2 : i]):
            continue  # 总和, 参与: part of a word, not a conjunction
        surname = 2 if text[i : i + 2] in COMPOUND_SURNAMES else 1 if ch in SURNAMES else 0
        if not surname:
            continue
        for given in (2, 1):
            end = i + surname + given
            name = text[i:end]
            if (
                len(name) == surname + given
                and all(re.match(_CJK, c) and c not in _NOT_IN_NAME for c in name[surname:])
                and (end == len(text) or text[end] in _AFTER_NAME)
                and _plausible_name(name)
            ):
                out.add(name)
                break
    return out


def _role_names(text: str) -> set[str]:
    """房东赵德胜, 我老公刘强, 对方司机何伟, 车间主任宋红军: a name right after kinship or role words (several may
    follow each other)."""
    out: set[str] = set()
    for m in _ROLE_RE.finditer(text):
        end = m.end()
        named = "叫" in m.group(0)
        while (nxt := _ROLE_RE.match(text, end)) is not None:
            end = nxt.end()
            named = named or "叫" in nxt.group(0)
        cand = re.match(
            "(?:" + _SURNAME_RE + "|[小阿" + ROLE_ONLY_SURNAMES + "])" + _CJK + "{1,2}", text[end:]
        )
        if cand:
            name = _trim_name(cand.group(0))
            # 房东叫周到: after 叫, even a word is a name.
            if _plausible_name(name, strict=False) or (named and "某" not in name and name not in _ROLES):
                out.add(name)
    return out


def find_names(text: str) -> set[str]:
    names: set[str] = set()
    for word, flag in _pos_tagger().cut(text):
        if (
            flag.startswith("nr")
            and 2 <= len(word) <= 4
            and word not in _NOT_NAMES
            and word not in _ROLES
            and (word[0] in SURNAMES or word[:2] in COMPOUND_SURNAMES)
            and _plausible_name(word)
        ):
            names.add(word)
    names.update(
        n for m in _NAME_CUES.finditer(text) if _plausible_name(n := _trim_name(m.group(1)), strict=False)
    )
    names.update(
        n
        for m in _WEAK_NAME_CUES.finditer(text)
        if _plausible_name(n := _trim_name(m.group(1)), strict=False)
    )
    names.update(m.group(0) for m in _PET_NAME_RE.finditer(text))
    names.update(
        m.group(1) for m in _BRACKETED_NAME.finditer(text) if _plausible_name(m.group(1), strict=False)
    )
    names.update(m.group(0) for m in _TIBETAN_NAME.finditer(text))
    names.update(m.group(0) for m in _DOTTED_NAME.finditer(text))
    names.update(m.group(0) for m in _NICKNAME_RE.finditer(text))
    names.update(_titled_names(text))
    names.update(m.group(1) for m in _FAMILIAR.finditer(text))
    names.update("阿" + m.group(1) for m in _A_NAME.finditer(text))
    names.update(_role_names(text))
    names.update(_clause_names(text))
    for m in _COMPOUND_NAME.finditer(text):
        names.add(_trim_name(m.group(0), surname_len=2))
    names = {
        n for n in names if len(n) >= 2 and not n.startswith("[") and n not in _NOT_NAMES and "某" not in n
    }
    names.update(n[:2] for n in list(names) if n[:2] in COMPOUND_SURNAMES and len(n) > 2)  # 欧阳晓峰 … 欧阳
    # 陈晓雯 found: 晓雯 alone is her too (a given name of two characters that is not a common word).
    for n in list(names):
        surname = 2 if n[:2] in COMPOUND_SURNAMES else 1
        given = n[surname:]
        if (
            len(given) == 2
            and not _TITLE_RE.fullmatch(given)
            and given not in _ROLES
            and _dictionary()[1].get(given, 0) < 2000
        ):  # 海鹰 yes, 建设 no
            names.add(given)
    return names


def _trim_name(name: str, surname_len: int | None = None) -> str:
    """欧阳明辉说 → 欧阳明辉, 房东赵德胜说 → 赵德胜, 刘强说 → 刘强: a given name stops where a word that is never part of
    a name begins, or where a title begins (王先生 is found whole by `_titled_names`)."""
    if surname_len is None:
        surname_len = 2 if name[:2] in COMPOUND_SURNAMES else 1
    out = name[:surname_len]
    title = _TITLE_RE.match(name, surname_len)
    if title:
        return out + title.group(0)  # 吕姐, 王工头
    for ch in name[surname_len:]:
        # A name has a given name: the first character after the surname is taken whatever it is (孙有财).
        if (len(out) > surname_len or ch in _NEVER_IN_NAME) and (
            ch in _NOT_IN_NAME or _TITLE_RE.match(name, len(out))
        ):
            break
        out += ch
    return out


def _titled_names(text: str) -> set[str]:
    """王先生, 刘德华经理, 钱大妈: the longest plausible name before a title, title included."""
    out: set[str] = set()
    for m in _TITLE_RE.finditer(text):
        start = m.start()
        for k in (3, 2, 1):
            name = text[max(0, start - k) : start]
            if len(name) != k or any(c in _NOT_IN_NAME or not re.match(_CJK, c) for c in name[1:]):
                continue
            if (name[:2] in COMPOUND_SURNAMES or name[0] in SURNAMES) and (k == 1 or not _common_word(name)):
                out.add(name + m.group(0))
                if k >= 2 and _plausible_name(name, strict=False):
                    out.add(name)  # 吴建国主任 … 这个吴建国
                break
    return {n for n in out if n not in _NOT_NAMES}


_SMALL_PLACE_END = (
    "镇",
    "乡",
    "村",
    "庄",
    "屯",
    "寨",
    "湾",
    "坞",
    "岙",
    "埠",
    "塘",
    "堡",
    "垟",
    "畈",
    "弄",
    "巷",
    "街道",
    "社区",
    "小区",
)


def find_places(text: str) -> set[str]:
    """Small places jieba knows by a small place's ending (…镇, …村, …岙): a resident is easy to find in them."""
    return {
        word
        for word, flag in _pos_tagger().cut(text)
        if flag == "ns" and len(word) >= 3 and word.endswith(_SMALL_PLACE_END)
    }


_PLACE_WORDS = {
    "农村",
    "乡村",
    "城镇",
    "乡镇",
    "村镇",
    "小镇",
    "古镇",
    "本村",
    "外村",
    "邻村",
    "同村",
    "全村",
    "该村",
    "此村",
    "山村",
    "渔村",
    "城乡",
    "市镇",
    "集镇",
    "本镇",
    "全镇",
    "该镇",
    "本乡",
    "全乡",
    "下乡",
}


def _trailing_name(prefix: str) -> str:
    """The words at the end of `prefix` that can be part of a place's name: 邻居擅自封锁 → '' (封锁 is a verb),
    家住枫桥 → 枫桥."""
    tags = _dictionary()[0]
    words = _pos_tagger().tokenizer.lcut(prefix, HMM=True)
    keep: list[str] = []
    for word in reversed(words):
        tag, freq = tags.get(word) or "n", _dictionary()[1].get(word, 0)
        if word.endswith(_KEEP_PLACES) and word not in ("城市", "都市", "市区", "城区", "县城", "山区"):
            break  # 诸暨市枫桥镇: the city stays, the town is the name
        if (len(word) >= 2 and tag[0] in "vdpcruye" and freq >= 50) or word in (
            "农村",
            "城里",
            "乡下",
            "农民",
            "村民",
        ):
            break
        keep.insert(0, word)
    return "".join(keep)


def find_named_places(text: str) -> set[str]:
    """栎桥村, 大唐村3组, 城东社区, 幸福小区, 枫桥镇: a name before a village, community, compound or town suffix. The
    name is what follows the last word that cannot be in it (家住枫桥镇 → 枫桥镇); a generic one (我们村, 这个小区) is
    not a place name."""
    out: set[str] = set()
    for m in _PLACE_SUFFIX_RE.finditer(text):
        prefix = text[max(0, m.start() - 6) : m.start()]
        cut = max(
            (i for i, ch in enumerate(prefix) if ch in _PLACE_STOP or not re.match(_CJK, ch)), default=-1
        )
        prefix = _trailing_name(prefix[cut + 1 :])
        if len(prefix) < 2 or _GENERIC_PLACE.fullmatch(prefix) or prefix[-1] + m.group(0) in _PLACE_WORDS:
            continue  # 我们村, 这个小区; 农村, 城镇 (a word, not a name)
        group = re.match(r"\s*(?:\d+|[一二三四五六七八九十]+)\s*(?:组|队|社)", text[m.end() :])
        out.add(prefix + m.group(0) + (group.group(0) if group else ""))
    return out


class Anonymiser:
    """One per case, so that a person has the same label in every text of the case."""

    def __init__(self, extra_names: Iterable[str] = ()):
        self.labels: dict[str, str] = {}
        self.extra_names = {n.strip() for n in extra_names if n and len(n.strip()) >= 2}

    def _label(self, name: str) -> str:
        if name not in self.labels:
            i = len(self.labels)
            self.labels[name] = "某" + (LABELS[i] if i < len(LABELS) else str(i + 1))
        return self.labels[name]

    def learn(self, texts: Iterable[str]) -> None:
        """See every text of the case first, so a name found in one is removed from all."""
        for text in texts:
            self(text)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        # Placeholders are parked as private-use sentinels, so no later step can touch them.
        parked: list[str] = []

        def park(value: str) -> str:
            parked.append(value)
            return f"\ue000{len(parked) - 1}\ue001"

        text = spoken_digits_to_ascii(to_halfwidth(text))
        text = _SPACED_NAME.sub(lambda m: "".join(g for g in m.groups() if g), text)
        for pattern, replacement in PATTERNS:
            if replacement is None:
                text = pattern.sub(lambda m: park(_classify_number(m)), text)
            else:

                def expand(m: re.Match[str], r: str = replacement) -> str:
                    return park(m.expand(r))

                text = pattern.sub(expand, text)
        names = find_names(text) | {n for n in self.extra_names | set(self.labels) if n in text}
        # Longest first, so 王建国 is replaced before a stray 王建.
        for name in sorted(names, key=len, reverse=True):
            if name in text:

                def label(_m: re.Match[str], n: str = name) -> str:
                    return park(self._label(n))

                # Not 8万全亏了 (an amount), not 柯桥区 (a district).
                text = re.sub(
                    r"(?<![0-9一二三四五六七八九十两几百千])" + re.escape(name) + r"(?![省市区县])",
                    label,
                    text,
                )
        for place in sorted(find_named_places(text) | find_places(text), key=len, reverse=True):
            text = text.replace(place, park("[地址]"))
        return _SENTINEL.sub(lambda m: parked[int(m.group(1))], text)


def anonymise(text: str) -> str:
    return Anonymiser()(text)


# ------------------------------------------------------------------------------------------------------------------
# Failing closed: a wider, cruder net than the anonymiser's, cast over its output. Whatever it catches holds the
# precedent for a mediator to edit; nothing it catches is published.

_RESIDUAL: list[tuple[str, re.Pattern[str]]] = [
    ("号码", re.compile(r"(?<![0-9])\d(?:[\s-]?\d){4,}(?![0-9])")),
    (
        "门牌",
        re.compile(
            r"\d+\s*[-－]\s*\d+\s*[-－]\s*\d+|\d+\s*(?:号楼|栋|幢|单元|室)|"
            r"(?:路|街|巷|弄|道)\s*\d+\s*号"
        ),
    ),
    (
        "账号",
        re.compile(
            r"(?=[A-Za-z0-9_]*[A-Za-z])(?=[A-Za-z0-9_]*\d)[A-Za-z0-9_]{4,}|@|"
            r"(?:微信|QQ|qq|支付宝|抖音|邮箱|手机|电话|身份证|银行卡|卡号|车牌)(?:号码|号)?\s*(?:是|为|:|：)?\s*"
            r"[A-Za-z0-9]"
        ),
    ),
    ("车牌", re.compile(r"[" + _PROVINCES + r"]\s*[A-Za-z][\s·•.-]?[A-Za-z0-9]")),
    (
        "姓名",
        re.compile(
            _SURNAME_RE + r"(?:先生|女士|小姐|师傅|经理|老板|阿姨|大爷|大妈|大姐|大哥|老师|律师|医生)"
        ),
    ),
]
_AMOUNT_AFTER = re.compile(r"\s*(?:[" + _AMOUNT_UNITS + r"]|多元|余元)")


_REDUPLICATED = re.compile(r"([\u4e00-\u9fff])\1")


def residual_identifiers(text: str) -> list[str]:
    """What still looks like an identifier in an anonymised text: each hit with a little context."""
    text = spoken_digits_to_ascii(to_halfwidth(text or ""))
    found: list[str] = []
    # 萍萍, 丽丽: a doubled character that is not a word (天天, 常常 are) is very often a given name.
    if _REDUPLICATED.search(text):
        for word in _pos_tagger().tokenizer.lcut(text, HMM=True):
            if (
                len(word) == 2
                and word[0] == word[1]
                and not _common_word(word)
                and word[0] not in "一二三四五六七八九十百千万某"
            ):
                found.append(f"姓名：…{word}…")
    for kind, pattern in _RESIDUAL:
        for m in pattern.finditer(text):
            if kind == "号码" and _AMOUNT_AFTER.match(text, m.end()) and not re.search(r"[\s-]", m.group(0)):
                continue  # 15000元, 20000块: an amount
            snippet = text[max(0, m.start() - 4) : m.end() + 4].replace("\n", " ")
            found.append(f"{kind}：…{snippet}…")
    return found
