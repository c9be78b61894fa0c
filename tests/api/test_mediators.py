"""Mediator accounts and tokens: every mediator route refuses anonymous, wrong, expired and revoked tokens; roles."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from api.models import AuditEntry, Mediator, MediatorSession
from fengqiao import cli
from tests.api.conftest import PASSWORD, auth, hand_off, handoff_id_of, login, make_mediator, new_conversation

MEDIATOR_ROUTES = [
    ("GET", "/api/handoffs?status=waiting", None),
    ("GET", "/api/handoffs/{hid}", None),
    ("POST", "/api/handoffs/{hid}/claim", None),
    ("POST", "/api/handoffs/{hid}/messages", {"text": "您好"}),
    ("POST", "/api/handoffs/{hid}/release", None),
    ("POST", "/api/handoffs/{hid}/close", {"outcome": "调解成功", "summary": "已调解"}),
    ("GET", "/api/mediators/me", None),
    ("POST", "/api/mediators/logout", None),
    ("GET", "/api/mediators", None),
    ("POST", "/api/mediators", {"username": "newbie", "password": "12345678"}),
    ("PATCH", "/api/mediators/1", {"active": False}),
    ("POST", "/api/mediators/me/password", {"current_password": "x", "new_password": "12345678"}),
    ("GET", "/api/audit", None),
]


@pytest.fixture
def waiting_handoff(client, rasa, mediator) -> str:
    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    return handoff_id_of(client, mediator, conv["conversation_id"])


def _call(client, method, path, body, headers):
    return client.request(method, path, json=body, headers=headers or {})


@pytest.mark.parametrize(("method", "path", "body"), MEDIATOR_ROUTES)
def test_every_mediator_route_refuses_anonymous_and_bad_tokens(client, waiting_handoff, method, path, body):
    path = path.format(hid=waiting_handoff)
    for headers in (None, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic d2FuZzp4"}):
        resp = _call(client, method, path, body, headers)
        assert resp.status_code == 401, (headers, resp.text)
        assert resp.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body"), MEDIATOR_ROUTES)
def test_every_mediator_route_refuses_an_expired_token(
    client, app, waiting_handoff, mediator, method, path, body
):
    with app.state.db.sessions() as s:
        s.execute(
            update(MediatorSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        s.commit()
    resp = _call(client, method, path.format(hid=waiting_handoff), body, mediator)
    assert resp.status_code == 401
    assert resp.json()["detail"] == "login expired or invalid; please log in again"


def test_a_resident_token_is_not_a_mediator_token(client, waiting_handoff):
    conv = new_conversation(client)
    assert client.get("/api/handoffs", headers=auth(conv)).status_code == 401


def test_login_gives_an_expiring_token(client, app):
    make_mediator(app, "zhao", display_name="赵调解员")
    resp = client.post("/api/mediators/login", json={"username": "zhao", "password": PASSWORD})
    assert resp.status_code == 200
    body = resp.json()
    assert body["role"] == "mediator" and body["display_name"] == "赵调解员" and len(body["token"]) >= 40
    expires = dt.datetime.fromisoformat(body["expires_at"])
    ttl = app.state.settings.mediator_token_ttl_s
    assert abs((expires - dt.datetime.now(dt.UTC)).total_seconds() - ttl) < 60
    me = client.get("/api/mediators/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["username"] == "zhao"
    with app.state.db.sessions() as s:
        stored = s.scalars(select(MediatorSession)).one()
        assert stored.token_hash != body["token"]  # only a hash is kept
        m = s.scalars(select(Mediator)).one()
        assert m.password_hash.startswith("$argon2id$") and PASSWORD not in m.password_hash


def test_wrong_password_unknown_user_and_bad_bodies(client, app):
    make_mediator(app, "zhao")
    for body in ({"username": "zhao", "password": "wrong"}, {"username": "nobody", "password": PASSWORD}):
        resp = client.post("/api/mediators/login", json=body)
        assert resp.status_code == 401 and resp.json()["detail"] == "wrong username or password"
    for body in (
        {},
        {"username": "zhao"},
        {"username": "", "password": "x"},
        {"username": "zhao", "password": 1, "extra": True},
    ):
        assert client.post("/api/mediators/login", json=body).status_code == 422
    with app.state.db.sessions() as s:
        assert s.scalar(
            select(AuditEntry.action).where(AuditEntry.action == "mediator.login_failed").limit(1)
        )


def test_repeated_failed_logins_are_paused(client, app):
    make_mediator(app, "zhao")
    limit = app.state.settings.login_failures_per_window
    for _ in range(limit):
        assert (
            client.post("/api/mediators/login", json={"username": "zhao", "password": "bad"}).status_code
            == 401
        )
    resp = client.post("/api/mediators/login", json={"username": "zhao", "password": PASSWORD})
    assert resp.status_code == 429 and int(resp.headers["retry-after"]) > 0


def test_logout_revokes_the_token(client, mediator):
    assert client.post("/api/mediators/logout", headers=mediator).status_code == 204
    assert client.get("/api/mediators/me", headers=mediator).status_code == 401


def run_cli(app, monkeypatch, tmp_path, *args: str) -> int:
    """`fengqiao …` against the test gateway's database, as an operator runs it beside the gateway."""
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", app.state.db.url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    cli.get_settings.cache_clear()
    try:
        return cli.main(list(args))
    finally:
        cli.get_settings.cache_clear()


def test_disabled_mediator_cannot_log_in_or_use_a_token(client, app, mediator, monkeypatch, tmp_path):
    assert run_cli(app, monkeypatch, tmp_path, "mediators", "disable", "--username", "wang") == 0
    assert client.get("/api/mediators/me", headers=mediator).status_code == 401
    assert (
        client.post("/api/mediators/login", json={"username": "wang", "password": PASSWORD}).status_code
        == 401
    )


def test_roles_only_admins_manage_accounts_and_read_the_audit_log(client, rasa, app, mediator, admin):
    body = {"username": "sun", "password": "a-long-password", "display_name": "孙调解员"}
    assert client.post("/api/mediators", json=body, headers=mediator).status_code == 403
    assert client.get("/api/mediators", headers=mediator).status_code == 403
    assert client.get("/api/audit", headers=mediator).status_code == 403
    resp = client.post("/api/mediators", json=body, headers=admin)
    assert resp.status_code == 201 and resp.json()["role"] == "mediator"
    assert client.post("/api/mediators", json=body, headers=admin).status_code == 409
    assert client.post("/api/mediators", json=body | {"password": "short"}, headers=admin).status_code == 422
    assert login(client, "sun", "a-long-password")
    assert {m["username"] for m in client.get("/api/mediators", headers=admin).json()} == {
        "wang",
        "boss",
        "sun",
    }

    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    hid = handoff_id_of(client, mediator, conv["conversation_id"])
    client.post(f"/api/handoffs/{hid}/claim", headers=mediator)
    log = client.get(f"/api/audit?conversation_id={conv['conversation_id']}", headers=admin).json()
    actions = [(e["actor"], e["action"]) for e in reversed(log)]
    assert ("bot", "conversation.mode") in actions and ("mediator:wang", "handoff.claim") in actions
    assert all(e["at"] for e in log)


def test_only_the_claiming_mediator_may_write_release_or_close(client, rasa, mediator, other_mediator, admin):
    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    hid = handoff_id_of(client, mediator, conv["conversation_id"])
    assert client.post(f"/api/handoffs/{hid}/claim", headers=mediator).status_code == 200
    for path, body in (
        (f"/api/handoffs/{hid}/messages", {"text": "我来"}),
        (f"/api/handoffs/{hid}/release", None),
        (f"/api/handoffs/{hid}/close", {"outcome": "其他", "summary": "x"}),
    ):
        resp = client.post(path, json=body, headers=other_mediator)
        assert (
            resp.status_code == 403
            and resp.json()["detail"] == "another mediator has claimed this conversation"
        )
    # Everyone may read it; an administrator may step in.
    assert client.get(f"/api/handoffs/{hid}", headers=other_mediator).json()["mine"] is False
    assert (
        client.post(f"/api/handoffs/{hid}/messages", json={"text": "管理员介入"}, headers=admin).status_code
        == 201
    )


def test_state_errors(client, rasa, mediator):
    assert client.post("/api/handoffs/nope/claim", headers=mediator).status_code == 404
    assert client.get("/api/handoffs/nope", headers=mediator).status_code == 404
    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    hid = handoff_id_of(client, mediator, conv["conversation_id"])
    for path, body in (
        (f"/api/handoffs/{hid}/messages", {"text": "x"}),
        (f"/api/handoffs/{hid}/release", None),
        (f"/api/handoffs/{hid}/close", {"outcome": "其他", "summary": "x"}),
    ):
        resp = client.post(path, json=body, headers=mediator)
        assert resp.status_code == 409 and "waiting, not active" in resp.json()["detail"]
    assert client.post(f"/api/handoffs/{hid}/claim", headers=mediator).status_code == 200
    assert client.post(f"/api/handoffs/{hid}/claim", headers=mediator).status_code == 409
    for bad in (
        {"outcome": "和好了", "summary": "x"},
        {"outcome": "调解成功", "summary": "   "},
        {"outcome": "调解成功"},
        {"outcome": "调解成功", "summary": "x", "follow_up_date": "明天"},
        {"outcome": "调解成功", "summary": "字" * 4001},
    ):
        assert client.post(f"/api/handoffs/{hid}/close", json=bad, headers=mediator).status_code == 422, bad
    for bad in (
        {"text": ""},
        {"text": "   "},
        {"text": "字" * 2001},
        {"text": "x", "client_id": "短"},
        {"text": "x", "citations": [{"kind": "blog", "text": "x"}]},
    ):
        assert client.post(f"/api/handoffs/{hid}/messages", json=bad, headers=mediator).status_code == 422, (
            bad
        )
    assert client.get("/api/handoffs?status=everything", headers=mediator).status_code == 422
    assert client.post(f"/api/handoffs/{hid}/release", headers=mediator).status_code == 200
    assert client.post(f"/api/handoffs/{hid}/release", headers=mediator).status_code == 409


def test_mediator_message_resend_is_idempotent(client, rasa, mediator):
    conv = new_conversation(client)
    hand_off(client, rasa, conv)
    hid = handoff_id_of(client, mediator, conv["conversation_id"])
    client.post(f"/api/handoffs/{hid}/claim", headers=mediator)
    body = {"text": "请提供工资条", "client_id": "m-0123456789abcdef"}
    first = client.post(f"/api/handoffs/{hid}/messages", json=body, headers=mediator)
    second = client.post(f"/api/handoffs/{hid}/messages", json=body, headers=mediator)
    assert first.status_code == 201 and second.json()["duplicate"] is True
    assert first.json()["id"] == second.json()["id"]
    texts = [
        m["text"]
        for m in client.get(f"/api/conversations/{conv['conversation_id']}", headers=auth(conv)).json()[
            "messages"
        ]
    ]
    assert texts.count("请提供工资条") == 1


def test_cli_creates_mediators_and_admins(tmp_path, monkeypatch, client, app, capsys):
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", app.state.db.url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    cli.get_settings.cache_clear()
    try:
        assert (
            cli.main(
                [
                    "mediators",
                    "create",
                    "--username",
                    "chen",
                    "--password",
                    "pass-word-1",
                    "--display-name",
                    "陈调解员",
                ]
            )
            == 0
        )
        assert (
            cli.main(["mediators", "create", "--username", "root", "--password", "pass-word-2", "--admin"])
            == 0
        )
        assert cli.main(["mediators", "create", "--username", "chen", "--password", "pass-word-1"]) == 1
        assert cli.main(["mediators", "create", "--username", "shorty", "--password", "short"]) == 2
        assert cli.main(["mediators", "create", "--username", "a b", "--password", "pass-word-1"]) == 2
        assert cli.main(["mediators", "list"]) == 0
        assert (
            cli.main(["mediators", "set-password", "--username", "chen", "--password", "new-pass-word"]) == 0
        )
    finally:
        cli.get_settings.cache_clear()
    out = capsys.readouterr()
    assert "created mediator chen (陈调解员)" in out.out and "created admin root" in out.out
    assert "already taken" in out.err
    assert (
        client.post("/api/mediators/login", json={"username": "chen", "password": "pass-word-1"}).status_code
        == 401
    )
    assert login(client, "chen", "new-pass-word")
    root = client.post("/api/mediators/login", json={"username": "root", "password": "pass-word-2"}).json()
    assert root["role"] == "admin"


# ---------------------------------------------------------------------------------------------------------------
# Ending logins: the console sockets close too, on every gateway


def _socket(client, headers):
    ws = client.websocket_connect(f"/ws/mediators?token={headers['Authorization'].removeprefix('Bearer ')}")
    ws.__enter__()
    assert ws.receive_json()["type"] == "hello"
    return ws


def _closed(ws, within_s: float = 5.0) -> tuple[int, dict]:
    """The socket's close code, and the last event before it (pongs aside). It is pinged meanwhile: a socket still
    open after `within_s` fails the test instead of waiting for ever."""
    import time

    from starlette.websockets import WebSocketDisconnect

    last = None
    deadline = time.monotonic() + within_s
    with pytest.raises(WebSocketDisconnect) as exc:
        while True:
            ws.send_json({"type": "ping"})
            event = ws.receive_json()
            if event["type"] == "pong":
                assert time.monotonic() < deadline, "the socket stayed open"
                time.sleep(0.2)  # under the sockets' event rate
            else:
                last = event
    return exc.value.code, last


def _still_open(ws) -> None:
    ws.send_json({"type": "ping"})
    for _ in range(50):
        if ws.receive_json()["type"] == "pong":
            return
    raise AssertionError("no pong")


def _actions(app, action: str) -> list[AuditEntry]:
    with app.state.db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_logout_closes_the_console_socket_of_that_login_only(client, app, mediator):
    """Logout on one login of wang: that login's console socket gets an error event telling it to log in again and
    closes with 4401; a socket of wang's other login stays open. Before, the socket stayed open after logout."""
    other = login(client, "wang")
    ws, ws_other = _socket(client, mediator), _socket(client, other)
    try:
        assert client.post("/api/mediators/logout", headers=mediator).status_code == 204
        code, event = _closed(ws)
        assert code == 4401
        assert event == {"type": "error", "detail": "logged out; please log in again", "reason": "logout"}
        _still_open(ws_other)
    finally:
        ws.__exit__(None, None, None)
        ws_other.__exit__(None, None, None)


def test_an_admin_changes_and_disables_an_account(client, app, mediator, admin):
    """PATCH /api/mediators/{id}: admins only; a new display name reaches wang's open console (it stays open);
    disabling wang ends every login of wang (HTTP 401) and closes its console socket with 4401; an admin cannot
    disable or demote their own account. Before, there was no such route (405)."""
    wang = client.get("/api/mediators/me", headers=mediator).json()
    boss = client.get("/api/mediators/me", headers=admin).json()
    second = login(client, "wang")
    ws = _socket(client, mediator)
    try:
        resp = client.patch(f"/api/mediators/{wang['id']}", json={"active": False}, headers=mediator)
        assert resp.status_code == 403
        assert resp.json()["detail"] == "administrators only"
        resp = client.patch("/api/mediators/9999", json={"active": False}, headers=admin)
        assert resp.status_code == 404
        assert resp.json()["detail"] == "mediator not found"
        for bad in ({}, {"active": None}, {"role": "root"}, {"display_name": "  "}, {"username": "x"}):
            assert client.patch(f"/api/mediators/{wang['id']}", json=bad, headers=admin).status_code == 422, (
                bad
            )
        for own in ({"active": False}, {"role": "mediator"}):
            resp = client.patch(f"/api/mediators/{boss['id']}", json=own, headers=admin)
            assert resp.status_code == 409
            assert resp.json()["detail"] == "administrators cannot disable or demote their own account"

        resp = client.patch(f"/api/mediators/{wang['id']}", json={"display_name": "王老师"}, headers=admin)
        assert resp.status_code == 200
        assert resp.json() == {**wang, "display_name": "王老师"}
        _still_open(ws)

        resp = client.patch(f"/api/mediators/{wang['id']}", json={"active": False}, headers=admin)
        assert resp.status_code == 200
        assert resp.json() == {**wang, "display_name": "王老师", "active": False}
        code, event = _closed(ws)
        assert code == 4401
        assert event == {"type": "error", "detail": "this account has been disabled", "reason": "disabled"}
    finally:
        ws.__exit__(None, None, None)
    for headers in (mediator, second):
        assert client.get("/api/mediators/me", headers=headers).status_code == 401
    assert (
        client.post("/api/mediators/login", json={"username": "wang", "password": PASSWORD}).status_code
        == 401
    )
    with app.state.db.sessions() as s:
        assert not s.scalars(
            select(MediatorSession).where(
                MediatorSession.mediator_id == wang["id"], MediatorSession.revoked.is_(False)
            )
        ).all()
    entries = _actions(app, "mediator.update")
    assert [(e.actor, e.detail["fields"]) for e in entries] == [
        ("mediator:boss", ["display_name"]),
        ("mediator:boss", ["active"]),
    ]
    assert entries[-1].detail["sessions_ended"] == 2

    # Enabled again: a fresh login works (the old ones stay ended).
    resp = client.patch(f"/api/mediators/{wang['id']}", json={"active": True, "role": "admin"}, headers=admin)
    assert resp.status_code == 200
    assert (resp.json()["active"], resp.json()["role"]) == (True, "admin")
    assert client.get("/api/mediators/me", headers=mediator).status_code == 401
    assert login(client, "wang")


def test_changing_the_password_keeps_this_login_and_ends_the_others(client, app, mediator):
    """POST /api/mediators/me/password from one of wang's two logins: a wrong current password is 403, a short new
    one 422; success ends the other login (401, its console socket closes with 4401 and an error event) and keeps
    this one (and its socket); the old password no longer logs in. Before, there was no such route (404)."""
    other = login(client, "wang")
    ws, ws_other = _socket(client, mediator), _socket(client, other)
    try:
        resp = client.post(
            "/api/mediators/me/password",
            json={"current_password": "wrong password", "new_password": "a-new-password"},
            headers=mediator,
        )
        assert resp.status_code == 403
        assert resp.json()["detail"] == "the current password is wrong"
        for bad in (
            {"current_password": PASSWORD, "new_password": "short"},
            {"new_password": "a-new-password"},
            {"current_password": PASSWORD, "new_password": "x" * 257},
        ):
            resp = client.post("/api/mediators/me/password", json=bad, headers=mediator)
            assert resp.status_code == 422, bad
        _still_open(ws_other)

        resp = client.post(
            "/api/mediators/me/password",
            json={"current_password": PASSWORD, "new_password": "a-new-password"},
            headers=mediator,
        )
        assert resp.status_code == 200
        assert resp.json() == {"changed": True, "sessions_ended": 1}
        code, event = _closed(ws_other)
        assert code == 4401
        assert event == {
            "type": "error",
            "detail": "the password was changed; please log in again",
            "reason": "password",
        }
        _still_open(ws)
    finally:
        ws.__exit__(None, None, None)
        ws_other.__exit__(None, None, None)
    assert client.get("/api/mediators/me", headers=mediator).status_code == 200
    assert client.get("/api/mediators/me", headers=other).status_code == 401
    assert (
        client.post("/api/mediators/login", json={"username": "wang", "password": PASSWORD}).status_code
        == 401
    )
    assert login(client, "wang", "a-new-password")
    assert [e.actor for e in _actions(app, "mediator.password_change_failed")] == ["mediator:wang"]
    assert [e.detail for e in _actions(app, "mediator.password_change")] == [{"sessions_ended": 1}]


def test_a_logout_on_one_gateway_closes_the_console_socket_on_another(settings, rasa, precedent_sink):
    """Two gateways on one database and one bus (in-process here; Redis carries the same channel between
    processes): a console socket on gateway A closes with 4401 when its login logs out on gateway B, and another
    login's socket on A closes when an admin on B disables the account. Before, sockets never heard of it."""
    from fastapi.testclient import TestClient

    from api.events import InProcessBus
    from api.main import create_app

    bus = InProcessBus()
    app_a = create_app(settings, rasa=rasa, bus=bus, add_precedent=precedent_sink)
    app_b = create_app(
        settings.model_copy(update={"run_migrations_on_start": False}),
        rasa=rasa,
        bus=bus,
        add_precedent=precedent_sink,
    )
    with TestClient(app_a) as a, TestClient(app_b) as b:
        make_mediator(app_a, "wang", display_name="王调解员")
        make_mediator(app_a, "boss", admin=True)
        first, second = login(a, "wang"), login(a, "wang")
        ws_first, ws_second = _socket(a, first), _socket(a, second)
        try:
            assert b.post("/api/mediators/logout", headers=first).status_code == 204
            assert _closed(ws_first)[0] == 4401
            _still_open(ws_second)
            wang = b.get("/api/mediators/me", headers=second).json()
            resp = b.patch(f"/api/mediators/{wang['id']}", json={"active": False}, headers=login(b, "boss"))
            assert resp.status_code == 200
            assert _closed(ws_second) == (
                4401,
                {"type": "error", "detail": "this account has been disabled", "reason": "disabled"},
            )
        finally:
            ws_first.__exit__(None, None, None)
            ws_second.__exit__(None, None, None)


def test_a_change_made_on_the_command_line_also_closes_the_console_socket(
    client, app, mediator, monkeypatch, tmp_path
):
    """`fengqiao mediators disable` runs outside every gateway and announces nothing: the console socket finds
    out at its next periodic check of the login (every `mediator_socket_recheck_s`) and closes with 4401. Before,
    it stayed open until the login expired (8 hours)."""
    app.state.settings.mediator_socket_recheck_s = 0.3
    ws = _socket(client, mediator)
    try:
        _still_open(ws)
        assert run_cli(app, monkeypatch, tmp_path, "mediators", "disable", "--username", "wang") == 0
        code, event = _closed(ws)
        assert code == 4401 and event["type"] == "error"
    finally:
        ws.__exit__(None, None, None)


def test_guessing_the_current_password_is_bounded_like_a_login(client, app, mediator):
    """A stolen console token must not become a way to guess the account's password without limit: wrong
    current passwords count in the login back-off (per address and per name), and after the free ones the change
    is refused with 429 and Retry-After, even with the right password. Before, every guess was checked."""
    free = app.state.settings.login_failures_per_window
    for _ in range(free):
        resp = client.post(
            "/api/mediators/me/password",
            headers=mediator,
            json={"current_password": "not the password", "new_password": "a new password 1"},
        )
        assert resp.status_code == 403
    resp = client.post(
        "/api/mediators/me/password",
        headers=mediator,
        json={"current_password": PASSWORD, "new_password": "a new password 1"},
    )
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert client.get("/api/mediators/me", headers=mediator).status_code == 200  # the login itself stays
