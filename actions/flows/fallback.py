"""A message the bot did not understand: ask to rephrase (with topic buttons); from the second failure in a row,
offer a mediator."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import disputes
from actions.conversation import consecutive_failures, is_follow_up_question
from actions.flows.answer import ActionAnswerLegalQuestion
from core.contracts import ASK_CAPABILITIES_PAYLOAD, REQUEST_HUMAN_PAYLOAD

FALLBACK_FIRST = "抱歉，我没太明白您的意思。能不能换个说法，用一两句话说说发生了什么事？也可以点下面的类别。"
FALLBACK_TOO_LONG = (
    "您发的内容比较长，我一下子没能理解。请用一两句话说说最想问的问题，比如“老板拖欠三个月工资怎么办”。"
)
FALLBACK_EMPTY = "我好像没收到文字内容。请用一两句话说说您遇到的事。"
FALLBACK_OFFER_MEDIATOR = (
    "不好意思，我还是没能理解您的意思。您可以换个说法再试一次，也可以让人民调解员来帮您。"
)
FALLBACK_MEDIATOR_BUTTONS = [
    {"title": "转人工调解员", "payload": REQUEST_HUMAN_PAYLOAD},
    {"title": "看看我能做什么", "payload": ASK_CAPABILITIES_PAYLOAD},
]
TOPIC_BUTTONS = [
    {"title": name, "payload": f'/inform{{"dispute_type":"{name}"}}'} for name in disputes.NAMES[:8]
]


class ActionFallback(Action):
    """Two stages: ask to rephrase (with topic buttons); from the second failure in a row, offer a mediator."""

    def name(self) -> str:
        return "action_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        failures = consecutive_failures(tracker, self.name())
        problem = (tracker.latest_message or {}).get("input_problem")
        if failures < 2 and not problem and is_follow_up_question(tracker):
            # A short follow-up the classifier could not place ('那我大概能分到多少'): the topic answers it.
            return ActionAnswerLegalQuestion().run(dispatcher, tracker, domain)
        if failures >= 2:
            dispatcher.utter_message(text=FALLBACK_OFFER_MEDIATOR, buttons=FALLBACK_MEDIATOR_BUTTONS)
        elif problem == "too_long":
            dispatcher.utter_message(text=FALLBACK_TOO_LONG)
        elif problem == "empty":
            dispatcher.utter_message(text=FALLBACK_EMPTY, buttons=TOPIC_BUTTONS)
        else:
            dispatcher.utter_message(text=FALLBACK_FIRST, buttons=TOPIC_BUTTONS)
        return []
