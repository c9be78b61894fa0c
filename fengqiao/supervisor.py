"""Start, watch and stop the three processes: action server, Rasa server and gateway."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from core.settings import PROJECT_ROOT, Settings
from fengqiao import rasa_model
from fengqiao.rasa_endpoints import write_endpoints
from knowledge_base import store

WARMUP_QUESTION = "老板拖欠我三个月工资怎么办"


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting as its FENGQIAO_* variable (derived from the model, so none is forgotten), with the paths
    and URLs resolved, so that every child sees exactly the same configuration."""
    env = dict(os.environ)
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        key = f"FENGQIAO_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value).lower() if isinstance(value, bool) else str(value)
    env.update(
        FENGQIAO_DATABASE_URL=settings.resolved_database_url,
        FENGQIAO_TRACKER_DB=str(settings.resolved_tracker_db),
        FENGQIAO_KB_DIR=str(settings.resolved_kb_dir),
        FENGQIAO_MODELS_DIR=str(settings.resolved_models_dir),
        PYTHONUNBUFFERED="1",
    )
    return env


class ManagedProcess:
    """One child process in its own process group, its output forwarded line by line with a prefix."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        log_dir: Path,
        healthy: Callable[[], bool],
        echo: bool = True,
    ):
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.log_path = log_dir / f"{name}.log"
        self.healthy = healthy
        self.echo = echo
        self.proc: subprocess.Popen | None = None
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._pump = threading.Thread(
            target=self._forward, args=(self.proc,), daemon=True, name=f"log-{self.name}"
        )
        self._pump.start()

    def _forward(self, proc: subprocess.Popen) -> None:
        width = 8
        with self.log_path.open("a", encoding="utf-8") as log:
            for line in proc.stdout:  # type: ignore[union-attr]
                log.write(line)
                log.flush()
                if self.echo:
                    sys.stdout.write(f"[{self.name:<{width}}] {line}")
                    sys.stdout.flush()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(
                    f"{self.name} exited with code {self.proc.returncode if self.proc else '?'}; "
                    f"see {self.log_path}"
                )
            if self.healthy():
                return
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} not healthy after {timeout_s:.0f} s; see {self.log_path}")

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        else:
            # The leader is gone; make sure none of its children (Sanic workers) outlive it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self._pump:
            self._pump.join(timeout=5)


def _http_ok(
    url: str, check: Callable[[httpx.Response], bool] | None = None, params: dict[str, str] | None = None
) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            resp = httpx.get(url, timeout=2.0, params=params)
        except httpx.HTTPError:
            return False
        return resp.status_code == 200 and (check is None or check(resp))

    return probe


def action_process(s: Settings, name: str = "actions", echo: bool = True) -> ManagedProcess:
    """rasa-sdk behind the internal token (actions/server.py), on the internal interface."""
    env = settings_env(s) | {
        "SANIC_HOST": s.internal_host,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    return ManagedProcess(
        name,
        [
            sys.executable,
            "-m",
            "actions.server",
            "--actions",
            "actions.actions",
            "--port",
            str(s.action_port),
        ],
        env,
        PROJECT_ROOT,
        s.logs_dir,
        _http_ok(f"{s.action_url}/health"),
        echo,
    )


def rasa_process(s: Settings, name: str = "rasa", echo: bool = True) -> ManagedProcess:
    """Its argv is set by `rasa_argv` once the model is known."""
    token = {"token": s.internal_token} if s.internal_token else None
    return ManagedProcess(
        name,
        [],
        settings_env(s) | rasa_model.rasa_env(s),
        s.bot_dir,
        s.logs_dir,
        _http_ok(f"{s.rasa_url}/status", lambda r: bool(r.json().get("model_file")), token),
        echo,
    )


# `rasa run … --auth-token T` without T on the command line (every local user can read /proc/*/cmdline):
# Rasa's own entry point, with the token appended from the environment.
# It also applies bot/rasa_speedups.py (Rasa runs with cwd and PYTHONPATH bot/).
RASA_LAUNCHER = (
    "import os, sys; import rasa_speedups; from rasa.__main__ import main; "
    "token = os.environ.get('FENGQIAO_INTERNAL_TOKEN'); "
    # One argument, `--auth-token=T`: a token that starts with '-' is still read as the value.
    "sys.argv = ['rasa', *sys.argv[1:], *([f'--auth-token={token}'] if token else [])]; main()"
)


def rasa_argv(s: Settings, model: Path, name: str = "rasa") -> list[str]:
    """Rasa on the internal interface, its HTTP API behind the internal token, with an endpoints file written
    from the settings (tracker store, lock store, action endpoint with the token)."""
    endpoints = write_endpoints(s, s.data_dir / f"{name}-endpoints.yml")
    python = rasa_model.rasa_executable(s).with_name("python")
    return [
        str(python),
        "-c",
        RASA_LAUNCHER,
        "run",
        "--enable-api",
        "-i",
        s.internal_host,
        "-p",
        str(s.rasa_port),
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--credentials",
        "credentials.yml",
        "--log-file",
        str(s.logs_dir / f"{name}-server.log"),
    ]


def gateway_process(s: Settings, name: str = "gateway", echo: bool = True) -> ManagedProcess:
    return ManagedProcess(
        name,
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "api.main:create_app",
            "--host",
            s.host,
            "--port",
            str(s.gateway_port),
            "--no-access-log",
            "--ws-max-size",
            str(s.ws_max_message_bytes),
            # X-Forwarded-For is the app's to judge, by the trusted_proxies setting (api/limits.py).
            "--no-proxy-headers",
        ],
        settings_env(s),
        PROJECT_ROOT,
        s.logs_dir,
        _http_ok(f"{s.gateway_url}/livez"),
        echo,
    )


class Stack:
    """The whole product on one machine. Used by `fengqiao serve`, the end-to-end tests and the benchmarks."""

    def __init__(self, settings: Settings, *, echo: bool = True, progress: Callable[[str], None] = print):
        settings = settings.with_internal_token()
        self.settings = settings
        self.echo = echo
        self.say = progress
        self.actions = action_process(settings, echo=echo)
        self.rasa = rasa_process(settings, echo=echo)
        self.gateway = gateway_process(settings, echo=echo)
        self.processes = [self.actions, self.rasa, self.gateway]

    def prepare(self) -> None:
        """Build what is missing, and give Rasa its model."""
        self.build_missing()
        self.rasa.argv = rasa_argv(self.settings, self.model)

    def build_missing(self) -> None:
        """The knowledge base (repaired first) and the Rasa model, at the same time: the first run of a fresh
        install needs both (a few minutes each; Rasa trains in a process of its own)."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        for line in store.repair(self.settings.resolved_kb_dir):  # what a crashed writer may have left
            self.say(f"[kb] {line}")
        failed: list[BaseException] = []
        kb_thread = None
        if store.current_version_dir(self.settings.resolved_kb_dir) is None:
            from knowledge_base.build import build, default_sources

            sources = default_sources(self.settings.resolved_case_files)
            self.say(f"no knowledge base yet: building it from {', '.join(s.describe() for s in sources)}")

            def build_kb() -> None:
                try:
                    build(self.settings.resolved_kb_dir, sources, progress=lambda m: self.say(f"[kb] {m}"))
                except BaseException as exc:  # re-raised below, in the caller's thread
                    failed.append(exc)

            kb_thread = threading.Thread(target=build_kb, name="kb-build", daemon=True)
            kb_thread.start()
        try:
            self.model = rasa_model.ensure_model(self.settings)
        finally:
            if kb_thread is not None:
                kb_thread.join()
        if failed:
            raise failed[0]

    def start(self) -> None:
        self.prepare()
        try:
            for proc in self.processes:
                self.say(f"starting {proc.name}")
                proc.start()
            for proc in self.processes:
                proc.wait_healthy(self.settings.startup_timeout_s)
                self.say(f"{proc.name} is ready (pid {proc.pid})")
            self.warm_up()
        except BaseException:
            self.stop()
            raise

    def warm_up(self) -> None:
        """jieba loads its dictionary and the action server its indexes on the first message, not a resident's."""
        started = time.monotonic()
        resp = httpx.post(
            f"{self.settings.rasa_url}/webhooks/rest/webhook",
            params={"token": self.settings.internal_token} if self.settings.internal_token else None,
            json={"sender": f"warmup-{uuid.uuid4().hex}", "message": WARMUP_QUESTION},
            timeout=self.settings.startup_timeout_s,
        )
        answered = resp.status_code == 200 and any(m.get("text") for m in resp.json())
        if not answered:
            raise RuntimeError(
                f"the warm-up question got no answer (HTTP {resp.status_code}); see {self.settings.logs_dir}"
            )
        self.say(f"warm-up message answered in {time.monotonic() - started:.1f} s")

    def start_dense_upgrade(self) -> threading.Thread | None:
        """If the knowledge base has no dense index yet, build it in the background while BM25 serves.

        Readers switch to the new version atomically when it is ready (see knowledge_base.store)."""
        kb_dir = self.settings.resolved_kb_dir
        version = store.current_version_dir(kb_dir)
        if version is None or store.read_manifest(version).dense is not None:
            return None

        def work() -> None:
            from knowledge_base import stard
            from knowledge_base.build import add_dense
            from knowledge_base.encoder import registry

            say = lambda m: self.say(f"[kb] {m}")  # noqa: E731
            try:
                encoder = registry.active_encoder(self.settings.data_dir) or registry.ensure_base(
                    self.settings.data_dir, progress=say
                )
                say("building the dense index in the background; answers use BM25 until it is ready")
                add_dense(kb_dir, encoder, progress=say, answered=stard.VENDORED)
            except Exception as exc:  # serving goes on with BM25; the reason is logged
                say(f"dense index not built: {type(exc).__name__}: {exc}")

        thread = threading.Thread(target=work, name="dense-index", daemon=True)
        thread.start()
        return thread

    def restart(self, proc: ManagedProcess) -> None:
        proc.stop()
        proc.start()
        proc.wait_healthy(self.settings.startup_timeout_s)

    def supervise(
        self,
        stop: threading.Event,
        *,
        poll_s: float = 1.0,
        max_restarts: int = 3,
        window_s: float = 60.0,
        on_event: Callable[[str, ManagedProcess], None] | None = None,
    ) -> bool:
        """Restart a process that dies until `stop` is set; give up when one died `max_restarts` times in
        `window_s`. Returns False (with `stop` set) when it gave up, True when stopped from outside.

        `on_event(kind, proc)` hears "died", "back" (healthy again), "failed" (a restart did not come up) and
        "gave_up", from this thread."""
        notify = on_event or (lambda kind, proc: None)
        restarts: dict[str, list[float]] = {p.name: [] for p in self.processes}
        while not stop.wait(poll_s):
            for proc in self.processes:
                if proc.running() or stop.is_set():
                    continue
                now = time.monotonic()
                recent = [t for t in restarts[proc.name] if now - t < window_s]
                if len(recent) >= max_restarts:
                    self.say(f"{proc.name} keeps dying; giving up (see {proc.log_path})")
                    notify("gave_up", proc)
                    stop.set()
                    return False
                restarts[proc.name] = recent + [now]
                self.say(
                    f"{proc.name} exited with code {proc.proc.returncode if proc.proc else '?'}; restarting"
                )
                notify("died", proc)
                try:
                    self.restart(proc)
                    self.say(f"{proc.name} is back (pid {proc.pid})")
                    notify("back", proc)
                except (RuntimeError, TimeoutError) as exc:
                    self.say(str(exc))
                    notify("failed", proc)
        return True

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of each process including its children (Sanic runs workers as children)."""
        return {p.name: round(_tree_rss_kb(p.pid) / 1024, 1) for p in self.processes if p.pid}


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def _tree_rss_kb(pid: int) -> int:
    total = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    except OSError:
        return 0
    return total + sum(_tree_rss_kb(child) for child in _children(pid))


def serve(settings: Settings, *, cluster: int = 0) -> int:
    """Run until Ctrl-C or SIGTERM; restart a process that dies, at most a few times a minute. With `cluster`
    N, N gateways, Rasa servers and action servers behind HAProxy, on PostgreSQL and Redis (fengqiao.cluster)."""
    if cluster:
        from fengqiao.cluster import ClusterStack

        stack: Stack = ClusterStack(settings, instances=cluster)
    else:
        stack = Stack(settings)
    stop = threading.Event()

    def _on_signal(signum, _frame):
        stack.say(f"received {signal.Signals(signum).name}; stopping")
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    started = time.monotonic()
    stack.start()
    stack.say(f"ready in {time.monotonic() - started:.1f} s")
    stack.say(f"resident widget:  {settings.gateway_url}/")
    stack.say(f"mediator console: {settings.gateway_url}/console")
    stack.say(f"health:           {settings.gateway_url}/healthz")
    stack.say(f"logs:             {settings.logs_dir}")
    if settings.build_dense_on_start:
        stack.start_dense_upgrade()
    exit_code = 0
    try:
        if not stack.supervise(stop):
            exit_code = 1
    finally:
        stack.stop()
        stack.say("stopped")
    return exit_code
