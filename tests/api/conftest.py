"""A gateway on a throwaway database (SQLite; PostgreSQL too where a module asks for both), with Rasa replaced by
a scripted double at the HTTP-client seam.

The real Rasa server is exercised by tests/e2e; here each test scripts what Rasa answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.rasa_client import RasaUnavailable, merge_rasa_messages
from core.settings import Settings
from fengqiao.postgres_server import PostgresServer

CITED_ANSWER = [
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


@dataclass
class ScriptedRasa:
    """Answers like Rasa's REST channel would; `down` and `actions_down` simulate outages."""

    answers: list[dict[str, Any]] = field(default_factory=lambda: [{"text": "您好！"}])
    down: bool = False
    actions_down: bool = False
    model_loaded: bool = True
    calls: list[tuple[str, str, dict]] = field(default_factory=list)
    events: list[tuple[str, dict]] = field(default_factory=list)

    async def send(self, conversation_id, text, metadata=None):
        self.calls.append((conversation_id, text, metadata or {}))
        if self.down:
            raise RasaUnavailable("Rasa unreachable: ConnectError")
        if self.actions_down:
            return []
        return merge_rasa_messages(self.answers)

    def append_event(self, conversation_id, event):
        if self.down:
            raise RasaUnavailable("Rasa unreachable: ConnectError")
        self.events.append((conversation_id, event))

    def resume(self, conversation_id):
        self.append_event(conversation_id, {"event": "resume"})

    def pause(self, conversation_id):
        self.append_event(conversation_id, {"event": "pause"})

    def rasa_status(self):
        if self.down:
            import httpx

            raise httpx.ConnectError("refused")
        return {"model_file": "models/bot-abc.tar.gz" if self.model_loaded else None}

    def action_server_healthy(self):
        return not self.actions_down

    async def aclose(self):
        pass


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """argon2id at its standard cost takes about a second here; tests log in hundreds of times. Same algorithm,
    lower cost (tests/api/test_security.py checks the production parameters)."""
    from argon2 import PasswordHasher

    from api import security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(security, "_DUMMY", None)


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite by default; modules that test both databases override this with `any_database_url`."""
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
        return
    server = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def settings(tmp_path, tiny_kb, database_url) -> Settings:
    return Settings(data_dir=tmp_path, kb_dir=tiny_kb, database_url=database_url)


@dataclass
class PrecedentSink:
    """Stands in for knowledge_base.precedents.add_precedent: records what the gateway hands over."""

    records: list[tuple[Any, Any]] = field(default_factory=list)
    fail: bool = False

    def __call__(self, kb_dir, record):
        if self.fail:
            raise OSError("knowledge base busy")
        self.records.append((kb_dir, record))


@pytest.fixture
def precedent_sink() -> PrecedentSink:
    return PrecedentSink()


@pytest.fixture
def app(settings, rasa, precedent_sink):
    return create_app(settings, rasa=rasa, add_precedent=precedent_sink)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


PASSWORD = "correct horse battery"


def make_mediator(app, username: str, *, admin: bool = False, display_name: str | None = None):
    from fengqiao.mediators import create_mediator

    return create_mediator(app.state.db, username, PASSWORD, admin=admin, display_name=display_name)


def login(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    resp = client.post("/api/mediators/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


@pytest.fixture
def mediator(app, client) -> dict[str, str]:
    """Headers of a logged-in mediator called 王调解员."""
    make_mediator(app, "wang", display_name="王调解员")
    return login(client, "wang")


@pytest.fixture
def other_mediator(app, client) -> dict[str, str]:
    make_mediator(app, "li", display_name="李调解员")
    return login(client, "li")


@pytest.fixture
def admin(app, client) -> dict[str, str]:
    make_mediator(app, "boss", admin=True, display_name="司法所管理员")
    return login(client, "boss")


def handoff_answer(
    priority: str = "normal",
    reason: str = "resident_request",
    dispute_type: str | None = "劳动争议",
    summary: str = "居民要求转人工，原话：“老板拖欠我三个月工资”。",
) -> list[dict[str, Any]]:
    """What Rasa sends when the bot hands off (action_handoff / action_emergency)."""
    return [
        {"text": "好的，正在为您转接人民调解员，请稍等。"},
        {
            "custom": {
                "handoff": {
                    "reason": reason,
                    "priority": priority,
                    "dispute_type": dispute_type,
                    "summary": summary,
                    "suggested_citations": [
                        {
                            "kind": "statute",
                            "law": "中华人民共和国劳动法",
                            "article_no": "第五十条",
                            "text": "工资应当以货币形式按月支付给劳动者本人。",
                            "status": "现行有效",
                        }
                    ],
                }
            }
        },
    ]


def hand_off(client, rasa, conv: dict[str, str], **kwargs) -> dict[str, Any]:
    """Let the bot hand the conversation off; returns the message reply."""
    answers = rasa.answers
    rasa.answers = handoff_answer(**kwargs)
    resp = client.post(
        f"/api/conversations/{conv['conversation_id']}/messages", json={"text": "转人工"}, headers=auth(conv)
    )
    rasa.answers = answers
    assert resp.status_code == 200, resp.text
    assert resp.json()["mode"] == "waiting"
    return resp.json()


def new_conversation(client) -> dict[str, str]:
    resp = client.post("/api/conversations", json={"region": "浙江省绍兴市"})
    assert resp.status_code == 201
    return resp.json()


def handoff_id_of(client, headers, conversation_id: str) -> str:
    rows = client.get("/api/handoffs?status=waiting", headers=headers).json()
    return next(h["id"] for h in rows if h["conversation_id"] == conversation_id)


@pytest.fixture
def conversation(client) -> dict[str, str]:
    resp = client.post("/api/conversations", json={"region": "浙江省绍兴市"})
    assert resp.status_code == 201
    return resp.json()


def auth(conv: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {conv['token']}"}
