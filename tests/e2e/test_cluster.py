"""The one-machine cluster for real: 2 gateways, 2 Rasa servers and 2 action servers behind HAProxy, on a throwaway
PostgreSQL (application database and Rasa's tracker store) and Redis (lock store, live events, rate limits).

What is tried: legal questions answered with real citations through the balancer; one gateway, one Rasa server
and one action server killed, and Redis killed, in the middle of a conversation, with every message still
answered and stored exactly once; a resident's socket on one gateway hearing a mediator through the other.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

from core.settings import PROJECT_ROOT, Settings, get_settings
from fengqiao.cluster import ClusterStack
from fengqiao.ports import free_port
from fengqiao.supervisor import settings_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, e2e_kb):
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("cluster"),
        kb_dir=e2e_kb,
        models_dir=get_settings().resolved_models_dir,
        gateway_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        rasa_timeout_s=20,
        build_dense_on_start=False,
    )
    stack = ClusterStack(settings, echo=False, progress=lambda m: None, keep_data=False)
    stack.start()
    yield stack
    stack.stop()


def proc(cluster, name):
    return next(p for p in cluster.processes if p.name == name)


def kill(cluster, name) -> None:
    p = proc(cluster, name)
    os.killpg(p.pid, signal.SIGKILL)
    p.proc.wait(timeout=10)


def ask(client, conv, text, client_id):
    headers = {"Authorization": f"Bearer {conv['token']}"}
    for _ in range(20):  # what the widget does: resend the same client_id until it has an answer
        try:
            resp = client.post(
                f"/api/conversations/{conv['conversation_id']}/messages",
                json={"text": text, "client_id": client_id},
                headers=headers,
            )
        except httpx.TransportError:
            continue
        if resp.status_code == 200:
            return resp.json()
    raise AssertionError(f"no answer to {text!r}")


def test_every_message_is_answered_once_while_instances_die(cluster):
    base = cluster.settings.gateway_url
    with httpx.Client(base_url=base, timeout=60) as client:
        conv = client.post("/api/conversations", json={"region": "浙江省绍兴市"}).json()
        first = ask(client, conv, "老板拖欠我三个月工资怎么办", "cluster-q-0001")
        laws = {c.get("law") for r in first["replies"] for c in r["citations"]}
        assert laws & {"中华人民共和国劳动合同法", "中华人民共和国劳动法", "中华人民共和国劳动争议调解仲裁法"}
        for n, name in enumerate(["gateway-1", "rasa-1", "actions-2", "redis"], 2):
            kill(cluster, name)
            reply = ask(client, conv, "朋友借钱不还怎么办", f"cluster-q-{n:04d}")
            assert reply["replies"], name
            cluster.restart(proc(cluster, name))
        transcript = client.get(
            f"/api/conversations/{conv['conversation_id']}",
            headers={"Authorization": f"Bearer {conv['token']}"},
        ).json()
    residents = [m for m in transcript["messages"] if m["sender"] == "resident"]
    assert sorted(m["client_id"] for m in residents) == [f"cluster-q-{n:04d}" for n in (1, 2, 3, 4, 5)]
    answered = {m["reply_to"] for m in transcript["messages"] if m["sender"] == "bot"}
    assert all(m["id"] in answered for m in residents)


def test_a_resident_on_one_gateway_hears_a_mediator_on_the_other(cluster):
    """Through each gateway directly (not the balancer), so that the two sides are on different processes."""
    from websockets.sync.client import connect

    gateways = [p for p in cluster.processes if p.name.startswith("gateway-")]
    urls = [f"http://{cluster.settings.host}:{p.argv[p.argv.index('--port') + 1]}" for p in gateways]
    env = settings_env(cluster.settings)
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "fengqiao.cli",
            "mediators",
            "create",
            "--username",
            "wang",
            "--password",
            "correct horse battery",
            "--display-name",
            "王调解员",
        ],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    with httpx.Client(base_url=urls[0], timeout=60) as a, httpx.Client(base_url=urls[1], timeout=60) as b:
        conv = a.post("/api/conversations", json={}).json()
        cid = conv["conversation_id"]
        handed = a.post(
            f"/api/conversations/{cid}/handoff",
            json={"reason": "想找调解员"},
            headers={"Authorization": f"Bearer {conv['token']}"},
        )
        assert handed.status_code == 201
        token = b.post("/api/mediators/login", json={"username": "wang", "password": "correct horse battery"})
        mediator = {"Authorization": f"Bearer {token.json()['token']}"}
        hid = next(
            h["id"]
            for h in b.get("/api/handoffs?status=waiting", headers=mediator).json()
            if h["conversation_id"] == cid
        )
        with connect(f"{urls[0].replace('http', 'ws')}/ws/conversations/{cid}?token={conv['token']}") as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            assert b.post(f"/api/handoffs/{hid}/claim", headers=mediator).status_code == 200
            assert (
                b.post(
                    f"/api/handoffs/{hid}/messages", json={"text": "您好，我是调解员"}, headers=mediator
                ).status_code
                == 201
            )
            for _ in range(20):
                event = json.loads(ws.recv(timeout=10))
                if event["type"] == "message" and event["message"]["sender"] == "mediator":
                    break
            else:
                raise AssertionError("the mediator's message never reached the other gateway's socket")
    assert event["message"]["text"] == "您好，我是调解员"
