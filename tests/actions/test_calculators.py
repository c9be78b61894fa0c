"""The calculators the guides use: severance, double wages, the loan interest cap, and the facts read from a
message."""

from __future__ import annotations

import pytest

from actions import calculators as c


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("6000", 6000),
        ("六千", 6000),
        ("一万二", 12000),
        ("三千五", 3500),
        ("两万五千", 25000),
        ("十万", 100000),
        ("一万零五", 10005),
        ("一百二", 120),
        ("二十五", 25),
        ("1.5", 1.5),
        ("十", 10),
        ("二四", None),
        ("abc", None),
    ],
)
def test_numbers_as_residents_write_them(written, value):
    assert c.cn_number(written) == value


@pytest.mark.parametrize(
    ("months", "n"),
    [
        (0, 0),
        (3, 0.5),
        (5.9, 0.5),
        (6, 1),
        (11, 1),
        (12, 1),
        (13, 1.5),
        (18, 2),
        (60, 5),
        (62, 5.5),
        (66, 6),
    ],
)
def test_severance_months_follow_the_six_month_rule(months, n):
    assert c.severance_months(months) == n


def test_severance_and_unlawful_dismissal():
    s = c.severance(60, 6000)
    assert (s.months, s.amount, s.unlawful_dismissal, s.capped) == (5, 30000, 60000, False)


def test_severance_cap_above_three_times_the_local_average():
    # wage 30000 > 3 × 8000: base 24000, and at most 12 years
    s = c.severance(13.5 * 12, 30000, local_average=8000)
    assert (s.base, s.months, s.amount, s.capped) == (24000, 12, 288000, True)
    # a wage at exactly three times the average is not above it: no cap
    s = c.severance(15 * 12, 24000, local_average=8000)
    assert (s.base, s.months, s.capped) == (24000, 15, False)


def test_severance_without_a_wage_gives_months_only():
    s = c.severance(40)  # 3 years 4 months
    assert s.amount is None and s.months == 3.5
    assert "3.5个月的工资" in c.describe_severance(s) and "7个月的工资" in c.describe_severance(s)


def test_double_wages_count_from_the_second_month_up_to_eleven():
    assert c.double_wages(8, 6000).months == 7 and c.double_wages(8, 6000).amount == 42000
    assert c.double_wages(0.5).months == 0
    long = c.double_wages(30, 5000)
    assert (long.months, long.amount, long.one_year_passed) == (11, 55000, True)
    assert "无固定期限" in c.describe_double_wages(long)


def test_loan_interest_cap_needs_the_lpr_from_the_resident():
    li = c.loan_interest(100000, 24, lpr=3.1)
    assert li.cap_rate == pytest.approx(12.4) and li.over_cap and li.yearly_cap_amount == pytest.approx(12400)
    assert c.loan_interest(100000, 10, lpr=3.1).over_cap is False
    text = c.describe_loan_interest(c.loan_interest(100000, 24))
    # no LPR given: the rule in words, never a built-in percentage
    assert "一年期贷款市场报价利率（LPR）的四倍" in text and "%" in text.split("。")[0]
    assert "12.4" not in text and "14.8" not in text and "15.4" not in text


@pytest.mark.parametrize(
    ("text", "months", "wage", "average"),
    [
        ("我干了5年 月薪6000 被辞退了 能赔多少", 60, 6000, None),
        ("工作了三年半，工资一个月4500", 42, 4500, None),
        ("入职两年月工资1.2万 社平工资8000", 24, 12000, 8000),
        ("做了3年零4个月 每月5000", 40, 5000, None),
        ("干了半年被开除", 6, None, None),
        ("老板欠我工资2万 我干了8个月", 8, None, None),  # a sum owed is no monthly wage
        ("公司拖欠工资3个月", None, None, None),
    ],
)
def test_labour_facts_in_a_message(text, months, wage, average):
    assert (c.service_months_in(text), c.monthly_wage_in(text), c.local_average_in(text)) == (
        months,
        wage,
        average,
    )


@pytest.mark.parametrize(
    ("text", "principal", "rate", "lpr"),
    [
        ("借给他10万，月息2分", 100000, 24, None),
        ("借了5万块 2分利", 50000, 24, None),
        ("朋友借钱给我三万 年息36%", 30000, 36, None),
        ("月利率1.5%", None, 18, None),
        ("年利率百分之二十四", None, 24, None),
        ("借款20000元 LPR是3.1% 年利率15%", 20000, 15, 3.1),
        ("月息5厘", None, 6, None),
        ("等了5分钟他还是不还钱", None, None, None),
        ("打了8折", None, None, None),
    ],
)
def test_loan_facts_in_a_message(text, principal, rate, lpr):
    got = (c.principal_in(text), c.annual_rate_in(text), c.lpr_in(text))
    assert got == (principal, pytest.approx(rate) if rate else None, lpr)


def test_calculate_needs_the_numbers_it_rests_on():
    assert c.calculate("severance", "公司把我辞退了") is None
    assert c.calculate("severance", "我干了5年 月薪6000 被辞退了 能赔多少").startswith(
        "按您说的（工作5年）：经济补偿 = 5个月 × 月工资 6000元 = 30000元；如果是违法辞退，赔偿金是它的两倍，60000元。"
    )
    assert c.calculate("double_wages", "没签合同干了8个月 月薪六千") == (
        "按您说的（工作8个月没签合同）：从第二个月起算，单位要再多付7个月的工资（二倍工资多出的那一倍），约 7 × 6000 = 42000元。"
    )
    assert c.calculate("loan_interest", "借给他10万，一直不还") is None
    assert "年利率约24%" in c.calculate("loan_interest", "借给他10万 月息2分")
    with pytest.raises(ValueError):
        c.calculate("tax", "")
