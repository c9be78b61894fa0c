"""Rules shared by the bot's custom NLU components: entities, the emergency safety net, input checks.

Pure Python (no Rasa import), so the rules are unit-tested in the app environment as well. Every
function expects text that is already normalised (NFKC, Traditional → Simplified; see `normalize`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# --------------------------------------------------------------------------------------------------
# Normalisation


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s.json")


_SPACE_RE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits → ASCII), Traditional → Simplified, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _t2s().convert(text)
    return _SPACE_RE.sub(" ", text).strip()


# --------------------------------------------------------------------------------------------------
# Dispute types. The first eight are the topics offered as quick replies.

DISPUTE_TYPES = (
    "劳动工资",
    "婚姻家庭",
    "邻里纠纷",
    "借贷",
    "物业",
    "交通事故",
    "消费",
    "土地承包",
    "房屋租赁",
    "人身损害",
)
TOPIC_TYPES = DISPUTE_TYPES[:8]
OTHER_TYPE = "其他"

# keyword → weight; a longer keyword that contains a shorter one of another type wins by weight.
_DISPUTE_KEYWORDS: dict[str, dict[str, int]] = {
    "劳动工资": {
        "工资": 2,
        "工钱": 2,
        "薪水": 2,
        "薪资": 2,
        "欠薪": 2,
        "加班费": 2,
        "加班": 1,
        "社保": 2,
        "劳动合同": 2,
        "劳动仲裁": 2,
        "工伤": 2,
        "辞退": 2,
        "开除": 2,
        "炒鱿鱼": 2,
        "试用期": 2,
        "离职": 2,
        "辞职": 2,
        "打工": 2,
        "上班": 1,
        "包工头": 2,
        "工头": 1,
        "工地": 1,
        "厂里": 1,
        "工厂": 1,
        "老板": 1,
        "单位": 1,
        "公司": 1,
        "员工": 1,
        "年终奖": 2,
        "绩效": 1,
        "调岗": 2,
        "降薪": 2,
        "裁员": 2,
        "用人单位": 2,
        "干活": 1,
        "劳务费": 2,
        "五险一金": 2,
        "公积金": 1,
        "工作": 1,
        "上岗": 1,
        "经济补偿": 2,
        "拖欠工": 2,
    },
    "婚姻家庭": {
        "离婚": 3,
        "结婚": 2,
        "老公": 1,
        "丈夫": 1,
        "老婆": 1,
        "妻子": 1,
        "媳妇": 1,
        "前夫": 2,
        "前妻": 2,
        "抚养": 2,
        "抚养费": 3,
        "抚养权": 3,
        "赡养": 3,
        "彩礼": 3,
        "嫁妆": 3,
        "遗产": 3,
        "遗嘱": 3,
        "继承": 3,
        "分家": 2,
        "婆婆": 1,
        "公婆": 1,
        "夫妻": 2,
        "领证": 2,
        "订婚": 2,
        "分居": 2,
        "婚前": 2,
        "婚后": 2,
        "冷静期": 2,
        "探视": 2,
        "出轨": 2,
        "家暴": 2,
        "再婚": 2,
        "收养": 2,
        "养老": 1,
        "不孝": 2,
    },
    "邻里纠纷": {
        "邻居": 1,
        "隔壁": 1,
        "楼上": 2,
        "楼下": 2,
        "对门": 1,
        "噪音": 2,
        "漏水": 2,
        "渗水": 2,
        "采光": 2,
        "挡光": 2,
        "通行": 1,
        "堵路": 2,
        "排水": 1,
        "滴水": 2,
        "空调外机": 2,
        "油烟": 2,
        "院墙": 2,
        "相邻": 2,
        "树枝": 1,
        "占道": 1,
        "乱堆": 1,
        "堆放": 1,
        "邻里": 3,
        "吵到": 1,
        "扰民": 2,
        "装修声": 2,
        "楼道": 1,
        "走廊": 1,
        "高空抛物": 2,
        "扔垃圾": 1,
    },
    "借贷": {
        "借钱": 3,
        "借款": 3,
        "借条": 3,
        "欠条": 3,
        "欠钱": 2,
        "欠我": 1,
        "还钱": 2,
        "不还": 2,
        "利息": 2,
        "高利贷": 3,
        "网贷": 3,
        "贷款": 2,
        "担保": 2,
        "催收": 3,
        "欠款": 2,
        "老赖": 3,
        "借给": 3,
        "借了": 2,
        "赌债": 3,
        "债务": 2,
        "还款": 2,
        "借据": 3,
    },
    "物业": {
        "物业": 3,
        "物业费": 3,
        "小区": 1,
        "业主": 2,
        "业委会": 3,
        "电梯": 1,
        "停车位": 2,
        "车位": 1,
        "公摊": 2,
        "维修基金": 3,
        "保安": 1,
        "物业公司": 3,
    },
    "交通事故": {
        "车祸": 3,
        "撞了": 2,
        "撞伤": 3,
        "撞到": 2,
        "被撞": 3,
        "追尾": 3,
        "交通事故": 3,
        "电动车": 1,
        "摩托车": 1,
        "肇事": 3,
        "逃逸": 2,
        "交警": 2,
        "刮蹭": 3,
        "酒驾": 3,
        "开车": 1,
        "骑车": 1,
        "行人": 1,
        "事故认定": 3,
        "交强险": 3,
        "车险": 2,
        "撞车": 3,
        "剐蹭": 3,
        "车撞": 3,
        "闯红灯": 2,
    },
    "消费": {
        "商家": 3,
        "店家": 3,
        "假货": 3,
        "退货": 3,
        "退款": 2,
        "网购": 3,
        "快递": 2,
        "超市": 2,
        "过期": 2,
        "质量问题": 2,
        "售后": 3,
        "健身卡": 3,
        "健身房": 3,
        "预付卡": 3,
        "充值卡": 3,
        "美容": 2,
        "培训班": 2,
        "外卖": 2,
        "饭店": 1,
        "装修公司": 3,
        "保健品": 3,
        "消费者": 3,
        "三包": 3,
        "无理由": 3,
        "卖家": 2,
        "买的": 1,
        "买了": 1,
        "网店": 3,
        "淘宝": 2,
        "直播间": 2,
        "商场": 2,
        "餐馆": 1,
        "发票": 1,
        "假冒": 2,
    },
    "土地承包": {
        "承包地": 4,
        "承包": 2,
        "土地": 2,
        "宅基地": 4,
        "征地": 4,
        "拆迁": 3,
        "补偿款": 2,
        "土地流转": 4,
        "流转": 2,
        "林地": 3,
        "耕地": 3,
        "山林": 3,
        "确权": 3,
        "农田": 3,
        "田地": 3,
        "村集体": 3,
        "分地": 3,
        "自留地": 4,
        "村委会": 1,
        "村里": 1,
        "口粮田": 4,
        "责任田": 4,
    },
    "房屋租赁": {
        "房东": 3,
        "租房": 3,
        "租客": 3,
        "房租": 3,
        "押金": 2,
        "中介": 2,
        "退租": 3,
        "合租": 3,
        "二房东": 3,
        "租赁": 2,
        "二手房": 3,
        "定金": 1,
        "购房": 3,
        "开发商": 3,
        "交房": 3,
        "买房": 2,
        "租的房": 3,
        "租金": 3,
        "房产证": 2,
        "过户": 2,
    },
    "人身损害": {
        "打伤": 3,
        "被打": 2,
        "受伤": 2,
        "摔伤": 3,
        "咬伤": 3,
        "咬了": 2,
        "狗咬": 3,
        "医药费": 2,
        "误工费": 2,
        "伤残": 3,
        "医疗事故": 3,
        "烫伤": 3,
        "砸伤": 3,
        "打架": 2,
        "打了": 1,
        "摔倒": 2,
        "骨折": 2,
        "住院": 1,
    },
}

_RELATIONSHIPS: dict[str, tuple[str, ...]] = {
    "公司/老板": (
        "老板",
        "公司",
        "单位",
        "厂里",
        "厂长",
        "包工头",
        "工头",
        "用人单位",
        "领导",
        "雇主",
        "东家",
        "老板娘",
        "厂子",
    ),
    "邻居": ("邻居", "隔壁", "楼上", "楼下", "对门", "邻家"),
    "配偶": ("老公", "丈夫", "老婆", "妻子", "媳妇", "爱人", "前夫", "前妻", "男人", "婆娘"),
    "家里人": (
        "父母",
        "爸爸",
        "妈妈",
        "父亲",
        "母亲",
        "儿子",
        "女儿",
        "兄弟",
        "姐妹",
        "哥哥",
        "弟弟",
        "姐姐",
        "妹妹",
        "婆婆",
        "公公",
        "岳父",
        "岳母",
        "亲戚",
        "叔叔",
        "舅舅",
        "姑姑",
        "继母",
        "继父",
        "儿媳",
        "女婿",
        "公婆",
        "家里人",
        "老人",
    ),
    "朋友熟人": ("朋友", "同事", "同学", "老乡", "熟人", "发小", "战友", "男朋友", "女朋友"),
    "物业": ("物业", "物业公司", "保安", "业委会"),
    "房东": ("房东", "二房东", "租客", "中介"),
    "商家": (
        "商家",
        "店家",
        "卖家",
        "商店",
        "超市",
        "网店",
        "平台",
        "快递公司",
        "饭店",
        "店老板",
        "装修公司",
        "健身房",
        "商场",
        "4s店",
        "开发商",
    ),
    "村委会/政府": (
        "村委会",
        "村干部",
        "村长",
        "村支书",
        "居委会",
        "街道",
        "政府",
        "乡政府",
        "镇政府",
        "村里",
    ),
    "陌生人": ("陌生人", "路人", "不认识的人", "外地人"),
    "司机": ("司机", "车主", "肇事者", "对方司机"),
}
RELATIONSHIP_TYPES = tuple(_RELATIONSHIPS)


def _keyword_re(words) -> re.Pattern:
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in ordered))


_DISPUTE_RE = _keyword_re(w for kws in _DISPUTE_KEYWORDS.values() for w in kws)
_RELATION_RE = _keyword_re(w for kws in _RELATIONSHIPS.values() for w in kws)
_RELATION_OF = {w: rel for rel, words in _RELATIONSHIPS.items() for w in words}


def dispute_type_of(text: str) -> tuple[str | None, tuple[int, int] | None]:
    """The dispute type the text is most about, and the span of its strongest keyword (None, None if none)."""
    scores: dict[str, int] = {}
    best_span: dict[str, tuple[int, tuple[int, int]]] = {}
    for m in _DISPUTE_RE.finditer(text):
        word = m.group(0)
        for dtype, kws in _DISPUTE_KEYWORDS.items():
            weight = kws.get(word)
            if weight is None:
                continue
            scores[dtype] = scores.get(dtype, 0) + weight
            # The span shown is the strongest keyword, a word about the dispute rather than about the party.
            rank = weight * 2 + (word not in _RELATION_OF)
            if dtype not in best_span or rank > best_span[dtype][0]:
                best_span[dtype] = (rank, m.span())
    if not scores:
        return None, None
    top = max(scores.values())
    winner = next(d for d in DISPUTE_TYPES if scores.get(d) == top)
    return winner, best_span[winner][1]


def dispute_type_weight(text: str) -> int:
    """How strongly the text names its dispute type: the summed weights of the different keywords of that type (0 for
    none). One strong word (工资, 彩礼, 宅基地) weighs 2; a weak one (老板, 公司, 上班) 1, however often it comes."""
    dtype, _ = dispute_type_of(text)
    if dtype is None:
        return 0
    kws = _DISPUTE_KEYWORDS[dtype]
    return sum(kws.get(word, 0) for word in {m.group(0) for m in _DISPUTE_RE.finditer(text)})


# "另外问下……", "对了还有个事……", "换个问题……": the resident says that a new matter begins.
_NEW_TOPIC_RE = re.compile(
    r"^[哦哎嗯啊呃噢诶，,。.\s]*(另外|对了|顺便|再问|在问|换个|还想问|问个别的|别的事|还有(一)?(个|件)(事|问题|烦心事|情况)"
    r"|还有(一)?件|还有(一)?个别的)"
)


def new_topic_marker(text: str) -> str | None:
    """The words with which a message says it starts a new matter, else None."""
    m = _NEW_TOPIC_RE.search(text or "")
    return m.group(1) if m else None


# --------------------------------------------------------------------------------------------------
# Numbers, money, durations, dates

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}


def chinese_number(text: str) -> float | None:
    """'三万五' → 35000, '两千' → 2000, '十二' → 12, '2.5万' → 25000, '3万5' → 35000; None if not a number."""
    text = text.strip()
    if not text:
        return None
    total, section, digit = 0.0, 0.0, None
    last_unit = 1
    i = 0
    while i < len(text):
        ch = text[i]
        m = re.match(r"\d+(?:\.\d+)?", text[i:])
        if m:
            digit = float(m.group(0))
            i += len(m.group(0))
            continue
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            section += (digit if digit is not None else 1) * _CN_UNITS[ch]
            last_unit = _CN_UNITS[ch]
            digit = None
        elif ch in _CN_BIG:
            section += digit or 0
            total += (section or 1) * _CN_BIG[ch]
            last_unit = _CN_BIG[ch]
            section, digit = 0.0, None
        else:
            return None
        i += 1
    if digit is not None:
        # "三万五" / "两千五": a trailing digit after a unit counts one unit lower.
        section += digit * (last_unit // 10 if last_unit >= 100 and total + section > 0 else 1)
    value = total + section
    return value if value > 0 else None


_NUM = r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+)"
_AMOUNT_RE = re.compile(
    rf"(?P<num>{_NUM}(?:[万亿]{_NUM}?)?)(?:多|余|来)?(?P<unit>块钱|块|元|万元|千元|万块|万|千块|千)?"
    r"(?!多|余|米|克|斤|公里|字|人|个|地|田|砖|石|肉|玻璃|年|月|天|岁|号|层|楼|平|亩|次|条)"
)


def amounts(text: str) -> list[tuple[int, int, int]]:
    """(start, end, yuan) for each sum of money in the text (a unit of money or 万 is required)."""
    out = []
    for m in _AMOUNT_RE.finditer(text):
        num, unit = m.group("num"), m.group("unit") or ""
        if not unit and not re.search("[万亿]", num) and not num.endswith("千"):
            continue
        value = chinese_number(num)
        if value is None:
            continue
        if unit.startswith("万"):
            value *= 10_000
        elif unit.startswith("千"):
            value *= 1000
        if unit in {"万", "千"} and value < 1000:
            continue
        out.append((m.start(), m.end(), int(round(value))))
    return out


_DURATION_RE = re.compile(
    r"(?P<num>\d{1,3}|[一二两三四五六七八九十几半]{1,3})(?:多)?(?P<unit>个多月|个月|个星期|个礼拜|星期|礼拜|周|天|年|小时)(?:多)?"
)


def durations(text: str) -> list[tuple[int, int, str]]:
    """(start, end, canonical value) for spans of time such as 三个月 → '3个月', 半年 → '6个月'."""
    out = []
    for m in _DURATION_RE.finditer(text):
        num, unit = m.group("num"), m.group("unit")
        if unit == "年" and m.start() > 0 and text[m.start() - 1].isdigit():
            continue
        if unit == "年" and num.isdigit() and len(num) >= 3:
            continue
        unit = {"个多月": "个月", "个星期": "周", "个礼拜": "周", "星期": "周", "礼拜": "周"}.get(unit, unit)
        if num == "半":
            value = "6个月" if unit == "年" else f"半{unit}"
        elif "几" in num:
            value = f"{num}{unit}"
        else:
            n = chinese_number(num)
            if n is None:
                continue
            value = f"{int(n)}{unit}"
        out.append((m.start(), m.end(), value))
    return out


_DATE_RE = re.compile(
    r"\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*[日号]"
    r"|[一二三四五六七八九十]{1,3}月[一二三四五六七八九十]{1,3}[日号]"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|大前天|前天|昨天|今天|昨晚|今晚|今早|昨天晚上|今天早上|上周|上星期|上个星期|上个月|这个月|去年|前年|今年"
    r"|年初|年底|上半年|下半年|春节前|春节后|过年前|过年后"
)


def dates(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0).replace(" ", "")) for m in _DATE_RE.finditer(text)]


def relationships(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), _RELATION_OF[m.group(0)]) for m in _RELATION_RE.finditer(text)]


def extract_entities(text: str) -> list[dict]:
    """Entities of a normalised message: dispute_type (one), relationship, amount, duration, date."""
    entities: list[dict] = []
    dtype, span = dispute_type_of(text)
    if dtype and span:
        entities.append({"entity": "dispute_type", "start": span[0], "end": span[1], "value": dtype})
    seen_rel = set()
    for start, end, rel in relationships(text):
        if rel in seen_rel:
            continue
        seen_rel.add(rel)
        entities.append({"entity": "relationship", "start": start, "end": end, "value": rel})
    taken: list[tuple[int, int]] = []
    for name, found in (("amount", amounts(text)), ("date", dates(text)), ("duration", durations(text))):
        for start, end, value in found:
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            entities.append({"entity": name, "start": start, "end": end, "value": value})
    return sorted(entities, key=lambda e: (e["start"], e["entity"]))


# --------------------------------------------------------------------------------------------------
# Emergency safety net: unambiguous words for danger to life, right now. Deliberately narrow: the
# classifier handles the rest; this only guarantees that these words are never missed.

EMERGENCY_PATTERNS: dict[str, str] = {
    "weapon": r"拿(着)?(菜)?刀|持刀|动刀|带着刀|砍人|砍我|砍死|砍伤|捅(了|伤|死|我|人)|拿(着)?枪|开枪|拿(着)?斧头"
    r"|(拿|举|提|拎|挥|握|攥|带|扛)着.{0,3}(刀|枪|斧|棍|棒|铁锹|锄头|锤|砖|酒瓶)|(抄起|掏出|亮出|操起).{0,3}(刀|枪|斧|棍|棒|铁锹|锄头|锤|砖|酒瓶|匕首)",
    "violence": r"杀人|杀了我|要杀|杀我|杀他|弄死我|打死我|要打死|往死里打|绑架|劫持|救命|正在打我|正在打人|在打我"
    r"|同归于尽|出人命|泼(汽)?油|(扬言|威胁|说)要?(来)?(砍|杀|弄死|捅|灭)|(在|正在)砸(我家)?门|追着.{0,4}(打|砍)"
    r"|(烧|点|炸)了(你|我|他)?们?(的)?(家|房子|车)|把.{0,8}(房子|家|车|屋)(给)?(烧|点|炸)了|废了(谁|你|我|他)"
    r"|(冲|闯)进(了)?(来|宿舍|家|屋|门)|围着.{0,2}打|汽油味"
    r"|传销|有人看着(我|俺)|收了(我|俺)?的?(身份证|手机)|(塞|拖|拽|拉|绑)(进|上)了?.{0,3}车|拉走了"
    r"|撕票|绑票|赎金|被(人)?(绑|掳|拐)走|(敢|要是|如果)报警就|(孩子|人)在(他|他们|我们)手上|拿钱(去)?赎|赎人"
    r"|(按着|摁着|压着|拽着|揪着)(我|俺)|抢孩子|把孩子(抱|拉|抢|拽)(走|上车)"
    r"|(坐|赖|堵|守)在?(我|俺)家.{0,8}不走|不走.{0,4}[一两三四五六七八九十几\d]+个?多?(钟头|小时)"
    r"|(围住|围着|堵住)(了)?(我|俺)|已经(有人)?动(手|刀)了|反锁|烟头烫"
    r"|(围住|围着|堵住|关住|扣住|堵在).{0,14}(还)?(没|不)(放|让).{0,3}走"
    r"|(跟着|跟了|跟踪)(我|俺).{0,20}(门口|楼下|家门|敲门|不走)"
    r"|(关|锁|堵|扣|围)(在|住|着)?(我|俺|我们|俺们)?.{0,8}(不让(我|俺)?(走|出|离开|回)|出不去|走不了)|(拿钱|给钱|交钱)(才|就)?放人|(关|锁)(了|着)(我|俺)|非法拘禁"
    r"|(一帮|一伙|一群|几个|好几个)人.{0,12}(打人|打我|踹|砸|堵门|围着)|(还在|正在)(打|闹|砸|踹|踢|揍|推|拖)(我|俺|他|她|人|门)|说.{0,6}就打(谁|你|死)"
    r"|(一直|正在|在|还在)(踹|砸|撞|撬)(我家|我们家|俺家)?(的)?(大)?门|踹门",
    "domestic_violence": r"家暴|家庭暴力|(老公|丈夫|老婆|妻子|男朋友|前夫|对象|男人)(又|天天|经常|一直|正在|在|每天|总是)?(打|揍|掐)我",
    "self_harm": r"自杀|轻生|不想再?活|活不下去|活着没意思|想死|想去死|不如死了|活够了|跳楼|跳河|跳下去|割腕|安眠药|喝农药|老鼠药|上吊"
    r"|寻短见|了结自己|结束(自己的)?生命|一死了之|吞了.{0,4}药|遗书|遗言都|后事都(交代|安排)",
    "fire": r"(着|著)(了|大)?火|起火|失火|纵火|放火|烧起来了|烧着了|冒火|点着了"
    r"|火(很|好|越来越|越烧越|太|特别|老)大|烧得(老|很|好|特别)?大|火(都|已经)?(窜|烧|蔓延)(到|上)|烧到(房子|房梁|屋|楼|隔壁)"
    r"|(车|房子|屋|灶房|厨房|柴火垛?|草垛|麦秸垛|仓库|厂房|店|棚)(里|子)?(着了|烧起来)|火(灭|扑)不(掉|灭|了)|煤气泄漏|燃气泄漏|煤气中毒"
    r"|(油锅|锅里|窗帘|沙发|电线|插线板|插座|电动车|电瓶车|房子|屋里).{0,3}着了"
    r"|(煤气|燃气|天然气|液化气)(罐|瓶|管子?|管道|阀门?)?.{0,8}(漏气|泄|破了|关不上|嘶嘶|气味|味道?(好|很|特别)?(重|大|浓))"
    r"|(好大|很大|很重|好重|好浓|很浓|一股|闻到)(的)?.{0,3}(煤气|燃气|天然气|液化气)味"
    r"|(煤气|燃气|天然气)(管子?|管道)?(被)?.{0,3}(挖断|断了|破了|裂了)|(呲呲|嘶嘶|往外)(的)?冒气",
    "medical": r"昏迷|昏过去|晕过去|叫不醒|(晕|昏)倒.{0,8}(没有?反应|不动)|不省人事|大出血|流血不止|流了好多血|没有呼吸"
    r"|没呼吸了|快不行了|口吐白沫|(躺|倒)(在)?(地上|路边|路上|血泊).{0,4}(不动|没反应|没有反应)|一动不动|没(有)?(意识|知觉)了?"
    r"|喊不醒|(掉|落|跌)(进|到)?.{0,2}(河|水|井|湖|江|海|塘|池|坑|渠)(里)?|溺水|没气了|不喘气|没(有)?心跳|不会按压|心肺复苏"
    r"|中毒|毒蘑菇|野蘑菇|(都|一直|不停)(在)?(吐|拉)|站不起来"
    r"|吞(下去|进去|下)了?|(电池|硬币|钉子|异物|鱼刺|骨头|磁铁).{0,6}(吞|卡)|叫不应|中暑|浑身滚烫|突然(倒|晕|昏|栽)"
    r"|嘴歪|脸歪|说话不利索|(手|胳膊|腿)(也)?抬不起来|触电|被电(打|击|到)|吃错(了)?药|叫不(太)?应|迷迷糊糊"
    r"|烫(伤|了)|起泡|烧伤|血(哗哗|直|一直)(的)?(流|冒)|大口子|半边(身子)?(不能动|动不了|麻)|(掉|摔|跌|栽)下来了|腿断了|骨头断了"
    r"|喘不上气|喘不过气|呼吸困难|(脸|嘴唇|嘴)(都|已经)?(发)?(紫|青|白)了?|胸口(疼|痛)得|羊水破了|抽搐|噎住"
    r"|卡住.{0,4}(喘|气)|心脏病(犯|发作)|中风了|(吃|喝|吞|服)了?.{0,12}(药|片).{0,12}昏昏?沉沉?|叫(他|她|人)?(也)?不(怎么|太)?(应|答应)"
    r"|叫(他|她|人)?(都|也)?没(有)?反应|摔倒.{0,12}(流血|没反应|起不来)"
    r"|(血|出血).{0,6}(止不住|不止|一直(往外)?(冒|流|喷))|血(往外)?(冒|喷)|扎穿|刺穿"
    r"|(误|当糖|当成糖|偷偷?)(吃|喝|服)|吃了.{0,8}药.{0,8}(吐|晕|不醒|抽)|脸色(发)?(紫|青|白)|割腕了",
}
_EMERGENCY_RE = {kind: re.compile(p) for kind, p in EMERGENCY_PATTERNS.items()}


def emergency_match(text: str) -> tuple[str, str] | None:
    """(kind, matched words) when the text names an unmistakable emergency, else None."""
    for kind, pattern in _EMERGENCY_RE.items():
        m = pattern.search(text)
        if m:
            return kind, m.group(0)
    return None


# Small talk (再见, 谢谢, 你能做什么) never asks about a dispute. A message the classifier took for small talk that
# names a legal matter or asks the way forward ("我姐嫁出去了也能分吗", "那我能去哪告", "村委会说不了 去哪里解决")
# is a legal question.
_LEGAL_MATTER = re.compile(
    r"告(?!辞|诉|别|知|示)|起诉|法院|仲裁|打官司|赔|犯罪|违法|合法|犯法|算不算|解决|投诉|找谁|去哪|怎么(办|弄|处理|要|算)"
    r"|能(分|要|退|拿|告)|要回|退钱|欠|病历|合同|工资|押金|物业|房租|彩礼|抚养|赡养|继承|遗产|离婚|宅基地|土地|责任"
    r"|证据|鉴定|保险|罚|判"
)


# ... but "你能帮我打官司吗" asks what the bot can do.
_ABOUT_THE_BOT = re.compile(r"你们?(这里)?(能|会|可以|是|懂|都)|帮助|菜单|功能")


def legal_matter_in(text: str) -> str | None:
    """The words that make a message a legal matter, else None (also for a question about the bot itself)."""
    m = _LEGAL_MATTER.search(text or "")
    return m.group(0) if m and not _ABOUT_THE_BOT.search(text) else None


# A question about something that happened in the past ("去年我爸在医院自杀了 医院有没有责任", "上个月被人打了能要
# 赔偿吗") asks what the law says, not for help now: it is a legal question, not an emergency. All three must
# hold: words that date the event in the past, words of a legal question, and no word that the danger is still
# there (现在, 又, 还在, 今晚, 说要来 …), goes on (天天, 经常) or that the writer wants to die. When in doubt the
# message stays an emergency.

_PAST_EVENT = re.compile(
    r"去年|前年|大前年|上(个|一个)?(月|星期|礼拜|周)|上半年|上次|上回|那(一)?回|那(年|时|时候|次|天|会儿)|当时|当年|早年|以前|之前"
    r"|曾经|小时候|昨天|昨晚|前天|前(几|两|些)(天|年|个月|日子)|前(一)?阵子|前段时间"
    r"|([一二两三四五六七八九十几半多\d]+)(多)?(个)?(年|月|星期|礼拜|周|天)(以|之)?前|\d{4}年"
    r"|年轻(的)?时(候)?|那会儿?|(打|骂|伤|砍|捅|威胁|烧|逼)过|被(抓|判|关)(了|进去)"
    r"|[一二三四五六七八九十\d]+月份|(抢救|救)过来了|已经(出院|好了|过去)"
    # what was already done about it: 抢救了三天, 住了两个月院, 缝了八针
    r"|(抢救|住院|住了|缝了|治了|躺了)[^，。]{0,3}[一二两三四五六七八九十几半多\d]+(天|针|个月|周|星期|次)"
    # not about an event at all: what the law says of a crime (故意杀人罪一般判多少年)
    r"|^(要是|如果|假如|假设)|(要是|如果|假如|假设)(有人|家里|我家|他|她)"
    r"|(罪|犯罪)(一般|会|要|能)?判|判(几|多少)年|量刑|什么罪|罪名|罪.{0,12}(区别|判得|怎么判|判多少|判几|认定|构成)|家暴过"
)
_LEGAL_QUESTION = re.compile(
    r"责任|赔偿|赔钱|赔多少|索赔|要赔|能赔|追责|追究|起诉|打官司|法院|律师|法律|诉讼|时效|立案|犯法|违法|判(了|刑|几年|多久)"
    r"|坐牢|算不算|属不属于|能要|要得到|讨回|要回|维权|补偿|抚恤|工伤|保险|理赔|鉴定|医疗事故|过错|离婚|抚养权"
    r"|(告|起诉)(他|她|他们|对方|医院|学校|公司|老板|单位)|(能|可以|能不能|去|想)告|怎么(处理|维权|赔|要|告|办)|还(能|可以|来得及)"
    r"|有没有(用|责任|办法|权利)|能不能(要|告|起诉|赔|追)|财产|分(割|得|多少)|费用|出警费|交.{0,2}费|罚款|要钱"
    r"|判(几|多少)年|判(得)?(重|轻)|量刑|会判|什么罪|罪名"
    r"|(让|要)我赔|维修费|该我出|证据|区别|认定|构成|(找|让|叫)(他|她|对方|他们)?赔|赔吗|医药费|能找.{0,6}要|遗嘱|遗产|继承|一份|份额|赡养|必须养|要我养|不管|不赔|谁(赔|负责|管)|医院的(问题|责任)|是不是.{0,6}(问题|责任|错)"
)
_STILL_IN_DANGER = re.compile(
    r"现在(就|正|还在|在我家|在门口|拿着|追|堵)|正在|还在|此刻|马上|立刻|赶紧"
    r"|今天|今晚|今早|今夜|明天|刚(刚|才)|又(来|打|在(?!网上|群里|朋友圈|微信)|要|说|找|堵|拿|开始|动手)|还(要|会|说|想|扬言|威胁)|接着|(?<!没)(?<!没有)再(来|打|找)(?!往)"
    r"|天天|经常|总是|老是|每次|一直(在|打|骂|威胁|跟)"
    # violence that recurs ("这几年喝了酒就动手"), not a lift that breaks down again and again
    r"|(每回|动不动|三天两头|隔三差五|这(几|些|么多)年|(喝|喝了|喝多了?)酒就).{0,8}(打|动手|骂|掐|踢|揍|砸|威胁|闹)|快(来|点|救)|救命|救救|躲(在|起来|着)|逃(出来|走|跑|了出来)"
    r"|追(着|我|过来|上来|打|砍|杀)|在(门口|门外|楼下|外面)|害怕|好怕|不敢"
    r"|不想再?活|想死|想去死|想自杀|活不下去|活着没意思|活着没有意义|不如死了|活够了|一了百了|撑不下去|结束(自己的)?生命|遗书"
)
_THREAT_MADE = re.compile(
    r"扬言(?!过)|(?<!算不算)(?<!算)威胁(?!过)|恐吓(?!过)|(?<!过)说要(来|杀|砍|弄死|打|烧|放火|炸|报复|收拾|找)"
    r"|(?<!过)要(来|杀|砍|弄死|打死|烧|放火|炸|跳)"
)
# "后来也没再来往", "后来也没怎么样": the threat was not carried out and the writer says it is over.
_THREAT_OVER = re.compile(
    r"(一直|始终|也)没(有)?动手|后来(也|就|再|一直)?(没|没有|再也没|再没)(再)?(来|来往|联系|找|怎么样|发生|动手|出现|见)"
)


def past_event_without_danger(text: str) -> str | None:
    """The words that date the event in the past, when the text says nothing of danger now nor of a threat that
    still stands; else None."""
    past = _PAST_EVENT.search(text)
    if past is None or _STILL_IN_DANGER.search(text):
        return None
    if _THREAT_MADE.search(text) and not _THREAT_OVER.search(text):
        return None
    return past.group(0)


def past_event_question(text: str) -> str | None:
    """The words that date the event in the past, when the text is a legal question about a past event and says
    nothing of danger now; else None (then an emergency stays an emergency)."""
    return past_event_without_danger(text) if _LEGAL_QUESTION.search(text) else None


# Explicit requests for a person ("转人工", "找调解员", "我要投诉"): the product hands off at once, so these
# phrases never depend on the classifier. Bare "人工" is left out (人工费 is a labour cost).

HANDOFF_PATTERN = re.compile(
    r"转(接|给)?(人工|真人|调解员)|人工(客服|服务|坐席|回复|回答|对话)|(找|要|叫|换|来)(个|一个)?(人工|真人|活人)"
    r"|(找|叫|要|请)(个|一个)?(人民)?调解员(来|过来|跟我说|和我说|联系我|联系)?[吧啊！!。]*$"
    r"|(叫|找|让|请|安排)(你们)?(这里)?(的)?(管事的|负责人|领导|工作人员|客服|接线员|值班的?(人|员)?)"
    r"|(真人|人工|活人|客服|接线员)(在不在|在吗|在哪|呢[？?]*$)|(有没有|有无)(个)?(真人|活人|人工)"
    r"|不(想|要)(跟|和)(机器人?|电脑|AI|ai)(说|聊|对话)"
    r"|^(我要|我想)?投诉(你们|一下)?[吧啊！!。]*$"
)

# A wish to have the dispute mediated ("我要申请调解", "能不能帮我调解", "……，能调解吗"): the intake starts,
# whatever else the message says about the dispute. Questions about mediation itself (调解协议, 调解书, an earlier
# mediation) are left to the classifier.
MEDIATION_PATTERN = re.compile(
    r"申请(人民|线上|在线)?调解|(帮|给)(我|我们|忙)?.{0,8}调解(?!员)(一下)?|(能|可以|可不可以|能不能)(帮忙)?(走)?调解(吗|不|么|一下)?"
    r"|(想|要)(找人)?(通过)?调解|调解一下"
    r"|(帮|给|请)(我|我们|俺|俺们)?.{0,12}(调一下|调停|调和|说和|评评?理|居中协调|协调一下)"
)
NOT_A_MEDIATION_REQUEST = re.compile(
    r"调解(协议|书|员说|了|过|结果|的效力|有效|无效)|法律效力|反悔|不(想|要|用|需要)(再)?调解|(案件|案子|哪些|什么)(可以|能)调解"
)


def handoff_request(text: str) -> str | None:
    """The words of an explicit request for a person, or None."""
    m = HANDOFF_PATTERN.search(text)
    return m.group(0) if m else None


def mediation_request(text: str) -> str | None:
    """The words of a request for mediation, or None (also for questions about mediation itself)."""
    if NOT_A_MEDIATION_REQUEST.search(text):
        return None
    m = MEDIATION_PATTERN.search(text)
    return m.group(0) if m else None


# --------------------------------------------------------------------------------------------------
# Input checks

MAX_INPUT_CHARS = 600
_MEANINGFUL_RE = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")


# Latin words residents really type: greetings, thanks, goodbyes, a call for help.
KNOWN_LATIN_WORDS = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "ok",
        "okay",
        "bye",
        "byebye",
        "thanks",
        "thank",
        "you",
        "thx",
        "q",
        "sos",
        "help",
        "wifi",
        "app",
        "ktv",
        "s",
        "vip",
    }
)
_INTERJECTIONS_RE = re.compile(r"[啊吧嗯哦呃哈呀额噢唉哎诶喔嘿呵嗷啦呐]")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")


def input_problem(text: str) -> str | None:
    """'empty' (nothing or only punctuation/emoji), 'too_long', 'nonsense' (random letters and interjections,
    such as "sdfkj 啊吧啊吧"), or None when the text can be understood."""
    if not _MEANINGFUL_RE.search(text or ""):
        return "empty"
    if len(text) > MAX_INPUT_CHARS:
        return "too_long"
    words = [w.lower() for w in _LATIN_WORD_RE.findall(text)]
    if (
        words
        and not _CJK_RE.search(_INTERJECTIONS_RE.sub("", text))
        and any(w not in KNOWN_LATIN_WORDS for w in words)
    ):
        return "nonsense"
    return None
