"""Every number in the bot's fixed texts rests on an article in force or an official source (data/legal_numbers.yml).

The fixed texts are the next steps of each dispute type and GENERAL_STEPS (actions/disputes.py), the emergency
guidance and HANDOFF_TEXT (actions/emergency.py). The articles are looked up in the statutes the project ships,
with the status a knowledge-base build gives them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from actions import disputes, emergency
from actions.legal_numbers import find_numbers, numbers_in, value_of
from core.settings import PROJECT_ROOT

TABLE = PROJECT_ROOT / "data" / "legal_numbers.yml"
IN_FORCE = "现行有效"


def fixed_texts() -> dict[str, str]:
    """Every fixed text, by the name the table uses for it."""
    texts = {}
    for t in disputes.TYPES.values():
        for i, step in enumerate(t.next_steps, 1):
            texts[f"disputes/{t.name}/{i}"] = step
    for i, step in enumerate(disputes.GENERAL_STEPS, 1):
        texts[f"disputes/GENERAL_STEPS/{i}"] = step
    for kind, text in emergency.GUIDANCE.items():
        texts[f"emergency/GUIDANCE/{kind}"] = text
    texts["emergency/HANDOFF_TEXT"] = emergency.HANDOFF_TEXT
    return texts


def entries() -> list[dict[str, Any]]:
    return yaml.safe_load(TABLE.read_text(encoding="utf-8"))["numbers"]


def texts_of(entry: dict[str, Any]) -> list[str]:
    return [entry["text"]] if "text" in entry else list(entry.get("texts") or [])


def articles_of(entry: dict[str, Any], key: str = "article") -> list[dict[str, str]]:
    value = entry.get(key) or []
    return [value] if isinstance(value, dict) else list(value)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def problems(entry: dict[str, Any], index) -> list[str]:
    """What is wrong with one entry's basis, against an article index (`knowledge_base.articles.ArticleIndex`)."""
    number = str(entry["number"])
    out = []
    cited, absent = articles_of(entry), articles_of(entry, "not_in_corpus")
    is_quantity = value_of(number) is not None
    if is_quantity and not (cited or absent):
        out.append(f"{number}: a time limit, multiple or amount must rest on an article")
    if not is_quantity and not str(entry.get("source") or "").strip():
        out.append(f"{number}: a telephone number must name its official source")
    stating = []
    for a in cited:
        citation = f"{a['law']}{a['article']}"
        record = index.cite(citation)
        if record is None:
            out.append(f"{number}: {citation} is not among the shipped statutes")
            continue
        if record.status != IN_FORCE:
            out.append(f"{number}: {citation} is {record.status}, not in force")
        if _squeeze(a["quote"]) not in _squeeze(record.text):
            out.append(f"{number}: {citation} does not say “{a['quote']}”")
        stating.append(a["quote"])
    for a in absent:
        citation = f"{a['law']}{a['article']}"
        if index.cite(citation) is not None:
            out.append(f"{number}: {citation} is now among the shipped statutes: cite it as an article")
        if not str(a.get("source") or "").strip() or not str(a.get("quote") or "").strip():
            out.append(
                f"{number}: {citation} (not in the corpus) needs its quote and the source it was read in"
            )
        stating.append(a.get("quote") or "")
    if (
        is_quantity
        and (cited or absent)
        and len(stating) == len(cited) + len(absent)
        and not any(value_of(number) in {value_of(n) for n in numbers_in(q)} for q in stating)
    ):
        out.append(f"{number}: no quote states {number}")
    return out


@pytest.fixture(scope="module")
def articles():
    from knowledge_base.articles import shipped_articles

    return shipped_articles()


def test_every_number_in_every_fixed_text_has_an_entry():
    listed = {(t, str(e["number"])) for e in entries() for t in texts_of(e)}
    missing = [
        (name, n) for name, text in fixed_texts().items() for n in numbers_in(text) if (name, n) not in listed
    ]
    assert missing == []


def test_every_entry_names_texts_that_hold_its_number():
    texts = fixed_texts()
    wrong = [
        (t, e["number"])
        for e in entries()
        for t in texts_of(e)
        if t not in texts or str(e["number"]) not in numbers_in(texts[t])
    ]
    assert wrong == []
    assert all(texts_of(e) for e in entries())


def test_no_number_is_listed_twice_for_one_text():
    seen = [(t, str(e["number"])) for e in entries() for t in texts_of(e)]
    assert len(seen) == len(set(seen))


def test_every_time_limit_says_where_it_starts():
    """A resident must know from which day to count: a time limit (N日内, N年诉讼时效) comes with the day it runs
    from (…之日起, 从…起算, 受理后) in the same text."""
    late = []
    for name, text in fixed_texts().items():
        for n in find_numbers(text):
            unit = (value_of(n.text) or ((), ""))[1]
            limit = re.match(r"内|诉讼时效|的?时效", text[n.end :])
            if (
                unit in {"日", "月", "年", "小时"}
                and limit
                and not re.search(r"日起|起算|受理后|从.{0,12}起", text)
            ):
                late.append((name, n.text))
    assert late == []


def test_every_cited_article_exists_is_in_force_and_says_the_number(articles):
    found = [p for e in entries() for p in problems(e, articles)]
    assert found == []


class _Index:
    def __init__(self, records):
        self.records = records

    def cite(self, citation):
        return self.records.get(citation)


class _Record:
    def __init__(self, text, status=IN_FORCE):
        self.text, self.status = text, status


def test_the_checks_catch_a_wrong_quote_a_repealed_article_and_a_missing_source():
    index = _Index(
        {
            "某法第一条": _Record("应当自收到之日起十五日内提出。"),
            "某法第二条": _Record("应当在三十日内提出。", status="已废止"),
        }
    )
    assert (
        problems(
            {"number": "15日", "article": {"law": "某法", "article": "第一条", "quote": "十五日内"}}, index
        )
        == []
    )
    assert problems(
        {"number": "30日", "article": {"law": "某法", "article": "第一条", "quote": "十五日内"}}, index
    ) == ["30日: no quote states 30日"]
    assert problems(
        {"number": "30日", "article": {"law": "某法", "article": "第二条", "quote": "三十日内"}}, index
    ) == ["30日: 某法第二条 is 已废止, not in force"]
    assert problems(
        {"number": "30日", "article": {"law": "某法", "article": "第三条", "quote": "三十日"}}, index
    ) == ["30日: 某法第三条 is not among the shipped statutes"]
    assert problems({"number": "12348"}, index) == ["12348: a telephone number must name its official source"]
    assert problems({"number": "30日"}, index) == [
        "30日: a time limit, multiple or amount must rest on an article"
    ]
    # an article the corpus lacks is accepted with its quote and source, and rejected once the corpus holds it
    absent = {"law": "某条例", "article": "第十条", "quote": "三十日内", "source": "国务院令"}
    assert problems({"number": "30日", "not_in_corpus": absent}, index) == []
    index.records["某条例第十条"] = _Record("三十日内")
    assert problems({"number": "30日", "not_in_corpus": absent}, index) == [
        "30日: 某条例第十条 is now among the shipped statutes: cite it as an article"
    ]
