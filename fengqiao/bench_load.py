"""`fengqiao bench load`: many residents at once through the gateway, with lost-message accounting.

Closed loop (`--residents N --messages M`): N residents, each with one conversation, send M messages back to
back (the next as soon as the previous is answered). Open loop (`--rate R --duration S`): messages arrive as a
Poisson process at R a second for S seconds whatever the answers; each arrival takes a conversation that has no
message in flight (a new one when none is free) and a conversation is retired after `per_conversation` messages.

Every message carries a client id. Like the widget, a message answered 503 or 429 is sent again with the same
client id after Retry-After; other 5xx answers, connection errors and timeouts after one second; at most
`max_retries` times. Every answer, retries included, goes into the status histogram.

Afterwards each conversation is read back and a message counts as lost when it was answered 200 but is not
stored, or is stored without any stored reply while the conversation is still with the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import statistics
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from fengqiao.bench import BENCH_QUESTIONS, _percentile

# Processes of the private single stack that --kill may kill (a cluster's are listed in --help).
KILLABLE = ("rasa", "actions", "gateway")
# A message asking for a person would hand the conversation off and stop the bot's answers.
_HANDOFF_WORDS = ("人工", "调解员", "真人", "转接")
LOAD_QUESTIONS = [q for q in BENCH_QUESTIONS if not any(w in q for w in _HANDOFF_WORDS)]
RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_LOST_EXAMPLES = 10


@dataclass(eq=False)
class Conversation:
    id: str
    token: str
    sent: int = 0  # messages given to this conversation so far

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(eq=False)
class SentMessage:
    conversation: Conversation
    client_id: str
    text: str
    started: float  # time.monotonic() of the first send
    retries: int = 0
    final: str | None = None  # status key of the last answer
    answered_at: float | None = None  # when the final 200 came
    duplicate: bool = False
    replies: list[str] = field(default_factory=list)

    @property
    def latency_ms(self) -> float | None:
        return None if self.answered_at is None else (self.answered_at - self.started) * 1000


def _retry_after(resp: httpx.Response, default: float) -> float:
    try:
        return max(0.0, float(resp.headers.get("Retry-After", "")))
    except ValueError:  # missing, or an HTTP date (the gateway sends seconds)
        return default


def _error_key(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect_error"
    return f"error:{type(exc).__name__}"


class LoadRun:
    """The sending side of one benchmark run, and the check for lost messages after it."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_retries: int = 20,
        error_backoff_s: float = 1.0,
        questions: list[str] | None = None,
        seed: int | None = None,
        on_start: Callable[[float], None] | None = None,
    ):
        self.client = client
        self.max_retries = max_retries
        self.error_backoff_s = error_backoff_s
        self.questions = questions or LOAD_QUESTIONS
        self.rng = random.Random(seed)
        self.on_start = on_start
        self.status: Counter[str] = Counter()  # every answer to a message POST, retries included
        self.create_status: Counter[str] = Counter()
        self.read_status: Counter[str] = Counter()
        self.conversations: list[Conversation] = []
        self.messages: list[SentMessage] = []
        self.create_failed = 0
        self.not_sent = 0  # messages never sent because their conversation could not be created
        self.max_arrival_lag_ms = 0.0
        self.t0 = self.t1 = 0.0

    # ----- HTTP ---------------------------------------------------------------------------------------------
    async def _request(
        self,
        method: str,
        path: str,
        hist: Counter[str],
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[httpx.Response | None, str, int]:
        """Send until a 2xx, an answer not worth retrying, or `max_retries` retries.

        Returns the last response (None after a transport error), its status key and the retries made."""
        retries = 0
        while True:
            resp: httpx.Response | None = None
            wait = self.error_backoff_s
            try:
                resp = await self.client.request(method, path, json=json, headers=headers)
            except httpx.TransportError as exc:
                key = _error_key(exc)
            else:
                key = str(resp.status_code)
                if resp.status_code in RETRY_AFTER_STATUSES:
                    wait = _retry_after(resp, self.error_backoff_s)
                elif resp.status_code < 500:
                    hist[key] += 1
                    return resp, key, retries
            hist[key] += 1
            if retries >= self.max_retries:
                return resp, key, retries
            retries += 1
            await asyncio.sleep(wait)

    async def create_conversation(self) -> Conversation | None:
        resp, _, _ = await self._request("POST", "/api/conversations", self.create_status, json={})
        try:
            if resp is None or not resp.is_success:
                raise ValueError
            body = resp.json()
            conv = Conversation(body["conversation_id"], body["token"])
        except (ValueError, KeyError, TypeError):
            self.create_failed += 1
            return None
        self.conversations.append(conv)
        return conv

    async def send(self, conv: Conversation, text: str) -> SentMessage:
        msg = SentMessage(conv, f"load-{uuid.uuid4().hex}", text, time.monotonic())
        conv.sent += 1
        self.messages.append(msg)
        resp, msg.final, msg.retries = await self._request(
            "POST",
            f"/api/conversations/{conv.id}/messages",
            self.status,
            json={"text": text, "client_id": msg.client_id},
            headers=conv.headers,
        )
        if resp is not None and resp.status_code == 200:
            msg.answered_at = time.monotonic()
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                body = resp.json()
                msg.duplicate = bool(body.get("duplicate"))
                msg.replies = [r.get("text") or "" for r in body.get("replies") or []]
        return msg

    # ----- the two ways of sending --------------------------------------------------------------------------
    def _begin(self) -> None:
        self.t0 = time.monotonic()
        if self.on_start:
            self.on_start(self.t0)

    async def closed_loop(self, residents: int, messages: int) -> None:
        convs = await asyncio.gather(*(self.create_conversation() for _ in range(residents)))
        self._begin()

        async def resident(i: int, conv: Conversation | None) -> None:
            if conv is None:
                self.not_sent += messages
                return
            for j in range(messages):
                await self.send(conv, self.questions[(i + j) % len(self.questions)])

        await asyncio.gather(*(resident(i, c) for i, c in enumerate(convs)))
        self.t1 = time.monotonic()

    async def open_loop(self, rate: float, duration_s: float, per_conversation: int = 10) -> None:
        idle: deque[Conversation] = deque()
        tasks: set[asyncio.Task] = set()

        async def arrival(index: int) -> None:
            conv = idle.popleft() if idle else await self.create_conversation()
            if conv is None:
                self.not_sent += 1
                return
            await self.send(conv, self.questions[index % len(self.questions)])
            if conv.sent < per_conversation:
                idle.append(conv)

        self._begin()
        due = self.t0
        index = 0
        while True:
            due += self.rng.expovariate(rate)
            if due - self.t0 >= duration_s:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.max_arrival_lag_ms = max(self.max_arrival_lag_ms, (time.monotonic() - due) * 1000)
            task = asyncio.create_task(arrival(index))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            index += 1
        while tasks:
            await asyncio.gather(*list(tasks))
        self.t1 = time.monotonic()

    # ----- afterwards ---------------------------------------------------------------------------------------
    async def check(self, concurrency: int = 32) -> dict[str, Any]:
        """Read every conversation back and count lost and twice-stored messages."""
        sent_by_conv: dict[str, list[SentMessage]] = defaultdict(list)
        for m in self.messages:
            sent_by_conv[m.conversation.id].append(m)
        gate = asyncio.Semaphore(concurrency)
        out: dict[str, Any] = {
            "lost": 0,
            "lost_unstored": 0,
            "lost_unanswered": 0,
            "answered_twice": 0,
            "unchecked": 0,
            "not_with_bot": 0,
            "lost_examples": [],
        }

        def lose(m: SentMessage, why: str) -> None:
            out["lost"] += 1
            out[f"lost_{why}"] += 1
            if len(out["lost_examples"]) < MAX_LOST_EXAMPLES:
                out["lost_examples"].append(
                    {
                        "conversation_id": m.conversation.id,
                        "client_id": m.client_id,
                        "why": why,
                        "final_status": m.final,
                        "text": m.text,
                    }
                )

        async def one(conv: Conversation) -> None:
            async with gate:
                resp, _, _ = await self._request(
                    "GET", f"/api/conversations/{conv.id}", self.read_status, headers=conv.headers
                )
            sent = sent_by_conv[conv.id]
            try:
                if resp is None or resp.status_code != 200:
                    raise ValueError
                body = resp.json()
                mode, stored = body["mode"], body["messages"]
            except (ValueError, KeyError, TypeError):
                out["unchecked"] += len(sent)
                return
            if mode != "bot":
                out["not_with_bot"] += 1
            with_client_id: dict[str, list[dict]] = defaultdict(list)
            for s in stored:
                if s.get("client_id"):
                    with_client_id[s["client_id"]].append(s)
            replied = {s["reply_to"] for s in stored if s.get("reply_to") is not None}
            for m in sent:
                rows = with_client_id.get(m.client_id, [])
                residents = [r for r in rows if r.get("sender") == "resident"]
                if len(residents) > 1:
                    out["answered_twice"] += 1
                if m.answered_at is not None and not rows:
                    lose(m, "unstored")
                elif residents and mode == "bot" and not any(r["id"] in replied for r in residents):
                    lose(m, "unanswered")

        await asyncio.gather(*(one(c) for c in self.conversations if sent_by_conv[c.id]))
        return out

    def summary(self) -> dict[str, Any]:
        answered = [m for m in self.messages if m.answered_at is not None]
        latencies = [m.latency_ms for m in answered if m.latency_ms is not None]
        wall = max(self.t1 - self.t0, 1e-9)
        out: dict[str, Any] = {
            "sent": len(self.messages),
            "answered": len(answered),
            "gave_up": len(self.messages) - len(answered),
            "not_sent": self.not_sent,
            "conversations": len(self.conversations),
            "create_failed": self.create_failed,
            "retried_messages": sum(1 for m in self.messages if m.retries),
            "retries": sum(m.retries for m in self.messages),
            "duplicate_answers": sum(1 for m in answered if m.duplicate),
            "empty_answers": sum(1 for m in answered if not m.replies and not m.duplicate),
            "status": dict(sorted(self.status.items())),
            "create_status": dict(sorted(self.create_status.items())),
            "wall_s": round(wall, 2),
            "throughput_msg_s": round(len(answered) / wall, 2),
            "latency_ms": _latency_summary(latencies),
        }
        kinds = _reply_kinds([text for m in answered for text in m.replies])
        if kinds:
            out["apologies"] = kinds
        return out


def _latency_summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(_percentile(values, 0.50), 1),
        "p95": round(_percentile(values, 0.95), 1),
        "p99": round(_percentile(values, 0.99), 1),
        "max": round(max(values), 1),
        "mean": round(statistics.fmean(values), 1),
    }


def _reply_kinds(texts: list[str]) -> dict[str, int]:
    """How many replies were the gateway's stock apologies (bot or action server down, no answer)."""
    try:  # imported only now: the gateway's module pulls in the knowledge base; measuring is over
        from api.routes import conversations as gw
    except Exception:  # the gateway's code is not importable here: no classification
        return {}
    stock = {
        getattr(gw, name, None): label
        for name, label in (
            ("RASA_DOWN", "rasa_down"),
            ("ACTIONS_DOWN", "actions_down"),
            ("NO_REPLY", "no_reply"),
            ("BOT_DOWN_HANDOFF", "handed_off_bot_down"),
        )
    }
    counts = Counter(stock[t] for t in texts if t in stock)
    return dict(sorted(counts.items()))


# ----- killing a process of the private stack ------------------------------------------------------------------
class Killer:
    """SIGKILLs one process group of a private stack `at_s` seconds into the run; Stack.supervise restarts it."""

    def __init__(self, stack: Any, process: str, at_s: float):
        by_name = {p.name: p for p in stack.processes}
        if process not in by_name:
            raise ValueError(f"the stack has no process {process!r}; it has {', '.join(by_name)}")
        self.proc = by_name[process]
        self.process, self.at_s = process, at_s
        self.killed_at: float | None = None
        self.pid: int | None = None
        self.events: list[tuple[str, float, int | None]] = []
        self.settled = threading.Event()  # healthy again, or the supervisor gave up
        self._task: asyncio.Task | None = None

    def on_event(self, kind: str, proc: Any) -> None:  # called from the supervisor's thread
        if proc is self.proc and self.killed_at is not None:
            self.events.append((kind, time.monotonic(), proc.pid))
            if kind in ("back", "gave_up"):
                self.settled.set()

    def schedule(self, t0: float) -> None:
        self._task = asyncio.get_running_loop().create_task(self._kill(t0))

    async def _kill(self, t0: float) -> None:
        await asyncio.sleep(max(0.0, t0 + self.at_s - time.monotonic()))
        self.pid = self.proc.pid
        if self.pid is None:
            return
        self.killed_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    async def finish(self, timeout_s: float) -> None:
        """Cancel a kill not yet done; wait (in a thread) for a killed process to be healthy again."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.killed_at is not None:
            await asyncio.to_thread(self.settled.wait, timeout_s)

    def report(self, t0: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "process": self.process,
            "at_s": self.at_s,
            "killed": self.killed_at is not None,
        }
        if self.killed_at is None:
            out["note"] = "the sending phase ended before the kill time"
            return out
        rel = lambda t: round(t - t0, 2)  # noqa: E731
        out |= {
            "pid": self.pid,
            "killed_at_s": rel(self.killed_at),
            "events": [{"event": kind, "at_s": rel(at), "pid": pid} for kind, at, pid in self.events],
        }
        back = next((at for kind, at, _ in self.events if kind == "back"), None)
        noticed = next((at for kind, at, _ in self.events if kind == "died"), None)
        if noticed is not None:
            out["restart_began_at_s"] = rel(noticed)
        if back is not None:
            out |= {
                "healthy_at_s": rel(back),
                "down_s": round(back - self.killed_at, 2),
                "new_pid": next(pid for kind, _, pid in self.events if kind == "back"),
            }
        else:
            out["healthy_at_s"] = None
        return out


# ----- the whole run --------------------------------------------------------------------------------------------
def make_client(
    base_url: str,
    timeout_s: float = 60.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    # No pool limit: with hundreds of residents the client must not be the queue being measured.
    # An idle connection is dropped by the client before the gateway's own keep-alive timeout (uvicorn: 5 s) can
    # close it under a request just being sent on it (an httpx ReadError, then a resend).
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=4.0)
    return httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits, transport=transport)


async def run_load(
    base_url: str,
    *,
    residents: int | None = None,
    messages: int | None = None,
    rate: float | None = None,
    duration_s: float | None = None,
    per_conversation: int = 10,
    timeout_s: float = 60.0,
    max_retries: int = 20,
    error_backoff_s: float = 1.0,
    seed: int | None = None,
    killers: list[Killer] | None = None,
    recovery_timeout_s: float = 300.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """One run against `base_url`: closed loop with `residents`/`messages`, open loop with `rate`/`duration_s`."""
    open_loop = rate is not None
    async with make_client(base_url, timeout_s, transport) as client:
        killers = killers or []

        def on_start(t0: float) -> None:
            for killer in killers:
                killer.schedule(t0)

        run = LoadRun(
            client,
            max_retries=max_retries,
            error_backoff_s=error_backoff_s,
            seed=seed,
            on_start=on_start if killers else None,
        )
        if rate is not None:  # open_loop
            await run.open_loop(rate, duration_s or 30.0, per_conversation)
        else:
            await run.closed_loop(residents or 10, messages or 5)
        for killer in killers:
            await killer.finish(recovery_timeout_s)  # the transcripts are read from a healthy stack
        lost = await run.check()
    if open_loop:
        result: dict[str, Any] = {
            "loop": "open",
            "rate_per_s": rate,
            "duration_s": duration_s or 30.0,
            "per_conversation": per_conversation,
            "max_arrival_lag_ms": round(run.max_arrival_lag_ms, 1),
        }
    else:
        result = {"loop": "closed", "residents": residents or 10, "messages_per_resident": messages or 5}
    result |= {"url": base_url, "timeout_s": timeout_s, "max_retries": max_retries}
    result |= run.summary()
    result |= lost
    if not open_loop and result["throughput_msg_s"] > 0:
        result["littles_law_latency_ms"] = round(result["residents"] / result["throughput_msg_s"] * 1000, 1)
    if run.read_status:
        result["read_status"] = dict(sorted(run.read_status.items()))
    if killers:
        result["kills"] = [killer.report(run.t0) for killer in killers]
    return result


def parse_kill(spec: str, default_at_s: float) -> tuple[str, float]:
    """`rasa`, `gateway-1@20` (process name, optionally @ seconds into the run)."""
    name, _, at = spec.partition("@")
    return name, float(at) if at else default_at_s


def bench_load(
    *,
    url: str | None = None,
    kill: list[str] | str | None = None,
    kill_at_s: float = 10.0,
    cluster: int = 0,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """`run_load` against `url`, or against a private stack or cluster (supervised, so that --kill comes back)."""
    kills = [kill] if isinstance(kill, str) else list(kill or [])
    if url:
        if kills:
            raise ValueError("--kill needs the private stack: leave out --url")
        return asyncio.run(run_load(url.rstrip("/"), **options))
    from fengqiao.bench import private_stack

    say = progress or (lambda m: None)
    with contextlib.ExitStack() as stack_cm:
        with _stdout_to_stderr():  # a first start trains the Rasa model, loudly: keep stdout for the result
            stack = stack_cm.enter_context(private_stack(progress=say, cluster=cluster))
        killers = [Killer(stack, *parse_kill(k, kill_at_s)) for k in kills]
        stop = threading.Event()

        def on_event(kind: str, proc: Any) -> None:
            say(f"supervisor: {proc.name} {kind} (pid {proc.pid})")
            for killer in killers:
                killer.on_event(kind, proc)

        supervisor = threading.Thread(
            target=stack.supervise,
            args=(stop,),
            kwargs={"on_event": on_event},
            name="bench-supervisor",
            daemon=True,
        )
        supervisor.start()
        try:
            result = asyncio.run(
                run_load(
                    stack.settings.gateway_url,
                    killers=killers,
                    recovery_timeout_s=stack.settings.startup_timeout_s,
                    **options,
                )
            )
            result["rss_mb"] = stack.rss_mb()
            if cluster:
                result["cluster"] = cluster
        finally:
            stop.set()
            supervisor.join(timeout=stack.settings.startup_timeout_s + 10)
        return result


@contextlib.contextmanager
def _stdout_to_stderr():
    """File descriptor 1 points at stderr meanwhile, for this process and the children it starts."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# ----- output ---------------------------------------------------------------------------------------------------
def format_table(r: dict[str, Any]) -> str:
    lines: list[str] = []
    row = lambda k, v: lines.append(f"  {k:<26}{v}")  # noqa: E731
    if r["loop"] == "closed":
        lines.append(
            f"closed loop: {r['residents']} residents × {r['messages_per_resident']} messages, "
            f"no think time — {r['url']}"
        )
    else:
        lines.append(
            f"open loop: Poisson arrivals at {r['rate_per_s']}/s for {r['duration_s']} s, "
            f"{r['per_conversation']} messages a conversation — {r['url']}"
        )
    row(
        "messages sent",
        f"{r['sent']}  (answered {r['answered']}, gave up {r['gave_up']}, not sent {r['not_sent']})",
    )
    row("conversations", f"{r['conversations']}  (creation failed {r['create_failed']})")
    row(
        "retries",
        f"{r['retries']} over {r['retried_messages']} messages; duplicate answers "
        f"{r['duplicate_answers']}, empty answers {r['empty_answers']}",
    )
    row("status histogram", "  ".join(f"{k}: {v}" for k, v in r["status"].items()) or "-")
    if set(r["create_status"]) - {"201"}:
        row("conversation creation", "  ".join(f"{k}: {v}" for k, v in r["create_status"].items()))
    row("sending phase", f"{r['wall_s']} s")
    row("throughput", f"{r['throughput_msg_s']} answered messages/s")
    lat = r["latency_ms"]
    if lat:
        row(
            "latency ms",
            f"p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}  mean {lat['mean']}",
        )
    if "littles_law_latency_ms" in r:
        row("Little's law N/X", f"{r['littles_law_latency_ms']} ms")
    if r["loop"] == "open":
        row("max arrival lag", f"{r['max_arrival_lag_ms']} ms (the client's own delay)")
    if r.get("apologies"):
        row("stock apologies", "  ".join(f"{k}: {v}" for k, v in r["apologies"].items()))
    row(
        "LOST",
        f"{r['lost']}  (answered but not stored {r['lost_unstored']}, stored without reply "
        f"{r['lost_unanswered']})",
    )
    row("answered twice", r["answered_twice"])
    if r["unchecked"]:
        row("unchecked", f"{r['unchecked']} messages (their conversation could not be read)")
    if r["not_with_bot"]:
        row("handed off", f"{r['not_with_bot']} conversations no longer with the bot")
    for ex in r["lost_examples"]:
        lines.append(
            f"    lost: {ex['why']} {ex['conversation_id']} {ex['client_id']} "
            f"(last status {ex['final_status']}) {ex['text']}"
        )
    for k in r.get("kills", []):
        if not k["killed"]:
            row(f"kill {k['process']}", f"not done: {k['note']}")
        else:
            back = (
                f"healthy again at {k['healthy_at_s']} s (pid {k['new_pid']}, down {k['down_s']} s)"
                if k.get("healthy_at_s") is not None
                else "NOT healthy again"
            )
            row(f"kill {k['process']}", f"SIGKILL pid {k['pid']} at {k['killed_at_s']} s; {back}")
    if "rss_mb" in r:
        row("resident memory MB", "  ".join(f"{k}: {v}" for k, v in r["rss_mb"].items()))
    return "\n".join(lines)


def add_arguments(p: Any) -> None:
    p.add_argument(
        "--residents", type=int, metavar="N", help="closed loop: concurrent residents (default 10)"
    )
    p.add_argument(
        "--messages", type=int, metavar="M", help="closed loop: messages each, back to back (default 5)"
    )
    p.add_argument("--rate", type=float, metavar="R", help="open loop: Poisson arrivals, messages a second")
    p.add_argument("--duration", type=float, metavar="S", help="open loop: seconds of arrivals (default 30)")
    p.add_argument(
        "--per-conversation",
        type=int,
        default=10,
        metavar="K",
        help="open loop: messages before a resident starts a new conversation (default 10)",
    )
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="per request (default 60)")
    p.add_argument(
        "--max-retries",
        type=int,
        default=20,
        metavar="K",
        help="resends of one message after 503/429 (Retry-After), other 5xx or a connection error "
        "(default 20)",
    )
    p.add_argument("--seed", type=int, help="seed of the open loop's arrivals")
    p.add_argument("--url", help="a running gateway; default: start a private stack on free ports")
    p.add_argument(
        "--cluster",
        type=int,
        nargs="?",
        const=2,
        default=0,
        metavar="N",
        help="private stack: N (default 2) gateways, Rasa servers and action servers behind HAProxy, "
        "on a private PostgreSQL and Redis",
    )
    p.add_argument(
        "--kill",
        action="append",
        metavar="NAME[@S]",
        help="private stack only: SIGKILL this process S seconds into the run (default --at); a "
        "supervisor restarts it. Names: " + ", ".join(KILLABLE) + "; in a cluster gateway-1, "
        "rasa-2, actions-1, redis, … Repeat for several.",
    )
    p.add_argument(
        "--at", type=float, default=10.0, metavar="S", help="seconds into the run for --kill (default 10)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


def command(args: Any) -> int:
    import json

    if args.rate is not None and (args.residents is not None or args.messages is not None):
        print(
            "give either --residents/--messages (closed loop) or --rate/--duration (open loop)",
            file=sys.stderr,
        )
        return 2
    if args.duration is not None and args.rate is None:
        print("--duration needs --rate", file=sys.stderr)
        return 2
    if args.kill and args.url:
        print("--kill needs the private stack: leave out --url", file=sys.stderr)
        return 2
    for spec in args.kill or []:
        name = spec.partition("@")[0]
        known = (
            re.fullmatch(r"(gateway|rasa|actions)-[1-9]\d*|redis|haproxy", name)
            if args.cluster
            else name in KILLABLE
        )
        if not known:
            print(
                f"--kill {name}: no such process in the private {'cluster' if args.cluster else 'stack'}",
                file=sys.stderr,
            )
            return 2
    if any(v is not None and v <= 0 for v in (args.residents, args.messages, args.rate, args.duration)):
        print("--residents, --messages, --rate and --duration must be positive", file=sys.stderr)
        return 2
    if args.rate is None and (args.messages or 5) > 20:
        print(
            "note: the gateway allows 20 messages a minute per conversation by default "
            "(FENGQIAO_MESSAGE_RATE_PER_MINUTE); expect 429s",
            file=sys.stderr,
        )
    options: dict[str, Any] = {"timeout_s": args.timeout, "max_retries": args.max_retries, "seed": args.seed}
    if args.rate is not None:
        options |= {
            "rate": args.rate,
            "duration_s": args.duration or 30.0,
            "per_conversation": args.per_conversation,
        }
    else:
        options |= {"residents": args.residents or 10, "messages": args.messages or 5}
    progress = lambda m: print(f"[stack] {m}", file=sys.stderr, flush=True)  # noqa: E731
    result = bench_load(
        url=args.url, kill=args.kill, kill_at_s=args.at, cluster=args.cluster, progress=progress, **options
    )
    print(json.dumps(result, ensure_ascii=False) if args.json else format_table(result))
    return 1 if result["lost"] or result["answered_twice"] else 0
