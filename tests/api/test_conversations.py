"""Resident routes: status first, then body; every error path says what was tried."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, update
from starlette.websockets import WebSocketDisconnect

from api.models import Conversation, as_utc, utcnow
from tests.api.conftest import auth

CITED = [
    {"text": "根据检索到的法律规定……"},
    {
        "custom": {
            "citations": [
                {
                    "kind": "statute",
                    "law": "中华人民共和国劳动法",
                    "article_no": "第五十条",
                    "text": "工资应当以货币形式按月支付给劳动者本人。",
                    "status": "现行有效",
                    "score": 9.1,
                }
            ]
        }
    },
]


def test_create_without_body(client):
    resp = client.post("/api/conversations")
    assert resp.status_code == 201
    body = resp.json()
    assert len(body["conversation_id"]) == 32 and len(body["token"]) >= 40


def test_create_rejects_unknown_fields(client):
    resp = client.post("/api/conversations", json={"regoin": "浙江"})
    assert resp.status_code == 422


def test_message_round_trip_with_citations(client, rasa, conversation):
    rasa.answers = CITED
    resp = client.post(
        f"/api/conversations/{conversation['conversation_id']}/messages",
        json={"text": "  老板拖欠我三个月工资怎么办  "},
        headers=auth(conversation),
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["mode"] == "bot"
    assert len(body["replies"]) == 1
    reply = body["replies"][0]
    assert reply["text"] == "根据检索到的法律规定……"
    assert reply["citations"][0]["law"] == "中华人民共和国劳动法"
    assert reply["citations"][0]["article_no"] == "第五十条"
    # Rasa got the trimmed text, the conversation id as sender, and the resident's region.
    assert rasa.calls == [
        (conversation["conversation_id"], "老板拖欠我三个月工资怎么办", {"region": "浙江省绍兴市"})
    ]


def test_transcript_keeps_both_sides_in_order(client, rasa, conversation):
    rasa.answers = CITED
    cid = conversation["conversation_id"]
    client.post(f"/api/conversations/{cid}/messages", json={"text": "你好"}, headers=auth(conversation))
    resp = client.get(f"/api/conversations/{cid}", headers=auth(conversation))
    assert resp.status_code == 200
    body = resp.json()
    assert body["mode"] == "bot" and body["region"] == "浙江省绍兴市"
    assert [(m["sender"], m["text"]) for m in body["messages"]] == [
        ("resident", "你好"),
        ("bot", "根据检索到的法律规定……"),
    ]
    assert body["messages"][1]["citations"][0]["article_no"] == "第五十条"


def test_token_as_query_parameter(client, conversation):
    cid = conversation["conversation_id"]
    resp = client.get(f"/api/conversations/{cid}?token={conversation['token']}")
    assert resp.status_code == 200


def test_no_token(client, conversation):
    resp = client.get(f"/api/conversations/{conversation['conversation_id']}")
    assert resp.status_code == 401
    assert resp.json()["detail"] == "conversation token required"


def test_wrong_token_and_token_of_another_conversation(client, conversation):
    other = client.post("/api/conversations").json()
    cid = conversation["conversation_id"]
    for token in ("nonsense", other["token"]):
        resp = client.post(
            f"/api/conversations/{cid}/messages",
            json={"text": "你好"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert resp.status_code == 403


def test_unknown_conversation(client, conversation):
    resp = client.get("/api/conversations/does-not-exist", headers=auth(conversation))
    assert resp.status_code == 404


def test_empty_blank_and_huge_messages_are_refused(client, rasa, conversation):
    cid = conversation["conversation_id"]
    for text in ("", "   \n\t ", "字" * 2001):
        resp = client.post(
            f"/api/conversations/{cid}/messages", json={"text": text}, headers=auth(conversation)
        )
        assert resp.status_code == 422, text[:10]
    ok = client.post(
        f"/api/conversations/{cid}/messages", json={"text": "字" * 2000}, headers=auth(conversation)
    )
    assert ok.status_code == 200
    assert len(rasa.calls) == 1


def test_wrong_json(client, conversation):
    cid = conversation["conversation_id"]
    url = f"/api/conversations/{cid}/messages"
    headers = auth(conversation) | {"Content-Type": "application/json"}
    assert client.post(url, content=b"{not json", headers=headers).status_code == 422
    assert client.post(url, json={"message": "你好"}, headers=auth(conversation)).status_code == 422
    assert client.post(url, json={"text": 42}, headers=auth(conversation)).status_code == 422
    assert client.post(url, json=["你好"], headers=auth(conversation)).status_code == 422


def test_rasa_down_gives_an_apology_and_keeps_the_message(client, rasa, conversation):
    rasa.down = True
    cid = conversation["conversation_id"]
    resp = client.post(
        f"/api/conversations/{cid}/messages", json={"text": "借钱不还怎么办"}, headers=auth(conversation)
    )
    assert resp.status_code == 200
    assert "暂时无法回复" in resp.json()["replies"][0]["text"]
    transcript = client.get(f"/api/conversations/{cid}", headers=auth(conversation)).json()["messages"]
    assert [m["sender"] for m in transcript] == ["resident", "bot"]
    assert transcript[0]["text"] == "借钱不还怎么办"


def test_action_server_down_gives_a_specific_apology_then_recovers(client, rasa, conversation):
    cid = conversation["conversation_id"]
    rasa.actions_down = True
    resp = client.post(
        f"/api/conversations/{cid}/messages", json={"text": "借钱不还怎么办"}, headers=auth(conversation)
    )
    assert resp.status_code == 200
    assert "检索服务暂时出了故障" in resp.json()["replies"][0]["text"]
    rasa.actions_down = False
    rasa.answers = CITED
    resp = client.post(
        f"/api/conversations/{cid}/messages", json={"text": "借钱不还怎么办"}, headers=auth(conversation)
    )
    assert resp.json()["replies"][0]["citations"][0]["article_no"] == "第五十条"


def test_empty_answer_with_healthy_actions(client, rasa, conversation):
    rasa.answers = []
    cid = conversation["conversation_id"]
    resp = client.post(f"/api/conversations/{cid}/messages", json={"text": "嗯"}, headers=auth(conversation))
    assert resp.status_code == 200
    assert "换个说法" in resp.json()["replies"][0]["text"]


def test_resident_page_is_served(client):
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "枫桥法律助手" in resp.text


# -- the resident's token expires after an idle time -----------------------------------------------------------------


def _set_times(app, cid, **values):
    with app.state.db.sessions() as s:
        s.execute(update(Conversation).where(Conversation.id == cid).values(**values))
        s.commit()


def _row(app, cid):
    with app.state.db.sessions() as s:
        return s.get(Conversation, cid)


def test_a_token_idle_for_longer_than_the_setting_is_refused_everywhere(client, app, rasa, conversation):
    """Tried: every resident route and the resident socket, after the conversation was idle 8 days (7 allowed),
    then a fresh conversation."""
    cid = conversation["conversation_id"]
    assert app.state.settings.resident_token_idle_s == 7 * 24 * 3600
    _set_times(app, cid, last_active_at=utcnow() - dt.timedelta(days=8))
    calls = [
        client.get(f"/api/conversations/{cid}", headers=auth(conversation)),
        client.post(
            f"/api/conversations/{cid}/messages", json={"text": "还在吗"}, headers=auth(conversation)
        ),
        client.post(f"/api/conversations/{cid}/handoff", json={}, headers=auth(conversation)),
    ]
    for resp in calls:
        assert resp.status_code == 401, resp.text
        assert (
            "conversation expired; start a new one" in resp.json()["detail"]
            and "会话已过期" in resp.json()["detail"]
        )
    assert rasa.calls == [] and _row(app, cid).mode == "bot"  # nothing stored, nobody asked
    with client.websocket_connect(f"/ws/conversations/{cid}?token={conversation['token']}") as ws:
        assert "conversation expired" in ws.receive_json()["detail"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401
    fresh = client.post("/api/conversations", json={}).json()
    assert (
        client.get(f"/api/conversations/{fresh['conversation_id']}", headers=auth(fresh)).status_code == 200
    )


def test_resident_activity_is_recorded_at_most_once_a_minute(client, app, conversation):
    """Tried: requests in quick succession (HTTP and the socket), then one after more than a minute; counted:
    the UPDATEs of the conversations table."""
    cid = conversation["conversation_id"]
    updates = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("UPDATE CONVERSATIONS"):
            updates.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", count)
    try:
        client.get(f"/api/conversations/{cid}", headers=auth(conversation))
        first = as_utc(_row(app, cid).last_active_at)
        assert first is not None and abs((utcnow() - first).total_seconds()) < 30
        for _ in range(5):
            client.get(f"/api/conversations/{cid}", headers=auth(conversation))
        with client.websocket_connect(f"/ws/conversations/{cid}?token={conversation['token']}") as ws:
            assert ws.receive_json()["type"] == "hello"
        assert len(updates) == 1 and as_utc(_row(app, cid).last_active_at) == first
        updated_at = as_utc(_row(app, cid).updated_at)
        _set_times(app, cid, last_active_at=utcnow() - dt.timedelta(minutes=2), updated_at=updated_at)
        updates.clear()
        client.get(f"/api/conversations/{cid}", headers=auth(conversation))
        assert len(updates) == 1
        row = _row(app, cid)
        assert (utcnow() - as_utc(row.last_active_at)).total_seconds() < 30
        assert as_utc(row.updated_at) == updated_at  # activity is not a change of the conversation
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", count)


def test_a_conversation_from_before_the_column_counts_from_updated_at(client, app, conversation):
    """Tried: last_active_at NULL, updated_at 8 days ago (refused); then NULL with updated_at recent (accepted,
    and from then on recorded)."""
    cid = conversation["conversation_id"]
    old = utcnow() - dt.timedelta(days=8)
    _set_times(app, cid, last_active_at=None, updated_at=old, created_at=old)
    assert client.get(f"/api/conversations/{cid}", headers=auth(conversation)).status_code == 401
    _set_times(app, cid, last_active_at=None, updated_at=utcnow() - dt.timedelta(days=1))
    assert client.get(f"/api/conversations/{cid}", headers=auth(conversation)).status_code == 200
    assert _row(app, cid).last_active_at is not None
