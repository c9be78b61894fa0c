"""Idempotent resends, the per-conversation rate limit, the body cap."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import CITED_ANSWER, auth, new_conversation


def test_resending_a_client_id_stores_once_and_gives_the_same_answer(client, rasa):
    conv = new_conversation(client)
    cid = conv["conversation_id"]
    rasa.answers = CITED_ANSWER
    body = {"text": "老板拖欠工资", "client_id": "c-aaaaaaaaaaaaaaaa"}
    first = client.post(f"/api/conversations/{cid}/messages", json=body, headers=auth(conv))
    second = client.post(f"/api/conversations/{cid}/messages", json=body, headers=auth(conv))
    assert first.status_code == second.status_code == 200
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    assert first.json()["message_id"] == second.json()["message_id"]
    assert first.json()["replies"] == second.json()["replies"]
    assert len(rasa.calls) == 1
    messages = client.get(f"/api/conversations/{cid}", headers=auth(conv)).json()["messages"]
    assert [m["sender"] for m in messages] == ["resident", "bot"]
    assert messages[0]["client_id"] == "c-aaaaaaaaaaaaaaaa" and messages[1]["reply_to"] == messages[0]["id"]
    # The same client id in another conversation is another message.
    other = new_conversation(client)
    resp = client.post(f"/api/conversations/{other['conversation_id']}/messages", json=body, headers=auth(other))
    assert resp.json()["duplicate"] is False


def test_client_id_must_look_like_one(client):
    conv = new_conversation(client)
    for bad in ("short", "x" * 65, "has space here", "中文的编号中文的编号"):
        resp = client.post(f"/api/conversations/{conv['conversation_id']}/messages",
                           json={"text": "你好", "client_id": bad}, headers=auth(conv))
        assert resp.status_code == 422, bad


@pytest.fixture
def strict_client(settings, rasa):
    with TestClient(create_app(settings.model_copy(update={"message_rate_per_minute": 3, "max_body_bytes": 2048}),
                               rasa=rasa)) as c:
        yield c


def test_rate_limit_per_conversation(strict_client, rasa):
    conv = new_conversation(strict_client)
    url = f"/api/conversations/{conv['conversation_id']}/messages"
    for i in range(3):
        assert strict_client.post(url, json={"text": f"问题{i}"}, headers=auth(conv)).status_code == 200
    resp = strict_client.post(url, json={"text": "再问一个"}, headers=auth(conv))
    assert resp.status_code == 429
    assert 0 < int(resp.headers["retry-after"]) <= 60
    assert "at most 3 a minute" in resp.json()["detail"]
    assert len(rasa.calls) == 3
    # A resend of an accepted message is not a new message: still answered.
    other = new_conversation(strict_client)
    assert strict_client.post(f"/api/conversations/{other['conversation_id']}/messages", json={"text": "你好"},
                              headers=auth(other)).status_code == 200


def test_request_bodies_are_capped(strict_client):
    conv = new_conversation(strict_client)
    url = f"/api/conversations/{conv['conversation_id']}/messages"
    resp = strict_client.post(url, content=b'{"text": "' + b"a" * 4000 + b'"}', headers=auth(conv) | {
        "Content-Type": "application/json"})
    assert resp.status_code == 413 and "larger than 2048 bytes" in resp.json()["detail"]

    def chunks():  # no Content-Length: counted while it streams
        yield b'{"text": "'
        for _ in range(10):
            yield b"b" * 500
        yield b'"}'

    resp = strict_client.post(url, content=chunks(), headers=auth(conv) | {"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert strict_client.post("/api/mediators/login", content=b"x" * 5000,
                              headers={"Content-Type": "application/json"}).status_code == 413
    assert strict_client.post(url, json={"text": "正常大小"}, headers=auth(conv)).status_code == 200
