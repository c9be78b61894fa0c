"""A gateway on a throwaway SQLite database, with Rasa replaced by a scripted double at the HTTP-client seam.

The real Rasa server is exercised by tests/e2e; here each test scripts what Rasa answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.rasa_client import RasaUnavailable, merge_rasa_messages
from fengqiao.settings import Settings


@dataclass
class ScriptedRasa:
    """Answers like Rasa's REST channel would; `down` and `actions_down` simulate outages."""

    answers: list[dict[str, Any]] = field(default_factory=lambda: [{"text": "您好！"}])
    down: bool = False
    actions_down: bool = False
    model_loaded: bool = True
    calls: list[tuple[str, str, dict]] = field(default_factory=list)

    def send(self, conversation_id, text, metadata=None):
        self.calls.append((conversation_id, text, metadata or {}))
        if self.down:
            raise RasaUnavailable("Rasa unreachable: ConnectError")
        if self.actions_down:
            return []
        return merge_rasa_messages(self.answers)

    def rasa_status(self):
        if self.down:
            import httpx

            raise httpx.ConnectError("refused")
        return {"model_file": "models/bot-abc.tar.gz" if self.model_loaded else None}

    def action_server_healthy(self):
        return not self.actions_down

    def close(self):
        pass


@pytest.fixture
def rasa() -> ScriptedRasa:
    return ScriptedRasa()


@pytest.fixture
def settings(tmp_path, tiny_kb) -> Settings:
    return Settings(data_dir=tmp_path, kb_dir=tiny_kb)


@pytest.fixture
def client(settings, rasa):
    with TestClient(create_app(settings, rasa=rasa)) as c:
        yield c


@pytest.fixture
def conversation(client) -> dict[str, str]:
    resp = client.post("/api/conversations", json={"region": "浙江省绍兴市"})
    assert resp.status_code == 201
    return resp.json()


def auth(conv: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {conv['token']}"}
