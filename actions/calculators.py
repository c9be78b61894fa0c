"""Arithmetic a resident would otherwise do by hand, and the facts for it read from a message.

- severance (经济补偿, 劳动合同法 §47): one month's wage for each full year of service; six months or more
  count as a year, less than six months as half a month; when the monthly wage is above three times the local
  average monthly wage of last year, the base is three times that average and at most twelve years count. The
  compensation for an unlawful dismissal (赔偿金, §87) is twice the severance.
- double wages for no written contract (劳动合同法 §82, 实施条例 §6–§7): one extra month's wage for each month
  from the day after the first month of work until the contract is signed, at most eleven months.
- loan interest (民间借贷规定 §25): interest above four times the one-year LPR at the time the contract was
  made is not supported. The LPR changes every month, so no rate is built in: the resident gives it, or the
  answer states the rule without a number.

Parsing is deliberately narrow: a number is read only next to words that say what it is ("干了5年",
"月薪6000", "借给他10万", "月息2分"); anything else is left unknown and the answer does without it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------------
# Numbers as residents write them: 6000, 6千, 六千, 1.2万, 一万二, 三年半

_CN_DIGIT = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10000}
NUMBER = r"(?:\d+(?:\.\d+)?|[零〇一二两俩三四五六七八九十百千万]+)"


def cn_number(text: str) -> float | None:
    """ "6000" → 6000, "六千" → 6000, "一万二" → 12000, "三千五" → 3500, "十" → 10; None if not a number."""
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    total, section, digit, last_unit, zero = 0, 0, None, 1, False
    for ch in text:
        if ch in "零〇":
            zero = True  # 一万零五: the digit after it is not one unit lower
        elif ch in _CN_DIGIT:
            if digit is not None:  # "二四" style digit strings: not a number residents write for money
                return None
            digit = _CN_DIGIT[ch]
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit, last_unit = 0, None, 10000
        elif ch in _CN_UNIT:
            section += (1 if digit is None else digit) * _CN_UNIT[ch]
            digit, last_unit = None, _CN_UNIT[ch]
        else:
            return None
    if (
        digit is not None
        and not zero
        and last_unit >= 100
        and section % last_unit == 0
        and not (total and section)
    ):
        # a trailing digit after 万/千/百 is one unit lower: 一万二 = 12000, 三千五 = 3500
        digit *= last_unit // 10
    return float(total + section + (digit or 0))


def amount(number: str, unit: str | None) -> float | None:
    """A sum of money: the number times 万/千/k (元, 块 and none mean yuan)."""
    value = cn_number(number)
    if value is None:
        return None
    unit = (unit or "").lower()
    if unit.startswith("万"):
        value *= 10000
    elif unit in {"千", "k"}:
        value *= 1000
    return value


def _yuan(value: float) -> str:
    rounded = round(value, 2)
    return f"{int(rounded)}" if rounded == int(rounded) else f"{rounded:.2f}"


def _num(value: float) -> str:
    return f"{int(value)}" if value == int(value) else f"{value:g}"


# --------------------------------------------------------------------------------------------------
# Severance (经济补偿) and the compensation for an unlawful dismissal (赔偿金)

SEVERANCE_CAP_MULTIPLE = 3  # 劳动合同法 §47 ¶2: 职工月平均工资三倍
SEVERANCE_CAP_YEARS = 12  # §47 ¶2: 最高不超过十二年


def severance_months(service_months: float) -> float:
    """N, the months of wage: one a full year; a rest of six months or more counts as a year, less as half."""
    if service_months < 0:
        raise ValueError("service cannot be negative")
    full_years = math.floor(service_months / 12 + 1e-9)
    rest = service_months - full_years * 12
    if rest >= 6 - 1e-9:
        return full_years + 1.0
    if rest > 1e-9:
        return full_years + 0.5
    return float(full_years)


@dataclass(frozen=True)
class Severance:
    service_months: float
    months: float  # N after the cap
    monthly_wage: float | None
    base: float | None  # the monthly wage used: the wage, or three times the local average when capped
    capped: bool
    local_average: float | None

    @property
    def amount(self) -> float | None:
        return None if self.base is None else self.months * self.base

    @property
    def unlawful_dismissal(self) -> float | None:
        """赔偿金 (劳动合同法 §87): twice the severance."""
        return None if self.amount is None else 2 * self.amount


def severance(
    service_months: float, monthly_wage: float | None = None, local_average: float | None = None
) -> Severance:
    months = severance_months(service_months)
    base, capped = monthly_wage, False
    if monthly_wage is not None and local_average and monthly_wage > SEVERANCE_CAP_MULTIPLE * local_average:
        base, capped = SEVERANCE_CAP_MULTIPLE * local_average, True
        months = min(months, float(SEVERANCE_CAP_YEARS))
    return Severance(service_months, months, monthly_wage, base, capped, local_average)


def _service_words(months: float) -> str:
    years, rest = divmod(round(months), 12)
    if years and rest:
        return f"{years}年{rest}个月"
    return f"{years}年" if years else f"{rest}个月"


def describe_severance(s: Severance) -> str:
    """The sum for this resident (the rules themselves are in the guide's text)."""
    n = _num(s.months)
    # The three are None together (the amounts come from the base); each is checked for the type checker.
    if s.base is None or s.amount is None or s.unlawful_dismissal is None:
        return (
            f"按您说的（工作{_service_words(s.service_months)}）：经济补偿是{n}个月的工资；"
            f"如果是违法辞退，赔偿金是{_num(2 * s.months)}个月的工资。"
        )
    base = (
        f"当地上年度职工月平均工资的三倍 {_yuan(s.base)}元（您的月工资高于这个数，按它封顶，最多算12年）"
        if s.capped
        else f"月工资 {_yuan(s.base)}元"
    )
    return (
        f"按您说的（工作{_service_words(s.service_months)}）：经济补偿 = {n}个月 × {base} = "
        f"{_yuan(s.amount)}元；如果是违法辞退，赔偿金是它的两倍，{_yuan(s.unlawful_dismissal)}元。"
    )


# --------------------------------------------------------------------------------------------------
# Double wages for no written contract (二倍工资)

DOUBLE_WAGE_MAX_MONTHS = 11  # 实施条例 §7: 满一个月的次日至满一年的前一日


@dataclass(frozen=True)
class DoubleWages:
    months_worked: float
    months: float  # months for which the extra wage is owed
    monthly_wage: float | None
    one_year_passed: bool

    @property
    def amount(self) -> float | None:
        return None if self.monthly_wage is None else self.months * self.monthly_wage


def double_wages(months_worked: float, monthly_wage: float | None = None) -> DoubleWages:
    owed = min(max(months_worked - 1, 0.0), float(DOUBLE_WAGE_MAX_MONTHS))
    return DoubleWages(months_worked, owed, monthly_wage, months_worked >= 12)


def describe_double_wages(d: DoubleWages) -> str:
    if d.months <= 0:
        return "按您说的，用工还不满一个月：单位在一个月内补签书面合同就不用付二倍工资。"
    n = _num(d.months)
    head = (
        f"按您说的（工作{_service_words(d.months_worked)}没签合同）：从第二个月起算，单位要再多付{n}个月的工资"
        "（二倍工资多出的那一倍）"
    )
    wage, amount = d.monthly_wage, d.amount  # None together: the amount comes from the wage
    text = head + (
        f"，约 {n} × {_yuan(wage)} = {_yuan(amount)}元。" if wage is not None and amount is not None else "。"
    )
    if d.one_year_passed:
        text += "满一年还没签的，最多算11个月，并且视为已经订了无固定期限劳动合同。"
    return text


# --------------------------------------------------------------------------------------------------
# Loan interest cap (民间借贷规定 §25)

LPR_MULTIPLE = 4


@dataclass(frozen=True)
class LoanInterest:
    principal: float | None
    agreed_annual_rate: float | None  # percent a year
    lpr: float | None  # percent a year, as the resident gave it

    @property
    def cap_rate(self) -> float | None:
        return None if self.lpr is None else LPR_MULTIPLE * self.lpr

    @property
    def over_cap(self) -> bool | None:
        if self.cap_rate is None or self.agreed_annual_rate is None:
            return None
        return self.agreed_annual_rate > self.cap_rate + 1e-9

    @property
    def yearly_cap_amount(self) -> float | None:
        if self.cap_rate is None or self.principal is None:
            return None
        return self.principal * self.cap_rate / 100


def loan_interest(
    principal: float | None = None, agreed_annual_rate: float | None = None, lpr: float | None = None
) -> LoanInterest:
    return LoanInterest(principal, agreed_annual_rate, lpr)


def describe_loan_interest(li: LoanInterest) -> str:
    """The resident's rate against the cap; without the LPR, the rule in words (no rate is built in)."""
    parts = []
    if li.agreed_annual_rate is not None:
        parts.append(f"按您说的，约定利率折合年利率约{_num(round(li.agreed_annual_rate, 2))}%。")
    if li.lpr is None or li.cap_rate is None:  # None together: the cap comes from the LPR
        parts.append(
            "要和合同成立时一年期贷款市场报价利率（LPR）的四倍比较（LPR每月公布，可以查借款那个月的数），"
            "超过的部分法院不支持。"
        )
        if li.principal is not None:
            parts.append(
                f"本金{_yuan(li.principal)}元一年最多支持的利息 = {_yuan(li.principal)} × 4 × 当时的LPR。"
            )
        return "".join(parts)
    parts.append(f"按您给的LPR {_num(li.lpr)}%，上限是年利率{_num(round(li.cap_rate, 2))}%")
    if li.over_cap:
        parts.append("，约定的利率超过了上限，超出的部分法院不支持。")
    elif li.over_cap is False:
        parts.append("，约定的利率没有超过上限。")
    else:
        parts.append("。")
    if li.principal is not None and li.yearly_cap_amount is not None:  # the amount needs the principal
        parts.append(f"本金{_yuan(li.principal)}元一年最多支持利息约{_yuan(li.yearly_cap_amount)}元。")
    return "".join(parts)


# --------------------------------------------------------------------------------------------------
# Facts from a message

_MONEY = rf"({NUMBER})\s*(万元|万块|万|千元|千|[kK]|元|块钱|块)?"
_SERVICE_RE = re.compile(
    rf"(?:干|做|工作|上班|上了|入职|在职|待|呆|工龄|干活|打工)(?:了|满|有|快|近)?\s*({NUMBER}|半)\s*(年|个月|个多月|多年|多个月)"
    rf"(?:(半)|零?\s*({NUMBER})\s*个月)?"
)
_SERVICE_AFTER_RE = re.compile(rf"({NUMBER})\s*(年|个月)(?:(半)|零?\s*({NUMBER})\s*个月)?(?:的)?工龄")
_WAGE_RE = re.compile(
    rf"(?:月薪|月工资|月收入|底薪|工资|薪水|薪资|每月|每个月|一个月|一月|月)(?:是|为|有|大概|大约|约|才|只有|拿)?\s*"
    rf"{_MONEY}(?!个月|个多月|年|天|日|小时|号|%|倍)"
)
_AVERAGE_RE = re.compile(rf"(?:社平工资|社会平均工资|平均工资|社平)\D{{0,8}}?{_MONEY}")
_PRINCIPAL_RE = re.compile(
    rf"(?:借钱给|借给|借了|借款|本金|欠我|欠了|借|欠)(?:他|她|别人|朋友|亲戚|我|对方|人家)?(?:了)?\s*{_MONEY}"
    rf"(?!个月|年|天|日|%|分|厘)"
)
_RATE_RE = re.compile(
    rf"(月息|月利率|月利|年息|年利率|年化|年利|日息|日利率)?\s*(?:是|为|按)?\s*(?:(百分之)({NUMBER})|({NUMBER})\s*(%|分(?!钟)|厘|个点))"
)
_LPR_RE = re.compile(r"(?:LPR|lpr|贷款市场报价利率)\D{0,8}?(\d+(?:\.\d+)?)\s*%?")


def _months_of(number: str, unit: str, half: str | None, extra: str | None) -> float | None:
    value = 0.5 if number == "半" else cn_number(number)
    if value is None:
        return None
    months = value * 12 if unit.endswith("年") else value
    if half:
        months += 6 if unit.endswith("年") else 0.5
    if extra:
        more = cn_number(extra)
        if more is not None:
            months += more
    return months


def service_months_in(text: str) -> float | None:
    """How long the resident worked, in months ("干了5年" → 60, "三年半" → 42, "8个月" → 8), or None."""
    m = _SERVICE_RE.search(text) or _SERVICE_AFTER_RE.search(text)
    if not m:
        return None
    return _months_of(*m.groups())


_OWED_RE = re.compile(r"欠|拖|扣|少|差|补")


def monthly_wage_in(text: str) -> float | None:
    """The monthly wage ("月薪6000" → 6000, "工资六千" → 6000, "一个月1.2万" → 12000), or None. A sum owed
    ("欠我工资2万") is no monthly wage."""
    for m in _WAGE_RE.finditer(text):
        if _OWED_RE.search(text[max(0, m.start() - 4) : m.start()]):
            continue
        value = amount(m.group(1), m.group(2))
        if value is not None and value >= 100:  # "工资3" is no wage
            return value
    return None


def local_average_in(text: str) -> float | None:
    m = _AVERAGE_RE.search(text)
    return amount(m.group(1), m.group(2)) if m else None


def principal_in(text: str) -> float | None:
    """The sum lent ("借给他10万" → 100000), or None."""
    for m in _PRINCIPAL_RE.finditer(text):
        value = amount(m.group(1), m.group(2))
        if value is not None and value >= 100:
            return value
    return None


def annual_rate_in(text: str) -> float | None:
    """The agreed rate as percent a year: 月息2分 → 24, 年息36% → 36, 2分利 → 24 (分 alone read as a month),
    月利率1.5% → 18, 年息一分 → 10; None when no rate is stated."""
    for m in _RATE_RE.finditer(text):
        period = m.group(1) or ""
        number, unit = (m.group(3), "%") if m.group(2) else (m.group(4), m.group(5))
        value = cn_number(number)
        if value is None:
            continue
        if unit in {"%", "个点"}:
            if not period:
                continue  # a bare percentage may be anything (a share, a discount)
            percent = value
        elif unit == "分":
            percent = value  # 一分 = 1% of the principal per period
        else:  # 厘
            percent = value / 10
        if period.startswith("年"):
            return percent
        if period.startswith("日"):
            return percent * 365 if unit in {"%", "个点"} else None  # 日息X分 is not a common usage
        if unit in {"%", "个点"} and not period.startswith("月"):
            continue
        return percent * 12
    return None


def lpr_in(text: str) -> float | None:
    m = _LPR_RE.search(text)
    if not m:
        return None
    value = float(m.group(1))
    return value if 0 < value < 20 else None


# --------------------------------------------------------------------------------------------------
# One entry point for the guides

CALCULATORS = ("severance", "double_wages", "loan_interest")


def calculate(name: str, text: str) -> str | None:
    """The calculation a guide names, from the numbers the message holds; None when they are missing."""
    if name == "severance":
        months = service_months_in(text)
        if months is None:
            return None
        return describe_severance(severance(months, monthly_wage_in(text), local_average_in(text)))
    if name == "double_wages":
        months = service_months_in(text)
        if months is None:
            return None
        return describe_double_wages(double_wages(months, monthly_wage_in(text)))
    if name == "loan_interest":
        rate, lpr = annual_rate_in(text), lpr_in(text)
        if rate is None and lpr is None:
            return None
        return describe_loan_interest(loan_interest(principal_in(text), rate, lpr))
    raise ValueError(f"unknown calculator {name!r}")
