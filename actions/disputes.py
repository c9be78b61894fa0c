"""What the bot knows about each dispute type: next steps, search terms, examples, and how to recognise
the type of a retrieved article or precedent.

The next steps (and GENERAL_STEPS) are fixed texts residents read as they are: the most important step first, every
time limit with the day it starts from. Each number in them, and the article or official source it rests on, is
listed in data/legal_numbers.yml (tests/actions/test_legal_numbers.py keeps the two in step).

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
        "劳动工资",
        "劳动者 用人单位 劳动报酬 工资",
        (
            "把劳动合同、工资条、考勤记录、聊天记录、转账记录等证据保存好；",
            "先和用人单位协商，也可以向当地劳动保障监察部门投诉（人社服务热线 12333）；",
            "协商不成，向劳动人事争议仲裁委员会申请劳动仲裁（免费，一般要先仲裁才能起诉）：要在知道或者应当知道权利受侵害之日起"
            "一年内申请；在职期间被拖欠工资的不受这一年限制，但离职后要在离职之日起一年内申请；",
            "对仲裁裁决不服，要在收到裁决书之日起15日内向人民法院起诉，过了期限就不能再起诉；",
            "受了工伤，先向人社局申请工伤认定：单位应在事故发生（或确诊职业病）之日起30日内申请；单位不申请的，"
            "本人、近亲属或工会可以在事故发生（或确诊）之日起1年内申请，不是本人原因耽误的时间不算；",
            "经济困难可以拨打 12348 公共法律服务热线咨询，或向当地法律援助中心申请法律援助。",
        ),
        ("老板拖欠三个月工资", "没签劳动合同被辞退"),
        title_words=("劳动", "工伤", "社会保险", "就业促进", "职业病", "工资"),
        chapter_words=("工资", "劳动合同"),
        category_words=("劳动",),
    ),
    DisputeType(
        "婚姻家庭",
        "婚姻 家庭 夫妻 子女",
        (
            "遭受家庭暴力，先保证自己的安全，马上拨打 110；可以要求公安机关出具告诫书（可以作为证据），受伤的要验伤、保留病历和照片；"
            "不要用调解代替报警和保护令；",
            "可以向人民法院申请人身安全保护令，不用先起诉离婚；法院受理后72小时内作出，情况紧急的24小时内作出；"
            "也可以拨打 12338 妇女维权公益服务热线求助；",
            "没有暴力的家庭矛盾，可以找亲友、村（居）委会或人民调解委员会调解；",
            "协议离婚要双方亲自到婚姻登记机关申请，只签离婚协议不等于离婚：登记机关收到申请之日起30日内任何一方都可以撤回，"
            "期满后30日内双方要再去领离婚证，不去的视为撤回申请；",
            "离婚、抚养、赡养、继承等协商不成，可以向人民法院起诉；要抚养费、赡养费不受诉讼时效限制；",
            "需要法律帮助可以拨打 12348；受家庭暴力的人申请法律援助，不受经济困难条件的限制。",
        ),
        ("离婚后孩子归谁抚养", "子女不给老人赡养费"),
        title_words=("婚姻", "反家庭暴力", "妇女权益", "老年人权益", "未成年人保护", "收养", "彩礼", "继承"),
        chapter_words=("婚姻", "结婚", "离婚", "家庭关系", "收养", "继承", "遗嘱", "监护"),
        category_words=("婚姻", "家庭", "继承"),
    ),
    DisputeType(
        "邻里纠纷",
        "相邻关系 相邻权利人 妨碍 排除妨碍",
        (
            "拍照、录像保存证据，先心平气和地和邻居沟通；",
            "沟通不成，可以请物业、村（居）委会或人民调解委员会出面调解，调解不收费；",
            "装修、噪声扰民，经劝阻、调解还不停止的，可以拨打 12345 向有关部门投诉，持续干扰的也可以拨打 110 报警；",
            "调解不成，可以向人民法院起诉，要求停止侵害、排除妨碍或赔偿损失（要求停止侵害、排除妨碍不受诉讼时效限制）；",
            "需要法律帮助可以拨打 12348 公共法律服务热线。",
        ),
        ("楼上漏水把我家泡了", "邻居装修天天吵到半夜"),
        chapter_words=("相邻关系",),
        category_words=("相邻", "邻里"),
    ),
    DisputeType(
        "借贷",
        "借款 借款人 出借人 返还借款 利息",
        (
            "保存好借条、欠条、转账记录、聊天记录等证据；",
            "先催对方还款，用短信、微信或书面催并保存记录：每次催款或对方答应还款，三年诉讼时效都从那天起重新计算；"
            "也可以申请人民调解；",
            "诉讼时效一般三年：约定了还款日的，从还款日起算；没约定的，从催要后给对方的合理期限届满时起算"
            "（对方第一次被催就明确拒绝的，从拒绝之日起算）；",
            "有担保人的，没约定保证期间时，要在还款日起6个月内找担保人主张（只是“一般保证”的，要在这期间起诉借款人），"
            "过期担保人就不再担责；",
            "利息：没约定的不用付，个人之间约定不明的也不用付；利率超过借款合同成立时一年期LPR（贷款市场报价利率）4倍的部分，"
            "法院不支持（这条不适用于银行、小额贷款公司等持牌机构）；预先从本金里扣掉的利息，按实际拿到的钱算本金；",
            "协商不成可以向人民法院起诉；遇到暴力催收或诈骗，请拨打 110 报警。",
        ),
        ("朋友借了我五万块不还", "借条丢了还能要回钱吗"),
        title_words=("民间借贷",),
        chapter_words=("借款合同", "保证合同"),
        category_words=("借贷", "债务"),
    ),
    DisputeType(
        "物业",
        "物业服务人 业主 物业服务合同 物业费",
        (
            "保存好物业服务合同、缴费凭证和照片、录像等证据；",
            "先找物业公司或业主委员会协商；",
            "对服务不满意也不要直接拒交物业费：物业按约定提供了服务的，不能以没用、不需要为由不交，拖欠的物业可以起诉；"
            "物业也不得用停水、停电、停暖、停气的方式催交；",
            "可以向街道、社区或住建（房管）部门反映（也可以拨打 12345），也可以申请人民调解；",
            "协商不成可以向人民法院起诉。",
        ),
        ("物业不修电梯还收物业费", "小区车位被物业卖了"),
        title_words=("物业",),
        chapter_words=("物业服务", "建筑物区分所有权"),
        category_words=("物业",),
    ),
    DisputeType(
        "交通事故",
        "道路交通事故 机动车 损害赔偿 保险",
        (
            "有人受伤：马上拨打 120，并拨打 122（或 110）报警，保护现场，不要移动车辆；",
            "没人受伤、只是车辆轻微损坏、事实清楚的：先拍照留证，再把车挪到不妨碍交通的地方协商，对经过有争议的报警；"
            "车挪不动的，打开危险报警闪光灯，在车后50至100米处放警告标志；",
            "交警出具的事故认定书是处理事故的证据，不是最终结论；不服的，要在认定书送达之日起3日内书面申请复核；",
            "赔偿先由交强险赔，不够的由商业险按合同赔，还不够的由责任方赔；可以请交警或人民调解委员会调解；",
            "调解不成可以向人民法院起诉，诉讼时效一般三年，从知道受到损害和谁该赔之日起算；经济困难可以拨打 12348 咨询，"
            "或向当地法律援助中心申请法律援助。",
        ),
        ("被电动车撞了对方不赔", "追尾之后怎么索赔"),
        title_words=("道路交通安全",),
        chapter_words=("机动车交通事故",),
        category_words=("交通",),
    ),
    DisputeType(
        "消费",
        "消费者 经营者 商品 退货 赔偿",
        (
            "保存好购物凭证、聊天记录、商品照片；",
            "先和商家协商退换或赔偿；网上、电视、电话购买的商品，一般可以在收到之日起7日内无理由退货（定做的、鲜活易腐的等除外）；",
            "商家有欺诈（比如以假充真）的，除退款外还可以要求价款3倍的赔偿，不足500元的按500元；",
            "买到不符合食品安全标准的食品，可以向生产者或明知还卖的商家要求价款10倍或损失3倍的赔偿，不足1000元的按1000元；",
            "办了预付卡、会员卡，商家不按约定提供服务的，可以要求退还预付款并支付利息；老板卷款跑路的，请拨打 110 报警；",
            "协商不成可以拨打 12315 投诉，或请消费者协会调解；也可以向人民法院起诉。",
        ),
        ("网上买到假货商家不退", "健身房老板跑路了"),
        title_words=("消费者权益", "产品质量", "食品安全", "电子商务", "广告"),
        category_words=("消费",),
    ),
    DisputeType(
        "土地承包",
        "土地承包经营权 承包地 发包方 农村土地",
        (
            "保存好土地承包合同、承包经营权证、补偿协议等材料；承包期内，村里（发包方）一般不得收回、调整承包地；",
            "先和村委会或对方协商，也可以请村委会、乡镇人民政府调解；",
            "承包地纠纷可以向农村土地承包仲裁委员会申请仲裁（不收费，从知道或者应当知道权利被侵害之日起二年内），"
            "也可以直接起诉；不服裁决的，收到裁决书之日起30日内起诉，过期裁决生效；",
            "宅基地归谁、边界在哪有争议的，不归承包仲裁：协商不成，由乡（镇）人民政府或县级以上人民政府处理，不服处理决定的，"
            "接到决定通知之日起30日内向法院起诉；争议解决前双方都不能改变土地现状；",
            "征地和补偿标准的争议也不归承包仲裁：可以在知道征收或补偿决定之日起60日内申请行政复议，或6个月内提起行政诉讼；"
            "村里分配征地补偿款的纠纷，可以请乡镇人民政府、街道办或县农业农村部门调解，也可以申请仲裁或起诉；",
            "需要法律帮助可以拨打 12348。",
        ),
        ("村里要收回我家的承包地", "征地补偿款怎么分"),
        title_words=("农村土地承包", "土地管理"),
        chapter_words=("土地承包经营权", "宅基地"),
        category_words=("土地", "农村"),
    ),
    DisputeType(
        "房屋租赁",
        "租赁 出租人 承租人 租金 押金",
        (
            "保存好租房或购房合同、付款记录、房屋照片；",
            "先和房东、租客或卖方协商，也可以申请人民调解；",
            "租城镇住房的：合同应写明押金数额、退还时间和扣押金的情形，合同没写的情形，房东没有正当理由不能扣；"
            "房东不得用暴力、威胁等非法方式逼租客退租搬走，遇到可以报警；",
            "租住期间房子卖给别人的，租赁合同继续有效；",
            "协商不成可以向人民法院起诉；需要法律帮助可以拨打 12348。",
        ),
        ("房东不退押金", "开发商延期交房"),
        title_words=("城市房地产",),
        chapter_words=("租赁合同",),
        category_words=("租赁", "买卖"),
    ),
    DisputeType(
        "人身损害",
        "侵权 人身损害 赔偿 医疗费",
        (
            "受伤先就医，保存好病历、医疗费票据和现场照片、视频；",
            "被人打伤请拨打 110 报警，由公安机关处理；",
            "可以和对方协商赔偿（医疗费、护理费、交通费、误工费等），或申请人民调解；",
            "协商不成可以向人民法院起诉要求赔偿，诉讼时效一般三年，从知道受到损害和谁该赔之日起算；",
            "经济困难可以拨打 12348 咨询，或向当地法律援助中心申请法律援助。",
        ),
        ("孩子在学校被同学打伤了", "被狗咬了主人不赔"),
        chapter_words=("损害赔偿", "饲养动物损害", "建筑物和物件损害", "侵权责任"),
        category_words=("人身损害",),
    ),
]

TYPES: dict[str, DisputeType] = {t.name: t for t in _TYPES}
NAMES: tuple[str, ...] = tuple(TYPES)

GENERAL_STEPS = (
    "先和对方协商，保存好相关证据；",
    "协商不成，可以申请人民调解（村、社区的人民调解委员会，调解不收费）；调解要双方自愿，达成调解协议后，"
    "双方可以在协议生效之日起30日内一起向人民法院申请司法确认，确认后对方不履行的可以申请强制执行；",
    "也可以向人民法院起诉，诉讼时效一般三年，从知道权利受到损害和对方是谁之日起算；",
    "需要法律帮助可以拨打 12348 公共法律服务热线。",
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
