"""Write the bot's jieba user dictionary (bot/data/jieba/legal_terms.txt).

Run from the repository root with the app environment (it reads the embedded statute corpus):

    .venv/bin/python bot/scripts/build_jieba_dict.py

Words: the short names of every law in the embedded corpus (劳动合同法, 民法典 …, derived exactly as
the knowledge base derives its aliases), the keywords of the bot's entity rules (bot/components/lexicon.py)
and a hand-written list of legal and colloquial dispute terms. The output is sorted and stable, so a
rebuild without a corpus change leaves the file (and the trained model's fingerprint) unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

BOT_DIR = Path(__file__).resolve().parents[1]
ROOT = BOT_DIR.parent
OUTPUT = BOT_DIR / "data" / "jieba" / "legal_terms.txt"

# Terms residents and mediators use that jieba's general dictionary splits badly.
TERMS = """
劳动仲裁 劳动争议 劳动合同 劳务合同 劳务派遣 经济补偿 经济补偿金 赔偿金 加班费 最低工资 拖欠工资 克扣工资 欠薪
工伤认定 工伤保险 工伤赔偿 伤残等级 劳动能力鉴定 社会保险 五险一金 住房公积金 试用期 违法解除 竞业限制 双倍工资
年休假 带薪年假 产假 哺乳期 孕期 调岗降薪 离职证明 包工头 农民工 讨薪 劳动监察 劳动保障监察
人民调解 人民调解委员会 调解协议 司法确认 法律援助 劳动仲裁委 仲裁委员会 诉讼时效 仲裁时效 起诉状 立案 一审 二审
强制执行 支付令 财产保全 证据保全 公证 律师费 诉讼费
离婚冷静期 离婚协议 协议离婚 诉讼离婚 抚养权 抚养费 探视权 探望权 赡养费 赡养义务 夫妻共同财产 夫妻共同债务
婚前财产 彩礼 嫁妆 遗嘱 法定继承 遗嘱继承 遗产 继承权 人身安全保护令 家庭暴力 家暴 分家析产 收养 监护权 监护人
相邻关系 相邻权 采光权 通风 通行权 排水 噪音扰民 高空抛物 高空坠物 漏水 渗水 空调外机 油烟 违章搭建 违建
民间借贷 借条 欠条 借据 收条 高利贷 网贷 暴力催收 连带责任 保证人 担保人 利息 逾期利息 借款合同 老赖 失信被执行人
物业费 物业服务 物业公司 业主委员会 业委会 业主大会 公共维修基金 专项维修资金 停车位 车位 公摊 前期物业
交通事故 交通事故认定书 事故认定 责任认定 交强险 商业险 三者险 肇事逃逸 追尾 刮蹭 误工费 护理费 医疗费 营养费
残疾赔偿金 死亡赔偿金 精神损害抚慰金 精神损失费 伤残鉴定
消费者权益 三包 七天无理由退货 假一赔三 退一赔三 退一赔十 预付卡 储值卡 霸王条款 格式条款 虚假宣传 过期食品
食品安全 产品质量 售后服务 消协 消费者协会 12315
土地承包 承包地 土地承包经营权 土地流转 土地确权 宅基地 宅基地使用权 征地补偿 征收补偿 拆迁补偿 安置补偿
集体经济组织 村集体 村民委员会 村委会 自留地 责任田 口粮田 林权 山林纠纷 农村土地承包仲裁
租赁合同 房屋租赁 押金 定金 订金 违约金 二房东 转租 退租 房屋买卖 二手房 网签 过户 房产证 不动产权证 开发商 延期交房
人身损害 人身伤害 轻伤 重伤 轻微伤 故意伤害 正当防卫 见义勇为 名誉权 隐私权 肖像权 造谣 诽谤
转人工 调解员 人工客服
"""

# The knowledge base (app environment) and the bot's entity rules (bot/components/lexicon.py).
sys.path.insert(0, str(BOT_DIR))
sys.path.insert(0, str(ROOT))


def law_short_names() -> set[str]:
    from knowledge_base.aliases import short_names
    from knowledge_base.sources.laws_db import read_laws_db

    titles = {r.title for r in read_laws_db()}
    names: set[str] = set()
    for title in titles:
        for name in short_names(title):
            if 2 < len(name) <= 16 and "《" not in name:
                names.add(name)
    return names


def lexicon_words() -> set[str]:
    from components import lexicon

    words: set[str] = set()
    for kws in lexicon._DISPUTE_KEYWORDS.values():
        words.update(kws)
    for kws in lexicon._RELATIONSHIPS.values():
        words.update(kws)
    return {w for w in words if len(w) >= 2 and not w.isascii()}


def main() -> int:
    words = set(TERMS.split()) | law_short_names() | lexicon_words()
    words = {w for w in words if len(w) >= 2}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("".join(f"{w}\n" for w in sorted(words)), encoding="utf-8")
    print(f"{len(words)} words → {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
