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
    resp = client.post(
        f"/api/conversations/{other['conversation_id']}/messages", json=body, headers=auth(other)
    )
    assert resp.json()["duplicate"] is False


def test_client_id_must_look_like_one(client):
    conv = new_conversation(client)
    for bad in ("short", "x" * 65, "has space here", "中文的编号中文的编号"):
        resp = client.post(
            f"/api/conversations/{conv['conversation_id']}/messages",
            json={"text": "你好", "client_id": bad},
            headers=auth(conv),
        )
        assert resp.status_code == 422, bad


@pytest.fixture
def strict_client(settings, rasa):
    with TestClient(
        create_app(
            settings.model_copy(update={"message_rate_per_minute": 3, "max_body_bytes": 2048}), rasa=rasa
        )
    ) as c:
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
    assert (
        strict_client.post(
            f"/api/conversations/{other['conversation_id']}/messages",
            json={"text": "你好"},
            headers=auth(other),
        ).status_code
        == 200
    )


def test_request_bodies_are_capped(strict_client):
    conv = new_conversation(strict_client)
    url = f"/api/conversations/{conv['conversation_id']}/messages"
    resp = strict_client.post(
        url,
        content=b'{"text": "' + b"a" * 4000 + b'"}',
        headers=auth(conv) | {"Content-Type": "application/json"},
    )
    assert resp.status_code == 413 and "larger than 2048 bytes" in resp.json()["detail"]

    def chunks():  # no Content-Length: counted while it streams
        yield b'{"text": "'
        for _ in range(10):
            yield b"b" * 500
        yield b'"}'

    resp = strict_client.post(
        url, content=chunks(), headers=auth(conv) | {"Content-Type": "application/json"}
    )
    assert resp.status_code == 413
    assert (
        strict_client.post(
            "/api/mediators/login", content=b"x" * 5000, headers={"Content-Type": "application/json"}
        ).status_code
        == 413
    )
    assert strict_client.post(url, json={"text": "正常大小"}, headers=auth(conv)).status_code == 200


# -- per client address (the peer; X-Forwarded-For only from a trusted proxy) ----------------------------------------


def client_from(address: str) -> dict[str, str]:
    """What the balancer adds; believed because these gateways trust the test client as their proxy."""
    return {"X-Forwarded-For": address}


@pytest.fixture
def per_client(settings, rasa):
    """A gateway whose per-client limits are small, behind a trusted 'proxy' (the test client)."""

    def make(**limits):
        return TestClient(
            create_app(settings.model_copy(update={"trusted_proxies": "testclient", **limits}), rasa=rasa)
        )

    return make


def stored_conversations(client) -> int:
    from sqlalchemy import func, select

    from api.models import Conversation

    with client.app.state.db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Conversation))


def stored_messages(client) -> int:
    from sqlalchemy import func, select

    from api.models import Message

    with client.app.state.db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Message))


def test_conversations_are_limited_per_client_address(per_client):
    """Tried: a fourth conversation from one address within 10 minutes when three are allowed; another address."""
    with per_client(client_conversations_per_10_min=3) as c:
        for _ in range(3):
            assert (
                c.post("/api/conversations", json={}, headers=client_from("198.51.100.7")).status_code == 201
            )
        refused = c.post("/api/conversations", json={}, headers=client_from("198.51.100.7"))
        assert refused.status_code == 429
        assert 500 < int(refused.headers["Retry-After"]) <= 600
        detail = refused.json()["detail"]
        assert "新开咨询太频繁" in detail and "Too many new conversations" in detail and "at most 3" in detail
        assert stored_conversations(c) == 3  # nothing stored
        assert c.post("/api/conversations", json={}, headers=client_from("198.51.100.8")).status_code == 201


def test_more_conversations_do_not_multiply_a_clients_message_rate(per_client, rasa):
    """Tried: 3 messages a minute per conversation, 4 per address; the fifth message goes to a second
    conversation that is itself far from its own limit."""
    with per_client(message_rate_per_minute=3, client_messages_per_minute=4) as c:
        here = client_from("198.51.100.7")
        first, second = (c.post("/api/conversations", json={}, headers=here).json() for _ in range(2))
        for conv, n in ((first, 3), (second, 1)):
            for i in range(n):
                resp = c.post(
                    f"/api/conversations/{conv['conversation_id']}/messages",
                    json={"text": f"问题{i}"},
                    headers=auth(conv) | here,
                )
                assert resp.status_code == 200, resp.text
        before = stored_messages(c)
        refused = c.post(
            f"/api/conversations/{second['conversation_id']}/messages",
            json={"text": "再问一个"},
            headers=auth(second) | here,
        )
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "Too many messages from this address" in refused.json()["detail"]
        assert stored_messages(c) == before and len(rasa.calls) == 4
        # Another address (another household behind another NAT) is not held back.
        third = c.post("/api/conversations", json={}, headers=client_from("198.51.100.9")).json()
        assert (
            c.post(
                f"/api/conversations/{third['conversation_id']}/messages",
                json={"text": "你好"},
                headers=auth(third) | client_from("198.51.100.9"),
            ).status_code
            == 200
        )


def test_requests_for_a_mediator_are_limited_per_client_address(per_client, rasa):
    """Tried: three handoff requests from one address when two are allowed, by the 找调解员 route and by the
    /request_human payload; asking again in a conversation that already waits is no new request."""
    with per_client(client_handoffs_per_10_min=2) as c:
        here = client_from("198.51.100.7")
        convs = [c.post("/api/conversations", json={}, headers=here).json() for _ in range(4)]
        for conv in convs[:2]:
            resp = c.post(
                f"/api/conversations/{conv['conversation_id']}/handoff", json={}, headers=auth(conv) | here
            )
            assert resp.status_code == 201
        again = c.post(
            f"/api/conversations/{convs[0]['conversation_id']}/handoff",
            json={},
            headers=auth(convs[0]) | here,
        )
        assert again.status_code == 200  # already waiting: not counted, not refused
        refused = c.post(
            f"/api/conversations/{convs[2]['conversation_id']}/handoff",
            json={},
            headers=auth(convs[2]) | here,
        )
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 500
        assert (
            "转人工的请求太多" in refused.json()["detail"]
            and "requests for a mediator" in refused.json()["detail"]
        )
        before = stored_messages(c)
        by_payload = c.post(
            f"/api/conversations/{convs[3]['conversation_id']}/messages",
            json={"text": "/request_human", "display": "转人工调解员"},
            headers=auth(convs[3]) | here,
        )
        assert by_payload.status_code == 429 and stored_messages(c) == before and rasa.calls == []
        for conv in convs[2:]:
            assert (
                c.get(f"/api/conversations/{conv['conversation_id']}", headers=auth(conv)).json()["mode"]
                == "bot"
            )


def test_searches_are_limited_per_client_address_and_k_counts(per_client):
    """Tried: 12 search units a minute: a k=100 search costs 10, so a second one is refused while two of k=10
    still pass; then the next k=10 is refused too."""
    with per_client(client_search_cost_per_minute=12) as c:
        here = client_from("198.51.100.7")
        assert c.get("/api/search", params={"q": "工资", "k": 100}, headers=here).status_code == 200
        heavy = c.get("/api/search", params={"q": "工资", "k": 100}, headers=here)
        assert heavy.status_code == 429 and int(heavy.headers["Retry-After"]) >= 1
        assert "检索太频繁" in heavy.json()["detail"] and "ceil(k/10)" in heavy.json()["detail"]
        for _ in range(2):
            assert c.get("/api/search", params={"q": "工资"}, headers=here).status_code == 200
        assert c.get("/api/search", params={"q": "工资"}, headers=here).status_code == 429
        assert (
            c.get("/api/search", params={"q": "工资"}, headers=client_from("198.51.100.8")).status_code == 200
        )


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(settings, rasa):
    """Tried: a client that names other addresses in X-Forwarded-For, straight to the gateway (not trusted:
    still one client) and through the trusted balancer, which appends the real address (the rightmost
    untrusted one counts, so a forged prefix does not help)."""
    direct = settings.model_copy(update={"client_conversations_per_10_min": 1})
    with TestClient(create_app(direct, rasa=rasa)) as c:  # trusts 127.0.0.1 only; the peer is "testclient"
        assert c.post("/api/conversations", json={}, headers=client_from("203.0.113.1")).status_code == 201
        assert c.post("/api/conversations", json={}, headers=client_from("203.0.113.2")).status_code == 429
    behind = direct.model_copy(update={"trusted_proxies": "testclient,10.0.0.0/8"})
    with TestClient(create_app(behind, rasa=rasa)) as c:
        assert c.post("/api/conversations", json={}, headers=client_from("203.0.113.1")).status_code == 201
        forged = c.post("/api/conversations", json={}, headers=client_from("203.0.113.99, 203.0.113.1"))
        assert forged.status_code == 429
        via_two_proxies = c.post("/api/conversations", json={}, headers=client_from("203.0.113.1, 10.1.2.3"))
        assert via_two_proxies.status_code == 429
        assert c.post("/api/conversations", json={}, headers=client_from("203.0.113.2")).status_code == 201


def test_rate_limiter_counts_a_heavier_request_as_several():
    from api.limits import RateLimiter

    now = [0.0]
    limiter = RateLimiter(10, 60, clock=lambda: now[0])
    assert limiter.hit("c", cost=4) == 0
    now[0] = 10
    assert limiter.hit("c", cost=4) == 0
    assert limiter.hit("c", cost=4) == pytest.approx(
        50
    )  # room again when the first four have left the window
    assert limiter.hit("c", cost=2) == 0 and limiter.hit("c") == pytest.approx(50)
    assert (
        limiter.hit("other", cost=100) == 0
    )  # more than the limit costs the whole limit, never refused forever
