"""The widget and the console are served by the gateway itself, with no other origin; metrics."""

from __future__ import annotations

import re

from tests.api.conftest import auth, hand_off, handoff_id_of, new_conversation


def test_widget_and_console_pages(client):
    for path, title in (("/", "枫桥法律助手"), ("/console", "人民调解工作台")):
        resp = client.get(path)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
        assert title in resp.text
        csp = resp.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        # Every script and stylesheet is the gateway's own.
        for ref in re.findall(r'(?:src|href)="([^"]+)"', resp.text):
            assert ref.startswith("/static/"), ref
            assert client.get(ref).status_code == 200
        assert "<script>" not in resp.text and "<style>" not in resp.text


def test_front_end_never_writes_html_from_data(client):
    for name in ("widget.js", "console.js", "reconnect.js"):
        source = client.get(f"/static/{name}").text
        assert (
            "innerHTML" not in source
            and "insertAdjacentHTML" not in source
            and "document.write" not in source
        )
        assert "http://" not in source and "https://" not in source  # no CDN, no other origin


def test_metrics(client, rasa, mediator):
    conv = new_conversation(client)
    client.post(
        f"/api/conversations/{conv['conversation_id']}/messages", json={"text": "你好"}, headers=auth(conv)
    )
    hand_off(client, rasa, conv, priority="urgent")
    client.post(
        f"/api/handoffs/{handoff_id_of(client, mediator, conv['conversation_id'])}/claim", headers=mediator
    )
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    body = resp.text
    assert 'fengqiao_messages_total{sender="resident"} 2.0' in body
    assert 'fengqiao_handoffs_total{priority="urgent",source="bot"} 1.0' in body
    assert 'fengqiao_handoffs_open{status="active"} 1.0' in body
    assert "fengqiao_handoff_wait_seconds_count 1.0" in body
    assert "fengqiao_rasa_seconds_count 2.0" in body
