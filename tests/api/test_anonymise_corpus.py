"""The anonymiser and the review check on corpora of realistic sentences written for these tests (every common
shape of name, number, account, plate and address; tests/api/data/). Each sentence is the facts of a closed case
and goes through what closing does: the anonymised draft, then the check that holds it for review.

What must hold: no identifier in any precedent that is not held (a held one is never published). What is
reported: how many were held, how many identifiers the anonymiser alone left, how much legal content survived.

The corpora were written by writers who never saw the anonymiser, each run once as it came before being used:
- `pii_corpus.jsonl` (264 sentences: names, numbers, accounts, plates, addresses of every common shape): the
  first run left identifiers in 26 sentences; the anonymiser was then widened against it.
- `pii_corpus_heldout.jsonl` (168: spoken numbers, case numbers, businesses, names that are words): the first
  run, after that widening, left identifiers in 58; it was then used too.
- `pii_corpus_final.jsonl` (181: chat in many dialects, mediators' records, forwarded messages, minority
  names): the first run would have published an identifier in 39 (48 left by the anonymiser, 25 held); it was
  then used too.
So none of the figures printed here is a held-out measure any more; the last first-run figure (39 of 181, 22 %)
is the honest estimate of what the anonymiser alone misses on text it has not seen, which is why a mediator
reads every preview before it is published. Known misses are listed with their reason; anything else failing
is a regression."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from api.anonymise import Anonymiser
from api.models import Precedent
from api.precedents import _check, draft_fields, held_reasons
from knowledge_base.jsonl import read_jsonl

DATA = Path(__file__).parent / "data"
CORPORA = sorted(p.name for p in DATA.glob("pii_corpus*.jsonl"))
KNOWN_MISSES = {
    # A given name alone, after 邻居 and before 家, with no surname anywhere: nothing tells it from the bird.
    "h146": "邻居海燕家的鸡",
    # Names with no surname and no cue before them: Mongolian, Uyghur, Tibetan and Dai names in running text.
    "f064": "回访人：帕提曼",
    "f147": "孩子吐尔洪江",
    "f148": "扎西说要离婚",
    "f155": "巴特尔…乌兰图雅…其其格",
    "f161": "傣族的岩温扁",
    # Nicknames: Cantonese 强仔/强哥 for 黎志强, a surname with an English title (黄sir), a guesthouse named after
    # its keeper (毅家客栈).
    "f159": "强仔 强哥",
    "f012": "黄sir",
    "f095": "毅家客栈",
    # A full name after 的 in the middle of a clause, which jieba does not tag as a name.
    "f009": "屯子的赵大宝",
}


def load(name: str) -> list[dict]:
    return read_jsonl(DATA / name)


def as_precedent(text: str) -> Precedent:
    import datetime as dt

    handoff = SimpleNamespace(
        dispute_type="民间纠纷", outcome="调解成功", outcome_summary="", suggested_citations=[]
    )
    row = Precedent(id="fq-test", handoff_id="h", fields=draft_fields(handoff, [], text))
    _check(row, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    return row


def leaked(identifiers: list[str], published: str) -> list[str]:
    flat = published.replace(" ", "")
    return [i for i in identifiers if i in published or i.replace(" ", "") in flat]


@pytest.mark.parametrize("corpus", CORPORA)
def test_no_identifier_reaches_a_published_precedent(corpus):
    rows = load(corpus)
    assert len(rows) >= 150
    published_leaks, held, anonymiser_leaks, kept, keep_total = [], 0, 0, 0, 0
    for r in rows:
        row = as_precedent(r["text"])
        text = row.record["text"]
        left = leaked(r["identifiers"], text)
        anonymiser_leaks += bool(left)
        if row.status == "held":
            held += 1
            assert held_reasons(row)
        elif left and r["id"] not in KNOWN_MISSES:
            published_leaks.append((r["id"], left, text))
        kept += sum(k in text for k in r["keep"])
        keep_total += len(r["keep"])
    print(
        f"\n{corpus}: {len(rows)} sentences, held for review {held}, identifiers left by the anonymiser in "
        f"{anonymiser_leaks}, kept {kept}/{keep_total} of the legal content"
    )
    assert published_leaks == []
    # Over-removal is preferred to leaking, but a precedent must still read: most legal content survives.
    assert kept >= 0.9 * keep_total


def test_a_sentence_without_identifiers_is_neither_changed_much_nor_held():
    rows = [r for r in load("pii_corpus.jsonl") if r["class"] == "no_identifier"]
    assert rows
    for r in rows:
        row = as_precedent(r["text"])
        assert row.status == "draft", (r["text"], held_reasons(row))
        assert r["text"] in row.record["text"], row.record["text"]


STARD_TRAIN = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "stard_train.jsonl"


@pytest.mark.skipif(not STARD_TRAIN.exists(), reason="STARD's training questions are not beside the checkout")
def test_legal_questions_without_identifiers_are_left_as_they_are():
    """Over-removal: 400 layperson legal questions (STARD's training split, a fixed sample) hold no identifier;
    the anonymiser must leave nearly all of them alone (jieba tags words such as 许可, 钱财, 封锁 as names)."""
    import random

    rows = read_jsonl(STARD_TRAIN)
    sample = random.Random(1).sample(rows, 400)
    changed = [(r["question"], out) for r in sample if (out := Anonymiser()(r["question"])) != r["question"]]
    print(f"\n{len(changed)} of 400 changed")
    assert len(changed) <= 8, changed  # 2 %
