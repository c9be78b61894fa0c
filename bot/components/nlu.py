"""Custom Rasa 3.6 graph components for colloquial Chinese (see bot/config.yml for their order).

- ChineseTextNormalizer: before the tokenizer, Traditional → Simplified (OpenCC t2s) and NFKC, in
  training and at run time, so one model serves both scripts.
- RuleEntityExtractor: dispute type, relationship of the other party, amount of money, duration and
  date, from the rules in `components.lexicon` (deterministic and unit-tested).
- InputGuard: empty / punctuation-only and overlong input become `nlu_fallback`, with the reason in
  the parse data (`input_problem`) so the fallback action can say what went wrong.
- HandoffRequestNet: explicit requests for a person (转人工, 找调解员, 我要投诉) force `request_human`, explicit
  wishes for mediation (申请调解, 能调解吗) `request_mediation`, wherever they stand in the message and whatever
  facts come with them (rules in `components.handoff`); questions about mediation (调解要收费吗) the classifier
  took for a request become `ask_legal_question`, refusals (不用转人工) `cancel`. The classifier's choice stays in
  the parse data (`intent_before_handoff_net`), and the request found in `handoff_request` ({"kind", "words"}),
  which the actions use to tell the request from the facts.
- EmergencySafetyNet: unmistakable words of danger to life (kill, knife, suicide, fire …) force the
  `emergency` intent, except in a legal question about a past event with no word of danger now ("去年我爸在医院
  自杀了 医院有没有责任"), which is `ask_legal_question` whatever the classifier guessed (the dating words in
  `emergency_past_event`). The classifier's own choice stays in the parse data (`intent_before_safety_net`)
  so the evaluation can report numbers with and without the net.
"""

from __future__ import annotations

from typing import Any

from components import handoff, lexicon
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

FALLBACK_INTENT = "nlu_fallback"
EMERGENCY_INTENT = "emergency"
HANDOFF_INTENT = "request_human"
MEDIATION_INTENT = "request_mediation"
LEGAL_QUESTION_INTENT = "ask_legal_question"
CANCEL_INTENT = "cancel"
LEGAL_QUESTION_INTENT = "ask_legal_question"


class _Stateless(GraphComponent):
    def __init__(self, config: dict[str, Any]) -> None:
        self.component_config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class ChineseTextNormalizer(_Stateless):
    """Rewrites the message text in place: NFKC, Traditional → Simplified, collapsed whitespace."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @staticmethod
    def _normalize(message: Message) -> None:
        text = message.get(TEXT)
        if isinstance(text, str) and text and not text.startswith("/"):
            message.set(TEXT, lexicon.normalize(text))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._normalize(message)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class RuleEntityExtractor(_Stateless, EntityExtractorMixin):
    """dispute_type, relationship, amount, duration and date from deterministic rules."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not text or text.startswith("/"):
                continue
            found = [
                dict(e, extractor=self.name, confidence_entity=1.0) for e in lexicon.extract_entities(text)
            ]
            if found:
                message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages


def _force_intent(message: Message, name: str, key: str, reason: str) -> None:
    before = dict(message.get(INTENT) or {})
    message.set(key, before.get("name"), add_to_output=True)
    forced = {"name": name, "confidence": 1.0}
    message.set(INTENT, forced, add_to_output=True)
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    message.set(INTENT_RANKING_KEY, [forced] + ranking, add_to_output=True)
    message.set(f"{key}_reason", reason, add_to_output=True)


SMALL_TALK_INTENTS = frozenset({"greet", "goodbye", "thank", "ask_capabilities"})


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SmallTalkGuard(_Stateless):
    """Small talk that names a legal matter ("我姐嫁出去了也能分吗" taken for goodbye) is a legal question."""

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/") or (message.get(INTENT) or {}).get("name") not in SMALL_TALK_INTENTS:
                continue
            words = lexicon.legal_matter_in(text)
            if words:
                _force_intent(message, LEGAL_QUESTION_INTENT, "intent_before_small_talk_guard", words)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class InputGuard(_Stateless):
    """Empty and overlong input go to the fallback, whatever the classifier guessed."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_chars": lexicon.MAX_INPUT_CHARS}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            problem = lexicon.input_problem(text)
            if problem is None and len(text) > self.component_config["max_chars"]:
                problem = "too_long"
            if problem:
                message.set("input_problem", problem, add_to_output=True)
                if (message.get(INTENT) or {}).get("name") != EMERGENCY_INTENT:
                    _force_intent(message, FALLBACK_INTENT, "intent_before_input_guard", problem)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class HandoffRequestNet(_Stateless):
    """Explicit requests for a person (转人工, 找调解员, 我要投诉) always reach the handoff, and explicit wishes to
    have the dispute mediated (申请调解, 能调解吗) the mediation intake, also when the facts come with them.
    Refusals and questions about mediation never do, whatever the classifier guessed."""

    REQUEST_INTENTS = {handoff.PERSON: HANDOFF_INTENT, handoff.MEDIATION: MEDIATION_INTENT}
    # What a message the classifier took for a request is instead (a question about mediation is a legal question).
    DECLINED_INTENTS = {handoff.QUESTION: LEGAL_QUESTION_INTENT, handoff.REFUSAL: CANCEL_INTENT}

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"enabled": True}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not self.component_config["enabled"] or text.startswith("/"):
                continue
            current = (message.get(INTENT) or {}).get("name")
            if current == EMERGENCY_INTENT and lexicon.emergency_match(text) is not None:
                continue  # an emergency in plain words goes to the emergency handling, a request with it or not
            request = handoff.find(text)
            if current == EMERGENCY_INTENT and request is None:
                continue
            if request is not None:
                message.set(
                    "handoff_request", {"kind": request.kind, "words": request.words}, add_to_output=True
                )
                wanted = self.REQUEST_INTENTS[request.kind]
                if current != wanted:
                    _force_intent(message, wanted, "intent_before_handoff_net", request.words)
            elif current in self.REQUEST_INTENTS.values():
                declined = handoff.declines(text)
                if declined:
                    _force_intent(
                        message, self.DECLINED_INTENTS[declined], "intent_before_handoff_net", declined
                    )
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class EmergencySafetyNet(_Stateless):
    """Never miss an emergency spelled out in plain words; a legal question about a past event is not one."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"enabled": True}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not self.component_config["enabled"] or text.startswith("/"):
                continue
            past = lexicon.past_event_question(text)
            if past is not None:
                message.set("emergency_past_event", past, add_to_output=True)
                if (message.get(INTENT) or {}).get("name") == EMERGENCY_INTENT:
                    _force_intent(
                        message, LEGAL_QUESTION_INTENT, "intent_before_safety_net", f"past event: {past}"
                    )
                continue
            match = lexicon.emergency_match(text)
            if match is None:
                continue
            kind, words = match
            message.set("emergency_kind", kind, add_to_output=True)
            if (message.get(INTENT) or {}).get("name") != EMERGENCY_INTENT:
                _force_intent(message, EMERGENCY_INTENT, "intent_before_safety_net", words)
        return messages
