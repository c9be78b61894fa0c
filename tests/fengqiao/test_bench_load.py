"""`fengqiao bench load` against a small fake gateway: status histogram, retries, lost-message check, --kill."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from core.settings import Settings
from fengqiao import cli
from fengqiao.bench_load import LOAD_QUESTIONS, Killer, LoadRun, format_table, make_client, run_load
from fengqiao.ports import free_port
from fengqiao.supervisor import ManagedProcess, Stack

BUSY, DROP, NO_REPLY, TWICE = "busy-503", "answered-not-stored", "stored-no-reply", "stored-twice"


def run_async(coro):
    """asyncio.run on a thread of its own: a session-scoped Playwright (tests/browser) keeps an event loop
    running in the main thread for the rest of the session."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class FakeGateway:
    """The three resident routes the benchmark uses, with knobs that misbehave on purpose."""

    def __init__(
        self, *, busy_answers: int = 1, busy_status: int = 503, retry_after: str = "1", delay_s: float = 0.0
    ):
        self.busy_answers, self.busy_status, self.delay_s = busy_answers, busy_status, delay_s
        self.retry_after = retry_after
        self.conversations: dict[str, dict] = {}
        self.attempts: dict[str, list[str]] = defaultdict(list)  # text -> client ids of every POST
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight = 0
        self.app = self._make_app()

    def _conv(self, cid: str, authorization: str | None) -> dict:
        conv = self.conversations.get(cid)
        if conv is None or authorization != f"Bearer {conv['token']}":
            raise HTTPException(403)
        return conv

    def _make_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/conversations", status_code=201)
        async def create() -> dict:
            cid, token = uuid.uuid4().hex, uuid.uuid4().hex
            self.conversations[cid] = {"token": token, "mode": "bot", "messages": []}
            return {"conversation_id": cid, "token": token}

        @app.post("/api/conversations/{cid}/messages")
        async def post(cid: str, request: Request, authorization: str | None = Header(None)):
            conv = self._conv(cid, authorization)
            body = await request.json()
            text, client_id = body["text"], body["client_id"]
            self.attempts[text].append(client_id)
            if text == BUSY and len(self.attempts[text]) <= self.busy_answers:
                return JSONResponse(
                    {"detail": "busy"}, self.busy_status, headers={"Retry-After": self.retry_after}
                )
            self.in_flight[cid] += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight[cid])
            try:
                await asyncio.sleep(self.delay_s)
            finally:
                self.in_flight[cid] -= 1
            msgs = conv["messages"]
            if text != DROP:
                for _ in range(2 if text == TWICE else 1):
                    msgs.append(
                        {
                            "id": len(msgs) + 1,
                            "sender": "resident",
                            "text": text,
                            "client_id": client_id,
                            "reply_to": None,
                        }
                    )
            replies = []
            if text != NO_REPLY:
                reply = {
                    "id": len(msgs) + 1,
                    "sender": "bot",
                    "text": "答复",
                    "client_id": None,
                    "reply_to": len(msgs),
                }
                msgs.append(reply)
                replies.append({"id": reply["id"], "text": reply["text"]})
            return {"mode": "bot", "replies": replies, "message_id": len(msgs), "client_id": client_id}

        @app.get("/api/conversations/{cid}")
        async def read(cid: str, authorization: str | None = Header(None)) -> dict:
            conv = self._conv(cid, authorization)
            return {"conversation_id": cid, "mode": conv["mode"], "messages": conv["messages"]}

        return app

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.app)


async def _send(gateway: FakeGateway, texts: list[str], **kw) -> tuple[LoadRun, dict]:
    async with make_client("http://fake", 5.0, gateway.transport()) as client:
        run = LoadRun(client, **kw)
        conv = await run.create_conversation()
        for text in texts:
            await run.send(conv, text)
        return run, await run.check()


def test_closed_loop_counts_every_answer_and_finds_nothing_lost():
    gateway = FakeGateway()
    result = run_async(run_load("http://fake", residents=4, messages=3, transport=gateway.transport()))
    assert result["status"] == {"200": 12}
    assert result["create_status"] == {"201": 4}
    assert (result["sent"], result["answered"], result["gave_up"], result["conversations"]) == (12, 12, 0, 4)
    assert (result["lost"], result["answered_twice"], result["unchecked"]) == (0, 0, 0)
    assert set(result["latency_ms"]) == {"p50", "p95", "p99", "max", "mean"}
    assert result["throughput_msg_s"] > 0 and result["littles_law_latency_ms"] > 0
    asked = set(gateway.attempts)
    assert asked <= set(LOAD_QUESTIONS) and not any("人工" in t for t in asked)
    assert "LOST" in format_table(result)


@pytest.mark.parametrize("status", [503, 429])
def test_busy_answer_is_retried_after_retry_after_with_the_same_client_id(status):
    gateway = FakeGateway(busy_answers=1, busy_status=status)
    run, lost = run_async(_send(gateway, [BUSY]))
    (msg,) = run.messages
    assert run.status == {str(status): 1, "200": 1}
    assert gateway.attempts[BUSY] == [msg.client_id, msg.client_id]
    assert msg.retries == 1 and msg.answered_at is not None
    assert msg.latency_ms >= 950  # waited for Retry-After: 1
    assert run.summary()["answered"] == 1 and lost["lost"] == 0


def test_gives_up_after_max_retries():
    gateway = FakeGateway(busy_answers=99, retry_after="0")
    run, lost = run_async(_send(gateway, [BUSY], max_retries=2, error_backoff_s=0.0))
    assert run.status == {"503": 3}
    summary = run.summary()
    assert (summary["answered"], summary["gave_up"], summary["retries"]) == (0, 1, 2)
    assert lost["lost"] == 0  # never answered and never stored: the resident knows it was not sent


def test_lost_check_flags_a_message_without_reply_and_a_200_not_stored():
    gateway = FakeGateway()
    run, lost = run_async(_send(gateway, [LOAD_QUESTIONS[0], DROP, NO_REPLY, TWICE]))
    assert run.status == {"200": 4}
    assert (lost["lost"], lost["lost_unstored"], lost["lost_unanswered"]) == (2, 1, 1)
    assert lost["answered_twice"] == 1
    assert {(e["why"], e["text"]) for e in lost["lost_examples"]} == {
        ("unstored", DROP),
        ("unanswered", NO_REPLY),
    }


def test_connection_errors_and_timeouts_have_their_own_keys():
    class Flaky(httpx.AsyncBaseTransport):
        def __init__(self, inner, errors):
            self.inner, self.errors = inner, list(errors)

        async def handle_async_request(self, request):
            if request.url.path.endswith("/messages") and self.errors:
                raise self.errors.pop(0)("boom", request=request)
            return await self.inner.handle_async_request(request)

    gateway = FakeGateway()
    flaky = Flaky(gateway.transport(), [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError])

    async def go():
        async with make_client("http://fake", 5.0, flaky) as client:
            run = LoadRun(client, error_backoff_s=0.0)
            await run.send(await run.create_conversation(), LOAD_QUESTIONS[1])
            return run

    run = run_async(go())
    assert run.status == {"connect_error": 1, "timeout": 1, "error:RemoteProtocolError": 1, "200": 1}
    assert run.messages[0].answered_at is not None


@pytest.fixture
def served_gateway():
    """The fake gateway over real HTTP (uvicorn on a free port), slow enough to overlap messages."""
    gateway = FakeGateway(delay_s=0.02)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(gateway.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield gateway, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def test_open_loop_over_http_never_overlaps_messages_of_one_conversation(served_gateway):
    gateway, url = served_gateway
    result = run_async(run_load(url, rate=60.0, duration_s=0.6, per_conversation=3, seed=7))
    assert result["loop"] == "open" and result["sent"] > 10
    assert result["status"] == {"200": result["sent"]} and result["lost"] == 0
    assert gateway.max_in_flight == 1
    assert all(
        len([m for m in c["messages"] if m["sender"] == "resident"]) <= 3
        for c in gateway.conversations.values()
    )
    assert result["conversations"] >= result["sent"] / 3


def _sleeper(tmp_path, name: str) -> ManagedProcess:
    return ManagedProcess(
        name,
        [sys.executable, "-c", "import time; time.sleep(60)"],
        dict(os.environ),
        tmp_path,
        tmp_path,
        healthy=lambda: True,
        echo=False,
    )


@pytest.fixture
def fake_stack(tmp_path):
    stack = Stack(Settings(data_dir=tmp_path), echo=False, progress=lambda m: None)
    stack.processes = [_sleeper(tmp_path, "gateway"), _sleeper(tmp_path, "rasa")]
    for p in stack.processes:
        p.start()
    yield stack
    stack.stop()


def test_kill_is_restarted_by_the_supervisor_and_reported(fake_stack):
    gateway = FakeGateway(delay_s=0.03)
    killer = Killer(fake_stack, "gateway", 0.1)
    old_pid = fake_stack.processes[0].pid
    stop = threading.Event()
    supervisor = threading.Thread(
        target=fake_stack.supervise, args=(stop,), kwargs={"poll_s": 0.02, "on_event": killer.on_event}
    )
    supervisor.start()
    try:
        result = run_async(
            run_load(
                "http://fake",
                residents=2,
                messages=10,
                killers=[killer],
                recovery_timeout_s=5,
                transport=gateway.transport(),
            )
        )
    finally:
        stop.set()
        supervisor.join(timeout=5)
    (kill,) = result["kills"]
    assert kill["killed"] and kill["pid"] == old_pid and kill["killed_at_s"] >= 0.1
    assert kill["healthy_at_s"] >= kill["killed_at_s"] and kill["new_pid"] not in (None, old_pid)
    assert fake_stack.processes[0].running() and fake_stack.processes[0].pid == kill["new_pid"]
    assert "SIGKILL" in format_table(result)


def test_supervise_gives_up_on_a_process_that_keeps_dying(tmp_path):
    stack = Stack(Settings(data_dir=tmp_path), echo=False, progress=lambda m: None)
    stack.processes = [
        ManagedProcess(
            "actions",
            [sys.executable, "-c", "pass"],
            dict(os.environ),
            tmp_path,
            tmp_path,
            healthy=lambda: True,
            echo=False,
        )
    ]
    stack.processes[0].start()
    events: list[str] = []
    stop = threading.Event()
    assert stack.supervise(stop, poll_s=0.02, on_event=lambda kind, proc: events.append(kind)) is False
    assert stop.is_set() and events.count("died") == 3 and events[-1] == "gave_up"
    stack.stop()


def test_cli_refuses_mixed_loops_and_kill_with_url(capsys):
    assert cli.main(["bench", "load", "--residents", "2", "--rate", "3"]) == 2
    assert cli.main(["bench", "load", "--url", "http://x", "--kill", "rasa"]) == 2
    assert "--kill" in capsys.readouterr().err
    assert cli.main(["bench", "load", "--kill", "nginx"]) == 2
    assert (
        cli.main(["bench", "load", "--cluster", "--kill", "rasa"]) == 2
    )  # a cluster's are rasa-1, rasa-2, …
