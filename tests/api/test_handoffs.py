"""The handoff life cycle through the public routes, on SQLite and on PostgreSQL.

bot → waiting (the bot's handoff payload, or the resident's own request) → mediator (claim) → bot (release, with
Rasa's resume event) | closed (outcome, precedent). Every move is stored and shown to both sides.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from api.mediation import Conflict, HandoffRequest, Outbox, open_handoff
from api.models import AuditEntry, Conversation, Handoff, Precedent, Transition
from tests.api.conftest import (
    CITED_ANSWER,
    auth,
    hand_off,
    handoff_id_of,
    new_conversation,
)


@pytest.fixture
def database_url(any_database_url):
    return any_database_url


def transcript(client, conv):
    resp = client.get(f"/api/conversations/{conv['conversation_id']}", headers=auth(conv))
    assert resp.status_code == 200
    return resp.json()


def say(client, conv, text, **extra):
    return client.post(
        f"/api/conversations/{conv['conversation_id']}/messages",
        json={"text": text} | extra,
        headers=auth(conv),
    )


def test_bot_handoff_creates_a_waiting_handoff_and_tells_the_queue_place(client, rasa, app, mediator):
    conv = new_conversation(client)
    body = hand_off(client, rasa, conv)
    assert body["queue"]["position"] == 1 and body["queue"]["estimated_wait_s"] > 0
    assert body["replies"][0]["text"].startswith("好的，正在为您转接")

    data = transcript(client, conv)
    assert data["mode"] == "waiting"
    assert data["queue"]["position"] == 1
    system = [m for m in data["messages"] if m["sender"] == "system"]
    assert system[0]["text"] == "已转入人民调解员接待队列。"
    assert any("排在第 1 位" in m["text"] for m in system)
    # The bot's reply announced the transfer; the system lines do not say it a second time.
    assert sum("正在为您转接" in m["text"] for m in data["messages"]) == 1
    assert system[0]["event"]["mode"] == {
        **system[0]["event"]["mode"],
        "from": "bot",
        "to": "waiting",
        "actor": "bot",
    }

    rows = client.get("/api/handoffs?status=waiting", headers=mediator).json()
    assert len(rows) == 1
    h = rows[0]
    assert h["conversation_id"] == conv["conversation_id"]
    assert (h["reason"], h["priority"], h["dispute_type"]) == ("resident_request", "normal", "劳动争议")
    assert "老板拖欠我三个月工资" in h["summary"]
    assert h["suggested_citations"][0]["article_no"] == "第五十条"
    assert h["suggested_statutes"] == h["suggested_citations"]
    assert h["waiting_s"] >= 0 and h["queue_position"] == 1 and h["status"] == "waiting"

    with app.state.db.sessions() as s:
        moves = s.scalars(
            select(Transition).where(Transition.conversation_id == conv["conversation_id"])
        ).all()
        assert [(t.from_mode, t.to_mode, t.actor) for t in moves] == [("bot", "waiting", "bot")]
        assert moves[0].at is not None


def test_waiting_and_mediator_messages_never_reach_rasa(client, rasa, mediator):
    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    calls = len(rasa.calls)
    resp = say(client, conv, "请问还要等多久？")
    assert resp.status_code == 200
    assert resp.json()["mode"] == "waiting" and resp.json()["replies"] == []
    assert resp.json()["queue"]["position"] == 1
    hid = handoff_id_of(client, mediator, conv["conversation_id"])
    assert client.post(f"/api/handoffs/{hid}/claim", headers=mediator).status_code == 200
    resp = say(client, conv, "调解员您好")
    assert resp.json()["mode"] == "mediator" and resp.json()["replies"] == []
    assert len(rasa.calls) == calls


def test_queue_is_sorted_by_priority_then_waiting_time(client, rasa, mediator):
    first = new_conversation(client)
    hand_off(client, rasa, first)
    second = new_conversation(client)
    hand_off(client, rasa, second)
    urgent = new_conversation(client)
    hand_off(client, rasa, urgent, priority="urgent", reason="emergency")
    rows = client.get("/api/handoffs", headers=mediator).json()  # status defaults to waiting
    assert [r["conversation_id"] for r in rows] == [
        urgent["conversation_id"],
        first["conversation_id"],
        second["conversation_id"],
    ]
    assert [r["queue_position"] for r in rows] == [1, 2, 3]
    assert transcript(client, second)["queue"]["position"] == 3
    assert transcript(client, urgent)["queue"]["position"] == 1


def test_unknown_priority_from_the_bot_counts_as_normal(client, rasa, mediator):
    conv = new_conversation(client)
    hand_off(client, rasa, conv, priority="whenever")
    assert client.get("/api/handoffs", headers=mediator).json()[0]["priority"] == "normal"


def test_claim_chat_release_and_the_bot_answers_again(client, rasa, app, mediator):
    conv = new_conversation(client)
    say(client, conv, "老板拖欠工资")  # a bot turn before the handoff
    hand_off(client, rasa, conv)
    hid = handoff_id_of(client, mediator, conv["conversation_id"])

    resp = client.post(f"/api/handoffs/{hid}/claim", headers=mediator)
    assert resp.status_code == 200
    assert resp.json()["status"] == "active" and resp.json()["mediator"] == "王调解员"
    data = transcript(client, conv)
    assert data["mode"] == "mediator" and data["mediator"] == "王调解员"
    assert "人民调解员王调解员已接入" in data["messages"][-1]["text"]

    say(client, conv, "我有工资条")
    resp = client.post(
        f"/api/handoffs/{hid}/messages",
        json={"text": "好的，请保留好工资条。", "citations": CITED_ANSWER[1]["custom"]["citations"]},
        headers=mediator,
    )
    assert resp.status_code == 201
    assert resp.json()["sender"] == "mediator" and resp.json()["mediator"] == "王调解员"

    full = client.get(f"/api/handoffs/{hid}", headers=mediator).json()
    senders = [m["sender"] for m in full["messages"]]
    assert senders[:2] == ["resident", "bot"]  # the bot's part of the conversation is there
    assert full["messages"][-1]["text"] == "好的，请保留好工资条。"
    assert full["messages"][-1]["citations"][0]["article_no"] == "第五十条"
    assert full["mine"] is True

    resp = client.post(f"/api/handoffs/{hid}/release", headers=mediator)
    assert resp.status_code == 200
    assert resp.json()["status"] == "released" and resp.json()["bot_resumed"] is True
    assert rasa.events == [(conv["conversation_id"], {"event": "resume"})]
    data = transcript(client, conv)
    assert data["mode"] == "bot"
    assert "交回智能助手" in data["messages"][-1]["text"]

    rasa.answers = CITED_ANSWER
    resp = say(client, conv, "那加班费呢？")
    assert resp.json()["mode"] == "bot"
    assert resp.json()["replies"][0]["citations"][0]["law"] == "中华人民共和国劳动法"
    assert rasa.calls[-1][1] == "那加班费呢？"

    with app.state.db.sessions() as s:
        moves = s.scalars(
            select(Transition)
            .where(Transition.conversation_id == conv["conversation_id"])
            .order_by(Transition.id)
        ).all()
        assert [(t.from_mode, t.to_mode, t.actor) for t in moves] == [
            ("bot", "waiting", "bot"),
            ("waiting", "mediator", "mediator:wang"),
            ("mediator", "bot", "mediator:wang"),
        ]
    assert client.get("/api/handoffs?status=released", headers=mediator).json()[0]["id"] == hid


def test_release_when_rasa_is_down_still_hands_back(client, rasa, app, mediator):
    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    hid = handoff_id_of(client, mediator, conv["conversation_id"])
    client.post(f"/api/handoffs/{hid}/claim", headers=mediator)
    rasa.down = True
    resp = client.post(f"/api/handoffs/{hid}/release", headers=mediator)
    assert resp.status_code == 200 and resp.json()["bot_resumed"] is False
    assert transcript(client, conv)["mode"] == "bot"
    with app.state.db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "rasa.resume")).one()
        assert entry.detail == {"delivered": False}
    # The bot is back but its tracker may still be paused: the next message resumes it before asking again.
    rasa.down = False
    rasa.answers = []
    say(client, conv, "你好")
    assert (conv["conversation_id"], {"event": "resume"}) in rasa.events


def test_close_with_outcome_drafts_an_anonymised_precedent_that_is_public_only_once_approved(
    client, rasa, app, mediator, precedent_sink
):
    conv = new_conversation(client)
    hand_off(
        client,
        rasa,
        conv,
        summary="居民张伟（电话13812345678）说老板王建国拖欠三个月工资，住在人民路88号3幢501室。",
    )
    hid = handoff_id_of(client, mediator, conv["conversation_id"])
    client.post(f"/api/handoffs/{hid}/claim", headers=mediator)
    resp = client.post(
        f"/api/handoffs/{hid}/close",
        headers=mediator,
        json={
            "outcome": "调解成功",
            "summary": "王建国同意于12月31日前向张伟支付工资15000元，身份证330602198001011234。",
            "facts": "张伟在王建国的工厂做工，王建国拖欠三个月工资共15000元。",
            "follow_up_date": "2026-01-15",
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (
        body["status"] == "closed"
        and body["outcome"] == "调解成功"
        and body["follow_up_date"] == "2026-01-15"
    )

    data = transcript(client, conv)
    assert data["mode"] == "closed"
    assert "已结束本次调解（结果：调解成功）" in data["messages"][-1]["text"]
    assert say(client, conv, "还有个问题").status_code == 409

    closed = client.get("/api/handoffs?status=closed", headers=mediator).json()
    assert [h["id"] for h in closed] == [hid]
    assert closed[0]["outcome_summary"].startswith("王建国同意")  # the mediators' own record keeps the names

    # A draft: nothing reaches the knowledge base before a mediator approves the anonymised preview.
    preview = body["precedent"]
    assert preview["status"] == "draft" and preview["published"] is False and preview["held_reasons"] == []
    assert precedent_sink.records == []
    assert preview["fields"]["facts"].endswith("拖欠三个月工资共15000元。")
    # The resident's own words (the bot's handoff summary) are not in the public text.
    assert "人民路" not in preview["text"] and "居民" not in preview["text"]

    resp = client.post(f"/api/precedents/{preview['id']}/approve", headers=mediator)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "approved"
    assert len(precedent_sink.records) == 1
    kb_dir, record = precedent_sink.records[0]
    assert kb_dir == app.state.settings.resolved_kb_dir
    assert record.kind == "precedent" and record.id == f"fq-{hid}"
    assert set(record.extra) == {"category", "outcome", "cited_articles"}
    assert record.extra["category"] == "劳动争议"
    assert record.extra["cited_articles"] == ["《中华人民共和国劳动法》第五十条"]
    assert record.extra["outcome"].startswith("调解成功")
    for secret in ("张伟", "王建国", "13812345678", "330602198001011234", "人民路88号", "501室"):
        assert (
            secret not in record.text and secret not in record.extra["outcome"] and secret not in record.title
        )
    assert "工资" in record.text and "15000元" in record.text
    with app.state.db.sessions() as s:
        row = s.scalars(select(Precedent)).one()
        assert row.published_at is not None and row.error is None and row.reviewed_at is not None
    full = client.get(f"/api/handoffs/{hid}", headers=mediator).json()
    assert full["precedent"]["published"] is True and full["precedent"]["status"] == "approved"


def test_precedent_kept_when_the_knowledge_base_refuses_and_published_later(
    client, rasa, app, mediator, precedent_sink
):
    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    hid = handoff_id_of(client, mediator, conv["conversation_id"])
    client.post(f"/api/handoffs/{hid}/claim", headers=mediator)
    precedent_sink.fail = True
    resp = client.post(
        f"/api/handoffs/{hid}/close", headers=mediator, json={"outcome": "未达成", "summary": "双方分歧较大"}
    )
    assert resp.status_code == 200
    assert (
        client.post(f"/api/precedents/{resp.json()['precedent']['id']}/approve", headers=mediator).status_code
        == 200
    )
    full = client.get(f"/api/handoffs/{hid}", headers=mediator).json()
    assert full["precedent"]["published"] is False and "knowledge base busy" in full["precedent"]["error"]
    precedent_sink.fail = False
    assert app.state.precedents.publish_pending() == {"published": 1, "failed": 0}
    assert precedent_sink.records[0][1].extra["outcome"].startswith("未达成")


def test_resident_asks_for_a_person_without_the_bot(client, rasa, mediator):
    conv = new_conversation(client)
    rasa.answers = CITED_ANSWER
    say(client, conv, "老板拖欠我三个月工资怎么办")
    calls = len(rasa.calls)
    url = f"/api/conversations/{conv['conversation_id']}/handoff"
    resp = client.post(url, headers=auth(conv), json={"reason": "想当面咨询"})
    assert resp.status_code == 201
    assert resp.json()["mode"] == "waiting" and resp.json()["created"] is True
    assert resp.json()["queue"]["position"] == 1
    assert len(rasa.calls) == calls  # no message went to the bot
    assert rasa.events == [(conv["conversation_id"], {"event": "pause"})]
    again = client.post(url, headers=auth(conv))
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["handoff_id"] == resp.json()["handoff_id"]

    h = client.get("/api/handoffs", headers=mediator).json()[0]
    assert h["reason"] == "resident_request"
    assert "想当面咨询" in h["summary"] and "老板拖欠我三个月工资怎么办" in h["summary"]
    assert h["suggested_citations"][0]["article_no"] == "第五十条"  # what the bot had already cited


def test_resident_handoff_request_needs_the_token_and_an_open_conversation(client, rasa, mediator):
    conv = new_conversation(client)
    url = f"/api/conversations/{conv['conversation_id']}/handoff"
    assert client.post(url).status_code == 401
    assert client.post(url, headers={"Authorization": "Bearer nope"}).status_code == 403
    assert client.post("/api/conversations/nope/handoff", headers=auth(conv)).status_code == 404
    client.post(url, headers=auth(conv))
    hid = handoff_id_of(client, mediator, conv["conversation_id"])
    client.post(f"/api/handoffs/{hid}/claim", headers=mediator)
    client.post(f"/api/handoffs/{hid}/close", headers=mediator, json={"outcome": "其他", "summary": "已解答"})
    assert client.post(url, headers=auth(conv)).status_code == 409


def test_bot_down_offers_a_mediator_and_the_button_works_without_the_bot(client, rasa, mediator):
    conv = new_conversation(client)
    rasa.down = True
    resp = say(client, conv, "借钱不还怎么办")
    reply = resp.json()["replies"][0]
    assert "暂时无法回复" in reply["text"]
    assert reply["buttons"] == [{"title": "转人工调解员", "payload": "/request_human"}]
    resp = say(client, conv, "/request_human", display="转人工调解员")
    assert resp.status_code == 200
    assert resp.json()["mode"] == "waiting" and resp.json()["queue"]["position"] == 1
    assert "已直接为您转接人民调解员" in resp.json()["replies"][0]["text"]
    h = client.get("/api/handoffs", headers=mediator).json()[0]
    assert h["reason"] == "resident_request_bot_down" and "借钱不还怎么办" in h["summary"]
    resident = [m for m in transcript(client, conv)["messages"] if m["sender"] == "resident"]
    assert resident[-1]["display"] == "转人工调解员"


def test_action_server_down_also_offers_a_mediator(client, rasa):
    conv = new_conversation(client)
    rasa.actions_down = True
    reply = say(client, conv, "借钱不还怎么办").json()["replies"][0]
    assert "检索服务暂时出了故障" in reply["text"] and reply["buttons"][0]["payload"] == "/request_human"


def test_a_second_handoff_of_the_same_conversation_is_refused_by_the_database(client, rasa, app):
    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    from sqlalchemy.exc import IntegrityError

    with app.state.db.sessions() as s, pytest.raises(IntegrityError):
        s.add(
            Handoff(
                id="x" * 32,
                conversation_id=conv["conversation_id"],
                status="waiting",
                source="test",
                reason="x",
                priority="normal",
                priority_rank=1,
                summary="",
                suggested_citations=[],
                created_at=dt.datetime.now(dt.UTC),
            )
        )
        s.commit()


def test_bot_handoff_while_already_waiting_keeps_one_handoff(client, rasa, mediator, app):
    conv = new_conversation(client)
    client.post(f"/api/conversations/{conv['conversation_id']}/handoff", headers=auth(conv))
    # Already waiting: a later bot payload (from a reply that was in flight) must not open a second one.
    with app.state.db.sessions() as s:
        c = s.get(Conversation, conv["conversation_id"])
        set_committed_value(
            c, "mode", "bot"
        )  # a stale copy, as a request that started before the handoff holds
        with pytest.raises(Conflict):
            open_handoff(
                s, Outbox(), c, HandoffRequest(reason="x"), source="bot", actor="bot", default_wait_s=60
            )
    assert len(client.get("/api/handoffs", headers=mediator).json()) == 1


def test_closed_case_becomes_searchable_in_the_knowledge_base(tmp_path, tiny_kb, database_url, rasa):
    """With the knowledge base's own add_precedent (no stand-in): close, then find it with /api/search."""
    import shutil

    from fastapi.testclient import TestClient

    from api.main import create_app
    from core.settings import Settings
    from tests.api.conftest import login, make_mediator

    kb_dir = tmp_path / "kb"
    shutil.copytree(tiny_kb, kb_dir)
    app = create_app(Settings(data_dir=tmp_path, kb_dir=kb_dir, database_url=database_url), rasa=rasa)
    with TestClient(app) as client:
        make_mediator(app, "wang")
        headers = login(client, "wang")
        conv = new_conversation(client)
        hand_off(
            client,
            rasa,
            conv,
            dispute_type="相邻关系",
            summary="居民李小红说楼上邻居王大明家水管漏水，把她家天花板泡坏了，电话13900001111。",
        )
        hid = handoff_id_of(client, headers, conv["conversation_id"])
        client.post(f"/api/handoffs/{hid}/claim", headers=headers)
        resp = client.post(
            f"/api/handoffs/{hid}/close",
            headers=headers,
            json={
                "outcome": "调解成功",
                "summary": "楼上住户同意赔偿天花板修缮费用三千元，并更换漏水水管。",
                "facts": "李小红家楼上王大明家水管漏水，把她家天花板泡坏了。",
            },
        )
        assert resp.status_code == 200
        pid = resp.json()["precedent"]["id"]
        assert (
            client.get("/api/search", params={"q": "楼上漏水 天花板 赔偿", "kind": "precedent"}).json()[
                "hits"
            ]
            == []
        )
        assert client.post(f"/api/precedents/{pid}/approve", headers=headers).status_code == 200
        hits = client.get("/api/search", params={"q": "楼上漏水 天花板 赔偿", "kind": "precedent"}).json()[
            "hits"
        ]
        assert hits and hits[0]["id"] == f"fq-{hid}"
        assert hits[0]["title"].startswith("相邻关系人民调解案例（调解成功")
        assert hits[0]["outcome"].startswith("调解成功")
        assert "三千元" in hits[0]["text"]
        for secret in ("李小红", "王大明", "13900001111"):
            assert secret not in hits[0]["text"]
        assert client.get(f"/api/handoffs/{hid}", headers=headers).json()["precedent"]["published"] is True
