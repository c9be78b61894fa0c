"""Repealed laws are read from the repealing articles in the corpus, and flagged where precedents quote them."""

from actions.answer import repeal_note
from knowledge_base.records import Record
from knowledge_base.repeals import repealed_in, repealed_laws


def statute(title, no, text, status="现行有效"):
    return Record(id=f"{title}-{no}", kind="statute", title=title, article_no=no, text=text, status=status)


CIVIL_CODE_1260 = statute(
    "中华人民共和国民法典",
    "第一千二百六十条",
    "本法自2021年1月1日起施行。《中华人民共和国婚姻法》、《中华人民共和国物权法》、"
    "《中华人民共和国民法通则》同时废止。",
)


def test_repealing_articles_name_the_laws_they_repeal():
    records = [
        CIVIL_CODE_1260,
        statute(
            "中华人民共和国医师法",
            "第六十七条",
            "本法自2022年3月1日起施行。《中华人民共和国执业医师法》废止。",
        ),
        # Not repeals: a duty to repeal rules and a power to annul. A repeal by a law repealed later still stands.
        statute("某条例", "第九条", "违反《中华人民共和国立法法》规定的规章，国务院应当予以废止。"),
        statute("某办法", "第三条", "上级机关有权撤销或者废止《某规定》。"),
        statute("旧法", "第九十条", "《更旧的法》同时废止。", status="已废止"),
    ]
    assert repealed_laws(records) == {
        "中华人民共和国婚姻法": "《中华人民共和国民法典》第一千二百六十条",
        "中华人民共和国物权法": "《中华人民共和国民法典》第一千二百六十条",
        "中华人民共和国民法通则": "《中华人民共和国民法典》第一千二百六十条",
        "中华人民共和国执业医师法": "《中华人民共和国医师法》第六十七条",
        "更旧的法": "《旧法》第九十条",
    }


def test_quoted_repealed_laws_are_found_in_order_with_short_names_too():
    repealed = repealed_laws([CIVIL_CODE_1260])
    outcome = "依照《中华人民共和国民法通则》第八十三条、《物权法》第八十四条、《中华人民共和国民事诉讼法》第六十四条判决"
    assert [t for t, _ in repealed_in(outcome, repealed)] == ["中华人民共和国民法通则", "物权法"]
    assert repealed_in("依照《中华人民共和国劳动合同法》第三十条", repealed) == []


def test_precedent_outcome_gets_one_warning_line():
    repealed = repealed_laws([CIVIL_CODE_1260])
    note = repeal_note(
        "依据《中华人民共和国民法通则》第八十三条、《中华人民共和国物权法》第八十四条的规定，判决驳回",
        repealed,
    )
    assert note == (
        "   注意：该案适用的《中华人民共和国民法通则》、《中华人民共和国物权法》已经废止"
        "（见《中华人民共和国民法典》第一千二百六十条），现在请以现行法律为准。"
    )
    assert repeal_note("依据《中华人民共和国劳动合同法》第三十条", repealed) is None
