"""The bot's training data and the held-out evaluation file: sizes, separation, consistency with the domain."""

from __future__ import annotations

from collections import Counter

import yaml
from components import lexicon

from actions import disputes
from core.settings import PROJECT_ROOT
from fengqiao.eval_nlu import DEFAULT_TEST_FILE, _key, check_no_leak, read_examples, training_examples

BOT = PROJECT_ROOT / "bot"
BUTTON_ONLY_INTENTS: set[str] = set()


def domain() -> dict:
    return yaml.safe_load((BOT / "domain.yml").read_text(encoding="utf-8"))


def test_every_intent_has_at_least_40_training_examples():
    counts = Counter(intent for _, intent in training_examples(BOT))
    assert set(counts) == set(domain()["intents"]) - BUTTON_ONLY_INTENTS
    assert min(counts.values()) >= 40, counts


def test_training_examples_are_not_duplicated_across_intents():
    owners: dict[str, set[str]] = {}
    for text, intent in training_examples(BOT):
        owners.setdefault(_key(lexicon.normalize(text)), set()).add(intent)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def test_held_out_file_covers_every_intent_and_never_overlaps_training():
    test = read_examples(DEFAULT_TEST_FILE)
    counts = Counter(intent for _, intent in test)
    assert set(counts) == set(domain()["intents"]) - BUTTON_ONLY_INTENTS
    assert min(counts.values()) >= 15, counts
    check_no_leak(test, training_examples(BOT))
    # also after Traditional → Simplified, which the pipeline applies before anything else
    train = {_key(lexicon.normalize(t)) for t, _ in training_examples(BOT)}
    assert [t for t, _ in test if _key(lexicon.normalize(t)) in train] == []


def test_training_data_has_traditional_and_colloquial_examples():
    texts = [t for t, _ in training_examples(BOT)]
    traditional = [t for t in texts if lexicon._t2s().convert(t) != t]
    assert len(traditional) >= 40
    assert any("俺" in t for t in texts) and any("咋" in t for t in texts)


def test_dispute_types_agree_between_nlu_rules_and_actions():
    assert lexicon.DISPUTE_TYPES == disputes.NAMES
    buttons = [b["title"] for b in domain()["responses"]["utter_greet"][0]["buttons"]]
    assert tuple(buttons) == lexicon.TOPIC_TYPES


def test_jieba_dictionary_holds_the_rule_keywords_and_law_names():
    words = set((BOT / "data" / "jieba" / "legal_terms.txt").read_text(encoding="utf-8").split())
    for keywords in lexicon._DISPUTE_KEYWORDS.values():
        assert {w for w in keywords if len(w) >= 2} <= words
    assert {"劳动合同法", "民法典", "劳动争议调解仲裁法", "人民调解", "劳动仲裁"} <= words
