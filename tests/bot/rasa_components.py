"""Running one of the bot's NLU components (bot/components/nlu.py) in the Rasa environment on messages whose
classifier intent is given, and reading back the parse fields a test asks for."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from core.settings import PROJECT_ROOT, get_settings
from fengqiao.rasa_model import rasa_env

BOT = PROJECT_ROOT / "bot"

_SCRIPT = """
import json, sys
from components import nlu
from rasa.shared.nlu.training_data.message import Message
job = json.loads(sys.stdin.readline())
component = getattr(nlu, job["component"])(job["config"])
for text, intent in job["cases"]:
    m = Message(data={"text": text, "intent": {"name": intent, "confidence": 0.9},
                      "intent_ranking": [{"name": intent, "confidence": 0.9}]})
    component.process([m])
    print(json.dumps({k: m.get(k) for k in job["keys"]}, ensure_ascii=False))
"""


def run_component(
    component: str, config: dict[str, Any], cases: list[tuple[str, str]], keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    """`keys` of the parse after `component` processed each (text, classifier intent); skips without Rasa."""
    settings = get_settings()
    python = settings.rasa_venv / "bin" / "python"
    if not python.exists():
        pytest.skip("no Rasa environment")
    job = {"component": component, "config": config, "cases": cases, "keys": list(keys)}
    proc = subprocess.run(
        [str(python), "-c", _SCRIPT],
        cwd=BOT,
        capture_output=True,
        text=True,
        timeout=300,
        input=json.dumps(job, ensure_ascii=False) + "\n",
        env=rasa_env(settings) | {"PYTHONPATH": str(BOT), "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
