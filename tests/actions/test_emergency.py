"""Emergency guidance by kind (actions/emergency.py): which number comes first, and what each text must say."""

from __future__ import annotations

import pytest

from actions import emergency
from actions.legal_numbers import find_numbers


def first_number(text: str) -> str:
    return next(n.text for n in find_numbers(text) if n.kind == "number")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # threats by people, with fire, petrol or explosives: the police first
        ("讨债的堵在我家门口 说今天不还钱就放火烧了我家房子", "fire_threat"),
        ("有人威胁要放火烧我家", "fire_threat"),
        ("他们扬言要放火烧我的店", "fire_threat"),
        ("他说要一把火烧了我家", "fire_threat"),
        ("他把汽油泼在门上说要点火", "fire_threat"),
        ("有人在我家门口泼油说要烧房子", "fire_threat"),
        ("我哥拎着一桶汽油说要跟那家人同归于尽", "fire_threat"),
        ("他扬言要炸了村委会", "fire_threat"),
        ("他威胁要开煤气炸死我们", "fire_threat"),
        # a fire that burns: the fire brigade first, also when a person set it
        ("我家着火了", "fire"),
        ("家裡著火了", "fire"),
        ("厂房烧起来了", "fire"),
        ("屋里全是烟，出不去", "fire"),
        ("有人在我家门口放火", "fire"),
        ("他说要放火，现在屋里已经冒烟了", "fire"),
        # gas, violence, domestic violence, self-harm, medical
        ("屋里一股煤气味", "gas"),
        ("煤气罐要炸了", "gas"),
        ("讨债的堵在门口说要打断我的腿", "violence"),
        ("他拿着菜刀站在我家门口要砍我", "violence"),
        ("我老公又喝醉了在打我", "domestic_violence"),
        ("我不想活了", "self_harm"),
        ("我不想再活下去了", "self_harm"),
        ("我想从楼上跳下去", "self_harm"),
        ("我爸突然昏过去了", "medical"),
        ("快来人啊", "general"),
        # what residents write without the textbook words
        ("锅里的油着了 盖不住", "fire"),
        ("电瓶车在楼道里冒火了", "fire"),
        ("老人噎住了 喘不过气", "medical"),
        ("我媳妇羊水破了 要生了", "medical"),
        ("爸爸说胸口疼 嘴唇发紫", "medical"),
        ("我已经吃了半瓶安眠药", "self_harm_acted"),
        ("活着太累了 没人在乎我", "self_harm"),
        # pills swallowed by mistake, wrists already cut, bleeding that will not stop
        ("孩子把奶奶的药当糖吃了 一直吐", "medical"),
        ("我同屋割腕了 流了好多血", "self_harm_acted"),
        ("他手被机器扎穿了 血止不住", "medical"),
        ("打人的跑了 我哥头上好大口子", "medical"),
        ("工友触电了 倒地上一动不动", "medical"),
        # 打 that is not hitting: a drip, a phone call, work
        ("我爸在镇卫生院打点滴 护士拿错了药", "general"),
        ("我妈打电话说他又来闹了", "general"),
        ("我老公打我", "domestic_violence"),
        ("隔壁的打我孩子", "violence"),
    ],
)
def test_kind_of_emergency(text, kind):
    assert emergency.classify(text) == kind


@pytest.mark.parametrize(
    ("kind", "first"),
    [
        ("fire_threat", "110"),
        ("violence", "110"),
        ("domestic_violence", "110"),
        ("general", "110"),
        ("fire", "119"),
        ("gas", "119"),
        ("medical", "120"),
        ("self_harm", "12356"),
        ("self_harm_acted", "120"),
    ],
)
def test_each_kind_leads_with_its_number(kind, first):
    assert first_number(emergency.guidance(kind)) == first


def test_a_threat_of_arson_leads_with_the_police_then_the_fire_brigade():
    text = emergency.guidance(emergency.classify("讨债的堵在我家门口 说今天不还钱就放火烧了我家房子"))
    assert text.index("110") < text.index("119") and "120" in text
    assert "湿毛巾" not in text and "弯腰" not in text  # no fire-escape drill for a fire that is not burning


def test_a_fire_leads_with_the_fire_brigade_and_names_the_police_for_arson():
    text = emergency.guidance("fire")
    assert text.index("119") < text.index("110")


def test_domestic_violence_guidance_names_the_warning_and_the_protection_order():
    text = emergency.guidance("domestic_violence")
    for words in ("110", "告诫书", "人身安全保护令", "不用先离婚", "72小时", "24小时", "12338", "临时庇护"):
        assert words in text, words


def test_the_urgent_handoff_says_a_mediator_does_not_replace_the_police_or_an_ambulance():
    assert "不能代替" in emergency.HANDOFF_TEXT
    assert "110" in emergency.HANDOFF_TEXT and "120" in emergency.HANDOFF_TEXT
    assert "值班" not in emergency.HANDOFF_TEXT  # no promise that someone is on duty at every hour


def test_every_kind_has_guidance_and_a_label():
    kinds = {kind for kind, _ in emergency._KINDS} | {"general"}
    assert kinds == set(emergency.GUIDANCE) == set(emergency.LABELS)
    assert emergency.classify("快来人啊", hint="fire") == "fire"
    assert emergency.classify("快来人啊", hint="weapon") == "violence"
