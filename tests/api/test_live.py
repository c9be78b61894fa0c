"""The WebSockets: who may connect, and what each side hears."""

from __future__ import annotations

import json

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
        client.post(
            f"/api/conversations/{cid}/messages",
            json={"text": "老板拖欠工资", "client_id": "c-1234567890"},
            headers=auth(conv),
        )
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
        assert (
            event["action"] == "created" and event["conversation_id"] == cid and event["priority"] == "urgent"
        )
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


def test_a_mediator_who_does_not_own_the_conversation_cannot_type_into_it(
    client, rasa, mediator, other_mediator
):
    conv = new_conversation(client)
    cid = conv["conversation_id"]
    hand_off(client, rasa, conv)
    client.post(f"/api/handoffs/{handoff_id_of(client, mediator, cid)}/claim", headers=mediator)
    with (
        client.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}") as rws,
        client.websocket_connect(f"/ws/mediators?token={token_of(other_mediator)}") as mws,
    ):
        rws.receive_json()
        mws.receive_json()
        mws.send_json({"type": "typing", "conversation_id": cid})
        mws.send_json({"type": "ping"})
        until(mws, "pong")
        rws.send_json({"type": "ping"})
        assert rws.receive_json() == {"type": "pong"}  # nothing came before the pong: no typing event


# ---------------------------------------------------------------------------------------------------------------
# Input limits


def closed_with(ws) -> tuple[int, list[dict]]:
    """The events before the socket closed, and its close code. A ping is sent first: a socket that stayed open
    answers it, and the test fails instead of waiting for ever."""
    ws.send_json({"type": "ping"})
    events = []
    with pytest.raises(WebSocketDisconnect) as exc:
        for _ in range(500):
            event = ws.receive_json()
            assert event["type"] != "pong", "the socket stayed open"
            events.append(event)
    return exc.value.code, events


@pytest.fixture
def frozen_clock(monkeypatch):
    """The sockets' limits read this clock: `now[0]` is the time, moved by hand."""
    from api.routes import live

    now = [1000.0]
    monkeypatch.setattr(live, "_clock", lambda: now[0], raising=False)
    return now


def socket_urls(client, rasa, mediator) -> list[str]:
    conv = new_conversation(client)
    return [
        f"/ws/conversations/{conv['conversation_id']}?token={conv['token']}",
        f"/ws/mediators?token={token_of(mediator)}",
    ]


def test_a_text_frame_over_the_limit_closes_with_1009(client, rasa, mediator):
    """Tried on both sockets: a frame one byte over MAX_CLIENT_FRAME (bytes, not characters: 1366 Chinese
    characters are 4098 bytes) closes with 1009 after an error event; before, it was read and silently ignored and
    the socket stayed open. A frame of exactly the limit is still taken."""
    from api.routes.live import MAX_CLIENT_FRAME

    for url in socket_urls(client, rasa, mediator):
        for too_big in ("x" * (MAX_CLIENT_FRAME + 1), "字" * 1366):
            with client.websocket_connect(url) as ws:
                ws.receive_json()  # hello
                padded = '{"type": "ping", "pad": "%s"}' % ("y" * (MAX_CLIENT_FRAME - 27))
                assert len(padded.encode()) == MAX_CLIENT_FRAME
                ws.send_text(padded)
                assert until(ws, "pong") == {"type": "pong"}
                ws.send_text(too_big)
                code, events = closed_with(ws)
                assert code == 1009, url
                assert events[-1]["type"] == "error" and "too big" in events[-1]["detail"]


def test_a_binary_frame_closes_with_1003(client, rasa, mediator):
    """Tried on both sockets: a binary frame closes with 1003 (unsupported data) after an error event saying that
    only JSON text is taken; before, `receive_text()` raised on it and the socket ended with an internal error."""
    for url in socket_urls(client, rasa, mediator):
        with client.websocket_connect(url) as ws:
            ws.receive_json()
            ws.send_bytes(b'{"type": "ping"}')
            code, events = closed_with(ws)
            assert code == 1003, url
            assert events[-1]["type"] == "error" and "binary" in events[-1]["detail"]


def test_events_beyond_the_rate_are_dropped_and_a_flood_closes_with_1008(
    client, rasa, mediator, frozen_clock
):
    """Tried on both sockets with the clock stopped: of 25 pings sent at once, the burst (20) is answered, one
    error event says the rest were dropped, the others get nothing; a second later 10 more are allowed. A socket
    that keeps sending (more than FLOOD_FACTOR x the rate within FLOOD_WINDOW_S) is closed with 1008. Before,
    every event was handled, at any rate."""
    from api.routes.live import EVENT_BURST, EVENTS_PER_S, FLOOD_FACTOR, FLOOD_WINDOW_S

    for url in socket_urls(client, rasa, mediator):
        with client.websocket_connect(url) as ws:
            ws.receive_json()
            for _ in range(EVENT_BURST + 5):
                ws.send_json({"type": "ping"})
            for _ in range(EVENT_BURST):
                assert ws.receive_json() == {"type": "pong"}
            dropped = ws.receive_json()
            assert dropped["type"] == "error" and "dropped" in dropped["detail"]
            frozen_clock[0] += 1.0
            for _ in range(int(EVENTS_PER_S)):
                ws.send_json({"type": "ping"})
            for _ in range(int(EVENTS_PER_S)):
                assert ws.receive_json() == {"type": "pong"}  # nothing else came between: no error, no drop

            sent = EVENT_BURST + 5 + int(EVENTS_PER_S)
            for _ in range(int(FLOOD_FACTOR * EVENTS_PER_S * FLOOD_WINDOW_S) + 1 - sent):
                ws.send_json({"type": "typing"})
            code, events = closed_with(ws)
            assert code == 1008, url
            assert events[-1] == {"type": "error", "detail": "too many events; connection closed"}


def test_typing_fan_out_is_throttled(client, rasa, mediator, app, frozen_clock, monkeypatch):
    """A resident and the mediator who owns the conversation each send a burst of typing events: at most one
    typing fan-out per TYPING_EVERY_S reaches the conversation from each socket (plus one "stopped" after a
    "typing"); before, every typing event was published."""
    from api.routes.live import TYPING_EVERY_S

    published: list[dict] = []
    bus = app.state.bus
    real = bus.publish

    def recording(channel, event):
        if event.get("type") == "typing":
            published.append(event)
        real(channel, event)

    monkeypatch.setattr(bus, "publish", recording)
    conv = new_conversation(client)
    cid = conv["conversation_id"]
    hand_off(client, rasa, conv)
    client.post(f"/api/handoffs/{handoff_id_of(client, mediator, cid)}/claim", headers=mediator)
    published.clear()  # the bot's
    with (
        client.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}") as rws,
        client.websocket_connect(f"/ws/mediators?token={token_of(mediator)}") as mws,
    ):
        rws.receive_json()
        mws.receive_json()
        for ws, typing in ((rws, {"type": "typing"}), (mws, {"type": "typing", "conversation_id": cid})):
            for _ in range(8):
                ws.send_json(typing)
            ws.send_json(typing | {"typing": False})  # the stop after a start still goes out
            ws.send_json(typing)
            ws.send_json(typing | {"typing": False})
            ws.send_json({"type": "ping"})
            until(ws, "pong")  # the events before it have been handled
        assert [(e["from"], e["typing"]) for e in published] == [
            ("resident", True),
            ("resident", False),
            ("mediator", True),
            ("mediator", False),
        ]
        frozen_clock[0] += TYPING_EVERY_S
        rws.send_json({"type": "typing"})
        rws.send_json({"type": "ping"})
        until(rws, "pong")
        assert len(published) == 5


def test_the_gateway_server_refuses_a_1_mib_frame_before_reading_it(settings, app):
    """The gateway's uvicorn is started with `--ws-max-size` from the `ws_max_message_bytes` setting (64 KiB):
    a real server so configured closes on a 1 MiB frame with 1009 itself, before the application sees it (no
    error event of the gateway's own comes first). Before, uvicorn ran with its default of 16 MiB."""
    import threading
    import time

    import httpx
    import uvicorn
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from fengqiao.ports import free_port
    from fengqiao.supervisor import gateway_process

    argv = gateway_process(settings, echo=False).argv
    assert argv[argv.index("--ws-max-size") + 1] == str(settings.ws_max_message_bytes) == str(64 * 1024)

    port = free_port()

    class Server(uvicorn.Server):
        def install_signal_handlers(self) -> None:  # not the main thread
            pass

    server = Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws_max_size=settings.ws_max_message_bytes,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive()
            time.sleep(0.02)
        conv = httpx.post(f"http://127.0.0.1:{port}/api/conversations", json={}).json()
        url = f"ws://127.0.0.1:{port}/ws/conversations/{conv['conversation_id']}?token={conv['token']}"
        with connect(url) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            ws.send("x" * (1024 * 1024))
            with pytest.raises(ConnectionClosed) as exc:
                while True:
                    event = json.loads(ws.recv(timeout=10))
                    assert event["type"] not in ("error", "pong"), event  # the application never read it
            assert exc.value.rcvd is not None and exc.value.rcvd.code == 1009
    finally:
        server.should_exit = True
        thread.join(10)


def test_residents_see_the_mediators_display_name_never_the_username(client, rasa, app):
    """A mediator whose username (zhang_login77) differs from the display name claims, writes, releases, claims
    again and closes: nothing the resident reads (every socket frame, the transcript, a reconnect's replay) holds
    the username; mode events and system messages say `actor: "mediator"` and the display name. The audit log and
    the transitions table still name the username. Before, they carried `mediator:zhang_login77`."""
    from sqlalchemy import select

    from api.models import AuditEntry, Message, Transition
    from tests.api.conftest import login, make_mediator

    username = "zhang_login77"
    make_mediator(app, username, display_name="张调解员")
    headers = login(client, username)
    conv = new_conversation(client)
    cid = conv["conversation_id"]
    frames: list[str] = []

    def until_raw(ws, kind, **match):
        for _ in range(50):
            raw = ws.receive_text()
            frames.append(raw)
            event = json.loads(raw)
            if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
                return event
        raise AssertionError(f"no {kind} event")

    with client.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}") as ws:
        frames.append(ws.receive_text())
        modes = []
        for close in (False, True):
            hand_off(client, rasa, conv)
            hid = handoff_id_of(client, headers, cid)
            assert client.post(f"/api/handoffs/{hid}/claim", headers=headers).status_code == 200
            modes.append(until_raw(ws, "mode", mode="mediator"))
            assert (
                client.post(
                    f"/api/handoffs/{hid}/messages", json={"text": "您好"}, headers=headers
                ).status_code
                == 201
            )
            if close:
                resp = client.post(
                    f"/api/handoffs/{hid}/close",
                    json={"outcome": "调解成功", "summary": "已调解"},
                    headers=headers,
                )
                assert resp.status_code == 200
                modes.append(until_raw(ws, "mode", mode="closed"))
            else:
                assert client.post(f"/api/handoffs/{hid}/release", headers=headers).status_code == 200
                modes.append(until_raw(ws, "mode", mode="bot"))
        assert [(m["actor"], m["mediator"]) for m in modes] == [("mediator", "张调解员")] * 4
    with client.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}&after=0") as ws:
        frames.append(ws.receive_text())  # the replay
    transcript = client.get(f"/api/conversations/{cid}", headers=auth(conv))
    assert transcript.status_code == 200
    seen = "\n".join(frames) + transcript.text
    assert username not in seen
    moves = [m["event"]["mode"] for m in transcript.json()["messages"] if "mode" in (m.get("event") or {})]
    assert [(m["to"], m["actor"], m.get("mediator")) for m in moves if m["actor"] != "bot"] == [
        ("mediator", "mediator", "张调解员"),
        ("bot", "mediator", "张调解员"),
        ("mediator", "mediator", "张调解员"),
        ("closed", "mediator", "张调解员"),
    ]
    with app.state.db.sessions() as s:
        assert {t.actor for t in s.scalars(select(Transition).where(Transition.conversation_id == cid))} == {
            "bot",
            f"mediator:{username}",
        }
        assert f"mediator:{username}" in {e.actor for e in s.scalars(select(AuditEntry))}
        # A system message stored before names were kept out is shown without it as well.
        old = s.scalars(
            select(Message).where(Message.conversation_id == cid, Message.sender == "system")
        ).first()
        old.payload = {
            "event": {"mode": {"from": "waiting", "to": "mediator", "actor": f"mediator:{username}"}}
        }
        s.commit()
    assert username not in client.get(f"/api/conversations/{cid}", headers=auth(conv)).text
