"""The message path under load and faults: no connection held while the bot thinks, a bounded wait with 503 and
Retry-After beyond it (nothing stored), and every stored message answered even when its gateway died."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from api.main import create_app
from api.messaging import BUSY_DETAIL
from api.models import Message, utcnow
from tests.api.conftest import CITED_ANSWER, ScriptedRasa, auth, make_mediator, new_conversation


class SlowRasa(ScriptedRasa):
    """Holds every message until the test opens the gate; counts how many are with it at once."""

    def __init__(self):
        super().__init__(answers=CITED_ANSWER)
        self.gate = asyncio.Event()
        self.with_rasa = 0
        self.most_at_once = 0

    async def send(self, conversation_id, text, metadata=None):
        self.with_rasa += 1
        self.most_at_once = max(self.most_at_once, self.with_rasa)
        try:
            await self.gate.wait()
            return await super().send(conversation_id, text, metadata)
        finally:
            self.with_rasa -= 1


def stored(app) -> int:
    with app.state.db.sessions() as session:
        return len(session.scalars(select(Message.id).where(Message.sender == "resident")).all())


def gateway(settings, rasa, **overrides):
    return create_app(settings.model_copy(update=overrides), rasa=rasa, add_precedent=lambda *a: None)


async def post(http, conv, text, client_id):
    return await http.post(
        f"/api/conversations/{conv['conversation_id']}/messages",
        json={"text": text, "client_id": client_id},
        headers=auth(conv),
    )


async def new_conv(http):
    return (await http.post("/api/conversations", json={})).json()


def run(app, scenario):
    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
            return await scenario(http)

    return asyncio.run(main())


def test_no_database_connection_is_held_while_the_bot_thinks(settings):
    """30 residents at once, each message waiting for the bot: the pool (5 + 10 on SQLite) is not exhausted."""
    rasa = SlowRasa()
    app = gateway(settings, rasa, rasa_concurrency=4, max_pending_messages=100)

    async def scenario(http):
        convs = [await new_conv(http) for _ in range(30)]
        sends = [
            asyncio.create_task(post(http, c, "老板拖欠工资", f"client-{i:04d}")) for i, c in enumerate(convs)
        ]
        for _ in range(500):  # until all 30 are stored and waiting for the bot
            await asyncio.sleep(0.01)
            if rasa.with_rasa == 4 and stored(app) == 30:
                break
        await asyncio.sleep(0.2)
        held = app.state.db.engine.pool.checkedout()
        with_rasa = rasa.with_rasa
        rasa.gate.set()
        return held, with_rasa, await asyncio.gather(*sends)

    held, with_rasa, responses = run(app, scenario)
    assert held == 0
    assert with_rasa == 4 and rasa.most_at_once == 4  # the others wait in the gateway, in order
    assert [r.status_code for r in responses] == [200] * 30
    assert all(r.json()["replies"][0]["citations"] for r in responses)


def test_beyond_the_bound_a_message_gets_503_with_retry_after_and_is_not_stored(settings):
    rasa = SlowRasa()
    app = gateway(settings, rasa, rasa_concurrency=1, max_pending_messages=3)

    async def scenario(http):
        convs = [await new_conv(http) for _ in range(4)]
        first = [
            asyncio.create_task(post(http, c, "房东不退押金", f"client-{i:04d}"))
            for i, c in enumerate(convs[:3])
        ]
        for _ in range(200):
            await asyncio.sleep(0.01)
            if app.state.messages.pending == 3:
                break
        refused = await post(http, convs[3], "房东不退押金", "client-0003")
        transcript = (
            await http.get(f"/api/conversations/{convs[3]['conversation_id']}", headers=auth(convs[3]))
        ).json()
        rasa.gate.set()
        answered = await asyncio.gather(*first)
        resent = await post(
            http, convs[3], "房东不退押金", "client-0003"
        )  # what the widget does after Retry-After
        metrics = (await http.get("/metrics")).text
        return refused, transcript, answered, resent, metrics

    refused, transcript, answered, resent, metrics = run(app, scenario)
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json() == {"detail": BUSY_DETAIL}
    assert transcript["messages"] == []  # refused before it was stored: nothing to lose, nothing unanswered
    assert [r.status_code for r in answered] == [200] * 3
    assert resent.status_code == 200 and resent.json()["replies"]
    assert "fengqiao_messages_refused_busy_total 1.0" in metrics


def stored_without_reply(app, conversation_id, client_id, *, age_s: float = 0) -> int:
    """What a gateway killed between storing a message and storing its answer leaves behind."""
    with app.state.db.sessions() as session:
        msg = Message(
            conversation_id=conversation_id,
            sender="resident",
            text="朋友借钱不还",
            payload={},
            client_id=client_id,
            created_at=utcnow() - timedelta(seconds=age_s),
        )
        session.add(msg)
        session.commit()
        return msg.id


def replies_to(app, message_id) -> list[str]:
    with app.state.db.sessions() as session:
        return list(session.scalars(select(Message.text).where(Message.reply_to == message_id)))


def test_a_resend_of_a_message_left_unanswered_is_answered(client, app, rasa, conversation):
    rasa.answers = CITED_ANSWER
    mid = stored_without_reply(app, conversation["conversation_id"], "client-orphan")
    resp = client.post(
        f"/api/conversations/{conversation['conversation_id']}/messages",
        json={"text": "朋友借钱不还", "client_id": "client-orphan"},
        headers=auth(conversation),
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["duplicate"] is False and body["message_id"] == mid
    assert body["replies"][0]["citations"][0]["article_no"] == "第五十条"
    assert replies_to(app, mid) == ["根据检索到的法律规定……"]
    # A second resend gets the stored answer; the bot is not asked again.
    again = client.post(
        f"/api/conversations/{conversation['conversation_id']}/messages",
        json={"text": "朋友借钱不还", "client_id": "client-orphan"},
        headers=auth(conversation),
    )
    assert again.json()["duplicate"] is True and len(rasa.calls) == 1


def test_the_sweep_answers_old_unanswered_messages_only(client, app, rasa, conversation, settings):
    rasa.answers = CITED_ANSWER
    cid = conversation["conversation_id"]
    old = stored_without_reply(app, cid, "client-old", age_s=settings.orphan_after_s + 5)
    fresh = stored_without_reply(app, cid, "client-new")  # may still be with another gateway
    assert asyncio.run(app.state.messages.sweep_once()) == 1
    assert replies_to(app, old) == ["根据检索到的法律规定……"]
    assert replies_to(app, fresh) == []
    assert asyncio.run(app.state.messages.sweep_once()) == 0


def test_the_sweep_leaves_messages_a_mediator_received(client, app, rasa, settings):
    """Messages sent while a mediator owned the conversation are not the bot's to answer after the handback."""
    from tests.api.conftest import hand_off, handoff_id_of, login

    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    make_mediator(app, "zhao")
    headers = login(client, "zhao")
    hid = handoff_id_of(client, headers, conv["conversation_id"])
    assert client.post(f"/api/handoffs/{hid}/claim", headers=headers).status_code == 200
    resp = client.post(
        f"/api/conversations/{conv['conversation_id']}/messages",
        json={"text": "调解员您好", "client_id": "client-to-mediator"},
        headers=auth(conv),
    )
    assert resp.status_code == 200 and resp.json()["mode"] == "mediator"
    assert client.post(f"/api/handoffs/{hid}/release", headers=headers).status_code == 200
    with app.state.db.sessions() as session:
        session.execute(
            update(Message)
            .values(created_at=utcnow() - timedelta(seconds=settings.orphan_after_s + 60))
            .where(Message.client_id == "client-to-mediator")
        )
        session.commit()
    calls = len(rasa.calls)
    assert asyncio.run(app.state.messages.sweep_once()) == 0
    assert len(rasa.calls) == calls


def test_retry_after_follows_the_queue_and_the_rate(settings):
    flow = gateway(settings, ScriptedRasa()).state.messages
    assert flow.retry_after() == 5  # nothing answered yet: a modest default
    now = time.monotonic()
    flow._answered.extend(now - i * 0.1 for i in reversed(range(100)))  # 10 a second
    flow.pending = 200
    assert flow.retry_after() == 2  # a tenth of the queue drains in 2 s
    flow.pending = 5000
    assert flow.retry_after() == 30
    flow._answered.extend([now] * 20_000)
    assert len(flow._answered) == 10_000  # bounded however long the gateway runs
