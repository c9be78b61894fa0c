"""Numbers in the bot's fixed texts: time limits, multiples, amounts, percentages, dates and telephone numbers.

Every number a resident reads in a fixed text rests on a statute or an official source; data/legal_numbers.yml
says which, and tests check both the table and the statutes. This module finds the numbers:

    numbers_in("收到裁决书之日起15日内起诉，拨打 12348") == ["15日", "12348"]

A number is returned as written, with its unit: Arabic or Chinese numerals (十五日, 72小时, 六个月, 4倍, 500元,
百分之二十四, 24%), a range as one item (50至100米), a date as one item (2025年9月15日), and a bare number of
3 to 11 digits (a hotline such as 110 or 12348, or 400-161-9995). Ordinals (第三条, 第2款) are not numbers
of this kind and are left out; so are words that merely contain a numeral character (一方, 一般, 统一).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge_base.numerals import DIGIT_VALUES as _CN_VALUES

_CN_DIGITS = "零〇一二两三四五六七八九"
_CN = f"[{_CN_DIGITS}十百千万]+"
_AR = r"\d+(?:\.\d+)?万?"
_NUM = rf"(?:{_AR}|{_CN}|半)"
# Longest first: 个工作日 before 工作日 before 日, 个月 before 月, 万元 is covered by the numeral's 万.
_UNITS = (
    "个工作日",
    "工作日",
    "个小时",
    "小时",
    "分钟",
    "个月",
    "月",
    "日",
    "天",
    "周岁",
    "岁",
    "星期",
    "周",
    "年",
    "倍",
    "元",
    "米",
    "公里",
    "%",
    "％",
)
_UNIT = "(?:" + "|".join(re.escape(u) for u in _UNITS) + ")"
_RANGE = r"(?:至|到|~|～|-|—|－)"

_PATTERNS: list[tuple[str, str]] = [
    # 2025年9月15日, 2025-09-15, 2019年8月: one date
    ("date", r"\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{4}-\d{1,2}-\d{1,2}"),
    # 百分之二十四, 百分之4
    ("percent", rf"百分之{_NUM}(?:{_RANGE}百分之{_NUM})?"),
    # 50至100米, 五日以上十日以下 is two quantities; 3到5年, 200-1000元 are one range each
    ("quantity", rf"{_NUM} ?(?:{_UNIT})?{_RANGE}{_NUM} ?{_UNIT}半?"),
    ("quantity", rf"{_NUM} ?{_UNIT}半?"),
    # telephone numbers: 110, 12348, 400-161-9995, 0571-12345678
    ("number", r"\d{3,11}(?:-\d{3,8}){0,2}"),
]
_RE = re.compile("|".join(f"(?P<{kind}{i}>{p})" for i, (kind, p) in enumerate(_PATTERNS)))
_ORDINAL_BEFORE = re.compile(r"第 ?$")


@dataclass(frozen=True)
class Number:
    text: str
    start: int
    end: int
    kind: str  # date | percent | quantity | number


def _cn_is_a_number(s: str) -> bool:
    """A run of Chinese numeral characters that means a number: not 万 or 千 alone (万一), not 半 in 一半."""
    return bool(re.search(f"[{_CN_DIGITS}十]", s)) or s.startswith("半")


def find_numbers(text: str) -> list[Number]:
    """Every number in the text with its position, in order of appearance."""
    found: list[Number] = []
    for m in _RE.finditer(text):
        kind = re.sub(r"\d+$", "", m.lastgroup or "")
        s, start = m.group(0), m.start()
        if _ORDINAL_BEFORE.search(text[:start]):
            continue
        if kind == "number" and (
            (start and re.match(r"[\d.]", text[start - 1])) or re.match(r"[\d.]", text[m.end() : m.end() + 1])
        ):
            continue
        if kind == "quantity":
            lead = re.match(f"[{_CN_DIGITS}十百千万半]+", s)
            if lead and not _cn_is_a_number(lead.group(0)):
                continue
            # a Chinese numeral glued to a word before it (统一年, 唯一日) is part of that word
            if (
                lead
                and start
                and re.match(f"[{_CN_DIGITS}十百千万]", s)
                and text[start - 1] in "统唯专同万划单"
            ):
                continue
        found.append(Number(s, start, m.end(), kind))
    return found


def numbers_in(text: str) -> list[str]:
    """Every number in the text as written, with its unit, in order of appearance."""
    return [n.text for n in find_numbers(text)]


_CN_SCALES = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_SAME_UNIT = {"天": "日", "个月": "月", "个小时": "小时", "个工作日": "工作日", "％": "%", "周": "星期"}


def _value(numeral: str) -> float:
    """十五 → 15, 二十四 → 24, 一千 → 1000, 4.5 → 4.5, 5万 → 50000, 半 → 0.5."""
    if numeral == "半":
        return 0.5
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(万?)", numeral)
    if m:
        return float(m.group(1)) * (10000 if m.group(2) else 1)
    total, section, digit = 0, 0, 0
    for ch in numeral:
        if ch in _CN_VALUES:
            digit = _CN_VALUES[ch]
        elif ch == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        else:
            section += (digit or 1) * _CN_SCALES[ch]
            digit = 0
    return float(total + section + digit)


def value_of(number: str) -> tuple[tuple[float, ...], str] | None:
    """The values and the unit of a number found by `find_numbers`, so that 十五日 and 15日, 五百元 and 500元 compare
    equal: ((15.0,), "日"). A range gives two values (50至100米 → ((50.0, 100.0), "米")); 一年半 gives 1.5. None for
    a date or a telephone number."""
    m = re.fullmatch(
        rf"(?:百分之)?({_NUM}) ?({_UNIT})?(?:{_RANGE}(?:百分之)?({_NUM}) ?)?({_UNIT})?(半)?", number
    )
    if m is None or not (m.group(2) or m.group(4) or number.startswith("百分之")):
        return None
    unit = m.group(4) or m.group(2) or "%"
    values = [_value(m.group(1))] + ([_value(m.group(3))] if m.group(3) else [])
    if m.group(5):
        values[-1] += 0.5
    return tuple(values), _SAME_UNIT.get(unit, unit)
