"""Law-name aliases derived from the corpus itself (劳动合同法 ↔ 中华人民共和国劳动合同法)."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PREFIXES = (
    "中华人民共和国",
    "全国人民代表大会常务委员会关于",
    "全国人民代表大会关于",
    "最高人民法院关于",
    "国务院关于",
)
_BRACKETS_RE = re.compile(r"[（(][^）)]*[）)]")


def short_names(full_name: str) -> set[str]:
    """Names residents and lawyers use for a law: without the country prefix, without a bracketed year."""
    names = {full_name}
    base = _BRACKETS_RE.sub("", full_name).strip()
    names.add(base)
    for prefix in _PREFIXES:
        if base.startswith(prefix) and len(base) > len(prefix) + 1:
            names.add(base[len(prefix) :])
    return {n for n in names if len(n) >= 2}


def build_alias_map(law_names: Iterable[str]) -> dict[str, str]:
    """Map every alias to its full law name; an alias shared by two different laws is dropped as ambiguous."""
    owners: dict[str, set[str]] = {}
    for full in set(law_names):
        for alias in short_names(full):
            owners.setdefault(alias, set()).add(full)
    alias_map: dict[str, str] = {}
    for alias, fulls in owners.items():
        if alias in fulls:
            alias_map[alias] = alias
        elif len(fulls) == 1:
            alias_map[alias] = next(iter(fulls))
    return alias_map
