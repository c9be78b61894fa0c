"""The contracts between processes (core/contracts.py) hold on both sides: what the action server sends is what the
gateway reads, and every reason the gateway can store has a label in the mediators' console."""

from __future__ import annotations

import re

from actions.flows.common import handoff_payload
from api.mediation import PRIORITIES, HandoffRequest
from core.contracts import HANDOFF_KEY, HandoffPayload, HandoffReason, Priority
from core.settings import PROJECT_ROOT

CONSOLE_JS = PROJECT_ROOT / "api" / "static" / "console.js"


def test_what_the_action_server_sends_is_what_the_gateway_reads():
    citation = {"kind": "statute", "id": "st-1", "law": "中华人民共和国劳动法", "article_no": "第五十条"}
    custom = handoff_payload(
        reason=HandoffReason.EMERGENCY,
        priority=Priority.URGENT,
        dispute_type="劳动工资",
        summary="紧急情况",
        suggested_citations=[citation],
    )
    assert list(custom) == [HANDOFF_KEY]
    read = HandoffRequest.from_bot(custom[HANDOFF_KEY])
    assert (read.reason, read.priority, read.dispute_type, read.summary) == (
        "emergency",
        "urgent",
        "劳动工资",
        "紧急情况",
    )
    assert read.suggested_citations == [citation]


def test_a_malformed_payload_still_opens_a_normal_handoff():
    read = HandoffPayload.from_custom({"priority": "asap", "suggested_citations": "x", "summary": 5})
    assert (read.reason, read.priority, read.summary, read.suggested_citations) == ("bot", "normal", "5", [])
    assert HandoffPayload.from_custom(None).reason == HandoffReason.BOT


def test_the_gateway_ranks_every_priority():
    assert set(PRIORITIES) == {p.value for p in Priority}


def test_the_console_labels_every_reason_and_no_other():
    js = CONSOLE_JS.read_text(encoding="utf-8")
    block = re.search(r"var REASONS = \{(.*?)\};", js, re.S)
    assert block is not None, "console.js no longer defines REASONS"
    labelled = set(re.findall(r"(\w+)\s*:", block.group(1)))
    assert labelled == {r.value for r in HandoffReason}


def test_the_payloads_buttons_send_are_intents_of_the_bot_and_the_widget_sends_the_same():
    import yaml

    from core.contracts import ASK_CAPABILITIES_PAYLOAD, REQUEST_HUMAN_PAYLOAD

    domain = yaml.safe_load((PROJECT_ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    assert {REQUEST_HUMAN_PAYLOAD[1:], ASK_CAPABILITIES_PAYLOAD[1:]} <= intents
    widget = (PROJECT_ROOT / "api" / "static" / "widget.js").read_text(encoding="utf-8")
    assert f'var HANDOFF_PAYLOAD = "{REQUEST_HUMAN_PAYLOAD}";' in widget
