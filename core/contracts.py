"""What one process hands another, defined once and imported by both sides.

The handoff: the action server puts `{"handoff": {...}}` in a bot message's custom payload (HandoffPayload.custom);
the gateway reads it back from Rasa's reply (HandoffPayload.from_custom) and opens the case. Priorities and reasons
are the values the gateway stores and the console labels (api/static/console.js keeps a label for every reason;
tests/core/test_contracts.py fails when either side drifts).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

# Payloads the widget's and the bot's buttons send (a "/" and an intent of bot/domain.yml); widget.js keeps its own
# copy of the first, checked by tests/core/test_contracts.py.
REQUEST_HUMAN_PAYLOAD = "/request_human"
ASK_CAPABILITIES_PAYLOAD = "/ask_capabilities"

HANDOFF_KEY = "handoff"
SUMMARY_CHARS = 2000
MAX_SUGGESTED = 10
REASON_CHARS = 64


class Priority(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"


# The mediators' queue: urgent cases first, then by waiting time.
PRIORITY_RANK: dict[str, int] = {Priority.URGENT: 0, Priority.NORMAL: 1}


class HandoffReason(StrEnum):
    RESIDENT_REQUEST = "resident_request"  # 转人工, 找调解员, or the widget's button
    REPEATED_FALLBACK = "repeated_fallback"  # the bot failed to understand twice, the resident chose a person
    EMERGENCY = "emergency"
    MEDIATION_REQUEST = "mediation_request"  # the intake's mediation request
    RESIDENT_REQUEST_BOT_DOWN = "resident_request_bot_down"  # the resident's message found Rasa down
    BOT = "bot"  # a payload without a reason


class HandoffPayload(BaseModel):
    reason: str = HandoffReason.BOT
    priority: Priority = Priority.NORMAL
    dispute_type: str | None = None
    summary: str = ""
    suggested_citations: list[dict[str, Any]] = Field(default_factory=list)

    def custom(self) -> dict[str, Any]:
        """The bot message's custom payload."""
        return {HANDOFF_KEY: self.model_dump(mode="json")}

    @classmethod
    def from_custom(cls, raw: Any) -> HandoffPayload:
        """The payload under HANDOFF_KEY as the bot sent it, cleaned: whatever is missing, malformed or too long
        falls back to a safe value (an unknown priority is normal) rather than losing the handoff."""
        raw = raw if isinstance(raw, dict) else {}
        priority = raw.get("priority")
        dispute_type = raw.get("dispute_type")
        citations = raw.get("suggested_citations")
        return cls(
            reason=str(raw.get("reason") or HandoffReason.BOT)[:REASON_CHARS],
            priority=Priority(priority) if priority in PRIORITY_RANK else Priority.NORMAL,
            dispute_type=str(dispute_type)[:REASON_CHARS] if dispute_type else None,
            summary=str(raw.get("summary") or "")[:SUMMARY_CHARS],
            suggested_citations=[c for c in citations or [] if isinstance(c, dict)][:MAX_SUGGESTED]
            if isinstance(citations, list)
            else [],
        )
