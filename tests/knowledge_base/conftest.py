"""Fixtures of the knowledge-base tests: a small question file in the STARD format, a private encoder."""

from __future__ import annotations

import shutil

import pytest

from knowledge_base.build import Source, build
from tests.conftest import write_jsonl

QUESTIONS = [
    (
        "老板拖欠工资不发怎么办",
        [("劳动法第五十条", "工资应当以货币形式按月支付给劳动者本人。不得克扣或者无故拖欠劳动者的工资。")],
    ),
    ("加班费怎么算", [("中华人民共和国劳动法第四十四条", "")]),
    (
        "想离婚对方不同意",
        [
            (
                "中华人民共和国民法典第一千零七十九条",
                "夫妻一方要求离婚的，可以由有关组织进行调解或者直接向人民法院提起离婚诉讼。",
            )
        ],
    ),
    ("邻居之间怎么相处", [("民法典第二百八十八条", "")]),
    ("商家欺诈能赔多少", [("消费者权益保护法第五十五条", "经营者提供商品或者服务有欺诈行为的")]),
]


@pytest.fixture
def questions_file(tmp_path):
    rows = [
        {"query_id": i, "question": q, "relevant": [{"name": n, "text": t} for n, t in gold]}
        for i, (q, gold) in enumerate(QUESTIONS * 4)
    ]
    return write_jsonl(tmp_path / "questions.jsonl", rows)


@pytest.fixture
def own_encoder_kb(tmp_path, tiny_files, base_encoder):
    """A private copy of the encoder and a tiny index built with it: what a test trains never reaches others."""
    encoder = tmp_path / "encoder"
    shutil.copytree(base_encoder, encoder)
    kb_dir = tmp_path / "kb"
    build(
        kb_dir,
        [Source("statutes_jsonl", tiny_files["statutes"]), Source("cases_jsonl", tiny_files["cases"])],
        progress=lambda m: None,
        encoder_dir=encoder,
    )
    return kb_dir, encoder
