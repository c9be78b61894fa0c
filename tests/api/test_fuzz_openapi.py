"""Schemathesis against the gateway's own OpenAPI schema: every operation, in-process, with bounded, reproducible
examples. Properties: no response is a server error (>= 500), and a response matches the schema the route declares.

The schema comes from `app.openapi()` (the /openapi.json route is served only with `enable_docs`). Requests carry
a real login (an administrator's, so the admin-only routes are reached too) or a real conversation token, and the
path ids are pinned to a real conversation and a claimed handoff every other case, so the fuzzing gets past 401
and 404; the other half keeps whatever schemathesis generated (random ids, tokens and headers). Rasa is the scripted
double of tests/api/conftest.py.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.main import create_app
from core.settings import Settings
from tests.api.conftest import PASSWORD, PrecedentSink, ScriptedRasa, handoff_answer, make_mediator

SEED = 20260101
MAX_EXAMPLES = 25


def _openapi() -> dict:
    """The schema of an app that is built and never started (no database is created)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            Settings(
                data_dir=Path(tmp),
                kb_dir=Path(tmp) / "kb",
                database_url=f"sqlite:///{tmp}/x.db",
                run_migrations_on_start=False,
            )
        )
        try:
            return app.openapi()
        finally:
            app.state.db.engine.dispose()


CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
    }
)
schema = schemathesis.openapi.from_dict(_openapi(), config=CONFIG)


@pytest.fixture
def database_url(request, tmp_path):
    """SQLite, or PostgreSQL for the tests parametrized (indirectly) with "postgresql"."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    server = request.getfixturevalue("postgres")
    url = server.create_database()
    request.addfinalizer(lambda: server.drop_database(url))
    return url


@dataclass
class World:
    http: asgi.ASGIClient
    admin: str  # bearer token of an administrator
    conversation_id: str
    conversation_token: str
    handoff_id: str  # an active handoff, claimed by that administrator
    calls: int = 0


RELAXED = {"message_rate_per_minute": 100_000, "login_failures_per_window": 100_000}


def _populate(http, app, rasa) -> dict[str, str]:
    """An administrator logged in, a conversation with the bot, and another one handed off and claimed by him."""
    make_mediator(app, "boss", admin=True, display_name="司法所管理员")
    login = http.post("/api/mediators/login", json={"username": "boss", "password": PASSWORD})
    assert login.status_code == 200, login.text
    admin = login.json()["token"]
    conversation = http.post("/api/conversations", json={"region": "浙江省绍兴市"}).json()
    handed = http.post("/api/conversations", json={}).json()
    answers, rasa.answers = rasa.answers, handoff_answer()
    sent = http.post(
        f"/api/conversations/{handed['conversation_id']}/messages",
        json={"text": "转人工"},
        headers={"Authorization": f"Bearer {handed['token']}"},
    )
    rasa.answers = answers
    assert sent.status_code == 200 and sent.json()["mode"] == "waiting", sent.text
    handoff_id = http.get("/api/handoffs", headers={"Authorization": f"Bearer {admin}"}).json()[0]["id"]
    assert (
        http.post(
            f"/api/handoffs/{handoff_id}/claim", headers={"Authorization": f"Bearer {admin}"}
        ).status_code
        == 200
    )
    return {
        "admin": admin,
        "conversation_id": conversation["conversation_id"],
        "conversation_token": conversation["token"],
        "handoff_id": handoff_id,
    }


@pytest.fixture
def world(settings, rasa, precedent_sink):
    """That gateway on any database, reached through schemathesis's in-process client (whose lifespan its pytest
    plugin ends with the test)."""
    app = create_app(settings.model_copy(update=RELAXED), rasa=rasa, add_precedent=precedent_sink)
    with asgi.get_client(app) as http:
        yield World(http, **_populate(http, app, rasa))


@pytest.fixture(scope="module")
def template(tmp_path_factory, tiny_kb):
    """The same, once: a SQLite file that each operation's test gets a copy of (migrating and setting up a database
    for each of them was a third of this module's time)."""
    root = tmp_path_factory.mktemp("fuzz-template")
    app = create_app(
        Settings(data_dir=root, kb_dir=tiny_kb, database_url=f"sqlite:///{root / 'gateway.db'}"),
        rasa=ScriptedRasa(),
        add_precedent=PrecedentSink(),
    )
    with TestClient(app) as http:
        ids = _populate(http, app, app.state.rasa)
    app.state.db.engine.dispose()
    return root / "gateway.db", ids


@pytest.fixture
def fuzz_world(template, tmp_path, settings, rasa, precedent_sink):
    db, ids = template
    shutil.copy(db, tmp_path / "fuzz.db")
    copied = settings.model_copy(
        update=RELAXED
        | {"database_url": f"sqlite:///{tmp_path / 'fuzz.db'}", "run_migrations_on_start": False}
    )
    app = create_app(copied, rasa=rasa, add_precedent=precedent_sink)
    with asgi.get_client(app) as http:
        yield World(http, **ids)


def _pin(case, world: World) -> None:
    """Real ids and the token the route needs, in place of the generated ones."""
    path = case.operation.path
    token = None
    if path.startswith("/api/conversations/"):
        case.path_parameters = {**(case.path_parameters or {}), "conversation_id": world.conversation_id}
        token = world.conversation_token
    elif path.startswith("/api/handoffs/"):
        case.path_parameters = {**(case.path_parameters or {}), "handoff_id": world.handoff_id}
        token = world.admin
    elif path.startswith("/api/") and path not in ("/api/conversations", "/api/mediators/login"):
        token = world.admin  # a mediator's routes (search does not care)
    if token is not None:
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = headers | {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_with_a_server_error_or_off_its_schema(case, fuzz_world):
    world = fuzz_world
    world.calls += 1
    if world.calls % 2:  # every other case, so generated ids and tokens are sent too
        _pin(case, world)
    response = case.call(session=world.http)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


# -- every string in a URL, on both databases ---------------------------------------------------------------------

NASTY_IN_URLS = ["\x00", "a\x00b", "\ud800", "\uffff", "😀", "\u202e", " ", "%", "x" * 300]


def _url_strings(raw: dict) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every string path or query parameter of the schema."""
    out = []
    for path, operations in raw["paths"].items():
        for method, operation in operations.items():
            for p in operation.get("parameters", []):
                types = {p["schema"].get("type")} | {s.get("type") for s in p["schema"].get("anyOf", [])}
                if p["in"] in ("path", "query") and "string" in types:
                    out.append((method.upper(), path, p["in"], p["name"]))
    return out


URL_STRINGS = _url_strings(schema.raw_schema)


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_no_string_in_a_url_makes_a_server_error(world):
    """PostgreSQL cannot take a NUL in a text value: an id or query value with one was a 500 (psycopg DataError)
    until api/url_guard.py refused such URLs with 400."""
    failures = []
    for method, path, where, name in URL_STRINGS:
        for value in NASTY_IN_URLS:
            escaped = quote(value.encode("utf-8", "surrogatepass"), safe="")
            ids = {"conversation_id": world.conversation_id, "handoff_id": world.handoff_id}
            if where == "path":
                ids[name] = escaped
            url = re.sub(r"\{(\w+)\}", lambda m, ids=ids: ids.get(m[1], "x"), path)
            if where == "query":
                url += f"?{name}={escaped}"
            resp = world.http.request(method, url, headers={"Authorization": f"Bearer {world.admin}"})
            if resp.status_code >= 500:
                failures.append((method, url[:80], resp.status_code))
    assert failures == []
    resp = world.http.get(f"/api/conversations/%00?token={world.conversation_token}")
    assert resp.status_code == 400 and "NUL" in resp.json()["detail"]


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_websocket_url_with_a_nul_is_refused(app, client, conversation):
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(f"/ws/conversations/a%00b?token={conversation['token']}"),
    ):
        pass


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_mediator_socket_survives_ids_no_query_can_take(app, client, mediator):
    """`watch` and `typing` with a NUL or a lone surrogate in the conversation id raised in the socket's handler
    (psycopg DataError on PostgreSQL, UnicodeEncodeError on both) and the socket died: now they are ignored."""
    token = mediator["Authorization"].removeprefix("Bearer ")
    with client.websocket_connect(f"/ws/mediators?token={token}") as ws:
        assert ws.receive_json()["type"] == "hello"
        for kind in ("watch", "typing", "unwatch"):
            ws.send_text(f'{{"type": "{kind}", "conversation_id": "a\\u0000b"}}')
            ws.send_text(f'{{"type": "{kind}", "conversation_id": "\\ud800"}}')
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
