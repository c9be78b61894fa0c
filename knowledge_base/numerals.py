"""Chinese ↔ Arabic numerals for article numbers (第一百二十条 ↔ 120)."""

from __future__ import annotations

import re

DIGIT_VALUES = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_DIGITS = "零一二三四五六七八九"

ARTICLE_RE = re.compile(r"第([零〇一二两三四五六七八九十百千万\d]+)条(之[一二三四五六七八九十]+)?")


def cn_to_int(text: str) -> int:
    """Parse a Chinese (or Arabic) number below 100,000: "一百二十" → 120, "十" → 10, "120" → 120."""
    text = text.strip()
    if not text:
        raise ValueError("empty number")
    if text.isdigit():
        return int(text)
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in DIGIT_VALUES:
            digit = DIGIT_VALUES[ch]
        elif ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit = 0, None
        else:
            raise ValueError(f"not a Chinese number: {text!r}")
    return total + section + (digit or 0)


def int_to_cn(n: int) -> str:
    """Write 0 < n < 10,000 the way statutes do: 10 → 十, 120 → 一百二十, 105 → 一百零五."""
    if not 0 < n < 10000:
        raise ValueError(f"article number out of range: {n}")
    parts: list[str] = []
    units = [(1000, "千"), (100, "百"), (10, "十"), (1, "")]
    zero_pending = False
    started = False
    for value, unit in units:
        d = (n // value) % 10
        if d == 0:
            if started:
                zero_pending = True
            continue
        if zero_pending:
            parts.append("零")
            zero_pending = False
        if not (value == 10 and d == 1 and not started):
            parts.append(_CN_DIGITS[d])
        parts.append(unit)
        started = True
    return "".join(parts)


def article_label(n: int, suffix: str = "") -> str:
    """120 → "第一百二十条"; with suffix "之一" → "第一百二十条之一"."""
    return f"第{int_to_cn(n)}条{suffix}"


def parse_article_no(text: str) -> tuple[int, str] | None:
    """ "第一百二十条之一" → (120, "之一"); "第1079条" → (1079, ""); anything else → None."""
    m = ARTICLE_RE.search(text)
    if not m:
        return None
    try:
        return cn_to_int(m.group(1)), m.group(2) or ""
    except ValueError:
        return None
