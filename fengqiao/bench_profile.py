"""Where the time of one message goes at saturation: py-spy samples every process of a private stack while a
closed loop keeps it saturated, and the samples are summed per process and per stage of the message.

`fengqiao bench profile [--residents 20] [--seconds 40]` prints, per process, its CPU seconds per answered
message and the stages that took them (the frames named in STAGES, first match from the leaf up), and keeps
the raw collapsed stacks under `data_dir/profile/` for a flame graph (`py-spy` or inferno can draw them).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

RATE_HZ = 97  # samples a second, per process (a prime, so it does not beat with periodic work)

# (label, substrings of a frame "function (file)"), checked from the leaf frame up: the first that matches wins.
STAGES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "gateway": [
        ("database (SQLAlchemy, SQLite/PostgreSQL)", ("sqlalchemy", "sqlite3", "psycopg")),
        ("waiting for Rasa (httpx, async)", ("httpx", "httpcore", "h11")),
        ("JSON and pydantic", ("pydantic", "json/", "jsonable_encoder")),
        ("live events", ("api/events.py",)),
        ("HTTP server (uvicorn, starlette, fastapi)", ("uvicorn", "starlette", "fastapi", "anyio")),
        ("message flow (api/)", ("/api/",)),
    ],
    "rasa": [
        ("tracker store (SQL)", ("tracker_store", "sqlalchemy", "sqlite3", "psycopg2")),
        ("lock store", ("lock_store",)),
        ("NLU: jieba", ("jieba",)),
        ("NLU: featurizers", ("featurizer", "sklearn", "scipy")),
        ("NLU: DIET (TensorFlow)", ("tensorflow", "diet_classifier", "/keras/")),
        ("NLU: project components", ("components/",)),
        ("policies", ("policies/",)),
        ("action calls (aiohttp)", ("aiohttp", "action.py")),
        ("event serialisation", ("json", "events.py", "jsonpickle")),
        ("HTTP server (sanic)", ("sanic",)),
    ],
    "actions": [
        ("dense: query encoder (ONNX Runtime)", ("onnxruntime", "encoder/model.py", "tokenizers")),
        ("dense: FAISS search", ("faiss", "dense.py")),
        ("BM25 (bm25s, jieba)", ("bm25", "jieba")),
        ("search: fusion and filters", ("knowledge_base/",)),
        ("answer text (actions/)", ("/actions/",)),
        ("HTTP server (sanic, rasa_sdk)", ("sanic", "rasa_sdk")),
    ],
}


def stage_of(frames: list[str], kind: str) -> str:
    for frame in reversed(frames):
        for label, needles in STAGES.get(kind, []):
            if any(n in frame for n in needles):
                return label
    return "other (interpreter, imports, logging)"


def summarise(collapsed: Path, kind: str) -> tuple[int, Counter[str]]:
    stages: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        stages[stage_of(stack.split(";"), kind)] += n
    return total, stages


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed (it is a dev dependency: make install)")
    return found


def bench_profile(
    *, residents: int = 20, seconds: float = 40.0, messages: int | None = None
) -> dict[str, Any]:
    from fengqiao.bench import private_stack

    messages = messages or 1000  # a closed loop that outlasts the recording
    with private_stack() as stack:
        out_dir = stack.settings.data_dir / "profile"
        out_dir.mkdir(parents=True, exist_ok=True)
        recorders = {}
        for proc in stack.processes:
            kind = proc.name.split("-")[0]
            recorders[proc.name] = (
                kind,
                out_dir / f"{proc.name}.txt",
                subprocess.Popen(
                    [
                        py_spy(),
                        "record",
                        "--pid",
                        str(proc.pid),
                        "--subprocesses",
                        "--rate",
                        str(RATE_HZ),
                        "--duration",
                        str(int(seconds)),
                        "--format",
                        "raw",
                        "--nonblocking",
                        "--output",
                        str(out_dir / f"{proc.name}.txt"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
            )
        started = time.monotonic()
        result = asyncio.run(_load_for(stack.settings.gateway_url, residents, messages, seconds))
        for _kind, _path, rec in recorders.values():
            rec.wait(timeout=seconds + 60)
        wall = time.monotonic() - started
        answered = result["answered_in_window"]
        report: dict[str, Any] = {
            "residents": residents,
            "seconds": round(wall, 1),
            "answered": answered,
            "throughput_msg_s": round(answered / max(seconds, 1e-9), 2),
            "processes": {},
        }
        for name, (kind, path, _rec) in recorders.items():
            if not path.exists():
                report["processes"][name] = {"error": "py-spy wrote nothing"}
                continue
            samples, stages = summarise(path, kind)
            cpu_s = samples / RATE_HZ
            report["processes"][name] = {
                "cpu_s": round(cpu_s, 1),
                "cpu_ms_per_message": round(1000 * cpu_s / max(answered, 1), 1),
                "stages_ms_per_message": {
                    k: round(1000 * v / RATE_HZ / max(answered, 1), 1) for k, v in stages.most_common()
                },
            }
        from core.settings import get_settings

        saved = get_settings().data_dir / "profile"  # the private stack's own data dir goes with it
        shutil.copytree(out_dir, saved, dirs_exist_ok=True)
        report["raw_stacks"] = str(saved)
        report["rss_mb"] = stack.rss_mb()
        return report


async def _load_for(url: str, residents: int, messages: int, seconds: float) -> dict[str, Any]:
    """Closed loop for `seconds`: messages answered inside the window (the rest are cancelled)."""
    import httpx

    from fengqiao.bench import BENCH_QUESTIONS

    answered = 0
    deadline = time.monotonic() + seconds

    async def resident(client: httpx.AsyncClient, i: int) -> None:
        nonlocal answered
        conv = (await client.post("/api/conversations", json={})).json()
        headers = {"Authorization": f"Bearer {conv['token']}"}
        n = 0
        while time.monotonic() < deadline and n < messages:
            if n and n % 10 == 0:  # a new conversation every 10 messages, as residents do
                conv = (await client.post("/api/conversations", json={})).json()
                headers = {"Authorization": f"Bearer {conv['token']}"}
            text = BENCH_QUESTIONS[(i + n) % 10]
            resp = await client.post(
                f"/api/conversations/{conv['conversation_id']}/messages", json={"text": text}, headers=headers
            )
            if resp.status_code == 200 and time.monotonic() < deadline:
                answered += 1
            n += 1

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await asyncio.gather(*(resident(client, i) for i in range(residents)))
    return {"answered_in_window": answered}


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"profile: {r['residents']} residents, closed loop, {r['seconds']} s; {r['answered']} answered "
        f"({r['throughput_msg_s']} messages/s); py-spy at {RATE_HZ} Hz, on-CPU samples only"
    ]
    for name, p in r["processes"].items():
        if "error" in p:
            lines.append(f"  {name}: {p['error']}")
            continue
        lines.append(f"  {name:<9} {p['cpu_ms_per_message']:>6} ms CPU per message ({p['cpu_s']} s)")
        for stage, ms in p["stages_ms_per_message"].items():
            lines.append(f"      {ms:>6} ms  {stage}")
    lines.append(
        f"  raw stacks: {r['raw_stacks']}/  resident memory MB: "
        + "  ".join(f"{k} {v}" for k, v in r["rss_mb"].items())
    )
    return "\n".join(lines)
