"""Metrics and safeguards of `fengqiao eval nlu` (the model run itself is exercised in tests/bot)."""

from __future__ import annotations

import pytest

from fengqiao.eval_nlu import LeakError, check_no_leak, read_examples, score, without_safety_net


def test_score_accuracy_macro_f1_and_recalls():
    gold = ["emergency", "emergency", "ask_legal_question", "ask_legal_question", "request_human", "greet"]
    pred = [
        "emergency",
        "ask_legal_question",
        "ask_legal_question",
        "request_human",
        "request_human",
        "nlu_fallback",
    ]
    s = score(gold, pred)
    assert s.accuracy == pytest.approx(3 / 6)
    # emergency: p=1, r=.5 → f1 2/3; legal: p=.5, r=.5 → .5; request_human: p=.5, r=1 → 2/3; greet: 0
    assert s.macro_f1 == pytest.approx((2 / 3 + 0.5 + 2 / 3 + 0) / 4)
    assert s.recall == {"emergency": 0.5, "request_human": 1.0}
    assert (s.false_handoffs, s.legal_questions, s.false_handoff_rate) == (1, 2, 0.5)
    assert s.fallback_rate == pytest.approx(1 / 6)
    assert s.per_intent["greet"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1.0}


def test_handoff_path_recall_accepts_either_handoff_intent():
    s = score(
        ["request_human", "request_mediation", "request_mediation"],
        ["request_mediation", "request_mediation", "ask_legal_question"],
    )
    assert s.handoff_path_recall == pytest.approx(2 / 3)
    assert s.recall == {"request_human": 0.0, "request_mediation": 0.5}


def test_emergency_guidance_on_a_legal_question_counts_as_false_handoff():
    s = score(["ask_legal_question"] * 4, ["emergency", "ask_legal_question", "ask_legal_question", "greet"])
    assert s.false_handoffs == 1 and s.false_handoff_rate == 0.25


def test_score_rejects_mismatched_lists():
    with pytest.raises(ValueError):
        score(["greet"], [])


def test_without_safety_net_uses_the_overridden_intent():
    assert (
        without_safety_net(
            {
                "intent": "emergency",
                "safety_net_fired": True,
                "intent_before_safety_net": "ask_legal_question",
            }
        )
        == "ask_legal_question"
    )
    assert (
        without_safety_net(
            {"intent": "emergency", "safety_net_fired": False, "intent_before_safety_net": None}
        )
        == "emergency"
    )
    assert without_safety_net({"intent": "greet"}) == "greet"
    # both nets fired: the handoff net ran first, its record is the classifier's own choice
    assert (
        without_safety_net(
            {
                "intent": "emergency",
                "handoff_net_fired": True,
                "intent_before_handoff_net": "thank",
                "safety_net_fired": True,
                "intent_before_safety_net": "request_human",
            }
        )
        == "thank"
    )


def test_read_examples_strips_entity_annotations(tmp_path):
    f = tmp_path / "nlu.yml"
    f.write_text(
        'version: "3.1"\nnlu:\n  - intent: ask_legal_question\n    examples: |\n'
        '      - [老板](relationship)欠我[三个月]{"entity": "duration"}工资\n'
        "  - regex: money\n    examples: |\n      - \\d+元\n",
        encoding="utf-8",
    )
    assert read_examples(f) == [("老板欠我三个月工资", "ask_legal_question")]


def test_leak_check_ignores_punctuation_and_width():
    check_no_leak([("你好呀", "greet")], [("你好", "greet")])
    with pytest.raises(LeakError):
        check_no_leak([("我要投诉！", "request_human")], [("我要投诉", "request_human")])
    with pytest.raises(LeakError):
        check_no_leak([("ＨＥＬＬＯ", "greet")], [("hello", "greet")])
