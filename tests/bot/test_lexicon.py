"""Rules of the bot's custom NLU components: normalisation, entities, the emergency net, input checks."""

from __future__ import annotations

import pytest
from components import lexicon  # bot/components, put on sys.path by tests/bot/conftest.py


def entities(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for e in lexicon.extract_entities(lexicon.normalize(text)):
        out.setdefault(e["entity"], []).append(e["value"])
    return out


def test_traditional_and_full_width_input_is_normalised():
    assert lexicon.normalize("樓上漏水把我家泡壞了") == "楼上漏水把我家泡坏了"
    assert lexicon.normalize("老闆欠我３０００元　工資") == "老板欠我3000元 工资"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三万五", 35000),
        ("两千五", 2500),
        ("十二", 12),
        ("一百二十", 120),
        ("2.5万", 25000),
        ("3万5", 35000),
        ("五万", 50000),
        ("5000", 5000),
    ],
)
def test_chinese_numbers(text, expected):
    assert lexicon.chinese_number(text) == expected


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("朋友借了我五万块钱一直不还", [50000]),
        ("一共两万三千块", [23000]),
        ("医药费花了3000元，误工费两千多", [3000, 2000]),
        ("借给同事2.5万", [25000]),
        ("赔了我一块地", []),
        ("厂里两千多人", []),
        ("干了三年", []),
    ],
)
def test_amounts_need_a_unit_of_money(text, amounts):
    assert [v for _, _, v in lexicon.amounts(lexicon.normalize(text))] == amounts


def test_entities_of_a_labour_question():
    found = entities("老板拖欠我三个月工资，一共两万三千块，2023年5月3号走的")
    assert found == {
        "relationship": ["公司/老板"],
        "duration": ["3个月"],
        "dispute_type": ["劳动工资"],
        "amount": [23000],
        "date": ["2023年5月3号"],
    }


@pytest.mark.parametrize(
    ("text", "dispute_type"),
    [
        ("楼上漏水把我家泡了", "邻里纠纷"),
        ("朋友借钱不还", "借贷"),
        ("快递丢了快递公司只赔几十块", "消费"),
        ("公司不给交社保", "劳动工资"),
        ("装修公司拖工期还加钱", "消费"),
        ("村里要收回我家的承包地", "土地承包"),
        ("邻居家狗把我孩子咬了", "人身损害"),
        ("被电动车撞了对方不赔", "交通事故"),
        ("房东不退押金", "房屋租赁"),
        ("彩礼要退吗", "婚姻家庭"),
        ("物业不修电梯", "物业"),
        ("今天天气怎么样", None),
    ],
)
def test_dispute_type(text, dispute_type):
    assert lexicon.dispute_type_of(lexicon.normalize(text))[0] == dispute_type


def test_durations_and_dates_are_told_apart():
    text = lexicon.normalize("2020年开始干了半年，上个月被辞退")
    assert [v for *_, v in lexicon.durations(text)] == ["6个月"]
    assert [v for *_, v in lexicon.dates(text)] == ["2020年", "上个月"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("他拿着菜刀要砍我", "weapon"),
        ("他说要杀了我全家", "violence"),
        ("老公又打我了", "domestic_violence"),
        ("我不想活了", "self_harm"),
        ("我家著火了", "fire"),  # Traditional 著 stays 著 after t2s
        ("闻到煤气泄漏的味道", "fire"),
        ("我爸昏过去了", "medical"),
        ("前男友举着铁棍堵在门口", "weapon"),
        ("他扬言要灭了我们全家", "violence"),
        ("遗书我都写好了", "self_harm"),
        ("有人倒在路边一动不动", "medical"),
        ("孩子掉河里了", "medical"),
    ],
)
def test_emergency_net_catches_unmistakable_words(text, kind):
    assert lexicon.emergency_match(lexicon.normalize(text))[0] == kind


@pytest.mark.parametrize(
    "text",
    [
        "老板拖欠工资怎么办",
        "买的菜刀质量不好",
        "邻居砍了我家的树",
        "着急上火睡不着",
        "火灾保险怎么理赔",
        "孩子在学校被同学打伤了",
        "被人打了对方要赔多少",
        "装修工人拿锤子砸坏了我家墙能索赔吗",
        "交通事故对方住院了怎么赔",
        "他说要起诉我",
        "遗产怎么分",
    ],
)
def test_emergency_net_stays_quiet_on_ordinary_questions(text):
    assert lexicon.emergency_match(lexicon.normalize(text)) is None


def test_input_problems():
    assert lexicon.input_problem("？？？") == "empty"
    assert lexicon.input_problem("😀😀") == "empty"
    assert lexicon.input_problem("工资" * 400) == "too_long"
    assert lexicon.input_problem("老板不给工资") is None
    assert lexicon.input_problem("88") is None
    assert lexicon.input_problem("13812345678") is None
    assert lexicon.input_problem("sdfkj 啊吧啊吧 qwe") == "nonsense"
    assert lexicon.input_problem("asdfgh") == "nonsense"
    for fine in ("hello", "Thank you", "SOS", "3q", "ok 好的", "wifi密码被邻居改了"):
        assert lexicon.input_problem(fine) is None, fine


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("转人工", "转人工"),
        ("转人工服务谢谢", "转人工"),
        ("人工客服在哪", "人工客服"),
        ("我要找调解员", "找调解员"),
        ("我要投诉！", "我要投诉!"),
        ("换个真人跟我说吧", "换个真人"),
        ("请调解员联系我", "请调解员联系我"),
        ("我要投诉物业乱收费", None),
        ("装修的人工费怎么算", None),
        ("调解员说的话有效吗", None),
        ("我想找个调解员调解一下邻居的事", None),
        ("客服电话多少", None),
        ("有没有真人在线", "有没有真人"),
        ("叫你们工作人员来", "叫你们工作人员"),
        ("接线员在哪", "接线员在哪"),
        ("我不想跟机器人聊", "不想跟机器人聊"),
    ],
)
def test_explicit_requests_for_a_person(text, words):
    assert lexicon.handoff_request(lexicon.normalize(text)) == words


@pytest.mark.parametrize(
    ("text", "is_request"),
    [
        ("我要申请调解", True),
        ("邻居不肯赔钱，能不能帮我调解", True),
        ("物业乱收费，这个能调解不", True),
        ("我想调解，不想打官司", True),
        ("帮我们两家调解一下", True),
        ("请村里给我们评评理", True),
        ("能不能找个人帮我们两家说和说和", True),
        ("帮我联系调解员", False),
        ("双方协调一下赔偿可以吗", False),
        ("调解协议签了能不能反悔", False),
        ("人民调解协议有法律效力吗", False),
        ("派出所调解了对方还是不赔", False),
        ("我不想调解了", False),
        ("老板拖欠工资怎么办", False),
        ("刑事案件可以调解吗", False),
    ],
)
def test_requests_for_mediation(text, is_request):
    assert (lexicon.mediation_request(lexicon.normalize(text)) is not None) == is_request
