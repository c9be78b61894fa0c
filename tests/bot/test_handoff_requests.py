"""The patterns that find a request for a person or for mediation (bot/components/handoff.py), whatever facts come
with it, and tell refusals and questions about mediation apart. HandoffRequestNet applies them to every message."""

from __future__ import annotations

import pytest
from components import handoff, lexicon

from core.settings import PROJECT_ROOT
from fengqiao.eval_nlu import read_examples

P, M = handoff.PERSON, handoff.MEDIATION


def find(text: str) -> str | None:
    found = handoff.find(lexicon.normalize(text))
    return found.kind if found else None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # a person, the facts before or after the request
        ("我要找调解员，邻居家装修把我家墙弄裂了", P),
        ("邻居家装修把我家墙弄裂了，我要找调解员", P),
        ("老板欠我三个月工资，转人工", P),
        ("转人工 老板欠我三个月工资不给", P),
        ("楼上漏水把我家泡了，有没有真人能帮我看看", P),
        ("能不能找个工作人员，我家的地被村里收回去了", P),
        ("我想跟真人说，我老公天天不回家还不给生活费", P),
        ("叫你们工作人员来，物业乱收停车费", P),
        ("请调解员联系我，对方撞了我的车不赔", P),
        ("人工客服，我网购买到假货了", P),
        ("麻烦转接人工，房东不退押金", P),
        ("給我轉個真人吧，跟機器說不清楚，對方開車把我撞了", P),
        ("能帮我转人工吗？我被公司辞退了没有补偿", P),
        ("调解员在吗，我家墙被邻居弄裂了", P),
        # the centre's people asked for by who they are, a mediator booked, staff asked to step in
        ("想约你们这里的律师当面聊聊，房东扣了我一个月押金", P),
        ("我要见你们的领导，村里的补偿款一直不发", P),
        ("有没有真人律师，我被人骗了两万", P),
        ("请你们工作人员出面，邻居天天往我家门口倒垃圾", P),
        ("能预约一个调解员吗，我和前夫为孩子抚养费吵翻了", P),
        ("麻烦联系下调解员，楼上漏水三个月了", P),
        # a person, no facts
        ("转人工", P),
        ("人工", P),
        ("人工 人工 人工", P),
        ("我要找调解员", P),
        ("帮我联系调解员", P),
        ("有没有真人在线", P),
        ("叫你们工作人员来", P),
        ("能让人民调解员跟我聊吗", P),
        ("我要投诉！", P),
        ("机器人别回了 换人", P),
        ("我想跟真正的工作人员聊聊 不是机器", P),
        ("有冇真人啊 唔想同機器講", P),
        ("不跟AI聊了 给我转个人", P),
        # mediation
        ("我要申请调解，邻居家装修把我家墙弄裂了", M),
        ("邻居家装修把我家墙弄裂了，申请调解", M),
        ("邻居占了我家宅基地，想找人来调解", M),
        ("对方欠我五万块钱不还，能帮我调解吗", M),
        ("请村里的调解员来给我们两家调解一下", M),
        ("我和楼上为了漏水吵了好几次，想请调解员来调解", M),
        ("能不能找个人帮我们说和说和，我跟我哥为了老房子吵翻了", M),
        ("想请调委会出面，村里分地不公平", M),
        ("我想找个调解员调解一下邻居的事", M),
        ("我要申請調解", M),
        ("调解要钱吗，我想申请", M),
        ("能不能在线调解", M),
        ("想走人民调解的路子解决", M),
        ("不用转人工，给我申请调解", M),
        # someone to come, to call, to talk to; local bodies asked to mediate; a misspelt mediator
        ("能不能派个人来我家看一下，墙被楼上泡了", P),
        ("俺不识字 找个人打电话给俺 地被占了", P),
        ("我是说真人 不是你这个", P),
        ("找个调节员来 隔壁天天吵", P),
        ("请社区的人上门来劝劝 两口子天天吵", M),
        ("想请村委会出面调解 地界的事说不拢", M),
        ("帮我预约一下现场调解", M),
        ("麻烦让村委会来人看看 我家的树被砍了", M),
        ("帮我叫一下村干部 地被人占了", P),
        ("能不能让司法所的同志给我回个电话", P),
        ("网格员能过来一趟吗 楼道被堵了", P),
        # a word about money or force in the same clause is not a question about mediation
        ("我要找调解员问问物业乱收费的事", P),
        ("转人工物业乱收费", P),
    ],
)
def test_requests_are_found_wherever_they_stand(text, kind):
    assert find(text) == kind


@pytest.mark.parametrize(
    ("text", "declined"),
    [
        ("调解要收费吗", handoff.QUESTION),
        # what an authority told the resident is advice, and the message asks about it
        ("派出所说可以调解 调解了是不是就不处罚他了", handoff.QUESTION),
        ("社区说可以调解 调好了以后他们还能再去告我吗", handoff.QUESTION),
        ("我们兄妹谈不拢 是找村里调解还是直接去法院", handoff.QUESTION),  # which way to go
        ("网格员平时主要管哪些事？", handoff.QUESTION),  # what they do, not a call for one
        ("人民调解协议有法律效力吗", handoff.QUESTION),
        ("调解员说的话算数吗", handoff.QUESTION),
        ("调解不成怎么办", handoff.QUESTION),
        ("调解书能强制执行吗", handoff.QUESTION),
        ("调解和打官司有什么区别", handoff.QUESTION),
        ("调解要多长时间", handoff.QUESTION),
        ("找调解员要钱吗", handoff.QUESTION),
        ("调解员让我签字，我能不签吗", handoff.QUESTION),
        ("上次村里调解过了，对方还是不赔", handoff.QUESTION),
        ("刑事案件可以调解吗", handoff.QUESTION),
        ("不用转人工，你直接告诉我邻居装修太吵怎么办", handoff.QUESTION),
        ("我不想调解了，想直接起诉", handoff.QUESTION),
        ("不用转人工", handoff.REFUSAL),
        ("先不调解了", handoff.REFUSAL),
        ("不需要调解员", handoff.REFUSAL),
        ("取消调解申请", handoff.REFUSAL),
        ("别转人工", handoff.REFUSAL),
        ("人工服务收费吗", handoff.QUESTION),
        ("调解是免费的吗", handoff.QUESTION),
        ("调解员上门要不要钱", handoff.QUESTION),
        # another person's wish, told; what a mediator said; attending
        ("我老公说要找调解员，调解我必须去吗", handoff.QUESTION),
        ("我妈想找调解员，她自己去，我问问房子怎么分", handoff.QUESTION),
        ("调解员说我要赔三千，合理吗", handoff.QUESTION),
        ("调解时说的话能当证据吗", handoff.QUESTION),
        ("调解可以不去吗", handoff.QUESTION),
        ("上回来的那个调解员偏心眼，我能换一个结果吗", handoff.QUESTION),
        ("对方说要找人来跟我谈，我该去吗", handoff.QUESTION),
        ("物业说要请居委会来调解，结果我必须接受吗", handoff.QUESTION),
        ("调解员会不会把我的事说出去", handoff.QUESTION),
        # no word of a person or of mediation, and a question
        ("物业有没有义务帮我查监控", handoff.QUESTION),
        ("先投诉还是先起诉", handoff.QUESTION),
    ],
)
def test_refusals_and_questions_about_mediation_are_not_requests(text, declined):
    assert find(text) is None
    assert handoff.declines(lexicon.normalize(text)) == declined


@pytest.mark.parametrize(
    "text",
    [
        "装修的人工费怎么算",
        "人工智能写的合同有效吗",
        "客服电话多少",
        "我要投诉物业乱收费",
        "老板拖欠工资怎么办",
        "劳动争议调解仲裁法第几条规定了时效",
        "找律师要多少钱",
        "我想问一下调解员是怎么选出来的",
        "双方协调一下赔偿可以吗",
        "派出所调解了对方还是不赔",
    ],
)
def test_ordinary_questions_are_neither(text):
    assert find(text) is None
    assert handoff.declines(lexicon.normalize(text)) in {None, handoff.QUESTION}


@pytest.mark.parametrize("name", ["nlu_test.yml", "nlu_test_final.yml", "nlu_test_independent.yml"])
def test_held_out_requests_are_found_and_nothing_else(name):
    """Every request in the held-out files is found, as the right kind, and no other message is taken for one."""
    kinds = {"request_human": P, "request_mediation": M}
    found = [(text, gold, find(text)) for text, gold in read_examples(PROJECT_ROOT / "data" / name)]
    assert [f for f in found if f[1] in kinds and f[2] != kinds[f[1]]] == []
    assert [f for f in found if f[1] not in kinds and f[2] is not None] == []
