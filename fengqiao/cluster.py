"""Several gateways, Rasa servers and action servers behind HAProxy, on one PostgreSQL and one Redis.

`fengqiao serve --cluster` runs the whole arrangement on one machine, with the same code and settings that run
it across machines (README, "Running on several machines"):

    residents ─▶ HAProxy :gateway_port ─▶ gateway-1, gateway-2   (FastAPI; PostgreSQL; Redis: events, limits)
                 HAProxy :rasa_port    ─▶ rasa-1, rasa-2         (PostgreSQL tracker store, Redis lock store)
                 HAProxy :action_port  ─▶ actions-1, actions-2   (knowledge base on local disk)

Every gateway reaches Rasa, and every Rasa server reaches the action servers, through the balancer, so a dead
instance only takes itself out: HAProxy's health checks stop sending it traffic, a request that could not
connect is sent to the other instance, and the supervisor restarts the dead one. PostgreSQL and Redis are the
configured ones (`FENGQIAO_DATABASE_URL`, `FENGQIAO_TRACKER_DB_URL`, `FENGQIAO_REDIS_URL`), or private servers
kept under `data_dir/cluster/` when none is configured. Redis is supervised like the other processes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core.settings import Settings
from fengqiao.ports import free_port
from fengqiao.postgres_server import PostgresServer
from fengqiao.redis_server import RedisServer, redis_binary
from fengqiao.supervisor import (
    ManagedProcess,
    Stack,
    action_process,
    gateway_process,
    rasa_argv,
    rasa_process,
)

HAPROXY_CANDIDATES = ("/usr/sbin/haproxy", "/usr/bin/haproxy")


def haproxy_binary() -> str:
    import shutil

    found = shutil.which("haproxy") or next((p for p in HAPROXY_CANDIDATES if Path(p).exists()), None)
    if not found:
        raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
    return found


def haproxy_config(frontends: dict[str, tuple[str, int, str, str, list[int]]]) -> str:
    """frontends: name → (bind host, port, health-check path, backends' host, backend ports)."""
    lines = [
        # Requests that did not end well are logged (to the balancer's log in the logs directory), the rest not.
        "global",
        "    maxconn 4096",
        "    log stdout format raw local0 info",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlog-normal",
        "    timeout connect 2s",
        "    timeout client 120s",
        "    timeout server 120s",
        "    timeout tunnel 1h",
        "    timeout queue 60s",
        # A request whose connection failed, or that a dying instance dropped unanswered, goes to another instance,
        # on every retry (`redispatch 1`): a resident's message is idempotent by its client_id, so resending it is
        # safe. The request is kept in the balancer's buffer so that it can be sent again.
        "    retries 3",
        "    option redispatch 1",
        "    option http-buffer-request",
        "    retry-on conn-failure empty-response response-timeout 502 503",
        "    option http-server-close",
        # The gateways limit each client by address: tell them whose request it is (they trust only this hop).
        "    option forwardfor",
        "",
    ]
    for name, (bind, port, check, host, backends) in frontends.items():
        lines += [
            f"frontend {name}",
            f"    bind {bind}:{port}",
            f"    default_backend {name}_servers",
            "",
            f"backend {name}_servers",
            "    balance leastconn",
            f"    option httpchk GET {check}",
            "    http-check expect status 200",
        ]
        lines += [
            f"    server {name}-{i} {host}:{p} check inter 1s fall 2 rise 1 observe layer4 error-limit 1 "
            "on-error mark-down"
            for i, p in enumerate(backends, 1)
        ]
        lines.append("")
    return "\n".join(lines)


def _with_proxy(trusted: str, host: str) -> str:
    """The trusted proxies of a gateway behind the balancer: HAProxy reaches it from the internal interface."""
    listed = [h.strip() for h in trusted.split(",") if h.strip()]
    return ",".join(listed if host in listed or host in ("0.0.0.0", "::") else [*listed, host])


class ClusterStack(Stack):
    """`instances` of each of gateway, Rasa and action server, HAProxy in front, PostgreSQL and Redis behind."""

    def __init__(
        self,
        settings: Settings,
        *,
        instances: int = 2,
        echo: bool = True,
        progress: Callable[[str], None] = print,
        keep_data: bool = True,
    ):
        self.settings = settings.with_internal_token()
        self.echo = echo
        self.say = progress
        self.instances = instances
        self.keep_data = keep_data  # False: a throwaway PostgreSQL (benchmarks, tests)
        self.root = settings.data_dir / "cluster"
        self.postgres: PostgresServer | None = None
        self.redis_server: RedisServer | None = None
        self.processes: list[ManagedProcess] = []

    # -- the shared services -----------------------------------------------------------------------------------

    def _start_databases(self) -> Settings:
        s = self.settings
        updates: dict = {}
        if not s.database_url or not s.tracker_db_url:
            self.postgres = PostgresServer(root=self.root / "postgres" if self.keep_data else None).start()
            self.say(f"PostgreSQL on port {self.postgres.port} (data in {self.postgres.root})")
            if not s.database_url:
                updates["database_url"] = self.postgres.ensure_database("fengqiao")
            if not s.tracker_db_url:
                updates["tracker_db_url"] = self.postgres.ensure_database("rasa_tracker")
        if not s.redis_url:
            self.redis_server = RedisServer(root=self.root / "redis")
            self.redis_server.root.mkdir(parents=True, exist_ok=True)
            updates["redis_url"] = self.redis_server.url
        return s.model_copy(update=updates)

    def _redis_process(self) -> ManagedProcess | None:
        if self.redis_server is None:
            return None
        server = self.redis_server

        def ping() -> bool:
            import redis

            try:
                return bool(redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=0.5).ping())
            except redis.RedisError:
                return False

        redis_binary()  # a clear error when it is not installed
        return ManagedProcess(
            "redis", server.argv(), {}, server.root, self.settings.logs_dir, ping, self.echo
        )

    # -- the product -------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Build what is missing, start the databases, migrate once, and lay out every process."""
        self.build_missing()  # knowledge base and Rasa model, as for one stack
        shared = self._start_databases()
        from api.db import Database

        db = Database(shared.resolved_database_url)
        self.say(f"database schema at {db.migrate()}")
        db.engine.dispose()
        ports = {
            kind: [free_port() for _ in range(self.instances)] for kind in ("gateway", "rasa", "actions")
        }
        # Every instance talks to the others through the balancer's internal frontends.
        base = shared.model_copy(update={"run_migrations_on_start": False})
        processes: list[ManagedProcess] = []
        redis = self._redis_process()
        if redis is not None:
            processes.append(redis)
        for i, port in enumerate(ports["actions"], 1):
            processes.append(
                action_process(
                    self._instance(base, f"actions-{i}", action_port=port), f"actions-{i}", self.echo
                )
            )
        for i, port in enumerate(ports["rasa"], 1):
            inst = self._instance(base, f"rasa-{i}", rasa_port=port)
            proc = rasa_process(inst, f"rasa-{i}", self.echo)
            proc.argv = rasa_argv(inst, self.model, f"rasa-{i}")
            processes.append(proc)
        for i, port in enumerate(ports["gateway"], 1):
            # Behind the balancer a gateway listens on the internal interface; the balancer is the public side.
            processes.append(
                gateway_process(
                    self._instance(
                        base,
                        f"gateway-{i}",
                        gateway_port=port,
                        host=base.internal_host,
                        trusted_proxies=_with_proxy(base.trusted_proxies, base.internal_host),
                    ),
                    f"gateway-{i}",
                    self.echo,
                )
            )
        config = self.root / "haproxy.cfg"
        config.parent.mkdir(parents=True, exist_ok=True)
        internal = shared.internal_host
        rasa_check = f"/status?token={shared.internal_token}" if shared.internal_token else "/status"
        config.write_text(
            haproxy_config(
                {
                    "gateway": (shared.host, shared.gateway_port, "/livez", internal, ports["gateway"]),
                    "rasa": (internal, shared.rasa_port, rasa_check, internal, ports["rasa"]),
                    "actions": (internal, shared.action_port, "/health", internal, ports["actions"]),
                }
            ),
            encoding="utf-8",
        )
        config.chmod(0o600)  # it holds the internal token

        def balancer_up() -> bool:
            import httpx

            try:
                return httpx.get(f"{shared.gateway_url}/livez", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        processes.append(
            ManagedProcess(
                "haproxy",
                [haproxy_binary(), "-f", str(config), "-db"],
                {},
                self.root,
                shared.logs_dir,
                balancer_up,
                self.echo,
            )
        )
        self.settings = shared
        self.processes = processes

    def _instance(self, base: Settings, name: str, **own) -> Settings:
        """One instance's settings: its own port; the other ports stay the balancer's frontends."""
        return base.model_copy(update=own)

    def start(self) -> None:
        self.prepare()
        named = {p.name: p for p in self.processes}
        # Redis, then the balancer (Rasa's action calls go through it), then the action servers and the first Rasa
        # server, which creates the tracker tables; the other Rasa servers and the gateways after it.
        first = [
            named[n]
            for n in ("redis", "haproxy", *(f"actions-{i}" for i in range(1, self.instances + 1)), "rasa-1")
            if n in named
        ]
        rest = [p for p in self.processes if p not in first]
        try:
            for group in (first, rest):
                for proc in group:
                    self.say(f"starting {proc.name}")
                    proc.start()
                for proc in group:
                    if proc.name != "haproxy":
                        proc.wait_healthy(self.settings.startup_timeout_s)
                        self.say(f"{proc.name} is ready (pid {proc.pid})")
            named["haproxy"].wait_healthy(self.settings.startup_timeout_s)
            self.warm_up()
        except BaseException:
            self.stop()
            raise

    def warm_up(self) -> None:
        """Every Rasa server and action server answers once before a resident's message reaches it."""
        for _ in range(self.instances):
            super().warm_up()

    def stop(self) -> None:
        super().stop()
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
