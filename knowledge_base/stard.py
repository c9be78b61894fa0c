"""Question sets in the STARD format and the project's fixed split of them.

One JSON object a line: {"query_id", "question", "relevant": [{"name": "中华人民共和国民法典第五十四条", "text": …}]}.
The split is by line position and never changes: every fifth question (i % 5 == 4) is the validation set,
never trained on; i % 10 == 3 is the tuning set (fusion weights, never trained on); the rest train.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.jsonl import iter_jsonl
from knowledge_base.numerals import cn_to_int

SPLITS = ("all", "train", "tune", "val")
# STARD's training file, vendored compressed with its licence (see data/corpus/README.md)
VENDORED = Path(__file__).resolve().parent.parent / "data" / "corpus" / "stard_train.jsonl.xz"
_GOLD_NAME_RE = re.compile(r"^(.*?)第([零〇一二两三四五六七八九十百千\d]+)条(之[一二三四五六七八九十]+)?$")


@dataclass
class Gold:
    name: str
    law: str
    article_num: int | None
    suffix: str
    text: str


@dataclass
class Query:
    index: int
    query_id: str
    question: str
    gold: list[Gold] = field(default_factory=list)


def split_of(index: int) -> str:
    if index % 5 == 4:
        return "val"
    if index % 10 == 3:
        return "tune"
    return "train"


def parse_gold_name(name: str) -> tuple[str, int | None, str]:
    m = _GOLD_NAME_RE.match(name.strip())
    if not m:
        return name.strip(), None, ""
    try:
        num = cn_to_int(m.group(2))
    except ValueError:
        num = None
    return m.group(1).strip(), num, m.group(3) or ""


def load_queries(path: Path, split: str = "all") -> list[Query]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    queries = []
    for index, (_, row) in enumerate(iter_jsonl(path)):
        if split != "all" and split_of(index) != split:
            continue
        gold = []
        for rel in row.get("relevant") or []:
            law, num, suffix = parse_gold_name(rel["name"])
            gold.append(Gold(rel["name"], law, num, suffix, rel.get("text") or ""))
        queries.append(Query(index, str(row.get("query_id", index)), row["question"], gold))
    return queries
