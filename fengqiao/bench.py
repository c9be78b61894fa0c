"""Benchmarks that print numbers (never timed tests)."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import httpx

from core.settings import Settings, get_settings
from fengqiao.ports import free_port
from fengqiao.supervisor import Stack

BENCH_QUESTIONS = [
    "老板拖欠我三个月工资怎么办",
    "楼上漏水把我家泡了，他们不管",
    "朋友借了我两万块钱一直不还",
    "离婚的话孩子抚养权归谁",
    "物业不修电梯还要收物业费",
    "被电动车撞了，对方不赔医药费",
    "网上买到假货商家不给退",
    "村里要收回我家的承包地",
    "房东不退押金怎么办",
    "公司不给交社保合法吗",
    "你好",
    "谢谢",
]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


@contextmanager
def private_stack(
    base: Settings | None = None, progress: Callable[[str], None] | None = None, cluster: int = 0
):
    """A whole stack on free ports with its own databases, sharing the built knowledge base and Rasa model; with
    `cluster` N, N instances of each process behind HAProxy on a throwaway PostgreSQL and Redis.

    `progress` hears what the stack says (builds, starts, restarts); silent by default."""
    base = base or get_settings()
    with tempfile.TemporaryDirectory(prefix="fengqiao-") as tmp:
        settings = base.model_copy(
            update={
                "data_dir": Path(tmp),
                "kb_dir": base.resolved_kb_dir,
                "models_dir": base.resolved_models_dir,
                "gateway_port": free_port(),
                "rasa_port": free_port(),
                "action_port": free_port(),
                # Every simulated resident comes from this one machine: the per-address limits would measure
                # themselves (the limit per conversation stays).
                "client_conversations_per_10_min": 1_000_000,
                "client_messages_per_minute": 1_000_000,
                "client_handoffs_per_10_min": 1_000_000,
                "client_search_cost_per_minute": 1_000_000,
            }
        )
        if cluster:
            from fengqiao.cluster import ClusterStack

            stack: Stack = ClusterStack(
                settings,
                instances=cluster,
                echo=False,
                progress=progress or (lambda m: None),
                keep_data=False,
            )
        else:
            stack = Stack(settings, echo=False, progress=progress or (lambda m: None))
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()


def bench_messages(n: int = 100, url: str | None = None) -> dict:
    if url:
        return _run(url.rstrip("/"), n)
    with private_stack() as stack:
        result = _run(stack.settings.gateway_url, n)
        result["rss_mb"] = stack.rss_mb()
        return result


def _run(base_url: str, n: int) -> dict:
    latencies: list[float] = []
    errors = 0
    with httpx.Client(base_url=base_url, timeout=60) as client:
        conv = None
        for i in range(n):
            if i % 10 == 0:
                conv = client.post("/api/conversations", json={}).json()
            question = BENCH_QUESTIONS[i % len(BENCH_QUESTIONS)]
            assert conv is not None  # made at i == 0
            started = time.perf_counter()
            resp = client.post(
                f"/api/conversations/{conv['conversation_id']}/messages",
                json={"text": question},
                headers={"Authorization": f"Bearer {conv['token']}"},
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if resp.status_code != 200 or not resp.json().get("replies"):
                errors += 1
    return {
        "n": n,
        "errors": errors,
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p95": round(_percentile(latencies, 0.95), 1),
        "latency_ms_mean": round(statistics.fmean(latencies), 1),
        "latency_ms_max": round(max(latencies), 1),
    }
