"""The WebSockets: who may connect, and what each side hears."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import CITED_ANSWER, auth, hand_off, handoff_id_of, new_conversation


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def until(ws, kind: str, **match):
    """The next event of this type (and with these fields), skipping others."""
    for _ in range(50):
        event = ws.receive_json()
        if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
            return event
    raise AssertionError(f"no {kind} event")


def refused(client, url) -> tuple[int, str]:
    with client.websocket_connect(url) as ws:
        event = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
    return exc.value.code, event["detail"]


def test_resident_socket_needs_the_conversation_token(client):
    conv = new_conversation(client)
    cid = conv["conversation_id"]
    other = new_conversation(client)
    assert refused(client, f"/ws/conversations/{cid}") == (4401, "conversation token required")
    assert refused(client, f"/ws/conversations/{cid}?token=nope")[0] == 4403
    assert refused(client, f"/ws/conversations/{cid}?token={other['token']}")[0] == 4403
    assert refused(client, f"/ws/conversations/unknown?token={conv['token']}")[0] == 4404


def test_mediator_socket_needs_a_valid_login(client, mediator):
    assert refused(client, "/ws/mediators")[0] == 4401
    assert refused(client, "/ws/mediators?token=nope")[0] == 4401
    conv = new_conversation(client)
    assert refused(client, f"/ws/mediators?token={conv['token']}")[0] == 4401
    client.post("/api/mediators/logout", headers=mediator)
    assert refused(client, f"/ws/mediators?token={token_of(mediator)}")[0] == 4401


def test_resident_hears_messages_mode_changes_queue_and_the_mediator(client, rasa, mediator):
    conv = new_conversation(client)
    cid = conv["conversation_id"]
    with client.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["mode"] == "bot" and hello["queue"] is None

        rasa.answers = CITED_ANSWER
        client.post(f"/api/conversations/{cid}/messages", json={"text": "老板拖欠工资", "client_id": "c-1234567890"},
                    headers=auth(conv))
        mine = until(ws, "message")["message"]
        assert mine["sender"] == "resident" and mine["client_id"] == "c-1234567890"
        assert until(ws, "typing", **{"from": "bot"})["typing"] is True
        bot = until(ws, "message")["message"]
        assert bot["sender"] == "bot" and bot["citations"][0]["article_no"] == "第五十条"

        hand_off(client, rasa, conv)
        mode = until(ws, "mode")
        assert (mode["previous"], mode["mode"], mode["actor"]) == ("bot", "waiting", "bot")
        queue = until(ws, "queue")
        assert queue["position"] == 1 and queue["estimated_wait_s"] > 0

        # Another resident joins the queue ahead (urgent): this one's place moves.
        urgent = new_conversation(client)
        hand_off(client, rasa, urgent, priority="urgent", reason="emergency")
        assert until(ws, "queue")["position"] == 2

        hid = handoff_id_of(client, mediator, cid)
        client.post(f"/api/handoffs/{hid}/claim", headers=mediator)
        mode = until(ws, "mode")
        assert mode["mode"] == "mediator" and mode["mediator"] == "王调解员"
        client.post(f"/api/handoffs/{hid}/messages", json={"text": "您好，我是调解员"}, headers=mediator)
        said = until(ws, "message")["message"]
        while said["sender"] != "mediator":
            said = until(ws, "message")["message"]
        assert said["text"] == "您好，我是调解员" and said["mediator"] == "王调解员"
        client.post(f"/api/handoffs/{hid}/release", headers=mediator)
        assert until(ws, "mode")["mode"] == "bot"


def test_reconnect_with_after_replays_what_was_missed(client, rasa):
    conv = new_conversation(client)
    cid = conv["conversation_id"]
    rasa.answers = [{"text": "第一条回复"}]
    first = client.post(f"/api/conversations/{cid}/messages", json={"text": "一"}, headers=auth(conv)).json()
    seen = first["replies"][0]["id"]
    rasa.answers = [{"text": "第二条回复"}]
    client.post(f"/api/conversations/{cid}/messages", json={"text": "二"}, headers=auth(conv))
    with client.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}&after={seen}") as ws:
        hello = ws.receive_json()
    assert [m["text"] for m in hello["messages"]] == ["二", "第二条回复"]


def test_mediator_hears_new_handoffs_watched_conversations_and_typing(client, rasa, mediator):
    conv = new_conversation(client)
    cid = conv["conversation_id"]
    with client.websocket_connect(f"/ws/mediators?token={token_of(mediator)}") as mws:
        assert mws.receive_json() == {"type": "hello", "mediator": "王调解员"}
        hand_off(client, rasa, conv, priority="urgent", reason="emergency")
        event = until(mws, "handoff")
        assert event["action"] == "created" and event["conversation_id"] == cid and event["priority"] == "urgent"
        assert until(mws, "queue")["waiting"] == 1

        mws.send_json({"type": "watch", "conversation_id": "no-such-conversation"})
        assert until(mws, "error")["detail"] == "no handoff for this conversation"
        mws.send_json({"type": "watch", "conversation_id": cid})
        assert until(mws, "watching")["conversation_id"] == cid

        hid = handoff_id_of(client, mediator, cid)
        client.post(f"/api/handoffs/{hid}/claim", headers=mediator)
        assert until(mws, "handoff")["action"] == "claimed"
        with client.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}") as rws:
            rws.receive_json()
            client.post(f"/api/conversations/{cid}/messages", json={"text": "我有工资条"}, headers=auth(conv))
            msg = until(mws, "message")
            assert msg["conversation_id"] == cid and msg["message"]["text"] == "我有工资条"

            rws.send_json({"type": "typing"})
            assert until(mws, "typing")["from"] == "resident"
            mws.send_json({"type": "typing", "conversation_id": cid})
            typing = until(rws, "typing", **{"from": "mediator"})
            assert typing["name"] == "王调解员"
            rws.send_text("not json")  # ignored, the socket stays open
            rws.send_json({"type": "ping"})
            assert until(rws, "pong") == {"type": "pong"}


def test_a_mediator_who_does_not_own_the_conversation_cannot_type_into_it(client, rasa, mediator, other_mediator):
    conv = new_conversation(client)
    cid = conv["conversation_id"]
    hand_off(client, rasa, conv)
    client.post(f"/api/handoffs/{handoff_id_of(client, mediator, cid)}/claim", headers=mediator)
    with client.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}") as rws, \
            client.websocket_connect(f"/ws/mediators?token={token_of(other_mediator)}") as mws:
        rws.receive_json()
        mws.receive_json()
        mws.send_json({"type": "typing", "conversation_id": cid})
        mws.send_json({"type": "ping"})
        until(mws, "pong")
        rws.send_json({"type": "ping"})
        assert rws.receive_json() == {"type": "pong"}  # nothing came before the pong: no typing event
