"""Input no database can store is refused with 422, and every response carries the security headers."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import auth, hand_off, handoff_id_of

UNSTORABLE = ["\ud800", "前\udfff后", "a\x00b"]


def post_raw(client, url, body: dict, headers=None):
    # json.dumps escapes a lone surrogate as \\ud800, which is how a client sends one.
    return client.post(
        url, content=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})}
    )


@pytest.mark.parametrize("text", UNSTORABLE)
def test_a_message_with_a_lone_surrogate_or_nul_is_refused_and_nothing_is_stored(
    client, rasa, conversation, text
):
    cid = conversation["conversation_id"]
    resp = post_raw(
        client,
        f"/api/conversations/{cid}/messages",
        {"text": text, "client_id": "client-bad-0001"},
        auth(conversation),
    )
    assert resp.status_code == 422
    assert "surrogate" in resp.text or "NUL" in resp.text
    assert rasa.calls == []
    assert client.get(f"/api/conversations/{cid}", headers=auth(conversation)).json()["messages"] == []
    # The next message goes through as usual (the widget drops a refused message instead of retrying it).
    ok = client.post(f"/api/conversations/{cid}/messages", json={"text": "你好"}, headers=auth(conversation))
    assert ok.status_code == 200


@pytest.mark.parametrize("body", [{"region": "浙江\ud800"}, {"region": "\x00"}])
def test_conversation_region(client, body):
    assert post_raw(client, "/api/conversations", body).status_code == 422


def test_login_and_mediator_texts(client, mediator, rasa, conversation):
    assert (
        post_raw(client, "/api/mediators/login", {"username": "wang\ud800", "password": "x"}).status_code
        == 422
    )
    assert (
        post_raw(client, "/api/mediators/login", {"username": "wang", "password": "a\x00"}).status_code == 422
    )
    handoff = post_raw(
        client,
        f"/api/conversations/{conversation['conversation_id']}/handoff",
        {"reason": "邻居\udc00"},
        auth(conversation),
    )
    assert handoff.status_code == 422


def test_nested_texts_are_checked_too(client, rasa, mediator, conversation):
    hand_off(client, rasa, conversation)
    hid = handoff_id_of(client, mediator, conversation["conversation_id"])
    assert client.post(f"/api/handoffs/{hid}/claim", headers=mediator).status_code == 200
    body = {"text": "好的", "citations": [{"kind": "statute", "law": "民法典\ud800", "text": "条文"}]}
    assert post_raw(client, f"/api/handoffs/{hid}/messages", body, mediator).status_code == 422
    closing = {"outcome": "调解成功", "summary": "双方\x00同意"}
    assert post_raw(client, f"/api/handoffs/{hid}/close", closing, mediator).status_code == 422


def test_html_pages_have_csp_and_refuse_framing(client):
    for path in ("/", "/console", "/static/index.html", "/static/console.html"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        csp = resp.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["x-content-type-options"] == "nosniff"


def test_api_answers_are_not_cached_or_sniffed(client, conversation):
    for resp in (
        client.post("/api/conversations"),
        client.get("/healthz"),
        client.get(f"/api/conversations/{conversation['conversation_id']}", headers=auth(conversation)),
        client.get("/api/conversations/nope", headers=auth(conversation)),
    ):
        assert resp.headers["cache-control"] == "no-store"
        assert resp.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in client.get("/static/widget.js").headers.get("cache-control", "")


def test_docs_are_off_unless_enabled(client, settings, rasa):
    from fastapi.testclient import TestClient

    from api.main import create_app

    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    with TestClient(create_app(settings.model_copy(update={"enable_docs": True}), rasa=rasa)) as docs:
        assert docs.get("/docs").status_code == 200
