"""Finding the numbers in a fixed text (actions/legal_numbers.py): what counts as a number, as written, and its value."""

from __future__ import annotations

import pytest

from actions.legal_numbers import find_numbers, numbers_in, value_of


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        # time limits, Arabic and Chinese, with the unit
        ("要在收到裁决书之日起15日内向人民法院起诉", ["15日"]),
        ("自收到仲裁裁决书之日起十五日内", ["十五日"]),
        ("一般要在一年内申请；离职后一年内", ["一年", "一年"]),
        ("法院受理后72小时内作出，紧急的二十四小时内作出", ["72小时", "二十四小时"]),
        ("保证期间为六个月；6个月内", ["六个月", "6个月"]),
        ("7天无理由退货，三十日内，两年，半年，一年半", ["7天", "三十日", "两年", "半年", "一年半"]),
        ("3个工作日内答复", ["3个工作日"]),
        # multiples, amounts, percentages
        ("一年期贷款市场报价利率四倍，LPR 4 倍", ["一年", "四倍", "4 倍"]),
        (
            "价款10倍或者损失三倍，不足一千元的为一千元，不足500元的按500元",
            ["10倍", "三倍", "一千元", "一千元", "500元", "500元"],
        ),
        ("罚款5万元，一万二千元", ["5万元", "一万二千元"]),
        ("年利率24%，4.35％，百分之三十六", ["24%", "4.35％", "百分之三十六"]),
        # a range is one number; so is a date
        ("在车后50至100米处、50米至100米处", ["50至100米", "50米至100米"]),
        ("处200-1000元罚款，五日以上十日以下拘留", ["200-1000元", "五日", "十日"]),
        ("本法自2026年8月15日起施行，2025-09-15 起", ["2026年8月15日", "2025-09-15"]),
        # telephone numbers: 3 to 11 digits, with or without dashes
        ("拨打 110、119、120，或 122", ["110", "119", "120", "122"]),
        ("人社服务热线 12333，12348，12356", ["12333", "12348", "12356"]),
        ("或者 400-161-9995，0571-12345678，13812345678", ["400-161-9995", "0571-12345678", "13812345678"]),
    ],
)
def test_numbers_are_found_as_written(text, numbers):
    assert numbers_in(text) == numbers


@pytest.mark.parametrize(
    "text",
    [
        "《劳动合同法》第三十条第2款，第 3 条",
        "第一年，第十五日",  # ordinals
        "一方当事人、一般、统一、同一日、唯一",
        "今天、每天、当天、天然气、每月、本月、几个月、上个月",
        "一半的钱",
        "万一出事",
        "成年人、老年人、青少年",
        "12",
        "123456789012",  # too short or too long for a telephone number
    ],
)
def test_words_that_only_contain_a_numeral_are_not_numbers(text):
    assert numbers_in(text) == []


def test_positions_and_kinds():
    text = "15日内起诉，拨打 12348，2025年9月15日起"
    found = find_numbers(text)
    assert [(n.text, n.kind) for n in found] == [
        ("15日", "quantity"),
        ("12348", "number"),
        ("2025年9月15日", "date"),
    ]
    assert all(text[n.start : n.end] == n.text for n in found)


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("15日", ((15.0,), "日")),
        ("十五日", ((15.0,), "日")),
        ("7天", ((7.0,), "日")),
        ("三十日", ((30.0,), "日")),
        ("一百二十日", ((120.0,), "日")),
        ("六个月", ((6.0,), "月")),
        ("一年半", ((1.5,), "年")),
        ("半年", ((0.5,), "年")),
        ("七十二小时", ((72.0,), "小时")),
        ("四倍", ((4.0,), "倍")),
        ("五百元", ((500.0,), "元")),
        ("一万二千元", ((12000.0,), "元")),
        ("一千零五十元", ((1050.0,), "元")),
        ("5万元", ((50000.0,), "元")),
        ("百分之二十四", ((24.0,), "%")),
        ("24%", ((24.0,), "%")),
        ("50至100米", ((50.0, 100.0), "米")),
        ("50米至100米", ((50.0, 100.0), "米")),
        ("12348", None),
        ("2025年9月15日", None),
    ],
)
def test_values_make_arabic_and_chinese_numerals_comparable(written, value):
    assert value_of(written) == value
