"""Every setting comes from the environment (prefix FENGQIAO_), with defaults for one machine."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FENGQIAO_", env_file=None, extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "var", description="indexes, models, databases and logs")
    host: str = Field(default="127.0.0.1", description="interface the gateway (the public side) binds")
    internal_host: str = Field(
        default="127.0.0.1",
        description="interface Rasa and the action server bind "
        "(internal: only the gateway and Rasa call them)",
    )
    internal_token: str | None = Field(
        default=None,
        description="shared secret of gateway, Rasa and action "
        "server; default: generated at first start into "
        "data_dir/internal-token",
    )
    gateway_port: int = Field(default=8000, description="port of the gateway (widget, console, API)")
    rasa_port: int = Field(default=5005, description="port of the Rasa server")
    action_port: int = Field(default=5055, description="port of the action server")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in data_dir"
    )
    tracker_db: Path | None = Field(default=None, description="Rasa tracker SQLite file; default in data_dir")
    tracker_db_url: str | None = Field(
        default=None,
        description="Rasa's tracker store on PostgreSQL "
        "(postgresql://user[:pw]@host:port/db); default: tracker_db",
    )
    kb_dir: Path | None = Field(default=None, description="knowledge-base directory; default data_dir/kb")
    models_dir: Path | None = Field(default=None, description="trained Rasa models; default data_dir/models")
    case_files: str = Field(
        default="../shared/data/cases.jsonl,../shared/data/cases_more.jsonl",
        description="precedent files (case-per-line JSON) a knowledge-base build reads besides "
        "the shipped statutes: comma-separated, relative to the checkout or "
        "absolute; missing ones are skipped; empty for none",
    )
    rasa_venv: Path = Field(
        default=PROJECT_ROOT / ".venv-rasa", description="Python 3.10 environment with Rasa"
    )
    bot_dir: Path = Field(default=PROJECT_ROOT / "bot", description="the Rasa project")
    rasa_timeout_s: float = Field(default=30.0, description="how long the gateway waits for a Rasa reply")
    answer_top_k: int = Field(default=3, description="articles cited in one answer")
    build_dense_on_start: bool = Field(
        default=True, description="`serve` adds a dense index in the background when missing"
    )
    startup_timeout_s: float = Field(default=300.0, description="how long `serve` waits for each process")
    # Gateway: mediators, limits and live events (issue 5).
    mediator_token_ttl_s: int = Field(default=8 * 3600, description="lifetime of a mediator login token")
    mediator_socket_recheck_s: float = Field(
        default=30.0,
        gt=0,
        description="how often an open console socket "
        "checks its login again (catches changes made on the command line)",
    )
    message_rate_per_minute: int = Field(
        default=20, description="resident messages one conversation may send a minute"
    )
    max_body_bytes: int = Field(default=64 * 1024, description="largest request body the gateway accepts")
    ws_max_message_bytes: int = Field(
        default=64 * 1024,
        ge=4096,
        description="largest WebSocket message the gateway's server reads (uvicorn "
        "`--ws-max-size`; bigger ones close with 1009 before being read "
        "whole); the gateway itself takes text frames up to 4 KiB",
    )
    login_failures_per_window: int = Field(
        default=5,
        ge=1,
        description="failed logins from one address, and of "
        "one username, before each further failure doubles the wait (1 s, 2 s, "
        "4 s …); see api/routes/mediators.py",
    )
    login_failure_window_s: int = Field(
        default=900,
        ge=1,
        description="failed logins are forgotten this long after the wait of the last one ended",
    )
    login_backoff_max_s: int = Field(
        default=300, ge=1, description="longest wait after failed logins from one address"
    )
    login_name_backoff_max_s: int = Field(
        default=30,
        ge=1,
        description="longest wait after failed logins of one "
        "username (low: strangers cannot keep its owner out for long)",
    )
    login_concurrency: int = Field(
        default=2,
        ge=1,
        description="password checks (argon2) one gateway runs at once; "
        "beyond them a login gets 503 with Retry-After",
    )
    handoff_default_wait_s: int = Field(
        default=300, description="wait estimate per queue place before any history"
    )
    # Gateway under load: see api/messaging.py.
    rasa_concurrency: int = Field(default=4, ge=1, description="messages one gateway has with Rasa at once")
    max_pending_messages: int = Field(
        default=200, ge=1, description="messages one gateway holds (waiting or with Rasa) before 503"
    )
    orphan_after_s: float = Field(
        default=90.0,
        description="a stored message with no answer after this long is "
        "answered by the sweep (its gateway died)",
    )
    # Per-client limits, counted across gateways in Redis when redis_url is set: residents of a county
    # share NAT addresses, so none of them is tiny.
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="peers (comma-separated addresses or "
        "networks: the balancer) whose X-Forwarded-For names the client; the gateway's "
        "own notion, uvicorn runs with --no-proxy-headers",
    )
    client_conversations_per_10_min: int = Field(
        default=30, ge=1, description="conversations one client address may start in 10 minutes"
    )
    client_messages_per_minute: int = Field(
        default=120,
        ge=1,
        description="resident messages one client address may send a minute, over all its conversations",
    )
    client_handoffs_per_10_min: int = Field(
        default=5,
        ge=1,
        description="requests for a mediator (转人工 button or "
        "payload) one client address may make in 10 minutes",
    )
    client_search_cost_per_minute: int = Field(
        default=60,
        ge=1,
        description="searches one client address may make a minute; a search of k results costs ceil(k/10)",
    )
    resident_token_idle_s: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="a resident's conversation token "
        "stops working after this long without a request (401; the widget starts "
        "a new conversation)",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis shared by several gateways (live events, rate "
        "limits) and Rasa servers (lock store); default: none",
    )
    enable_docs: bool = Field(default=False, description="serve the interactive API docs at /docs and /redoc")
    run_migrations_on_start: bool = Field(
        default=True, description="the gateway upgrades its database at start"
    )

    @field_validator("data_dir", "tracker_db", "kb_dir", "models_dir", "rasa_venv", "bot_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        """A relative path is taken from the directory the command runs in, once: the children (Rasa trains and
        runs in bot/) get the same absolute path, not one they would read from their own directory."""
        return None if value is None else value.expanduser().absolute()

    @property
    def resolved_kb_dir(self) -> Path:
        return self.kb_dir or self.data_dir / "kb"

    @property
    def resolved_case_files(self) -> list[Path]:
        return [PROJECT_ROOT / p.strip() for p in self.case_files.split(",") if p.strip()]

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def resolved_tracker_db(self) -> Path:
        return self.tracker_db or self.data_dir / "rasa_tracker.db"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'fengqiao.db'}"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def rasa_url(self) -> str:
        return f"http://{self.internal_host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        return f"http://{self.internal_host}:{self.action_port}"

    @property
    def internal_token_file(self) -> Path:
        return self.data_dir / "internal-token"

    def with_internal_token(self) -> Settings:
        """These settings with the internal token: the configured one, else the one kept in data_dir (created
        on first use, readable by its owner only)."""
        if self.internal_token:
            return self
        path = self.internal_token_file
        if not path.is_file():
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
        return self.model_copy(update={"internal_token": path.read_text(encoding="utf-8").strip()})

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def _shown_default(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, Path):
        try:
            return f"`{value.relative_to(PROJECT_ROOT).as_posix()}/` in the checkout"
        except ValueError:
            return f"`{value}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def settings_table() -> str:
    """The README's settings table, from the model itself (tests/core/test_settings.py keeps them equal)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `FENGQIAO_{name.upper()}` | {_shown_default(field.default)} | {field.description} |")
    return "\n".join(rows)
