"""Checks that a guide says only what its articles say: used by the tests, never at answer time.

- every bound article exists in the statutes the project ships, is in force, and contains the terms the guide
  relies on;
- every number a resident can read in the guide (days, months, multiples, amounts, hotlines …) is in its
  `numbers` table, and each entry of the table rests on a quote found in its article (or on a named source for
  hotlines and rules outside the corpus);
- texts the corpus still marks in force although a newer text replaced them are never bound.
"""

from __future__ import annotations

import re
from typing import Any

from actions.guides import Guide
from actions.legal_numbers import numbers_in
from knowledge_base.numerals import cn_to_int

# Texts the corpus marks 现行有效 that no longer govern: repealed by 法释〔2020〕16号 from 2021-01-01 (the 婚姻法,
# 担保法 and old 劳动争议 interpretations, the 民法总则 limitation interpretation), replaced (环境噪声污染防治法 in
# 2022, 信访条例 by 信访工作条例, 法律援助条例 by the 法律援助法), or revised after the corpus's snapshot (婚姻登记条例,
# revised 2025).
SUPERSEDED = (
    "最高人民法院关于适用《中华人民共和国婚姻法》",
    "最高人民法院关于适用《中华人民共和国担保法》",
    "最高人民法院关于审理劳动争议案件适用法律若干问题的解释",
    "最高人民法院关于适用《中华人民共和国民法总则》诉讼时效制度若干问题的解释",
    "中华人民共和国环境噪声污染防治法",
    "信访条例",
    "法律援助条例",
    "婚姻登记条例",
)

_UNIT_KEYS = (
    ("个工作日", "workday"),
    ("工作日", "workday"),
    ("个小时", "hour"),
    ("小时", "hour"),
    ("分钟", "minute"),
    ("个月", "month"),
    ("周岁", "age"),
    ("岁", "age"),
    ("星期", "week"),
    ("公里", "km"),
    ("月", "month"),
    ("日", "day"),
    ("天", "day"),
    ("周", "week"),
    ("年", "month"),
    ("倍", "times"),
    ("元", "yuan"),
    ("米", "m"),
    ("%", "%"),
    ("％", "%"),
)
_RANGE_RE = re.compile(r"至|到|~|～|-|—|－")
_CN_NUM_RE = re.compile(r"^[零〇一二两三四五六七八九十百千万]+$")


def _value(num: str) -> float:
    num = num.strip()
    if num == "半":
        return 0.5
    scale = 1.0
    if num.endswith("万") and num[:-1] and not _CN_NUM_RE.match(num[:-1]):
        num, scale = num[:-1], 10000.0
    if re.fullmatch(r"\d+(?:\.\d+)?", num):
        return float(num) * scale
    return float(cn_to_int(num)) * scale


def _quantity(part: str, unit_hint: str = "") -> tuple[float, str]:
    part = part.strip()
    half = part.endswith("半") and len(part) > 1
    if half:
        part = part[:-1]
    unit, key = "", ""
    for u, k in _UNIT_KEYS:
        if part.endswith(u):
            unit, key = u, k
            break
    if not unit and unit_hint:
        unit = ""
        key = unit_hint
    num = part[: len(part) - len(unit)].strip() if unit else part
    value = _value(num)
    if unit == "年" or (not unit and key == "month" and unit_hint == "month-year"):
        value *= 12
    if half:
        value += 6 if unit == "年" else 0.5
    return round(value, 6), key


def number_keys(written: str) -> set[tuple[Any, str]]:
    """What a number as written means, comparable across ways of writing it: 十五日 and 15日 → {(15, day)};
    一年 and 12个月 → {(12, month)}; 50%到100% → {(50, %), (100, %)}; 12348 → {("12348", "")}."""
    s = written.replace(" ", "")
    if re.fullmatch(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{4}-\d{1,2}-\d{1,2}", s):
        return {(s, "date")}
    if re.fullmatch(r"\d{3,11}(?:-\d{3,8}){0,2}", s):
        return {(s, "")}
    if s.startswith("百分之"):
        return {(_value(p.replace("百分之", "")), "%") for p in re.split(r"至|到|~|～|-|—|－", s) if p}
    parts = [p for p in _RANGE_RE.split(s) if p]
    if len(parts) == 2:
        last = _quantity(parts[1])
        first_unit = any(parts[0].endswith(u) for u, _ in _UNIT_KEYS)
        first = _quantity(parts[0]) if first_unit else _quantity(parts[0], last[1])
        if not first_unit and parts[1].endswith("年"):
            first = (round(first[0] * 12, 6), "month")
        return {first, last}
    return {_quantity(s)}


def keys_in(text: str) -> set[tuple[Any, str]]:
    keys: set[tuple[Any, str]] = set()
    for written in numbers_in(text):
        keys |= number_keys(written)
    return keys


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def check_articles(guide: Guide, index) -> list[str]:
    """Problems with the guide's bound articles (an empty list when there are none)."""
    problems = []
    for ref in guide.articles:
        if any(ref.law.startswith(s) for s in SUPERSEDED):
            problems.append(f"{ref.citation}: a superseded text")
            continue
        record = index.get(ref.law, ref.article)
        if record is None:
            problems.append(f"{ref.citation}: not in the corpus")
            continue
        if not index.in_force(record):
            problems.append(f"{ref.citation}: {record.status}, not in force")
        if record.title != ref.law:
            problems.append(f"{ref.citation}: the corpus names the law {record.title}")
        text = _squash(record.text)
        for term in ref.terms:
            if _squash(term) not in text:
                problems.append(f"{ref.citation}: term {term!r} not in its text")
    return problems


def check_numbers(guide: Guide, index) -> list[str]:
    """Problems with the guide's numbers: a number in its text without an entry, an entry without a basis."""
    problems = []
    covered: set[tuple[Any, str]] = set()
    bound = {ref.citation for ref in guide.articles}
    for entry in guide.numbers:
        value = str(entry.get("value") or "")
        keys = number_keys(value) if value else set()
        if not keys:
            problems.append(f"numbers: entry without a value: {entry}")
            continue
        covered |= keys
        if entry.get("source"):
            if entry.get("law") or entry.get("quote"):
                problems.append(f"numbers: {value}: give either a source or law/article/quote")
            continue
        law, article, quote = entry.get("law"), entry.get("article"), entry.get("quote")
        if not (law and article and quote):
            problems.append(f"numbers: {value}: needs law, article and quote (or a source)")
            continue
        if f"{law}{article}" not in bound:
            problems.append(f"numbers: {value}: {law}{article} is not one of the guide's articles")
        record = index.get(law, article)
        if record is None:
            problems.append(f"numbers: {value}: {law}{article} not in the corpus")
            continue
        if _squash(quote) not in _squash(record.text):
            problems.append(f"numbers: {value}: quote {quote!r} not in {law}{article}")
        elif not entry.get("derived") and not keys <= keys_in(quote):
            problems.append(
                f"numbers: {value}: the quote does not contain it (say how it follows in 'derived')"
            )
    for text in guide.texts():
        for written in numbers_in(text):
            missing = number_keys(written) - covered
            if missing:
                problems.append(f"number {written!r} in {text[:30]!r}… has no entry in numbers")
    return problems
