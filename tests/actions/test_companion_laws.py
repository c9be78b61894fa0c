"""Which special and procedural law an answer cites besides the ranked articles (actions/companion_laws.py)."""

from __future__ import annotations

import pytest

from actions.companion_laws import (
    CIVIL_PROCEDURE_LAW,
    COURT_FEES,
    LABOUR_PROCEDURE_LAW,
    LAND_PROCEDURE_LAW,
    LEGAL_AID_LAW,
    MEDIATION_LAW,
    LawQuery,
    companion_laws,
    procedure_law,
    special_law,
)


@pytest.mark.parametrize(
    ("asked", "dispute_type", "law"),
    [
        ("村调委会给我们调了个协议 他签了字就是不履行 有用吗", None, MEDIATION_LAW),
        ("他要是一直拖着不赔 我去哪个法院告", "邻里纠纷", CIVIL_PROCEDURE_LAW),
        ("要怎么证明是他家漏的", None, CIVIL_PROCEDURE_LAW),
        ("去年的加班费现在还能要吗", "劳动工资", LABOUR_PROCEDURE_LAW),  # arbitration's own time limit
        ("打卡记录都在公司 我手上啥也没有 怎么证明", "劳动工资", LABOUR_PROCEDURE_LAW),
        ("去哪里解决 仲裁还是法院", "土地承包", LAND_PROCEDURE_LAW),
        ("押金三千 去哪里要", "房屋租赁", MEDIATION_LAW),  # where to go, no court named: mediation first
        ("我没工作 手里没钱请律师", None, LEGAL_AID_LAW),
        ("真要打官司得花多少钱", "婚姻家庭", COURT_FEES),
        ("怕他把房子转走 能不能先冻结", None, CIVIL_PROCEDURE_LAW),
        ("去年的加班费现在还能要吗", None, None),  # a time limit, but of what kind of claim is not known
        ("他的狗把我咬了 能赔多少", None, None),  # the facts, not the way forward
    ],
)
def test_the_procedural_law_is_the_one_the_question_asks_about(asked, dispute_type, law):
    assert procedure_law(asked, dispute_type) == law


@pytest.mark.parametrize(
    ("text", "law"),
    [
        ("包工头跑了 我们的工钱没人给", "保障农民工工资支付条例"),
        ("借条上没写利息 我能要利息吗", "最高人民法院关于审理民间借贷案件适用法律若干问题的规定"),
        ("我哥不出赡养费", "中华人民共和国老年人权益保障法"),
        ("谢谢你", None),
    ],
)
def test_the_special_law_is_the_one_the_disputes_words_point_to(text, law):
    found = special_law(text)
    assert (found.law if found else None) == law
    if found:
        assert found.query.startswith(text)  # the words it was chosen for, then the law's own terms


def test_some_words_point_to_a_special_law_only_within_a_type_of_dispute_or_beside_others():
    assert special_law("在厂里被机器轧伤了 住院两个月", dispute_type="劳动工资").law == "工伤保险条例"
    assert special_law("在厂里被机器轧伤了 住院两个月", dispute_type="人身损害") is None
    elders = "中华人民共和国老年人权益保障法"
    # 养 with a parent named is support of a parent, whatever the type; a child to raise is not.
    assert special_law("俺娘八十了 老二说他没分到房子 所以不该他养").law == elders
    assert special_law("离婚后孩子谁来养", dispute_type="婚姻家庭") is None


def test_the_special_law_reads_the_conversation_and_the_procedure_only_the_latest_message():
    found = companion_laws("包工头欠了我们三个月工钱 那去哪里告", "那去哪里告", "劳动工资")
    assert [q.law for q in found] == ["保障农民工工资支付条例", LABOUR_PROCEDURE_LAW]
    assert found[1] == LawQuery(LABOUR_PROCEDURE_LAW, "那去哪里告 劳动争议 仲裁")
    # A court named in an earlier turn is not a question about procedure now.
    assert companion_laws("上次去法院起诉过 他又说没钱", "他又说没钱", None) == []
