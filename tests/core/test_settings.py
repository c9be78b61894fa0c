"""The settings leaf: the README's settings table is the Settings model's, and the internal token is made once."""

from __future__ import annotations

from core.settings import PROJECT_ROOT, Settings, settings_table


def test_the_readme_lists_every_setting_as_the_model_defines_it():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- settings-table -->"), readme.index("<!-- /settings-table -->")
    assert readme[start:end].removeprefix("<!-- settings-table -->").strip() == settings_table()


def test_the_internal_token_is_made_once_and_kept_private(tmp_path):
    first = Settings(data_dir=tmp_path).with_internal_token()
    assert len(first.internal_token) >= 40
    assert (tmp_path / "internal-token").stat().st_mode & 0o077 == 0
    assert Settings(data_dir=tmp_path).with_internal_token().internal_token == first.internal_token
    assert Settings(data_dir=tmp_path, internal_token="given").with_internal_token().internal_token == "given"


def test_relative_paths_are_taken_from_the_directory_the_command_runs_in(monkeypatch, tmp_path):
    # FENGQIAO_DATA_DIR=var/fresh once reached `rasa train`, which runs in bot/, as a path it read from there.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", "var/fresh")
    monkeypatch.setenv("FENGQIAO_MODELS_DIR", "var/models")
    settings = Settings()
    assert settings.data_dir == tmp_path / "var" / "fresh"
    assert settings.resolved_models_dir == tmp_path / "var" / "models"
    assert settings.resolved_kb_dir == tmp_path / "var" / "fresh" / "kb"
