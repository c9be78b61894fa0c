"""Small talk that names a legal matter is a legal question: the rule (components.lexicon.legal_matter_in) and the
Rasa component that applies it (components.nlu.SmallTalkGuard, run in the Rasa environment)."""

from __future__ import annotations

import pytest
from components import lexicon  # bot/components, put on sys.path by tests/bot/conftest.py

from core.settings import PROJECT_ROOT
from fengqiao.eval_nlu import read_examples, training_examples
from tests.bot.rasa_components import run_component

BOT = PROJECT_ROOT / "bot"
TEST_FILES = sorted((PROJECT_ROOT / "data").glob("nlu_test*.yml"))
SMALL_TALK = {"greet", "goodbye", "thank", "ask_capabilities"}


@pytest.mark.parametrize(
    "text",
    ["我姐嫁出去了也能分吗", "那我能去哪告", "村委会说不了 去哪里解决", "可以找谁", "医院不给我们看病历"],
)
def test_a_follow_up_about_the_dispute_names_a_legal_matter(text):
    assert lexicon.legal_matter_in(lexicon.normalize(text))


@pytest.mark.parametrize(
    "text",
    [
        "谢谢",
        "好的谢谢",
        "再见",
        "告辞",
        "谢谢你告诉我这些",
        "你能帮我打官司吗",
        "你们这里能帮忙解决什么问题",
        "你好",
    ],
)
def test_small_talk_and_questions_about_the_bot_name_none(text):
    assert lexicon.legal_matter_in(lexicon.normalize(text)) is None


def test_no_small_talk_example_of_the_training_or_test_files_names_a_legal_matter():
    examples = [(t, "training data") for t, i in training_examples(BOT) if i in SMALL_TALK]
    for f in TEST_FILES:
        examples += [(t, f.name) for t, i in read_examples(f) if i in SMALL_TALK]
    assert len(examples) > 100
    assert [(t, where) for t, where in examples if lexicon.legal_matter_in(lexicon.normalize(t))] == []


@pytest.mark.slow  # runs the component in the Rasa environment
def test_the_rasa_component_applies_the_rule():
    cases = [
        ("我姐嫁出去了也能分吗", "goodbye"),  # small talk naming a legal matter: a legal question
        ("那我能去哪告", "ask_capabilities"),
        ("谢谢", "thank"),  # small talk stays small talk
        ("我姐嫁出去了也能分吗", "vague_question"),  # other intents are left to the rest of the pipeline
    ]
    out = run_component("SmallTalkGuard", {}, cases, ("intent", "intent_before_small_talk_guard"))
    assert [(o["intent"]["name"], o["intent_before_small_talk_guard"]) for o in out] == [
        ("ask_legal_question", "goodbye"),
        ("ask_legal_question", "ask_capabilities"),
        ("thank", None),
        ("vague_question", None),
    ]
