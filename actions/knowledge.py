"""The knowledge base as seen by the action server: one lazily loaded, process-wide instance.

Loaded on first use inside the Sanic worker (never at import time), so the worker process can start
with any multiprocessing start method and torch-based parts load where they run.
"""

from __future__ import annotations

import os
import threading

from core.settings import get_settings
from knowledge_base.search import KnowledgeBase

_lock = threading.Lock()
_kb: KnowledgeBase | None = None


def get_knowledge_base() -> KnowledgeBase:
    global _kb
    if _kb is None:
        with _lock:
            if _kb is None:
                os.environ.setdefault("OMP_NUM_THREADS", "1")
                _kb = KnowledgeBase(get_settings().resolved_kb_dir)
    return _kb


def loaded_knowledge_base() -> KnowledgeBase | None:
    """The instance when it has been loaded, else None (never loads it)."""
    return _kb
