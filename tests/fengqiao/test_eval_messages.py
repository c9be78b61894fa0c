"""How `fengqiao eval requests` and `fengqiao eval emergencies` read the gateway's replies."""

from __future__ import annotations

from actions.emergency import GUIDANCE
from actions.flows.intake import INTAKE_INTRO
from fengqiao.eval_messages import judge_emergency, judge_request


def reply(*texts: str, mode: str = "bot") -> dict:
    return {"mode": mode, "replies": [{"text": t} for t in texts]}


def test_a_request_is_handed_on_by_a_waiting_conversation_or_the_intake():
    assert judge_request(reply("好的，正在为您转接人民调解员", mode="waiting")) == "handoff"
    assert judge_request(reply(INTAKE_INTRO + "您刚才说的情况我已经记下了。", "涉及多少钱？")) == "intake"
    assert judge_request(reply("根据《中华人民共和国人民调解法》第四条……")) == "answer"


def test_an_emergency_is_its_guidance_and_the_number_it_leads_with():
    assert judge_emergency(reply(GUIDANCE["fire"], mode="waiting")) == (True, "119")
    assert judge_emergency(reply(GUIDANCE["violence"], mode="waiting")) == (True, "110")
    assert judge_emergency(reply("医院的责任要看……拨打 120 的时间")) == (False, None)  # a legal answer
