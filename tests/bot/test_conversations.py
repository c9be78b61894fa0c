"""Conversation tests.

1. The test stories in tests/bot/stories, run by `rasa test core --e2e` in the Rasa environment against the model
   trained on bot/data: every user text goes through the real NLU (intent and entities checked) and every bot
   action is predicted by the real policies, including interruptions inside the intake form, handoff, emergency
   and the two-stage fallback.
2. Live conversations with the Rasa server and the action server (a private stack on free ports, tiny
   knowledge base): what the actions really send, and that a conversation handed back by a mediator
   (`ConversationResumed`, nothing else) goes on without the bot repeating itself.
"""

from __future__ import annotations

import subprocess
import uuid

import httpx
import pytest

from actions.flows.intake import INTAKE_INTRO
from core.settings import PROJECT_ROOT, Settings, get_settings
from fengqiao.ports import free_port
from fengqiao.rasa_model import ensure_model, rasa_env, rasa_executable
from fengqiao.supervisor import Stack

STORIES = PROJECT_ROOT / "tests" / "bot" / "stories"


@pytest.mark.slow  # runs `rasa test core` in the Rasa environment
def test_conversation_stories(tmp_path):
    settings = get_settings()
    model = ensure_model(settings)
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            str(rasa_executable(settings)),
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            str(STORIES),
            "--out",
            str(out),
            "--e2e",
            "--no-plot",
        ],
        cwd=settings.bot_dir,
        env=rasa_env(settings) | {"OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    failed = (out / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert "None of the test stories failed" in failed, failed
    report = (out / "story_report.json").read_text(encoding="utf-8")
    assert '"conversation_accuracy"' in report or "accuracy" in report


# --------------------------------------------------------------------------------------------------
# Live conversations


@pytest.fixture(scope="module")
def rasa(tmp_path_factory, tiny_kb):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("bot-stack"),
        kb_dir=tiny_kb,
        models_dir=get_settings().resolved_models_dir,
        gateway_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        rasa_timeout_s=30,
    )
    stack = Stack(settings, echo=False, progress=lambda m: None)
    stack.start()
    try:
        with httpx.Client(
            base_url=settings.rasa_url, timeout=60, params={"token": stack.settings.internal_token}
        ) as client:
            yield client
    finally:
        stack.stop()


class Conversation:
    def __init__(self, client: httpx.Client):
        self.client = client
        self.id = f"test-{uuid.uuid4().hex}"

    def say(self, text: str) -> list[dict]:
        resp = self.client.post("/webhooks/rest/webhook", json={"sender": self.id, "message": text})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def tracker(self) -> dict:
        return self.client.get(f"/conversations/{self.id}/tracker").json()

    def resume(self) -> None:
        """What the gateway does when a mediator hands the conversation back: one event, nothing else."""
        resp = self.client.post(f"/conversations/{self.id}/tracker/events", json=[{"event": "resume"}])
        assert resp.status_code == 200, resp.text


def texts(messages: list[dict]) -> list[str]:
    return [m["text"] for m in messages if m.get("text")]


def customs(messages: list[dict]) -> list[dict]:
    return [m["custom"] for m in messages if m.get("custom")]


pytestmark_live = pytest.mark.e2e


@pytestmark_live
def test_handoff_pauses_and_a_resumed_conversation_goes_on_without_repeating(rasa):
    c = Conversation(rasa)
    answer = c.say("老板拖欠工资不给怎么办")
    assert any(m.get("custom", {}).get("citations") for m in answer)
    handoff = c.say("转人工")
    assert [h["handoff"]["reason"] for h in customs(handoff)] == ["resident_request"]
    assert customs(handoff)[0]["handoff"]["suggested_citations"]
    assert c.tracker()["paused"] is True
    c.resume()
    assert c.tracker()["paused"] is False
    after = c.say("谢谢")
    assert texts(after) == ["不客气！还有别的问题可以接着问我，也可以点下面的类别。"]
    assert not customs(after)
    again = c.say("加班费不给怎么办")
    assert any(m.get("custom", {}).get("citations") for m in again)
    assert not any("handoff" in x for x in customs(again))


@pytestmark_live
def test_emergency_guidance_comes_first_then_an_urgent_handoff(rasa):
    c = Conversation(rasa)
    messages = c.say("我老公又喝醉了在打我")
    assert "12338" in texts(messages)[0] and "110" in texts(messages)[0]
    handoff = customs(messages)[-1]["handoff"]
    assert (handoff["reason"], handoff["priority"]) == ("emergency", "urgent")
    assert c.tracker()["paused"] is True


@pytestmark_live
def test_mediation_intake_with_an_interruption_then_handoff_with_the_summary(rasa):
    c = Conversation(rasa)
    first = texts(c.say("我要申请调解"))
    assert first == [INTAKE_INTRO, "请简单说说发生了什么事？对方是谁、涉及多少钱，也可以一起说。"]
    assert "我能帮您" in texts(c.say("你能做什么"))[0]  # answered, then the same question again
    assert "发生了什么事" in texts(c.say("你能做什么"))[-1]
    # the facts name the other party (楼上): the next question is the amount
    assert "涉及多少钱" in texts(c.say("楼上漏水把我家天花板泡坏了，他不肯赔"))[-1]
    assert "怎么联系您" in texts(c.say("大概三千块"))[-1]
    done = c.say("13812345678")
    handoff = customs(done)[-1]["handoff"]
    assert handoff["reason"] == "mediation_request"
    assert handoff["summary"] == (
        "调解申请。事情经过：楼上漏水把我家天花板泡坏了，他不肯赔；对方：邻居；"
        "涉及金额：3000元（原话：大概三千块）；联系方式：13812345678。未问到：希望的结果。"
    )
    assert handoff["dispute_type"] == "邻里纠纷"


@pytestmark_live
def test_a_request_with_facts_hands_off_and_a_mediation_request_takes_a_correction_and_a_skip(rasa):
    c = Conversation(rasa)
    handoff = customs(c.say("我要找调解员，邻居家装修把我家墙弄裂了"))[-1]["handoff"]
    assert handoff["summary"] == "居民要求转人工，并说明了情况：“邻居家装修把我家墙弄裂了”。"
    assert c.tracker()["paused"] is True
    c = Conversation(rasa)
    assert "希望怎么解决" in texts(c.say("帮我们调解一下，对门把垃圾堆在楼道里，清理花了八百块"))[-1]
    assert texts(c.say("说错了，是一千块"))[0] == "好的，已改为“涉及金额：1000元”。"
    assert "怎么联系您" in texts(c.say("跳过"))[-1]
    handoff = customs(c.say("不留"))[-1]["handoff"]
    assert handoff["summary"].startswith(
        "调解申请。事情经过：对门把垃圾堆在楼道里，清理花了八百块；对方：邻居；"
        "涉及金额：1000元；希望的结果：未说明；"
    )


@pytestmark_live
def test_vague_question_gets_two_clarifying_questions_then_an_answer(rasa):
    c = Conversation(rasa)
    first = c.say("我被欺负了怎么办")
    assert texts(first) == ["我想先弄清楚情况，好给您找准法律规定。请问是哪方面的事？"]
    assert len(first[0]["buttons"]) == 9
    assert texts(c.say('/inform{"dispute_type":"劳动工资"}')) == ["对方是谁？"]
    answer = c.say('/inform{"relationship":"公司/老板"}')
    assert any(m.get("custom", {}).get("citations") for m in answer)
    assert texts(answer)[-1].startswith("您下一步可以这样做（劳动工资）")
    # the vague question is answered once; the next question stands on its own
    assert texts(c.say("你好"))[0].startswith("您好")


@pytestmark_live
def test_two_stage_fallback_then_mediator(rasa):
    c = Conversation(rasa)
    first = c.say("？？？")
    second = c.say("sdfkj 啊吧啊吧 qwe")
    assert "没收到文字内容" in texts(first)[0] and "调解员" not in texts(first)[0]
    assert "人民调解员" in texts(second)[0]
    assert {"title": "转人工调解员", "payload": "/request_human"} in second[0]["buttons"]
    handoff = customs(c.say("/request_human"))[-1]["handoff"]
    assert handoff["reason"] == "repeated_fallback"
