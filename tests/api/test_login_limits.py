"""Password guessing at POST /api/mediators/login: counted before the check, per client address and per username,
with a wait that doubles and expires, and a bound on the argon2 checks one gateway runs at once."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from api import security
from api.limits import BackOff, Ladder
from api.main import create_app
from api.routes import mediators as mediator_routes
from tests.api.conftest import PASSWORD, make_mediator


class CountingChecks:
    """verify_password, counted, and slow enough that parallel logins overlap."""

    def __init__(self, delay_s: float = 0.0, gate: threading.Event | None = None):
        self.calls = 0
        self.delay_s = delay_s
        self.gate = gate
        self._lock = threading.Lock()

    def __call__(self, password_hash, password):
        with self._lock:
            self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(self.delay_s)
        return security.verify_password(password_hash, password)


@pytest.fixture
def gateway(settings, rasa):
    """Behind a trusted 'proxy' (the test client), so a test says which address each login comes from."""

    def make(**update):
        return TestClient(
            create_app(settings.model_copy(update={"trusted_proxies": "testclient", **update}), rasa=rasa)
        )

    return make


def attempt(client, username: str, password: str = "wrong password", address: str = "198.51.100.7"):
    return client.post(
        "/api/mediators/login",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": address},
    )


def together(n: int, fn) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_parallel_wrong_guesses_are_counted_before_the_password_is_checked(gateway, monkeypatch):
    """Tried: 12 wrong guesses for one account at the same moment, 3 free failures allowed. Counted after the
    check (as before), all 12 pass the check before the first one has failed."""
    checks = CountingChecks(delay_s=0.3)
    monkeypatch.setattr(mediator_routes, "verify_password", checks)
    with gateway(login_failures_per_window=3, login_concurrency=50) as client:
        make_mediator(client.app, "wang")
        statuses = together(12, lambda i: attempt(client, "wang").status_code)
    assert checks.calls <= 3
    assert statuses.count(401) == checks.calls and statuses.count(429) == 12 - checks.calls


def test_spraying_one_password_over_many_usernames_is_refused_after_the_bound(gateway, monkeypatch):
    """Tried: one password against ten usernames from one address (each name failing only once), then the same
    from another address."""
    checks = CountingChecks()
    monkeypatch.setattr(mediator_routes, "verify_password", checks)
    with gateway(login_failures_per_window=3) as client:
        statuses = [attempt(client, f"user{i}", "123456").status_code for i in range(10)]
        assert statuses[:3] == [401] * 3 and set(statuses[3:]) == {429}
        assert checks.calls == 3
        refused = attempt(client, "user9", "123456")
        assert (
            "登录失败次数过多" in refused.json()["detail"]
            and "Too many failed logins" in refused.json()["detail"]
        )
        assert attempt(client, "user9", "123456", address="198.51.100.99").status_code == 401


def test_the_wait_doubles_with_each_failure_and_expires(gateway):
    """Tried: failures past the free ones, each attempt made as soon as the last wait is over; then quiet for
    longer than the memory of failures."""
    now = [1000.0]
    with gateway(
        login_failures_per_window=2,
        login_backoff_max_s=8,
        login_name_backoff_max_s=4,
        login_failure_window_s=60,
    ) as client:
        settings = client.app.state.settings
        client.app.state.login_backoff = BackOff(
            {
                "client": Ladder(settings.login_failures_per_window, settings.login_backoff_max_s),
                "name": Ladder(settings.login_failures_per_window, settings.login_name_backoff_max_s),
            },
            settings.login_failure_window_s,
            clock=lambda: now[0],
        )
        make_mediator(client.app, "wang")
        assert [attempt(client, "wang").status_code for _ in range(2)] == [401, 401]  # free
        waits = []
        for _ in range(6):
            refused = attempt(client, "wang")
            assert refused.status_code == 429
            waits.append(int(refused.headers["Retry-After"]))
            now[0] += waits[-1] - 0.5
            assert attempt(client, "wang").status_code == 429  # not yet, and that refusal counted nothing
            now[0] += 0.5
            assert attempt(client, "wang").status_code == 401
        assert waits == [
            1,
            2,
            4,
            8,
            8,
            8,
        ]  # the longer of the two: the address's ladder (8 s), the name's (4 s)
        now[0] += 8 + 60  # the last wait, then the memory of failures
        assert [attempt(client, "wang").status_code for _ in range(2)] == [401, 401]
        assert attempt(client, "wang").status_code == 429
        now[0] += 1
        assert attempt(client, "wang", PASSWORD).status_code == 200


def test_a_strangers_failures_keep_the_owner_out_for_a_short_while_only(gateway):
    """Tried: a stranger keeps failing on the owner's username from one address; the owner logs in from theirs.
    The stranger's wait grows to its cap, the name's stays short, and the owner's success clears the name."""
    now = [1000.0]
    with gateway(login_failures_per_window=2, login_backoff_max_s=300, login_name_backoff_max_s=4) as client:
        settings = client.app.state.settings
        client.app.state.login_backoff = BackOff(
            {
                "client": Ladder(2, settings.login_backoff_max_s),
                "name": Ladder(2, settings.login_name_backoff_max_s),
            },
            settings.login_failure_window_s,
            clock=lambda: now[0],
        )
        make_mediator(client.app, "wang")
        stranger, owner = "203.0.113.66", "198.51.100.7"
        stranger_wait = 0
        for _ in range(10):
            resp = attempt(client, "wang", address=stranger)
            if resp.status_code == 429:
                stranger_wait = int(resp.headers["Retry-After"])
                now[0] += stranger_wait
                resp = attempt(client, "wang", address=stranger)
            assert resp.status_code == 401
        assert attempt(client, "wang", address=stranger).headers["Retry-After"] == "256"
        refused = attempt(client, "wang", PASSWORD, address=owner)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 4
        now[0] += 4
        assert attempt(client, "wang", PASSWORD, address=owner).status_code == 200
        # The name is clear again: the owner's next login (another tab) is not held up; the stranger still is.
        assert attempt(client, "wang", PASSWORD, address=owner).status_code == 200
        assert attempt(client, "wang", address=stranger).status_code == 429


def test_password_checks_are_bounded_per_gateway(gateway, monkeypatch):
    """Tried: a second login while the only password-check slot is held by a first one that takes long."""
    gate = threading.Event()
    checks = CountingChecks(gate=gate)
    monkeypatch.setattr(mediator_routes, "verify_password", checks)
    with gateway(login_concurrency=1) as client:
        make_mediator(client.app, "wang")
        first: list = []
        slow = threading.Thread(target=lambda: first.append(attempt(client, "wang", PASSWORD)))
        slow.start()
        deadline = time.monotonic() + 10
        while checks.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            busy = attempt(client, "wang", PASSWORD, address="198.51.100.8")
        finally:
            gate.set()
            slow.join(timeout=30)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert "Too many logins at once" in busy.json()["detail"]
        assert checks.calls == 1 and first[0].status_code == 200
        # The refused login was not counted as a failure: it simply goes through now.
        assert attempt(client, "wang", PASSWORD, address="198.51.100.8").status_code == 200


def test_back_off_ladder():
    now = [0.0]
    backoff = BackOff({"client": Ladder(2, 8), "name": Ladder(2, 2)}, forget_s=10, clock=lambda: now[0])
    keys = {"client": "a", "name": "n"}
    assert [backoff.attempt(keys) for _ in range(2)] == [0, 0]
    assert backoff.attempt(keys) == pytest.approx(1)
    now[0] = 1
    assert backoff.attempt(keys) == 0
    assert backoff.attempt(keys) == pytest.approx(2)
    assert backoff.attempt({"client": "b", "name": "n"}) == pytest.approx(2)  # the name's cap
    backoff.refund(keys)  # that last one was not a failure after all
    assert backoff.blocked_for(keys) == pytest.approx(1)
    now[0] = 2 + 10
    assert backoff.blocked_for(keys) == 0 and backoff.attempt(keys) == 0
    assert backoff.attempt(keys) == 0 and backoff.attempt(keys) == pytest.approx(1)  # forgotten: free again
