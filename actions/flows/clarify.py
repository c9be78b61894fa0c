"""Clarifying questions for a vague question (clarify_form: at most two), and the topic buttons."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import disputes
from actions.conversation import (
    is_follow_up_question,
    is_payload,
    latest_entity,
    latest_text,
    previous_action,
    requested_slots_since,
)
from actions.flows.answer import ActionAnswerLegalQuestion
from actions.flows.common import quote

CLARIFY_SLOTS = ("dispute_type", "other_party")
CLARIFY_DETAIL = "clarify_detail"


class ActionTopicPrompt(Action):
    """A topic button outside the clarifying questions: ask for the details of that kind of dispute. A typed
    follow-up after an answer that the classifier took for a bare topic is answered on the topic instead."""

    def name(self) -> str:
        return "action_topic_prompt"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if is_follow_up_question(tracker):
            return ActionAnswerLegalQuestion().run(dispatcher, tracker, domain)
        dispute_type = latest_entity(tracker, "dispute_type")
        party = latest_entity(tracker, "relationship")
        t = disputes.get(dispute_type)
        if t:
            dispatcher.utter_message(
                text=f"好的，{t.name}方面的问题。请用一两句话说说具体情况，比如“{t.examples[0]}”"
                f"或者“{t.examples[1]}”。"
            )
            return [SlotSet("dispute_type", t.name)]
        if party:
            dispatcher.utter_message(text=f"好的。请说说您和{party}之间发生了什么事？")
            return []
        dispatcher.utter_message(text="请用一两句话说说您遇到的事，比如“老板拖欠三个月工资怎么办”。")
        return []


class ActionStartClarify(Action):
    """The start of the clarifying questions. A short question after an answer that the classifier found vague
    ('我该去找谁', '这种算不算犯罪') refers to what was said: it is answered on the conversation's topic, and the
    form is not started (the rule's next step is overridden by listening)."""

    def name(self) -> str:
        return "action_start_clarify"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if is_follow_up_question(tracker):
            answered = ActionAnswerLegalQuestion().run(dispatcher, tracker, domain)
            return list(answered) + [FollowupAction("action_listen")]
        dispute_type = latest_entity(tracker, "dispute_type")
        if not dispute_type and previous_action(tracker) == "action_topic_prompt":
            dispute_type = tracker.get_slot("dispute_type")
        return [
            SlotSet("pending_question", latest_text(tracker)),
            SlotSet("dispute_type", dispute_type if disputes.get(dispute_type) else None),
            SlotSet("other_party", latest_entity(tracker, "relationship")),
            SlotSet("clarify_detail", None),
        ]


def _with_added_text(tracker: Tracker) -> dict[str, Any]:
    """The resident's typed answer joins the pending question, so the search sees everything they said."""
    text = latest_text(tracker)
    pending = tracker.get_slot("pending_question") or ""
    if not text or is_payload(text) or text in pending:
        return {}
    return {"pending_question": f"{pending}；{text}" if pending else text}


class ValidateClarifyForm(FormValidationAction):
    """At most two questions: the dispute type and the other party, each only if the resident has not said it.
    When both were clear from the start, one open question about the details instead."""

    def name(self) -> str:
        return "validate_clarify_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        asked = requested_slots_since(tracker, "action_start_clarify")
        known_at_start = not asked and all(tracker.get_slot(s) for s in CLARIFY_SLOTS)
        if known_at_start or CLARIFY_DETAIL in asked:
            return list(CLARIFY_SLOTS) + [CLARIFY_DETAIL]
        return list(CLARIFY_SLOTS)

    def validate_dispute_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"dispute_type": None}
        canonical = value if (disputes.get(value) or value == disputes.OTHER) else disputes.OTHER
        return {"dispute_type": canonical} | _with_added_text(tracker)

    def validate_other_party(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"other_party": None}
        return {"other_party": quote(str(value), 30)} | _with_added_text(tracker)

    def validate_clarify_detail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"clarify_detail": None}
        return {"clarify_detail": quote(str(value), 200)} | _with_added_text(tracker)
