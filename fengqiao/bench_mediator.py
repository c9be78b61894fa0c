"""`fengqiao bench mediator`: latency of the live mediator path over the WebSockets.

Measured on one conversation that a mediator has claimed:
- resident → mediator: from the resident's POST to the moment the message event arrives on the mediator's
  WebSocket (what a mediator's screen shows);
- mediator → resident: from the mediator's POST to the event on the resident's WebSocket.

Without --url it starts a private gateway (its own SQLite database on a temporary directory, free port) and a
mediator account in it. Rasa is not started: while a mediator owns a conversation nothing goes to Rasa, so
it is not on this path.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
from websockets.sync.client import connect

from core.settings import PROJECT_ROOT, get_settings
from fengqiao.ports import free_port
from fengqiao.supervisor import ManagedProcess, _http_ok, settings_env

BENCH_USER = "bench-mediator"
RECV_TIMEOUT_S = 10.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(statistics.median(values), 2),
        "p95": round(_percentile(values, 0.95), 2),
        "mean": round(statistics.fmean(values), 2),
        "max": round(max(values), 2),
    }


@contextmanager
def private_gateway():
    """A gateway alone on a free port with a fresh database holding one mediator; yields (url, user, password)."""
    from api.db import Database
    from fengqiao.mediators import create_mediator

    base = get_settings()
    with tempfile.TemporaryDirectory(prefix="fengqiao-bench-") as tmp:
        settings = base.model_copy(
            update={
                "data_dir": Path(tmp),
                "kb_dir": base.resolved_kb_dir,
                "database_url": None,
                "gateway_port": free_port(),
                "rasa_port": free_port(),
                "action_port": free_port(),
            }
        )
        password = uuid.uuid4().hex
        db = Database(settings.resolved_database_url)
        db.migrate()
        create_mediator(db, BENCH_USER, password, display_name="测试调解员")
        db.engine.dispose()
        env = settings_env(settings) | {"FENGQIAO_MESSAGE_RATE_PER_MINUTE": "100000"}
        gateway = ManagedProcess(
            "gateway",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "api.main:create_app",
                "--host",
                settings.host,
                "--port",
                str(settings.gateway_port),
                "--no-access-log",
                "--log-level",
                "warning",
                "--ws-max-size",
                str(settings.ws_max_message_bytes),
            ],
            env,
            PROJECT_ROOT,
            settings.logs_dir,
            _http_ok(f"{settings.gateway_url}/"),
            echo=False,
        )
        gateway.start()
        try:
            gateway.wait_healthy(60)
            yield settings.gateway_url, BENCH_USER, password
        finally:
            gateway.stop()


def bench_mediator(
    n: int = 100, url: str | None = None, username: str | None = None, password: str | None = None
) -> dict:
    if url:
        return _run(url.rstrip("/"), n, username or "", password or "")
    with private_gateway() as (gateway_url, user, pw):
        result = _run(gateway_url, n, user, pw)
        result["gateway"] = "private (SQLite, in-process fan-out)"
        return result


def _wait_for(ws, predicate) -> dict:
    deadline = time.monotonic() + RECV_TIMEOUT_S
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("event did not arrive")
        event = json.loads(ws.recv(timeout=remaining))
        if predicate(event):
            return event


def _send_and_hear(
    http: httpx.Client, path: str, headers: dict[str, str], text: str, ws
) -> tuple[float, float | None]:
    """POST one message; (ms until the POST returned, ms until the other side's socket delivered it or None)."""
    client_id = f"bench-{uuid.uuid4().hex}"
    started = time.perf_counter()
    resp = http.post(path, headers=headers, json={"text": text, "client_id": client_id})
    post_ms = (time.perf_counter() - started) * 1000
    try:
        resp.raise_for_status()
        _wait_for(ws, lambda e: e["type"] == "message" and e["message"].get("client_id") == client_id)
    except (httpx.HTTPError, TimeoutError):
        return post_ms, None
    return post_ms, (time.perf_counter() - started) * 1000


def _run(base_url: str, n: int, username: str, password: str) -> dict:
    ws_base = "ws" + base_url.removeprefix("http")
    to_mediator: list[float] = []
    to_resident: list[float] = []
    post_ms: list[float] = []
    errors = 0
    with httpx.Client(base_url=base_url, timeout=30) as http:
        login = http.post("/api/mediators/login", json={"username": username, "password": password})
        login.raise_for_status()
        mediator = {"Authorization": f"Bearer {login.json()['token']}"}
        conv = http.post("/api/conversations", json={}).json()
        resident = {"Authorization": f"Bearer {conv['token']}"}
        cid = conv["conversation_id"]
        handoff = http.post(f"/api/conversations/{cid}/handoff", headers=resident).json()
        http.post(f"/api/handoffs/{handoff['handoff_id']}/claim", headers=mediator).raise_for_status()
        with (
            connect(f"{ws_base}/ws/mediators?token={login.json()['token']}") as mws,
            connect(f"{ws_base}/ws/conversations/{cid}?token={conv['token']}") as rws,
        ):
            _wait_for(mws, lambda e: e["type"] == "hello")
            _wait_for(rws, lambda e: e["type"] == "hello")
            mws.send(json.dumps({"type": "watch", "conversation_id": cid}))
            _wait_for(mws, lambda e: e["type"] == "watching")
            for i in range(n):
                post, heard = _send_and_hear(
                    http, f"/api/conversations/{cid}/messages", resident, f"调解测试消息 {i}", mws
                )
                post_ms.append(post)
                errors += heard is None
                to_mediator += [heard] if heard is not None else []
            for i in range(n):
                _, heard = _send_and_hear(
                    http, f"/api/handoffs/{handoff['handoff_id']}/messages", mediator, f"调解员回复 {i}", rws
                )
                errors += heard is None
                to_resident += [heard] if heard is not None else []
    return {
        "n": n,
        "errors": errors,
        "resident_to_mediator_ms": _summary(to_mediator),
        "mediator_to_resident_ms": _summary(to_resident),
        "resident_post_ms": _summary(post_ms),
    }
