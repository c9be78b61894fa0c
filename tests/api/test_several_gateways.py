"""Two gateways on one PostgreSQL database and one Redis (a throwaway server of each): live events, rate limits
and claims hold across them, and a Redis restart costs a reconnect, not a message."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.limits import Ladder, RedisBackOff, RedisRateLimiter
from api.main import create_app
from fengqiao.redis_server import RedisServer
from tests.api.conftest import (
    ScriptedRasa,
    auth,
    hand_off,
    handoff_id_of,
    login,
    make_mediator,
    new_conversation,
)
from tests.api.test_live import until

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def database_url(postgres):
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture
def gateways(settings, redis_server, precedent_sink):
    """Gateway A and gateway B, each with its own scripted Rasa, as two processes behind a balancer would be."""
    shared = settings.model_copy(update={"redis_url": redis_server.url, "message_rate_per_minute": 3})
    apps = [
        create_app(shared, rasa=ScriptedRasa(), add_precedent=precedent_sink),
        create_app(
            shared.model_copy(update={"run_migrations_on_start": False}),
            rasa=ScriptedRasa(),
            add_precedent=precedent_sink,
        ),
    ]
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        for app in apps:
            wait_for(app.state.bus.connected.is_set)
        yield apps, a, b


def wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_a_resident_on_gateway_a_hears_a_mediator_on_gateway_b(gateways):
    (app_a, app_b), a, b = gateways
    conv = new_conversation(a)
    cid = conv["conversation_id"]
    hand_off(a, app_a.state.rasa, conv)
    make_mediator(app_b, "wang", display_name="王调解员")
    mediator = login(b, "wang")
    hid = handoff_id_of(b, mediator, cid)
    with a.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}") as ws:
        assert ws.receive_json()["type"] == "hello"
        assert b.post(f"/api/handoffs/{hid}/claim", headers=mediator).status_code == 200
        mode = until(ws, "mode")
        assert mode["mode"] == "mediator" and mode["mediator"] == "王调解员"
        assert (
            b.post(
                f"/api/handoffs/{hid}/messages", json={"text": "您好，我是调解员"}, headers=mediator
            ).status_code
            == 201
        )
        said = until(ws, "message")["message"]
        while said["sender"] != "mediator":
            said = until(ws, "message")["message"]
        assert said["text"] == "您好，我是调解员"


def test_a_claim_is_race_free_across_gateways(gateways):
    (app_a, app_b), a, b = gateways
    conv = new_conversation(a)
    hand_off(a, app_a.state.rasa, conv)
    make_mediator(app_a, "wang")
    make_mediator(app_a, "li")
    wang, li = login(a, "wang"), login(b, "li")
    hid = handoff_id_of(a, wang, conv["conversation_id"])
    results = sorted(
        [
            a.post(f"/api/handoffs/{hid}/claim", headers=wang).status_code,
            b.post(f"/api/handoffs/{hid}/claim", headers=li).status_code,
        ]
    )
    assert results == [200, 409]


def test_the_message_rate_limit_counts_across_gateways(gateways):
    _, a, b = gateways
    conv = new_conversation(a)
    url = f"/api/conversations/{conv['conversation_id']}/messages"
    assert [c.post(url, json={"text": "你好"}, headers=auth(conv)).status_code for c in (a, b, a)] == [
        200
    ] * 3
    refused = b.post(url, json={"text": "你好"}, headers=auth(conv))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_a_redis_restart_costs_a_reconnect_not_a_message(gateways, redis_server):
    (app_a, app_b), a, b = gateways
    conv = new_conversation(a)
    cid = conv["conversation_id"]
    hand_off(a, app_a.state.rasa, conv)
    make_mediator(app_b, "wang")
    mediator = login(b, "wang")
    hid = handoff_id_of(b, mediator, cid)
    b.post(f"/api/handoffs/{hid}/claim", headers=mediator)
    with a.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}") as ws:
        hello = ws.receive_json()
        last_seen = max([m["id"] for m in hello.get("messages", [])] or [0])
        redis_server.kill()
        wait_for(lambda: not app_a.state.bus.connected.is_set())
        # Sent while Redis is down: stored, and published to gateway B's own clients only.
        assert (
            b.post(
                f"/api/handoffs/{hid}/messages", json={"text": "停电时发的话"}, headers=mediator
            ).status_code
            == 201
        )
        redis_server.start()
        # Once Redis is back the resident's socket is ended, so the widget reconnects and catches up.
        with pytest.raises(WebSocketDisconnect):
            for _ in range(100):
                ws.receive_json()
    with a.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}&after={last_seen}") as ws:
        missed = ws.receive_json()["messages"]
    assert "停电时发的话" in [m["text"] for m in missed]
    wait_for(app_b.state.bus.connected.is_set)
    with a.websocket_connect(f"/ws/conversations/{cid}?token={conv['token']}") as ws:
        ws.receive_json()
        b.post(f"/api/handoffs/{hid}/messages", json={"text": "恢复后的话"}, headers=mediator)
        said = until(ws, "message")["message"]
        assert said["text"] == "恢复后的话"


def test_per_client_limits_and_login_back_off_count_across_gateways(settings, redis_server, precedent_sink):
    """Tried: one address alternating between gateway A and gateway B: conversations (2 allowed), search units
    (k=100 costs 10 of 15), wrong logins (2 free, then a wait), all counted in Redis."""
    import uuid

    limited = settings.model_copy(
        update={
            "redis_url": redis_server.url,
            "trusted_proxies": "testclient",
            "client_conversations_per_10_min": 2,
            "client_search_cost_per_minute": 15,
            "login_failures_per_window": 2,
        }
    )
    apps = [
        create_app(limited, rasa=ScriptedRasa(), add_precedent=precedent_sink),
        create_app(
            limited.model_copy(update={"run_migrations_on_start": False}),
            rasa=ScriptedRasa(),
            add_precedent=precedent_sink,
        ),
    ]
    # An address of its own: the Redis server outlives this test, and so would its counts.
    here = {"X-Forwarded-For": f"2001:db8::{uuid.uuid4().hex[:4]}"}
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        assert [c.post("/api/conversations", json={}, headers=here).status_code for c in (a, b, a)] == [
            201,
            201,
            429,
        ]
        assert b.post("/api/conversations", json={}, headers=here).status_code == 429
        assert a.get("/api/search", params={"q": "工资", "k": 100}, headers=here).status_code == 200
        assert b.get("/api/search", params={"q": "工资", "k": 100}, headers=here).status_code == 429
        assert b.get("/api/search", params={"q": "工资", "k": 50}, headers=here).status_code == 200
        make_mediator(apps[0], "wang")
        wrong = {"username": "wang", "password": "not it"}
        assert [c.post("/api/mediators/login", json=wrong, headers=here).status_code for c in (a, b)] == [
            401,
            401,
        ]
        refused = a.post("/api/mediators/login", json=wrong, headers=here)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        time.sleep(1.1)
        assert (
            b.post(
                "/api/mediators/login",
                json={"username": "wang", "password": "correct horse battery"},
                headers=here,
            ).status_code
            == 200
        )


def test_redis_limits_count_heavier_requests_and_back_off(redis_server):
    name = uuid.uuid4().hex
    limiter = RedisRateLimiter(redis_server.url, name, 10, 60)
    assert limiter.hit("c", cost=4) == 0 and limiter.hit("c", cost=4) == 0
    assert limiter.hit("c", cost=4) > 59 and limiter.hit("c", cost=2) == 0 and limiter.hit("c") > 59
    assert limiter.hit("d", cost=50) == 0  # more than the limit costs the whole limit
    backoff = RedisBackOff(
        redis_server.url, name, {"client": Ladder(2, 8), "name": Ladder(2, 2)}, forget_s=60
    )
    keys = {"client": "a", "name": "n"}
    assert [backoff.attempt(keys) for _ in range(2)] == [0, 0]
    assert 0.9 <= backoff.attempt(keys) <= 1.0
    time.sleep(1.05)
    assert backoff.attempt(keys) == 0 and 1.9 <= backoff.blocked_for(keys) <= 2.0
    backoff.refund(keys)
    assert 0.5 <= backoff.blocked_for(keys) <= 1.0
    backoff.reset({"name": "n"})
    assert 0.5 <= backoff.blocked_for({"name": "n", "client": "a"}) <= 1.0  # the address still waits
    backoff.reset(keys)
    assert backoff.blocked_for(keys) == 0


def test_logout_disable_and_password_change_on_gateway_b_close_console_sockets_on_gateway_a(gateways):
    """Through Redis: wang has three logins with a console socket each on gateway A. A password change from the
    first on gateway B closes the other two sockets on A (4401, reason "password") and keeps the first; a logout
    of the first on B closes it too; after a new login, disabling wang on B closes that one. Before, a socket on
    A never heard of what B did."""
    (app_a, app_b), a, b = gateways
    make_mediator(app_a, "wang", display_name="王调解员")
    make_mediator(app_a, "boss", admin=True)
    logins = [login(a, "wang") for _ in range(3)]

    def socket(headers):
        ws = a.websocket_connect(f"/ws/mediators?token={headers['Authorization'].removeprefix('Bearer ')}")
        ws.__enter__()
        assert ws.receive_json()["type"] == "hello"
        return ws

    def closed(ws) -> tuple[int, str | None]:
        reason = None
        with pytest.raises(WebSocketDisconnect) as exc:
            for _ in range(100):
                event = ws.receive_json()
                reason = event.get("reason") if event["type"] == "error" else reason
        return exc.value.code, reason

    sockets = [socket(h) for h in logins]
    try:
        resp = b.post(
            "/api/mediators/me/password",
            json={"current_password": "correct horse battery", "new_password": "another-password"},
            headers=logins[0],
        )
        assert resp.status_code == 200
        assert resp.json() == {"changed": True, "sessions_ended": 2}
        assert [closed(ws) for ws in sockets[1:]] == [(4401, "password")] * 2
        sockets[0].send_json({"type": "ping"})
        assert until(sockets[0], "pong") == {"type": "pong"}
        assert b.post("/api/mediators/logout", headers=logins[0]).status_code == 204
        assert closed(sockets[0]) == (4401, "logout")

        fresh = login(a, "wang", "another-password")
        sockets.append(socket(fresh))
        wang = b.get("/api/mediators/me", headers=fresh).json()
        resp = b.patch(f"/api/mediators/{wang['id']}", json={"active": False}, headers=login(b, "boss"))
        assert resp.status_code == 200
        assert closed(sockets[-1]) == (4401, "disabled")
    finally:
        for ws in sockets:
            ws.__exit__(None, None, None)
