"""Handoff and intake through the real stack: Rasa server (Python 3.10, the trained model, the real NLU pipeline),
action server and gateway as processes on free ports, a mediator made with `fengqiao mediators create`.

- a request for a person that comes with facts is handed off at once, and the facts reach the mediators' queue;
- questions about mediation and refusals are answered by the bot, never handed off;
- a mediation request reaches the queue after at most three questions, with a correction and a skip on the way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import httpx
import pytest

from actions.flows.handoff import HANDOFF_WITH_FACTS_TEXT
from actions.flows.intake import INTAKE_CAVEAT, INTAKE_FACTS_NOTED, INTAKE_INTRO, MAX_QUESTIONS
from core.settings import PROJECT_ROOT, Settings, get_settings
from fengqiao.ports import free_port
from fengqiao.supervisor import Stack, settings_env

pytestmark = pytest.mark.e2e

PASSWORD = "mediator-password-1"
# The intake's questions (bot/domain.yml utter_ask_case_*), by what they ask.
QUESTIONS = {
    "case_facts": "发生了什么事",
    "case_party": "对方是谁",
    "case_amount": "涉及多少钱",
    "case_outcome": "希望怎么解决",
    "case_contact": "怎么联系您",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, tiny_kb):
    root = tmp_path_factory.mktemp("handoff-stack")
    kb_dir = root / "kb"
    shutil.copytree(tiny_kb, kb_dir)
    settings = Settings(
        data_dir=root / "data",
        kb_dir=kb_dir,
        models_dir=get_settings().resolved_models_dir,
        gateway_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        rasa_timeout_s=30,
        build_dense_on_start=False,
        client_handoffs_per_10_min=100,
    )
    s = Stack(settings, echo=False, progress=lambda m: None)
    s.start()
    try:
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "fengqiao.cli",
                "mediators",
                "create",
                "--username",
                "mediator-li",
                "--password",
                PASSWORD,
            ],
            env=settings_env(settings),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert created.returncode == 0, created.stderr
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def gateway(stack):
    with httpx.Client(base_url=stack.settings.gateway_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def mediator(gateway) -> dict:
    resp = gateway.post("/api/mediators/login", json={"username": "mediator-li", "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


class Resident:
    def __init__(self, gateway):
        self.gateway = gateway
        resp = gateway.post("/api/conversations", json={"region": "浙江省绍兴市"})
        assert resp.status_code == 201
        self.id = resp.json()["conversation_id"]
        self.headers = {"Authorization": f"Bearer {resp.json()['token']}"}
        self.transcript: list[str] = []

    def say(self, text: str) -> tuple[str, list[str]]:
        resp = self.gateway.post(
            f"/api/conversations/{self.id}/messages", json={"text": text}, headers=self.headers
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        replies = [r["text"] for r in body["replies"]]
        self.transcript += [f"居民：{text}"] + [f"助手：{r}" for r in replies]
        return body["mode"], replies


def queued(gateway, mediator, conversation_id: str) -> dict | None:
    resp = gateway.get("/api/handoffs", params={"status": "waiting"}, headers=mediator)
    assert resp.status_code == 200, resp.text
    return next((h for h in resp.json() if h["conversation_id"] == conversation_id), None)


@pytest.mark.parametrize(
    ("text", "facts", "dispute_type"),
    [
        ("我要找调解员，邻居家装修把我家墙弄裂了", "邻居家装修把我家墙弄裂了", "邻里纠纷"),
        ("邻居家装修把我家墙弄裂了，我要找调解员", "邻居家装修把我家墙弄裂了", "邻里纠纷"),
        ("老板欠我三个月工资不给，转人工", "老板欠我三个月工资不给", "劳动工资"),
        ("有没有真人？楼上漏水把我家泡了", "楼上漏水把我家泡了", "邻里纠纷"),
        ("叫你们工作人员来，物业乱收停车费", "物业乱收停车费", "物业"),
    ],
)
def test_a_request_for_a_person_with_facts_is_handed_off_with_the_facts(
    gateway, mediator, text, facts, dispute_type
):
    resident = Resident(gateway)
    mode, replies = resident.say(text)
    assert mode == "waiting", replies
    assert replies == [HANDOFF_WITH_FACTS_TEXT]
    handoff = queued(gateway, mediator, resident.id)
    assert handoff is not None
    assert (handoff["reason"], handoff["dispute_type"]) == ("resident_request", dispute_type)
    assert handoff["summary"] == f"居民要求转人工，并说明了情况：“{facts}”。"


@pytest.mark.parametrize(
    "text", ["调解要收费吗", "人民调解协议有法律效力吗", "不用转人工", "调解员说的话算数吗"]
)
def test_questions_about_mediation_and_refusals_stay_with_the_bot(gateway, mediator, text):
    resident = Resident(gateway)
    mode, replies = resident.say(text)
    assert mode == "bot", replies
    assert replies and all("转接" not in r for r in replies)
    assert queued(gateway, mediator, resident.id) is None


def test_a_mediation_request_reaches_the_queue_after_at_most_three_questions(gateway, mediator):
    resident = Resident(gateway)
    mode, replies = resident.say("我要申请调解，邻居家装修把我家墙弄裂了，修要两万块")
    assert mode == "bot"
    assert replies[0] == INTAKE_INTRO + INTAKE_FACTS_NOTED
    assert QUESTIONS["case_outcome"] in replies[-1]  # facts, party and amount came with the request
    mode, replies = resident.say("不对，是三万")
    assert replies[0] == "好的，已改为“涉及金额：30000元”。"
    assert QUESTIONS["case_outcome"] in replies[-1]  # the same question again
    mode, replies = resident.say("不方便说")
    assert QUESTIONS["case_contact"] in replies[-1]
    mode, replies = resident.say("13812345678")
    assert mode == "waiting", replies
    assert replies[-1].startswith("已记下您的调解申请：") and replies[-1].endswith(INTAKE_CAVEAT)
    asked = {
        slot
        for line in resident.transcript
        if line.startswith("助手：")
        for slot, words in QUESTIONS.items()
        if words in line
    }
    assert len(asked) <= MAX_QUESTIONS
    handoff = queued(gateway, mediator, resident.id)
    assert handoff is not None
    assert (handoff["reason"], handoff["dispute_type"]) == ("mediation_request", "邻里纠纷")
    assert handoff["summary"] == (
        "调解申请。事情经过：邻居家装修把我家墙弄裂了，修要两万块；对方：邻居；涉及金额：30000元；"
        "希望的结果：未说明；联系方式：13812345678。"
    )
    print("\n".join(resident.transcript))


def test_a_bare_mediation_request_asks_what_the_answers_leave_missing(gateway, mediator):
    resident = Resident(gateway)
    resident.say("我想申请调解")
    _, replies = resident.say("对方借了我五千块钱一直不还")
    assert QUESTIONS["case_party"] in replies[-1]  # the amount came with the facts
    _, replies = resident.say("跳过")
    assert QUESTIONS["case_contact"] in replies[-1]
    _, replies = resident.say("王某")  # not a phone number: said why, asked again
    assert "号码好像不对" in replies[0] and QUESTIONS["case_contact"] in replies[-1]
    mode, _ = resident.say("0575-88123456")
    assert mode == "waiting"
    handoff = queued(gateway, mediator, resident.id)
    assert (handoff["reason"], handoff["dispute_type"]) == ("mediation_request", "借贷")
    assert handoff["summary"] == (
        "调解申请。事情经过：对方借了我五千块钱一直不还；对方：未说明；涉及金额：5000元；"
        "联系方式：0575-88123456。未问到：希望的结果。"
    )
