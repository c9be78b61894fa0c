"""What the bot knows about each dispute type: next steps, search terms, examples, and how to recognise
the type of a retrieved article or precedent.

The type names are the values of the `dispute_type` entity produced by the bot's NLU rules
(bot/components/lexicon.py DISPUTE_TYPES); tests/bot checks that both lists agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge_base.records import Record

OTHER = "其他"


@dataclass(frozen=True)
class DisputeType:
    name: str
    # Legal terms added to the resident's words when searching (the resident rarely uses them).
    search_terms: str
    # What the resident can do next, in order.
    next_steps: tuple[str, ...]
    # Two short examples for the "tell me more" prompt.
    examples: tuple[str, str]
    # Recognising the type of a record: words in the law title, in the chapter, in a precedent category.
    title_words: tuple[str, ...] = ()
    chapter_words: tuple[str, ...] = ()
    category_words: tuple[str, ...] = ()


_TYPES = [
    DisputeType(
        "劳动工资", "劳动者 用人单位 劳动报酬 工资",
        ("把劳动合同、工资条、考勤记录、聊天记录、转账记录等证据保存好；",
         "先和用人单位协商，也可以向当地劳动保障监察部门投诉（人社服务热线 12333）；",
         "协商不成，向劳动人事争议仲裁委员会申请劳动仲裁（免费，一般要在知道权利受侵害之日起一年内提出），对仲裁结果不服可以到法院起诉；",
         "经济困难可以拨打 12348 申请法律援助。"),
        ("老板拖欠三个月工资", "没签劳动合同被辞退"),
        title_words=("劳动", "工伤", "社会保险", "就业促进", "职业病", "工资"), chapter_words=("工资", "劳动合同"),
        category_words=("劳动",)),
    DisputeType(
        "婚姻家庭", "婚姻 家庭 夫妻 子女",
        ("家庭矛盾可以先找亲友、村（居）委会或人民调解委员会调解；",
         "离婚、抚养、赡养、继承等可以协商写成协议，协商不成向人民法院起诉；",
         "遭受家庭暴力请拨打 110，也可以拨打 12338 妇女维权热线，并可向法院申请人身安全保护令；",
         "需要法律帮助可以拨打 12348。"),
        ("离婚后孩子归谁抚养", "子女不给老人赡养费"),
        title_words=("婚姻", "反家庭暴力", "妇女权益", "老年人权益", "未成年人保护", "收养", "彩礼", "继承"),
        chapter_words=("婚姻", "结婚", "离婚", "家庭关系", "收养", "继承", "遗嘱", "监护"),
        category_words=("婚姻", "家庭", "继承")),
    DisputeType(
        "邻里纠纷", "相邻关系 相邻权利人 妨碍 排除妨碍",
        ("拍照、录像保存证据，先心平气和地和邻居沟通；",
         "沟通不成，可以请物业、村（居）委会或人民调解委员会出面调解，调解不收费；",
         "调解不成，可以向人民法院起诉，要求停止侵害、排除妨碍或赔偿损失；",
         "需要法律帮助可以拨打 12348。"),
        ("楼上漏水把我家泡了", "邻居装修天天吵到半夜"),
        chapter_words=("相邻关系",), category_words=("相邻", "邻里")),
    DisputeType(
        "借贷", "借款 借款人 出借人 返还借款 利息",
        ("保存好借条、欠条、转账记录、聊天记录等证据；",
         "先催对方还款，最好留下书面或聊天记录；也可以申请人民调解；",
         "协商不成可以向人民法院起诉（一般诉讼时效为三年，从约定的还款日起算）；",
         "遇到暴力催收或诈骗，请拨打 110 报警。"),
        ("朋友借了我五万块不还", "借条丢了还能要回钱吗"),
        title_words=("民间借贷",), chapter_words=("借款合同", "保证合同"), category_words=("借贷", "债务")),
    DisputeType(
        "物业", "物业服务人 业主 物业服务合同 物业费",
        ("保存好物业服务合同、缴费凭证和照片、录像等证据；",
         "先找物业公司或业主委员会协商；",
         "可以向街道、社区或住建（房管）部门反映，也可以申请人民调解；",
         "协商不成可以向人民法院起诉。"),
        ("物业不修电梯还收物业费", "小区车位被物业卖了"),
        title_words=("物业",), chapter_words=("物业服务", "建筑物区分所有权"), category_words=("物业",)),
    DisputeType(
        "交通事故", "道路交通事故 机动车 损害赔偿 保险",
        ("发生事故先报警（122 或 110），有人受伤拨打 120，保护现场、拍照留证；",
         "以交警出具的事故认定书为依据，向对方和保险公司索赔；",
         "可以请交警或人民调解委员会调解赔偿；",
         "调解不成可以向人民法院起诉，经济困难可拨打 12348 申请法律援助。"),
        ("被电动车撞了对方不赔", "追尾之后怎么索赔"),
        title_words=("道路交通安全",), chapter_words=("机动车交通事故",), category_words=("交通",)),
    DisputeType(
        "消费", "消费者 经营者 商品 退货 赔偿",
        ("保存好购物凭证、聊天记录、商品照片；",
         "先和商家协商退换或赔偿；",
         "协商不成拨打 12315 投诉，或请消费者协会调解；",
         "也可以向人民法院起诉。"),
        ("网上买到假货商家不退", "健身房老板跑路了"),
        title_words=("消费者权益", "产品质量", "食品安全", "电子商务", "广告"), category_words=("消费",)),
    DisputeType(
        "土地承包", "土地承包经营权 承包地 发包方 农村土地",
        ("保存好土地承包合同、承包经营权证、补偿协议等材料；",
         "先和村委会或对方协商，也可以请村（居）委会、乡镇人民政府调解；",
         "可以向农村土地承包仲裁委员会申请仲裁，也可以直接向人民法院起诉；",
         "需要法律帮助可以拨打 12348。"),
        ("村里要收回我家的承包地", "征地补偿款怎么分"),
        title_words=("农村土地承包", "土地管理"), chapter_words=("土地承包经营权", "宅基地"),
        category_words=("土地", "农村")),
    DisputeType(
        "房屋租赁", "租赁 出租人 承租人 租金 押金",
        ("保存好租房或购房合同、付款记录、房屋照片；",
         "先和房东、租客或卖方协商，也可以申请人民调解；",
         "协商不成可以向人民法院起诉；",
         "需要法律帮助可以拨打 12348。"),
        ("房东不退押金", "开发商延期交房"),
        title_words=("城市房地产",), chapter_words=("租赁合同",), category_words=("租赁", "买卖")),
    DisputeType(
        "人身损害", "侵权 人身损害 赔偿 医疗费",
        ("受伤先就医，保存好病历、医疗费票据和现场照片、视频；",
         "被人打伤请拨打 110 报警，由公安机关处理；",
         "可以和对方协商赔偿，或申请人民调解；",
         "协商不成可以向人民法院起诉要求赔偿，经济困难可拨打 12348 申请法律援助。"),
        ("孩子在学校被同学打伤了", "被狗咬了主人不赔"),
        chapter_words=("损害赔偿", "饲养动物损害", "建筑物和物件损害", "侵权责任"),
        category_words=("人身损害",)),
]

TYPES: dict[str, DisputeType] = {t.name: t for t in _TYPES}
NAMES: tuple[str, ...] = tuple(TYPES)

GENERAL_STEPS = (
    "先和对方协商，保存好相关证据；",
    "协商不成，可以申请人民调解（村、社区的人民调解委员会，调解不收费）；",
    "也可以向人民法院起诉；",
    "需要法律帮助可以拨打 12348 法律援助热线。",
)


def get(name: str | None) -> DisputeType | None:
    return TYPES.get(name or "")


def next_steps(name: str | None) -> tuple[str, ...]:
    t = get(name)
    return t.next_steps if t else GENERAL_STEPS


def type_of_record(record: Record) -> str | None:
    """The dispute type a statute or precedent belongs to, from its law title, chapter or category."""
    if record.kind == "precedent":
        category = (record.extra or {}).get("category") or ""
        for t in _TYPES:
            if any(w in category for w in t.category_words):
                return t.name
        return None
    chapter = record.chapter or ""
    for t in _TYPES:
        if any(w in chapter for w in t.chapter_words):
            return t.name
    for t in _TYPES:
        if any(w in record.title for w in t.title_words):
            return t.name
    return None
