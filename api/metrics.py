"""Prometheus metrics of one gateway (a registry per app, so tests can make many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import func, select

from api.models import Handoff


class Metrics:
    def __init__(self, db) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter("fengqiao_messages", "messages stored, by sender", ["sender"], registry=r)
        self.rasa_latency = Histogram(
            "fengqiao_rasa_seconds",
            "time Rasa took to answer a resident message",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )
        self.handoffs = Counter(
            "fengqiao_handoffs", "handoffs opened, by source and priority", ["source", "priority"], registry=r
        )
        self.handoff_wait = Histogram(
            "fengqiao_handoff_wait_seconds",
            "time a handoff waited before a claim",
            buckets=(10, 30, 60, 120, 300, 600, 1200, 3600),
            registry=r,
        )
        self.overload = Counter(
            "fengqiao_messages_refused_busy", "resident messages refused with 503 (bound reached)", registry=r
        )
        self.pending = Gauge(
            "fengqiao_messages_pending", "resident messages waiting for or with the bot", registry=r
        )
        self.websockets = Gauge("fengqiao_websockets", "open WebSocket connections", ["side"], registry=r)
        queue = Gauge("fengqiao_handoffs_open", "open handoffs, by status", ["status"], registry=r)

        def count(status: str):
            def read() -> float:
                with db.sessions() as session:
                    return float(
                        session.scalar(
                            select(func.count()).select_from(Handoff).where(Handoff.status == status)
                        )
                        or 0
                    )

            return read

        for status in ("waiting", "active"):
            queue.labels(status).set_function(count(status))
