"""The real stack: Rasa server (Python 3.10), action server and gateway as separate processes on free ports.

The knowledge base is a real slice of the embedded statutes with BM25 and a dense index (the converted
e5-small encoder, FAISS). What is tried: a legal question answered with real citations that exist in the corpus; the action server
killed mid-conversation (apology, 503 on /healthz, then answers again once it is back); Rasa itself down;
`fengqiao serve` stopped by SIGTERM leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from core.settings import Settings, get_settings
from fengqiao.ports import free_port
from fengqiao.supervisor import Stack
from knowledge_base.search import KnowledgeBase

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory, e2e_kb):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("stack"),
        kb_dir=e2e_kb,
        models_dir=get_settings().resolved_models_dir,
        gateway_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        rasa_timeout_s=20,
    )
    s = Stack(settings, echo=False, progress=lambda m: None)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def gateway(stack):
    with httpx.Client(base_url=stack.settings.gateway_url, timeout=60) as client:
        yield client


def new_conversation(gateway) -> tuple[str, dict]:
    resp = gateway.post("/api/conversations", json={"region": "浙江省绍兴市"})
    assert resp.status_code == 201
    body = resp.json()
    return body["conversation_id"], {"Authorization": f"Bearer {body['token']}"}


def ask(gateway, cid, headers, text):
    resp = gateway.post(f"/api/conversations/{cid}/messages", json={"text": text}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_health_reports_every_dependency(gateway):
    resp = gateway.get("/healthz")
    assert resp.status_code == 200
    assert {name: c["status"] for name, c in resp.json()["checks"].items()} == {
        "rasa": "ok",
        "action_server": "ok",
        "knowledge_base": "ok",
        "database": "ok",
    }
    assert resp.json()["checks"]["knowledge_base"]["dense"] is True


def test_search_endpoint_uses_hybrid_retrieval(gateway):
    resp = gateway.get("/api/search", params={"q": "两口子过不下去了想分开", "k": 5})
    assert resp.status_code == 200
    hits = resp.json()["hits"]
    assert hits and all(h["match"] == "hybrid" for h in hits)
    assert any(h["law"] == "中华人民共和国民法典" for h in hits)


def test_legal_question_is_answered_with_real_citations(gateway, stack):
    cid, headers = new_conversation(gateway)
    body = ask(gateway, cid, headers, "老板拖欠我三个月工资怎么办")
    assert body["mode"] == "bot"
    citations = [c for r in body["replies"] for c in r["citations"]]
    assert citations, body
    kb = KnowledgeBase(stack.settings.resolved_kb_dir)
    snap = kb.snapshot()
    for c in citations:
        record = next(r for r in snap.records if r.id == c["id"])
        assert (record.title, record.article_no, record.text) == (c["law"], c["article_no"], c["text"])
    assert ("中华人民共和国劳动法", "第五十条") in {(c["law"], c["article_no"]) for c in citations}
    assert "《中华人民共和国劳动法》第五十条" in body["replies"][0]["text"]


def test_greeting_gets_a_plain_reply(gateway):
    cid, headers = new_conversation(gateway)
    body = ask(gateway, cid, headers, "你好")
    assert body["replies"][0]["text"].startswith("您好")
    assert body["replies"][0]["citations"] == []


def test_action_server_killed_mid_conversation(gateway, stack):
    cid, headers = new_conversation(gateway)
    assert ask(gateway, cid, headers, "朋友借钱不还怎么办")["replies"][0]["citations"]

    os.kill(stack.actions.pid, signal.SIGKILL)
    stack.actions.proc.wait(timeout=10)
    stack.actions.stop()  # its Sanic workers too
    assert gateway.get("/healthz").status_code == 503
    assert gateway.get("/healthz").json()["down"] == ["action_server"]
    started = time.monotonic()
    body = ask(gateway, cid, headers, "离婚后孩子归谁抚养")
    assert time.monotonic() - started < 15
    assert "检索服务暂时出了故障" in body["replies"][0]["text"]

    stack.restart(stack.actions)
    assert gateway.get("/healthz").status_code == 200
    body = ask(gateway, cid, headers, "离婚后孩子归谁抚养")
    assert body["replies"][0]["citations"]
    transcript = gateway.get(f"/api/conversations/{cid}", headers=headers).json()["messages"]
    senders = [m["sender"] for m in transcript]
    assert senders.count("resident") == 3  # nothing the resident said was lost
    turns = "".join("r" if s == "resident" else "b" for s in senders if s in {"resident", "bot"})
    assert turns.startswith("r") and turns.count("rb") == 3  # and every message got an answer


def test_rasa_down_then_back(gateway, stack):
    cid, headers = new_conversation(gateway)
    stack.rasa.stop()
    resp = gateway.get("/healthz")
    assert resp.status_code == 503 and "rasa" in resp.json()["down"]
    body = ask(gateway, cid, headers, "房东不退押金怎么办")
    assert "暂时无法回复" in body["replies"][0]["text"]
    stack.restart(stack.rasa)
    assert ask(gateway, cid, headers, "房东不退押金怎么办")["replies"][0]["text"]


def test_serve_stops_cleanly_on_sigterm(tmp_path, e2e_kb):
    env = dict(
        os.environ,
        FENGQIAO_DATA_DIR=str(tmp_path),
        FENGQIAO_KB_DIR=str(e2e_kb),
        FENGQIAO_MODELS_DIR=str(get_settings().resolved_models_dir),
        FENGQIAO_GATEWAY_PORT=str(free_port()),
        FENGQIAO_RASA_PORT=str(free_port()),
        FENGQIAO_ACTION_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "fengqiao.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines, pids = [], []
    try:
        for line in proc.stdout:
            lines.append(line)
            if " is ready (pid " in line:
                pids.append(int(line.rsplit("pid ", 1)[1].rstrip(")\n")))
            if line.startswith("resident widget:"):
                break
        assert len(pids) == 3, "".join(lines[-30:])
        assert f"http://127.0.0.1:{env['FENGQIAO_GATEWAY_PORT']}/" in lines[-1]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    for pid in pids:
        assert not _alive(pid), f"process {pid} outlived serve"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            return "State:\tZ" not in fh.read()
    except FileNotFoundError:
        return False


def test_rasa_and_the_action_server_refuse_callers_without_the_internal_token(stack):
    """What any local process could do before: read a resident's transcript from Rasa's tracker API, write into a
    conversation through the REST channel, call the actions directly."""
    s = stack.settings
    assert s.internal_token and len(s.internal_token) >= 40
    assert (s.internal_token_file.stat().st_mode & 0o077) == 0  # readable by its owner only
    tracker = f"{s.rasa_url}/conversations/someone/tracker"
    assert httpx.get(tracker, timeout=10).status_code == 401
    assert httpx.get(tracker, params={"token": "guess"}, timeout=10).status_code == 401
    assert httpx.get(tracker, params={"token": s.internal_token}, timeout=10).status_code == 200
    webhook = f"{s.rasa_url}/webhooks/rest/webhook"
    assert httpx.post(webhook, json={"sender": "x", "message": "你好"}, timeout=30).status_code == 401
    assert httpx.put(f"{s.rasa_url}/model", json={}, timeout=10).status_code == 401
    action = {"next_action": "action_answer_legal_question", "sender_id": "x", "tracker": {}, "domain": {}}
    assert httpx.post(f"{s.action_url}/webhook", json=action, timeout=10).status_code == 401
    assert httpx.get(f"{s.action_url}/health", timeout=10).status_code == 200
    # The token never appears on a command line (which every local user can read).
    for proc in stack.processes:
        with open(f"/proc/{proc.pid}/cmdline", "rb") as fh:
            assert s.internal_token.encode() not in fh.read(), proc.name
