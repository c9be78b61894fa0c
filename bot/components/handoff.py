"""Explicit requests for a person and for mediation, found by patterns rather than left to the classifier.

Pure Python (no Rasa import, like `components.lexicon`), so the rules are unit-tested in the app environment too.
Every function expects normalised text (NFKC, Traditional → Simplified: `lexicon.normalize`).

Two kinds of request:
- a person ("转人工", "我要找调解员", "有没有真人", "叫你们工作人员来"): the conversation goes to a mediator at once;
- mediation ("我要申请调解", "能不能帮我们调解一下", "找人来给我们评评理"): the mediation intake starts.

A request is found wherever it stands in the message, before or after the facts that come with it
("我要找调解员，邻居家装修把我家墙弄裂了", "老板欠我三个月工资，转人工"). Not requests, whatever the classifier
thinks: refusals ("不用转人工", "先不调解了") and questions about mediation itself ("调解要收费吗",
"人民调解协议有法律效力吗", "调解员说的话算数吗"). Each clause of a message is judged on its own, so a question
about mediation in one clause does not hide a request in another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PERSON = "person"
MEDIATION = "mediation"
QUESTION = "question"
REFUSAL = "refusal"

_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
_CLAUSE_RE = re.compile(r"[，,。！!？?；;\s]+")

# People the resident may ask for. 人工 is not followed by 费/智能/… (装修的人工费 is a labour cost).
_HUMAN = r"(?:[人仁]工(?!费|智能|成本|湖|降雨|授精|呼吸)|真人|活人)"
_STAFF = r"(?:工作人员|网格员|村干部|社区干部|司法所的?同志|客服|接线员|值班的?(?:人|员)?|管事的(?:人)?|负责(?:的)?人|领导|能做主的人|懂法的人|专人|法律顾问)"
_MEDIATOR = r"(?:人民)?[调条][解节]员"  # 调节员, 条解员: common misspellings
_ANYONE = rf"(?:{_HUMAN}(?:客服|服务|坐席|值班)?|{_MEDIATOR}|{_STAFF})"
_ONE = r"(?:一下|下)?(?:一?个|一?位|一?名)?"
_WHOSE = r"(?:(?:你们|这里|这边|村里|社区|司法所|调委会|中心|第三方|专业|真正|真)的?)*"
# The centre's own people, asked for by who they are: 你们中心的律师, 你们的人, 真人律师.
_CENTRE_PEOPLE = r"(?:(?:你们|中心|这里|这边)的?)+(?:律师|人|领导)|真人律师"

PERSON_PATTERNS = (
    rf"转(?:接|给|到|成)?(?:我)?(?:给|到)?{_ONE}{_ANYONE}",
    r"人工(?:客服|服务|坐席|回复|回答|对话|处理|接待|值班)|^(?:(?:人工|真人)\s*)+[吧啊呢]*$",
    rf"(?:找|要|叫|换|来|接|请|喊|让|给我){_ONE}{_WHOSE}{_HUMAN}",
    rf"(?:找|寻|叫|请|联系|接通|安排|派|换|喊|让|给我|我要|我想要|我需要|打电话给|约|预约){_ONE}{_WHOSE}{_MEDIATOR}",
    rf"(?:找|叫|请|联系|约|预约|见|要见|安排|派){_ONE}(?:{_CENTRE_PEOPLE})",
    rf"(?:有没有|有无){_ONE}真人律师",
    rf"{_WHOSE}{_ANYONE}(?:来|过来)?(?:介入|出面|帮我|帮忙处理|处理一下)",
    rf"(?:找|叫|请|联系|接|安排|派|换|喊|让|要|打电话给){_ONE}{_WHOSE}{_STAFF}",
    rf"(?:跟|和|同|与){_ONE}{_WHOSE}{_ANYONE}(?:直接)?(?:电话|当面)?(?:说|讲|聊|谈|通话|沟通|对话|联系|反映)",
    rf"{_ANYONE}(?:来|过来)?(?:跟我|和我|给我|联系我|回我|打电话)",
    rf"{_ANYONE}(?:在不在|在吗|在线吗|在哪|呢$)",
    rf"(?:有没有|有无|有冇|有){_ONE}{_ANYONE}(?:在|吗|啊|在线|能|可以|$)",
    r"不(?:想|要|愿意)?(?:再)?(?:跟|和|同)(?:机器人?|电脑|AI|ai|自动回复|你)(?:说|聊|对话|沟通|讲|谈)",
    r"不要(?:机器人|自动回复)|别(?:再)?(?:自动回复|机器人)",
    r"(?:来|找|叫|派)(?:一?个)人(?:来|过来|上门|到我家|吧|啊|跟我|和我|给我|给俺|处理|打电话|$)"
    r"|(?:我|俺)?(?:要|想|得)?找(?:一?个)人(?:来|吧|说|聊|讲|跟我|和我|跟俺|和俺|打电话|$)|给我找(?:个)?人",
    r"(?:有没有|有无)(?:一?个)?人(?:可以|能|能够)?(?:陪|帮|帮忙|跟)(?:我|俺)"
    r"|(?:让|叫|请|找|派)(?:一?个)?(?:人|工作人员|调解员|网格员)?打(?:个)?电话给(?:我|俺)"
    r"|(?:能不能|可以|可不可以|能否|麻烦)(?:给我|给俺)?打(?:个)?电话(?:给(?:我|俺))?",
    r"(?:给我|给俺)回(?:个)?电话|(?:有没有|有无)(?:一?个|一?位)?(?:律师|真人|人)(?:能|可以)?(?:跟|和|给)(?:我|俺)"
    r"[^，。]{0,4}(?:通个?电话|打个?电话|说说|聊聊)",
    r"(?:网格员|村干部|调[解节]员|工作人员|司法所的?同志|社区的人|村里的人|调[解节]的?(?:同志|人)|调解小组)[^，。]{0,6}"
    r"(?:来一趟|过来|来看看|上门|下来|来一下)",
    r"派(?:一?个)人(?:吗|吧|来|过来|$)|(?:让|叫)你们[^，。]{0,4}(?:人|同志)(?:联系|打电话给|找|回)(?:我|俺)"
    r"|(?:请|找|约)(?:一?个|一?位)律师(?:跟|和|给)(?:我|俺)|帮(?:忙|我)约(?:一个|个)",
    r"(?:让|叫)(?:一?个)?人(?:来|过来)(?:跟我|和我|跟俺|和俺)?(?:说|讲|聊|处理|$)|派(?:一?个|一?位)?(?:人|工作人员|调解员)(?:来|过来|上门|到)|(?:上门|到我家|来我家|到现场)(?:来)?(?:看看|看一下|处理)",
    r"(?:是说|说的是|我说的?是?|要的是)真人|不是你这个|不(?:要|想要)你这个",
    r"(?:^|[了吧，])换(?:一?个)?人(?:吧|来|$)|转(?:一?个)人(?:吧|啊|来|$)",
    r"(?:找|叫)(?:你们的|你们这的|司法所的|调委会的)人",
    r"^(?:我要|我想)?投诉(?:你们|一下)?(?:的服务)?[吧啊]*$|投诉你们",
)

MEDIATION_PATTERNS = (
    r"申请(?:一下)?(?:人民|线上|在线|劳动|免费)?调解",
    r"(?:帮|给|替)(?:我|我们|俺|俺们|忙)?.{0,8}调解(?!员|委员会|协议|书)(?:一下)?",
    r"(?:能|可以|可不可以|能不能|能否)(?:帮忙)?(?:走|做|进行)?(?:个)?(?:在线|线上|网上)?调解(?:吗|不|么|一下|$)",
    r"(?:想|要|要求|希望|打算|同意)(?:找人|找个人|请人|请)?(?:通过|走|进行|做)?(?:个|一个)?(?:人民)?调解(?!员)",
    r"(?:想|要|希望|打算)(?:和|跟|与).{1,8}调解(?!员)|通过(?:调委会|调解委员会|人民调解|调解)(?:来)?(?:解决|处理)",
    r"调解(?:怎么|咋)(?:弄|搞|办|申请|开始)",
    r"调解一下|做个调解|当面调解|一起调解",
    r"(?:找|请|叫|让|派)(?:一?个|一?位)?(?:(?:村里|社区|司法所|调委会)的?)*"
    r"(?:人|你们|人民调解员|调解员|调委会|调解委员会|调解小组|调解组|调委会的人|村里|村委会?|居委会?|社区|街道|乡里|镇里|司法所|第三方|中间人)"
    r"(?:来|过来|出面)?(?:给|帮|替)?(?:我们|我|俺们|两家)?(?:调解|说和|评评?理|调停|调和|调一下|协调|劝劝|劝和|劝一下|劝解|调一调|评个理|主持个?公道|给个说法)",
    r"(?:找|请|叫|让)(?:(?:村里|社区)的?)*(?:人民调解员|调解员|调委会|调解委员会|司法所|村委会?|居委会?)(?:来|出面)?处理",
    r"(?:预约|约|安排)(?:一下|一个|个)[^，。]{0,8}调解(?!员)|(?:找|请|叫)(?:一?个|一?位)?[^，。]{0,6}调[解节]的人",
    r"(?:预约|约|安排)(?:一下|一个|个)?(?:现场|线下|上门|面对面|当面)?调解(?!员)|(?:现场|线下|上门|面对面)调解(?!员)",
    r"(?:帮|给|请)(?:我|我们|俺|俺们)?.{0,12}(?:调一下|调停|调和|说和|评评?理|居中协调|协调一下)",
    r"(?:请|叫|让|派|麻烦)(?:一?个|一?位)?(?:[^，。]{0,6}的)?(?:人|工作人员|调解员|网格员|同志)(?:上门|过来|来|去)+(?:劝劝|劝和|劝一下|劝解|看看|看一下)",
    r"(?:调委会|调解委员会)(?:出面|帮忙|处理|调解)",
    r"(?:请|让|叫|要|希望|麻烦|想让|想请)[^，。]{0,8}(?:居委会?|村委会?|村里|社区|司法所|调委会|乡里|镇里|街道|网格员|村干部)"
    r"[^，。]{0,4}(?:出面|来人|来一趟|下来|过来)",
    r"登记(?:一下|一个)?调解|调解(?:的)?申请",
)

# A clause that asks about mediation (its cost, force, process, an earlier mediation) or about a mediator, rather
# than for one.
QUESTION_PATTERN = re.compile(
    r"(?:调解|调委会)[^，。]{0,5}(?:要|收|花|给)(?:不要)?(?:钱|费)"
    r"|(?:调解|调解员|人工|调委会|服务)[^，。]{0,2}(?:收费|费用|免费|多少钱)|(?:收费|免费|要钱)(?:吗|不|么|没有)"
    r"|效力|有效|无效|算数|算不算|管用|有用吗|有没有用|靠谱|强制执行|反悔"
    r"|调解(?:协议|书|笔录|结果|期限|时效|机构|委员会是|员是|员说(?:的|过|了)|员让|员要|员叫|是什么|和|与|跟|不成|失败|没成|不了|调不)"
    r"|(?:流程|程序)是|什么(?:流程|程序)"
    r"|(?:网格员|调[解节]员|工作人员|村干部|社区干部)[^，。]{0,6}(?:管(?:哪|什么|不管)|负责(?:哪|什么)|是干|做什么|干什么)"
    r"|调解(?:过|了)(?!吧)|(?:找|请)(?:过|了)调解|调解员(?:说过|说了|说的|让我|要求我|叫我)"
    r"|多久|多长时间|什么区别|区别是|哪些.{0,6}(?:能|可以)|(?:案件|案子|什么事|什么纠纷)(?:可以|能)"
    r"|(?:谁|哪些人)(?:可以|能)(?:当|做|申请)|(?:刑事|犯罪)"
    r"|调[解节]员(?:说|讲|认为|判|定|建议|偏|向着|不公)|(?:上次|上回|之前|以前|那次|那个|那位)[^，。]{0,6}调[解节]员"
    r"|调[解节]员[^，。]{0,6}(?:态度|偏|帮着对方|向着对方|不公)|能不认|不认(?:吗|可以)|不服(?:吗|怎么办|能)"
    r"|(?:老板|对方|公司|村里|工作人员|调[解节]员|他|她|他们)(?:说|讲)[^，。]*(?:找人|调解|人工|真人)"
    r"|投诉(?:他|她|调解员|那个)|(?:需要|要|必须|得)(?:双方|两边|本人|两家)?(?:都)?(?:到场|在场|出面|亲自)"
    r"|会不会|保密|要不要(?:交|给|花)?钱|交钱|收钱|证据|作证|调解(?:的)?(?:时候|时)|(?:能不能|可以|可不可以)不(?:去|参加)|不(?:去|参加)(?:会|行|可以|的话)|必须(?:去|参加)"
)

# Refusals: no person, or no mediation, wanted.
REFUSAL_PATTERN = re.compile(
    rf"(?:不用|不要|不需要|没必要|别|先不|不想|无需|用不着|不必|不|取消|撤销|撤回)(?:了)?(?:给我)?(?:再)?"
    rf"(?:转|找|叫|接|联系|麻烦|申请|登记)?(?:{_HUMAN}|{_MEDIATOR}|{_STAFF}|调解(?!员))"
)

_PERSON_RE = re.compile("|".join(PERSON_PATTERNS))
_MEDIATION_RE = re.compile("|".join(MEDIATION_PATTERNS))
# "调解要钱吗，我想申请": a wish to apply, in a message about mediation.
_APPLY_RE = re.compile(r"^(?:那)?(?:我|俺)?(?:想|要|打算)(?:申请|登记)(?:一下|一个)?[吧啊呢]*$")


@dataclass(frozen=True)
class Request:
    kind: str  # PERSON or MEDIATION
    words: str  # the matched words, e.g. "找调解员"


def clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_RE.split(text or "") if c.strip()]


# A message with no word for a person or for mediation that asks something ("物业有没有义务帮忙查", "先投诉还是先起诉")
# is a legal question, whatever the classifier guessed.
_PEOPLE_RE = re.compile(rf"{_HUMAN}|{_STAFF}|{_MEDIATOR}|调解|调委会|人|律师|你们|机器|电脑|AI|ai")
_ASKS_RE = re.compile(
    r"吗|呢|么|有没有|能否|是否|能不能|可不可以|可以|怎么|咋|要不要|该不该|多少|几|哪|谁|是不是|算不算|还是|[?？]"
)


# "A 还是 B": which way to go is asked ("是找村里调解还是直接去法院"), not for mediation.
_CHOICE_RE = re.compile(r"还是")


def declines(text: str) -> str | None:
    """What a message that must not be taken for a request is instead: QUESTION for a question about mediation
    ('调解要收费吗') or a refusal that goes on to ask something ('不用转人工，你直接告诉我噪音怎么办'), REFUSAL for a
    refusal alone ('不用转人工', '先不调解了'); None when the message asks for a person or for mediation, or is
    neither."""
    if find(text) is not None:
        return None
    parts = clauses(text)
    refused = [c for c in parts if REFUSAL_PATTERN.search(c)]
    rest = [c for c in parts if c not in refused]
    if any(QUESTION_PATTERN.search(c) or _reported_request(c) for c in rest):
        return QUESTION
    if not refused and _ASKS_RE.search(text) and not _PEOPLE_RE.search(text):
        return QUESTION
    if not refused and "调解" in text and _CHOICE_RE.search(text):
        return QUESTION  # 是找村里调解还是直接去法院
    if not refused:
        return None
    return QUESTION if len(_CJK_RE.findall("".join(rest))) >= 4 else REFUSAL


# "我对象说要找调解员": what another person says they want, reported, is no request of the resident's.
_REPORTED_RE = re.compile(
    r"(?:他|她|对方|对象|老公|老婆|丈夫|妻子|媳妇|男人|前夫|前妻|邻居|老板|房东|公司|物业|婆婆|公公|他们|人家"
    r"|妈|爸|哥|姐|弟|妹|儿子|女儿|朋友|亲戚|同事|舅舅|叔叔|姑姑|阿姨|奶奶|爷爷|老人"
    # what an authority told the resident ("派出所说可以调解", "社区说可以调解"): advice, not the resident's request
    r"|派出所|警察|民警|交警|社区|村里|村委会?|居委会?|街道|法院|法官|律师|司法所|工会|人社局|劳动局)(?:家|的人)?"
    r"(?:说|讲|提出|非要|想|要|打算|准备|扬言)(?:要|想|去|来|不){0,2}$"  # right before the request: 他要钱不给，找调解员 is one
)


def _reported_request(clause: str) -> bool:
    """The clause tells of another person's request ('我邻居说要找调解员来'), rather than making one."""
    for pattern in (_PERSON_RE, _MEDIATION_RE):
        m = pattern.search(clause)
        if m and _REPORTED_RE.search(clause[: m.start()]):
            return True
    return False


def _search(pattern: re.Pattern, text: str) -> str | None:
    for clause in clauses(text):
        if QUESTION_PATTERN.search(clause) or REFUSAL_PATTERN.search(clause):
            continue
        m = pattern.search(clause)
        if m and not _REPORTED_RE.search(clause[: m.start()]):
            return m.group(0)
    return None


def find(text: str) -> Request | None:
    """The explicit request for a person or for mediation in the message, or None (also for refusals and for
    questions about mediation)."""
    text = text or ""
    if not text or text.startswith("/"):
        return None
    person = _search(_PERSON_RE, text)
    mediation = _search(_MEDIATION_RE, text)
    if mediation is None and "调解" in text and any(_APPLY_RE.search(c) for c in clauses(text)):
        mediation = next(c for c in clauses(text) if _APPLY_RE.search(c))
    if mediation and not person and any(mediation in c and _CHOICE_RE.search(c) for c in clauses(text)):
        # "是找村里调解还是直接去法院": which way to go is asked, not mediation.
        mediation = None
    if person and mediation and not re.search(_HUMAN + "|" + _STAFF, person):
        # "请调解员来给我们调解一下": the dispute is to be mediated; the intake asks what the mediator needs.
        return Request(MEDIATION, mediation)
    if person:
        return Request(PERSON, person)
    if mediation:
        return Request(MEDIATION, mediation)
    return None
