"""Two mediators press "claim" on the same conversation at the same moment: exactly one gets it, on SQLite and on
PostgreSQL, through the routes (threads sharing one gateway) and below them (separate sessions and connections)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from api import mediation
from api.mediation import Conflict, Outbox
from api.models import Handoff, Mediator, Transition
from tests.api.conftest import hand_off, handoff_id_of, login, make_mediator, new_conversation

ROUNDS = 6


@pytest.fixture
def database_url(any_database_url):
    return any_database_url


def _together(functions):
    """Run the functions in threads released by one barrier; their results in order."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def run(i, fn):
        barrier.wait()
        try:
            results[i] = fn()
        except Exception as exc:  # the result of a thread is what it raised, too
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_mediators_claim_through_the_api(client, rasa, app):
    for name in ("wang", "li", "zhao"):
        make_mediator(app, name)
    headers = [login(client, name) for name in ("wang", "li", "zhao")]
    for _ in range(ROUNDS):
        conv = new_conversation(client)
        hand_off(client, rasa, conv)
        hid = handoff_id_of(client, headers[0], conv["conversation_id"])
        responses = _together(
            [lambda h=h, hid=hid: client.post(f"/api/handoffs/{hid}/claim", headers=h) for h in headers]
        )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409, 409], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200).json()["mediator_username"]
        with app.state.db.sessions() as s:
            handoff = s.get(Handoff, hid)
            assert handoff.status == "active" and handoff.mediator.username == winner
            moves = s.scalar(
                select(func.count())
                .select_from(Transition)
                .where(
                    Transition.conversation_id == conv["conversation_id"], Transition.to_mode == "mediator"
                )
            )
            assert moves == 1
        transcript = client.get(
            f"/api/conversations/{conv['conversation_id']}", params={"token": conv["token"]}
        ).json()["messages"]
        assert sum("已接入" in m["text"] for m in transcript) == 1


def test_claim_race_below_the_routes_with_separate_connections(client, rasa, app):
    make_mediator(app, "wang")
    make_mediator(app, "li")
    headers = login(client, "wang")
    for _ in range(ROUNDS):
        conv = new_conversation(client)
        hand_off(client, rasa, conv)
        hid = handoff_id_of(client, headers, conv["conversation_id"])

        def claim_as(username, hid=hid):
            with app.state.db.sessions() as session:
                mediator = session.scalar(select(Mediator).where(Mediator.username == username))
                outbox = Outbox()
                mediation.claim(session, outbox, hid, mediator)
                session.commit()
                return username

        results = _together([lambda: claim_as("wang"), lambda: claim_as("li")])
        winners = [r for r in results if isinstance(r, str)]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        with app.state.db.sessions() as s:
            assert s.get(Handoff, hid).mediator.username == winners[0]
