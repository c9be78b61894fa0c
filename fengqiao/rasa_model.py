"""Train the Rasa model when the bot's training data or configuration changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from core.settings import Settings

BOT_INPUTS = ("config.yml", "domain.yml", "data", "components")  # custom NLU components run in training too


def bot_fingerprint(bot_dir: Path) -> str:
    h = hashlib.sha256()
    for name in BOT_INPUTS:
        path = bot_dir / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if f.suffix not in {".yml", ".yaml", ".txt", ".json", ".py"}:
                continue
            h.update(str(f.relative_to(bot_dir)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def model_path(settings: Settings) -> Path:
    return settings.resolved_models_dir / f"bot-{bot_fingerprint(settings.bot_dir)}.tar.gz"


def rasa_executable(settings: Settings) -> Path:
    exe = settings.rasa_venv / "bin" / "rasa"
    if not exe.exists():
        raise FileNotFoundError(
            f"Rasa is not installed in {settings.rasa_venv.name}/; run `make install` first"
        )
    return exe


def rasa_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        RASA_CACHE_DIRECTORY=str(settings.data_dir / "rasa-cache"),
        TF_CPP_MIN_LOG_LEVEL="2",
        FENGQIAO_ACTION_ENDPOINT_URL=f"{settings.action_url}/webhook",
        FENGQIAO_TRACKER_DB=str(settings.resolved_tracker_db),
        PYTHONPATH=str(settings.bot_dir),
    )
    return env


def ensure_model(settings: Settings, *, force: bool = False) -> Path:
    """Return the model for the current bot sources, training it first if it does not exist yet."""
    target = model_path(settings)
    if target.exists() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(rasa_executable(settings)),
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        str(target.parent),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    print(f"training the Rasa model ({target.name}); this takes a few minutes", flush=True)
    subprocess.run(cmd, cwd=settings.bot_dir, env=rasa_env(settings), check=True)
    if not target.exists():
        raise RuntimeError(f"rasa train finished but {target.name} is missing")
    for old in target.parent.glob("bot-*.tar.gz"):
        if old != target:
            old.unlink(missing_ok=True)
    return target
