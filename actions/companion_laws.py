"""The laws an answer cites besides what the ranking puts first: the special law the dispute's words point to, and
the procedural law the question asks about.

A ranking over the whole corpus is led by the law that is largest and most often asked about (the 民法典 holds
1,260 articles on every civil matter). A resident's question is often governed more closely by a special law or a
judicial interpretation (an unpaid migrant worker by the 保障农民工工资支付条例, support of parents by the
老年人权益保障法, a loan's interest by the court's rules on private lending), and a question after the facts asks
the way forward (去哪个法院告, 证据不够咋办, 调解协议他不履行有用吗, 去年的加班费还能要吗), which only the
procedural law answers: the 人民调解法 for a mediation, the 法律援助法 for a resident who cannot pay a lawyer, the
诉讼费用交纳办法 for what a lawsuit costs, the 劳动争议调解仲裁法 for a labour dispute (arbitration
comes before a court, with its own time limit), the 农村土地承包经营纠纷调解仲裁法 for contracted land and the
民事诉讼法 for going to court, evidence and enforcement.

Each companion comes with what to search its articles with: the words it was chosen for plus the law's own terms,
which bring its articles up from far down a ranking led by another law (证据不够咋办 → 劳动争议调解仲裁法第六条:
who must produce the evidence that the employer holds). actions/retrieval.py takes the best current article of the
law among the first found, and only when the answer cites none of that law already.
"""

from __future__ import annotations

import re
from typing import NamedTuple

MEDIATION_LAW = "中华人民共和国人民调解法"
LABOUR_PROCEDURE_LAW = "中华人民共和国劳动争议调解仲裁法"
LAND_PROCEDURE_LAW = "中华人民共和国农村土地承包经营纠纷调解仲裁法"
CIVIL_PROCEDURE_LAW = "中华人民共和国民事诉讼法"
LEGAL_AID_LAW = "中华人民共和国法律援助法"
COURT_FEES = "诉讼费用交纳办法"

LABOUR_TYPE = "劳动工资"
LAND_TYPE = "土地承包"


class LawQuery(NamedTuple):
    """A law an answer should cite, and what to search its articles with."""

    law: str
    query: str


class _Companion(NamedTuple):
    cue: re.Pattern[str]
    law: str
    terms: str
    # The dispute types it is for (empty: any). Some words point to a law only within a type of dispute: an
    # injury in a labour dispute is a work injury.
    types: frozenset[str] = frozenset()


# The special laws, by the words of the dispute that point to them. Only the first that matches is used.
SPECIAL_LAWS = tuple(
    _Companion(re.compile(cue), law, terms, frozenset(types))
    for cue, law, terms, *types in (
        (r"家暴|家庭暴力|保护令|告诫书", "中华人民共和国反家庭暴力法", "家庭暴力"),
        (r"受伤|伤了|伤残|骨折|住院|医药费|轧(断|伤|了)", "工伤保险条例", "工伤 职工", LABOUR_TYPE),
        (r"工伤|伤残等级|劳动能力鉴定|(上|下)班(的)?路上|上下班途中", "工伤保险条例", "工伤 职工"),
        (r"包工头|农民工|工地|总包|分包|施工(单位|方)", "保障农民工工资支付条例", "农民工 工资"),
        (r"社保|社会保险|五险", "中华人民共和国社会保险法", "社会保险 用人单位 缴纳"),
        (r"加班|延长工作时间", "中华人民共和国劳动法", "延长工作时间 工资报酬"),
        (
            r"赡养|养老|(不管|不养)(老人|父母|爹妈|爸妈|老娘|老爹)",
            "中华人民共和国老年人权益保障法",
            "老年人 赡养人",
        ),
        (
            # a parent named somewhere, and 养 that is not raising a child or an animal
            r"^(?=.*(老人|父母|爹|爸|妈|娘|老太太|老爷子|公公|婆婆|奶奶|爷爷))"
            r"(?=.*(?<![抚扶领收喂培])养(?!狗|猫|鸡|鸭|鱼|猪|殖|护|分|活|家|孩子|小孩|娃|儿|女|育|成))",
            "中华人民共和国老年人权益保障法",
            "老年人 赡养人",
        ),
        (
            r"出嫁女|外嫁女|嫁出去.{0,10}(地|分|村|户口)|妇女.{0,4}(土地|权益)",
            "中华人民共和国妇女权益保障法",
            "妇女 农村集体经济组织",
        ),
        (r"彩礼", "最高人民法院关于审理涉彩礼纠纷案件适用法律若干问题的规定", "彩礼"),
        (
            r"抚养费|探望|探视|离婚.{0,8}(财产|房子|存款|分)",
            "最高人民法院关于适用《中华人民共和国民法典》婚姻家庭编的解释（一）",
            "离婚 子女 抚养",
        ),
        (
            r"继承|遗产|遗嘱",
            "最高人民法院关于适用《中华人民共和国民法典》继承编的解释（一）",
            "继承 遗产",
        ),
        (
            r"借条|欠条|利息|借款|借钱|借给|放贷|高利贷",
            "最高人民法院关于审理民间借贷案件适用法律若干问题的规定",
            "民间借贷",
        ),
        (
            r"病历|医疗事故|医疗纠纷|误诊|手术.{0,8}(失败|出事|事故)|医院.{0,8}(责任|赔)",
            "医疗纠纷预防和处理条例",
            "医疗纠纷 医疗机构",
        ),
        (
            r"误工费|护理费|营养费|伤残赔偿|残疾赔偿|死亡赔偿",
            "最高人民法院关于审理人身损害赔偿案件适用法律若干问题的解释",
            "人身损害 赔偿",
        ),
        (r"宅基地|征地|征收.{0,4}地|土地补偿|青苗", "中华人民共和国土地管理法", "土地 宅基地 征收"),
        (
            r"预付|办(了)?卡|充值|储值|会员卡|退卡|课时费",
            "最高人民法院关于审理预付式消费民事纠纷案件适用法律若干问题的解释",
            "预付式消费 经营者",
        ),
        (
            r"开发商|交房|购房合同|商品房|期房",
            "最高人民法院关于审理商品房买卖合同纠纷案件适用法律若干问题的解释",
            "商品房 出卖人 买受人",
        ),
        (r"交警|事故认定|责任认定书", "道路交通事故处理程序规定", "交通事故 公安机关交通管理部门"),
        (
            r"网购|七天无理由|退一赔三|假货|三倍赔偿|十倍赔偿",
            "中华人民共和国消费者权益保护法",
            "消费者 经营者",
        ),
        (r"噪音|噪声", "中华人民共和国噪声污染防治法", "噪声"),
        (r"报警|警察|派出所|拘留|治安", "中华人民共和国治安管理处罚法", "治安管理处罚 公安机关"),
    )
)

# Words of each procedural law's own text, added to the question when searching for its article.
PROCEDURE_TERMS = {
    MEDIATION_LAW: "人民调解",
    LABOUR_PROCEDURE_LAW: "劳动争议 仲裁",
    LAND_PROCEDURE_LAW: "土地承包经营纠纷 调解 仲裁",
    CIVIL_PROCEDURE_LAW: "民事诉讼 人民法院",
    LEGAL_AID_LAW: "法律援助",
    COURT_FEES: "诉讼费用 交纳",
}

# A mediation by the people's mediation committee, or the agreement it produced.
_MEDIATION = re.compile(r"调解协议|调委会|调解委员会|人民调解|调解书|(村|居)委会?.{0,4}调(了|解)|调解员")
# No money for a lawyer, and what going to court costs.
_LEGAL_AID = re.compile(r"法律援助|(请|找)不起律师|没钱(请|找)律师|免费(的)?律师|律师.{0,4}(太贵|请不起)")
_FEES = re.compile(
    r"诉讼费|(打官司|起诉|告).{0,8}(多少钱|花钱|费用|要钱|划不来|贵)|(多少钱|费用).{0,4}(打官司|起诉)"
)
# Going to court and what it takes there.
_COURT = re.compile(
    r"起诉|去哪(里|儿)?告|(能|可以|想|要|去|怎么)告|告(他|她|他们|对方|到)|法院|打官司|诉讼|立案|管辖|传票|开庭|上诉"
    r"|判决|判了|证据|证明|举证|鉴定|申请执行|强制执行|执行|不履行|(一起|联名|集体)(去)?(告|起诉)|冻结|保全|查封"
)
# Where to take the dispute, without naming a court: a civil dispute can go to the people's mediation committee
# first, free of charge.
_WHERE = re.compile(
    r"去哪(里|儿)?(解决|要|投诉|处理|申请|反映|说理|讨)|找谁|找哪(个|里|儿)|哪个部门|谁(来)?管|别的(办法|途径)|其他(办法|途径)"
)
# Arbitration, a group of workers, and the time limit of a claim (labour and land disputes go to arbitration first).
_ARBITRATION = re.compile(
    r"仲裁|劳动监察|(还|还能|还可以)(要|告|追|申请)|时效|过期|期限|多久|多长时间|几年|时间(过了|要求|限制)|来得及|晚了"
    r"|一起(去|申请|要)|十几个人|几十个人|集体"
)


def procedure_law(question: str, dispute_type: str | None) -> str | None:
    """The procedural law the question asks about, for a dispute of `dispute_type` (None: not known)."""
    text = question or ""
    if _MEDIATION.search(text):
        return MEDIATION_LAW
    if _LEGAL_AID.search(text):
        return LEGAL_AID_LAW
    if _FEES.search(text):
        return COURT_FEES
    court = bool(_COURT.search(text))
    where = bool(_WHERE.search(text))
    if dispute_type == LABOUR_TYPE and (court or where or _ARBITRATION.search(text)):
        return LABOUR_PROCEDURE_LAW
    if dispute_type == LAND_TYPE and (court or where or "仲裁" in text):
        return LAND_PROCEDURE_LAW
    if court:
        return CIVIL_PROCEDURE_LAW
    if where:
        return MEDIATION_LAW
    return None


def special_law(text: str, asked: str | None = None, dispute_type: str | None = None) -> LawQuery | None:
    """The special law the dispute's words (`text`) point to, searched with what is asked now (`asked`, by
    default the same text) and the law's terms: its article for the question, not for the story so far."""
    for companion in SPECIAL_LAWS:
        if companion.types and dispute_type not in companion.types:
            continue
        if companion.cue.search(text or ""):
            return LawQuery(companion.law, f"{asked or text} {companion.terms}")
    return None


def companion_laws(question: str, asked: str, dispute_type: str | None) -> list[LawQuery]:
    """The special law of the dispute (read in `question`: what the conversation said of it, the latest message
    included) and the procedural law of what is asked now (`asked`: the latest message alone), at most one each."""
    found: list[LawQuery] = []
    special = special_law(question, asked, dispute_type)
    if special is not None:
        found.append(special)
    law = procedure_law(asked, dispute_type)
    if law is not None and all(q.law != law for q in found):
        found.append(LawQuery(law, f"{asked} {PROCEDURE_TERMS[law]}"))
    return found
