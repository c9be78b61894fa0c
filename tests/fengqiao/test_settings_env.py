"""Every child process the supervisor starts sees every setting of core.settings, and Rasa takes any token."""

from __future__ import annotations

from core.settings import Settings
from fengqiao.supervisor import settings_env


def test_children_get_every_setting_from_the_model(tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        redis_url="redis://127.0.0.1:1/0",
        rasa_concurrency=7,
        enable_docs=True,
        internal_token="t" * 43,
    )
    env = settings_env(settings)
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is not None:
            assert f"FENGQIAO_{name.upper()}" in env, name
    # What a child reads back is what the parent had.
    child = Settings(
        **{
            k.removeprefix("FENGQIAO_").lower(): v
            for k, v in env.items()
            if k.startswith("FENGQIAO_") and k.removeprefix("FENGQIAO_").lower() in Settings.model_fields
        }
    )
    assert child.redis_url == settings.redis_url and child.rasa_concurrency == 7 and child.enable_docs is True
    assert child.resolved_database_url == settings.resolved_database_url


def test_rasa_gets_a_token_that_starts_with_a_dash(monkeypatch):
    """The internal token is random URL-safe text and may start with '-': `--auth-token -x…` made Rasa's argparse
    stop with "expected one argument" (a stack that failed to start about one time in 64)."""
    import argparse
    import sys
    import types

    from fengqiao.supervisor import RASA_LAUNCHER

    seen = {}

    def fake_main():
        parser = argparse.ArgumentParser()
        parser.add_argument("command")
        parser.add_argument("-t", "--auth-token")
        seen["args"] = parser.parse_args(sys.argv[1:])

    rasa_main = types.ModuleType("rasa.__main__")
    rasa_main.main = fake_main
    monkeypatch.setitem(sys.modules, "rasa", types.ModuleType("rasa"))
    monkeypatch.setitem(sys.modules, "rasa.__main__", rasa_main)
    monkeypatch.setitem(sys.modules, "rasa_speedups", types.ModuleType("rasa_speedups"))
    monkeypatch.setenv("FENGQIAO_INTERNAL_TOKEN", "-cFC4xyz")
    monkeypatch.setattr(sys, "argv", ["-c", "run"])
    exec(RASA_LAUNCHER, {})
    assert seen["args"].auth_token == "-cFC4xyz"
