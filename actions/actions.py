"""The package of custom actions the action server loads (`python -m actions.server --actions actions.actions`).

Each conversation flow has its own module under `actions/flows` (answer, clarify, intake, handoff, fallback);
importing them here registers their actions with rasa-sdk. The names below are re-exported for callers that
import them from here.
"""

from __future__ import annotations

from actions.flows.answer import KB_UNAVAILABLE, ActionAnswerLegalQuestion
from actions.flows.clarify import ActionStartClarify, ActionTopicPrompt, ValidateClarifyForm
from actions.flows.common import (
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    handoff_payload,
    pause_events,
    suggested_citations,
)
from actions.flows.fallback import (
    FALLBACK_EMPTY,
    FALLBACK_FIRST,
    FALLBACK_MEDIATOR_BUTTONS,
    FALLBACK_OFFER_MEDIATOR,
    FALLBACK_TOO_LONG,
    TOPIC_BUTTONS,
    ActionFallback,
)
from actions.flows.handoff import HANDOFF_TEXT, HANDOFF_WITH_FACTS_TEXT, ActionEmergency, ActionHandoff
from actions.flows.intake import (
    INTAKE_FACTS_NOTED,
    INTAKE_INTRO,
    ActionStartIntake,
    ActionSubmitIntake,
    ValidateIntakeForm,
    dispute_description,
)

__all__ = [
    "FALLBACK_EMPTY",
    "FALLBACK_FIRST",
    "FALLBACK_MEDIATOR_BUTTONS",
    "FALLBACK_OFFER_MEDIATOR",
    "FALLBACK_TOO_LONG",
    "HANDOFF_TEXT",
    "HANDOFF_WITH_FACTS_TEXT",
    "INTAKE_FACTS_NOTED",
    "INTAKE_INTRO",
    "KB_UNAVAILABLE",
    "PRIORITY_NORMAL",
    "PRIORITY_URGENT",
    "TOPIC_BUTTONS",
    "ActionAnswerLegalQuestion",
    "ActionEmergency",
    "ActionFallback",
    "ActionHandoff",
    "ActionStartClarify",
    "ActionStartIntake",
    "ActionSubmitIntake",
    "ActionTopicPrompt",
    "ValidateClarifyForm",
    "ValidateIntakeForm",
    "dispute_description",
    "handoff_payload",
    "pause_events",
    "suggested_citations",
]
