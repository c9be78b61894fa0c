"""Emergency guidance: which numbers to call and what to do first, by kind of emergency.

The NLU decides *that* a message is an emergency (classifier plus a keyword safety net, which also lets
questions about a past event through as legal questions); this module only picks the guidance, so its
keywords may be broad. When nothing matches, the general guidance names every number.

A fire that is burning leads with 119; a person threatening to set a fire, pour petrol or blow something up
is a threat of violence first and leads with 110 (then 119 should a fire start). The numbers in these texts
and what they rest on are listed in data/legal_numbers.yml.
"""

from __future__ import annotations

import re

# A fire that is burning now.
_BURNING = (
    r"着火|著火|起火|失火|火灾|烧起来|烧过来|烧着|冒火|火(灭|扑)不(掉|灭|了)|浓烟|全是烟|冒烟|冒黑烟"
    r"|火(很|好|越来越|越烧越|太|老)?大|烧得(老|很|好|特别)?大|火(都|已经)?(窜|烧|蔓延)(到|上)|点着了|火苗"
    r"|(车|灶房|厨房|柴火垛?|草垛|仓库|店)(里)?着了"
    r"|(油锅|锅里|窗帘|沙发|电线|插线板|插座|电动车|电瓶车|房子|屋里).{0,3}着了"
)
# Fire, petrol or explosives as a threat by a person. 放火 / 纵火 / 点火 with no word of a threat is a fire.
_ARSON = r"放火|纵火|点火|点了|烧了|烧死|烧掉|火烧|一把火"
_FIRE_THREAT = (
    r"(泼|倒|浇|洒|拎|提|带|拿)(了|着)?.{0,4}(汽油|柴油|油)|汽油"
    # 扬言要放火, 说要炸了村委会, 不还钱就放火烧了我家房子
    rf"|(扬言|威胁|声称|放话|吓唬|恐吓|叫嚣|说|就|不然|否则).{{0,6}}({_ARSON}|炸|引爆|开煤气|开燃气)"
    # 要放火, 想一把火烧了 (but not 煤气罐要炸了: an explosion on its own is not a threat)
    rf"|(要|想|敢|准备|打算|会).{{0,4}}({_ARSON})"
)

# Checked in this order: the first kind whose words appear wins.
# 打 is hitting, except in 打点滴, 打针, 打电话, 打工, 打官司 … (a drip in a clinic is not a beating).
_HIT = (
    r"打(?!点滴|吊瓶|吊针|针|疫苗|电话|工|车|的|算|听|扫|开|折|卡|官司|麻将|牌|游戏|印|字|包|款|钱|过来|给)"
)

_KINDS: list[tuple[str, str]] = [
    # Harm already done (pills taken, wrists cut): an ambulance first.
    (
        "self_harm_acted",
        r"(吃|喝|吞|服)了.{0,6}(安眠药|药|农药|老鼠药|敌敌畏)|割了(腕|手腕)|割腕了|已经(割|跳|吃了|喝了)",
    ),
    (
        "self_harm",
        r"自杀|轻生|不想再?活|活不下去|活着没意思|活着太累|想死|跳楼|跳河|跳下去|割腕|安眠药|农药|上吊|寻短见|一了百了"
        r"|了结|结束生命|想(怎么)?结束|一死了之|撑不下去|没人在乎我",
    ),
    # Pills swallowed by mistake, poisoning, drowning, or someone hurt and the attacker gone: an ambulance first,
    # not the self-harm hotline nor 110 (the medical text adds 110 when someone was hurt by a person).
    (
        "medical",
        r"(误|当糖|当成糖|偷偷?)(吃|喝|服)|吃错(了)?药|吃了.{0,8}药.{0,8}(吐|晕|不醒|抽)|中毒|蘑菇|都在吐|吞(下去|进去|下)"
        r"|站不起来|没气了|不喘气|叫不(太)?应|一动不动|中暑|嘴歪|脸歪|说不出话|说话不利索|抬不起来|突然(倒|晕|昏|栽)"
        r"|(吃|喝|吞|服)了?.{0,12}(药|片).{0,12}昏昏?沉沉?|叫(他|她|人)?(也)?不(怎么|太)?(应|答应)"
        r"|掉.{0,3}(水塘|池塘|河|井)|(掉|摔|跌)下来了|触电|被电(打|击|到)|烫(伤|了)|起泡|烧伤"
        r"|(跑了|走了|已经跑|已经走|不见了).{0,14}(流血|出血|昏|不醒|没气)|(流血|出血|昏|不醒|没气).{0,14}(跑了|走了)"
        r"|(跑了|走了|不见了)[^。]{0,20}(血|口子)|(砸|摔|扎|割|夹|压)[^。]{0,10}血",
    ),
    ("fire", _BURNING),
    ("fire_threat", _FIRE_THREAT),
    ("gas", r"煤气|燃气|天然气|液化气"),
    ("fire", r"纵火|放火|点火"),
    (
        "domestic_violence",
        r"家暴|家庭暴力|(老公|丈夫|老婆|妻子|男朋友|女朋友|前夫|前妻|对象|男人|爸|妈|父亲|母亲|儿子|女儿|公公|婆婆).{0,6}"
        rf"({_HIT}|揍|掐|踢|砸)",
    ),
    (
        "violence",
        rf"刀|斧|枪|棍|砍|捅|杀|{_HIT}|揍|掐|绑|抢|闯进|撬|跟踪|威胁|收拾|炸|救命|危险|报警|(跟|盯)(着|了)(我|俺)|抱走|拦住"
        r"|敲(我)?门",
    ),
    (
        "medical",
        r"昏|晕|不省人事|出血|流血|呼吸|喘不|不行了|摔下来|躺在地上|起不来|受伤|卡住|噎|羊水|要生了|胸口"
        r"|心脏|中风|抽搐|(脸|嘴唇|嘴)(色)?(都|已经)?(发)?(紫|青|白)|止不住|扎穿|刺穿",
    ),
]
_KIND_RES = [(kind, re.compile(p)) for kind, p in _KINDS]

GUIDANCE = {
    "self_harm_acted": (
        "【紧急】请马上拨打 120 急救电话，说清楚地址、吃了什么药或者伤在哪里；也可以打 110。"
        "请立刻告诉身边的人，让他们陪着您、帮您开门。之后可以打心理援助热线 12356，有专业的人陪您说说话。"
    ),
    "self_harm": (
        "听到您这么说，我很担心您。您不是一个人，现在就可以打心理援助热线 12356，或者 400-161-9995，"
        "有专业的人陪您说说话。如果已经伤害了自己、吃了药或者有生命危险，请马上拨打 120，也可以打 110。"
        "请告诉身边信任的人，让他们现在陪着您。"
    ),
    "gas": (
        "【紧急】燃气泄漏：不要开关电灯和电器，不要打电话、不要用明火；马上打开门窗，关掉燃气总阀，"
        "离开房间后再拨打 119 或燃气公司抢修电话；有人头晕、昏迷请拨打 120。"
    ),
    "fire": (
        "【紧急】发生火灾请立即拨打 119！先逃生：用湿毛巾捂住口鼻，弯腰低姿沿楼梯撤离，不要乘电梯，"
        "不要回去拿东西；有人受伤请拨打 120；有人故意放火的，脱险后拨打 110 报警。"
    ),
    "fire_threat": (
        "【紧急】有人扬言放火、泼油或者要炸东西，请立即拨打 110 报警，说清楚地址和对方在哪里、有几个人。"
        "不要和对方争执，锁好门，带家人离开到安全的地方，远离汽油等易燃的东西；一旦起火马上拨打 119，"
        "有人受伤请拨打 120。"
    ),
    "domestic_violence": (
        "【紧急】您的安全最要紧。正在挨打或有危险，请立即拨打 110 报警；受伤请拨打 120。"
        "条件允许时先到安全的地方（亲友家、邻居家），也可以到当地救助管理机构设立的临时庇护场所。"
        "可以要求警察出具告诫书（以后可以作为家暴的证据）；保留伤情照片、就医记录和报警回执。"
        "可以向法院申请人身安全保护令，不用先离婚，"
        "法院受理后72小时内作出，紧急的24小时内作出。还可以拨打 12338 妇女维权公益服务热线求助；"
        "孩子受到伤害的，也可以拨打 12355 青少年服务台。"
    ),
    "violence": (
        "【紧急】如果您或身边的人正面临危险，请立即拨打 110 报警；有人受伤请拨打 120。"
        "请先离开危险的地方，到安全、人多的地方去，锁好门，不要和对方正面冲突。"
    ),
    "medical": (
        "【紧急】请立即拨打 120 急救电话，说清楚地址和病人情况；不要随意搬动重伤的人。"
        "如果是有人打伤的，请同时拨打 110 报警。"
    ),
    "general": (
        "【紧急】如果有人身安全危险，请立即拨打 110 报警；需要急救请拨打 120；发生火灾请拨打 119。"
        "先保证自己和家人的安全，到安全的地方去。"
    ),
}

LABELS = {
    "self_harm_acted": "自伤（已经发生）",
    "self_harm": "自伤/轻生风险",
    "gas": "燃气泄漏",
    "fire": "火灾",
    "fire_threat": "放火或爆炸威胁",
    "domestic_violence": "家庭暴力",
    "violence": "暴力或威胁",
    "medical": "急病或重伤",
    "general": "人身安全",
}

HANDOFF_TEXT = (
    "我已经把您的情况作为紧急情况转给人民调解员，他们会尽快在这里联系您。调解员不能代替 110、120 出警或急救："
    "有危险请先拨打 110，需要急救请拨打 120。"
)


# The classifier alone sometimes takes a short follow-up for an emergency ("复核要几天之内提", "要是我替他还了 能找他
# 要回来吗"): no word of danger, and a question. Such a message is answered as the legal question it is, after one
# line that names the emergency numbers; the conversation is not paused. A message with any word of danger (the
# kinds above, or the NLU safety net's hint) and an exclamation without a question ("快来人啊") stay emergencies.
QUESTION_RE = re.compile(
    # 不怎么应 / 没怎么吃 say how much, they ask nothing
    r"吗|呢|(?<![不没怎])么|能不能|可不可以|可以|(?<![不没])怎么|咋|要不要|该不该|多少|几|哪|谁|是不是|算不算|[?？]"
)
# A cry for help, whatever else the message says ("快来人啊", "救救我", "求求你们帮帮我").
CALL_FOR_HELP_RE = re.compile(r"[!！]|快|救|求求|帮帮我|来人|怎么办啊|受不了|不行了|害怕|怕")
SAFETY_NOTE = "如果您现在有人身危险，请立即拨打 110；需要急救请拨打 120；发生火灾请拨打 119。"


def is_question_without_danger(text: str, hint: str | None = None) -> bool:
    """The message asks something and names no danger: the classifier's emergency is not taken for one."""
    return hint is None and classify(text) == "general" and bool(QUESTION_RE.search(text or ""))


def classify(text: str, hint: str | None = None) -> str:
    """The kind of emergency in the text; `hint` is the kind the NLU safety net found, if any."""
    for kind, pattern in _KIND_RES:
        if pattern.search(text):
            return kind
    hint = {"weapon": "violence"}.get(hint or "", hint)
    return hint if hint in GUIDANCE else "general"


def guidance(kind: str) -> str:
    return GUIDANCE.get(kind, GUIDANCE["general"])
