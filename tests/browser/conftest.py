"""Browser tests: Playwright for Python driving Debian's Chromium (`playwright install` cannot download here).

`gateway` serves the real gateway in this process (uvicorn in a thread, a fresh SQLite database) with Rasa
replaced by the scripted double of tests/api, so each test decides what the bot says; test_live_stack.py runs the
real stack (Rasa, action server, gateway as processes). Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.main import create_app
from core.settings import PROJECT_ROOT, Settings
from fengqiao.mediators import create_mediator
from fengqiao.ports import free_port
from tests.api.conftest import ScriptedRasa

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1440, "height": 900}
MEDIATOR_PASSWORD = "mediator-password-1"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@dataclass
class Gateway:
    url: str
    app: object
    rasa: ScriptedRasa

    def mediator(self, username: str, display_name: str) -> None:
        create_mediator(self.app.state.db, username, MEDIATOR_PASSWORD, display_name=display_name)


class ThreadedServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # not the main thread
        pass


@pytest.fixture
def gateway(tmp_path, tiny_kb) -> Iterator[Gateway]:
    rasa = ScriptedRasa()
    kb_dir = tmp_path / "kb"
    shutil.copytree(tiny_kb, kb_dir)  # closing a case adds a precedent: never to the session's shared corpus
    settings = Settings(
        data_dir=tmp_path, kb_dir=kb_dir, gateway_port=free_port(), handoff_default_wait_s=120
    )
    app = create_app(settings, rasa=rasa)
    server = ThreadedServer(
        uvicorn.Config(app, host="127.0.0.1", port=settings.gateway_port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.05)
    try:
        yield Gateway(settings.gateway_url, app, rasa)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def new_page(browser, viewport=PHONE, **kwargs):
    context = browser.new_context(viewport=viewport, locale="zh-CN", **kwargs)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def transcript(url: str, page) -> dict:
    """The conversation the widget on `page` holds, read through the API with its own token."""
    conv = page.evaluate("JSON.parse(localStorage.getItem('fq-conversation'))")
    resp = httpx.get(
        f"{url}/api/conversations/{conv['conversation_id']}",
        headers={"Authorization": f"Bearer {conv['token']}"},
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()


def save_screenshot(page, artifacts: Path, name: str) -> Path:
    path = artifacts / name
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 5000
    return path
