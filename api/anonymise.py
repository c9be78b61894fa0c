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
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣"
    "巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "司徒", "夏侯")
TITLES = ("先生", "女士", "小姐", "师傅", "老师", "经理", "老板", "阿姨", "大爷", "大妈", "大姐", "大哥", "大叔", "大娘",
          "同志", "律师", "医生", "主任", "书记", "村长", "队长", "总")

_CJK = r"[\u4e00-\u9fff]"
_SURNAME_RE = "(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SURNAMES)) + "])"

PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[邮箱]"),
    # Resident identity card: 18 digits (the last may be X), or the old 15-digit form.
    (re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
                r"(?![0-9A-Za-z])"), "[身份证号]"),
    (re.compile(r"(?<!\d)[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}(?!\d)"), "[身份证号]"),
    (re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d[-\s]?\d{4}[-\s]?\d{4}(?!\d)"), "[电话]"),
    (re.compile(r"(?<!\d)0\d{2,3}[-\s]?\d{7,8}(?!\d)"), "[电话]"),
    (re.compile(r"(?<!\d)\d{16,19}(?!\d)"), "[银行卡号]"),
    (re.compile(r"(微信|微信号|QQ|qq|QQ号)[号:：\s]*[A-Za-z0-9_-]{5,}"), r"\1[账号]"),
    # Street address with a house number, and whatever building / unit / room follows.
    (re.compile(_CJK + r"{1,12}(?:路|街|巷|弄|大道|胡同)\s*\d+(?:[-之]\d+)?\s*号(?:院)?"
                r"(?:\s*\d+\s*(?:栋|幢|号楼|单元|室|楼|层|号))*"), "[地址]"),
    (re.compile(r"\d+\s*(?:栋|幢|号楼)(?:\s*\d+\s*(?:单元|楼|层|室|号))*"), "[地址]"),
    (re.compile(r"\d+\s*单元(?:\s*\d+\s*(?:楼|层|室|号))*"), "[地址]"),
    (re.compile(r"(?<!\d)\d{3,4}\s*室"), "[地址]"),
    # Villages, groups and residential compounds by name.
    (re.compile(_CJK + r"{2,8}(?:村|社区|小区|花园|公寓|新村|家园|苑)(?:\d+组|" + _CJK + r"{1,3}组)?"
                r"(?=[\s，。,、；;的里\d]|$)"), "[地址]"),
]

# Cues that the next two or three characters are a person's name.
_NAME_CUES = re.compile(r"(?:我叫|名叫|叫做|姓名[:：\s]*|联系人[:：\s]*|当事人[:：\s]*|申请人[:：\s]*|被申请人[:：\s]*)"
                        r"(" + _CJK + r"{2,3})")
_TITLE_RE = re.compile("|".join(TITLES))
_FAMILIAR = re.compile(r"((?:老|小|阿)" + _SURNAME_RE + r")(?!" + _CJK + r"?(?:子|区|学|时|孩|家|板|师|姐|哥|妹|弟|伙|婆|公|爷|太|头|人|朋友))")
# Characters that are never inside a name: a titled name does not reach back over them.
_NOT_IN_NAME = set("与和跟同及的是说在了把被给对向找叫让我你他她们这那个有没不也都就还很要会能")

_KEEP_PLACES = ("省", "市", "区", "县", "自治州", "自治区", "州", "盟", "旗")
_NOT_NAMES = {"法院", "政府", "公司", "物业", "派出所", "居委会", "村委会", "调解员", "老板", "老师", "小孩", "老人"}

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


def find_names(text: str) -> set[str]:
    names: set[str] = set()
    for word, flag in _pos_tagger().cut(text):
        if (flag.startswith("nr") and 2 <= len(word) <= 4 and word not in _NOT_NAMES
                and (word[0] in SURNAMES or word[:2] in COMPOUND_SURNAMES)):
            names.add(word)
    names.update(m.group(1) for m in _NAME_CUES.finditer(text))
    names.update(_titled_names(text))
    names.update(m.group(1) for m in _FAMILIAR.finditer(text))
    return {n for n in names if not n.startswith("[")}


def _titled_names(text: str) -> set[str]:
    """王先生, 刘德华经理, 钱大妈: the longest plausible name before a title, title included."""
    out: set[str] = set()
    for m in _TITLE_RE.finditer(text):
        start = m.start()
        for k in (3, 2, 1):
            name = text[max(0, start - k):start]
            if len(name) != k or any(c in _NOT_IN_NAME or not re.match(_CJK, c) for c in name[1:]):
                continue
            if name[:2] in COMPOUND_SURNAMES or name[0] in SURNAMES:
                out.add(name + m.group(0))
                break
    return {n for n in out if n not in _NOT_NAMES}


def find_places(text: str) -> set[str]:
    """Small places jieba knows (镇、乡、村…): a resident is easy to find in them."""
    return {word for word, flag in _pos_tagger().cut(text)
            if flag == "ns" and len(word) >= 2 and not word.endswith(_KEEP_PLACES)}


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

        for pattern, replacement in PATTERNS:
            text = pattern.sub(lambda m, r=replacement: park(m.expand(r)), text)
        for place in sorted(find_places(text), key=len, reverse=True):
            text = text.replace(place, park("[地址]"))
        names = find_names(text) | {n for n in self.extra_names | set(self.labels) if n in text}
        # Longest first, so 王建国 is replaced before a stray 王建.
        for name in sorted(names, key=len, reverse=True):
            if name in text:
                text = text.replace(name, park(self._label(name)))
        return _SENTINEL.sub(lambda m: parked[int(m.group(1))], text)


def anonymise(text: str) -> str:
    return Anonymiser()(text)
