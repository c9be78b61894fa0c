"""The knowledge-base commands: one `ingest` builds BM25 and the dense index; `trim-encoder` activates a copy."""

import json

import pytest

from fengqiao import cli
from knowledge_base import store
from knowledge_base.encoder import registry
from knowledge_base.encoder.trim import TRIM_FILE


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FENGQIAO_KB_DIR", raising=False)
    cli.get_settings.cache_clear()
    yield tmp_path
    cli.get_settings.cache_clear()


def manifest(data_dir):
    return store.read_manifest(store.current_version_dir(data_dir / "kb"))


def test_ingest_builds_bm25_and_the_dense_index_in_one_version(data_dir, tiny_files, base_encoder, capsys):
    assert (
        cli.main(
            [
                "ingest",
                "--no-embedded",
                "--statutes",
                str(tiny_files["statutes"]),
                "--encoder",
                str(base_encoder),
            ]
        )
        == 0
    )
    m = manifest(data_dir)
    assert m.counts["statute"] > 0
    assert m.require_dense().encoder_dir == base_encoder.resolve()
    assert "encoding" in capsys.readouterr().out  # progress is shown


def test_ingest_without_dense_and_with_a_missing_file(data_dir, tiny_files, capsys):
    assert cli.main(["ingest", "--no-embedded", "--no-dense", "--statutes", str(tiny_files["statutes"])]) == 0
    assert manifest(data_dir).dense is None
    assert cli.main(["ingest", "--no-embedded", "--statutes", str(data_dir / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_trim_encoder_activates_a_trimmed_copy(data_dir, tiny_files, base_encoder, capsys):
    assert cli.main(["trim-encoder"]) == 2  # nothing trained or converted yet
    assert "no encoder to trim" in capsys.readouterr().err
    assert cli.main(["ingest", "--no-embedded", "--no-dense", "--statutes", str(tiny_files["statutes"])]) == 0
    assert cli.main(["trim-encoder", "--encoder", str(base_encoder), "--int8"]) == 0
    active = registry.active_encoder(data_dir)
    assert active.name == f"{base_encoder.name}-trimmed"
    assert json.loads((active / TRIM_FILE).read_text())["pieces_after"] < 20_000
    assert json.loads((active / "inference.json").read_text()) == {"int8": True}


@pytest.mark.slow  # several processes (seconds each): make test, not make check
def test_encoder_commands_without_a_dense_index_say_so(data_dir, tiny_files, capsys):
    """distill-encoder and tune-query-encoder on a BM25-only knowledge base: exit 2 and one clear line."""
    assert cli.main(["ingest", "--no-embedded", "--no-dense", "--statutes", str(tiny_files["statutes"])]) == 0
    capsys.readouterr()
    assert cli.main(["distill-encoder"]) == 2
    assert "no dense index" in capsys.readouterr().err
    assert cli.main(["tune-query-encoder", "--queries", str(tiny_files["statutes"])]) == 2
    err = capsys.readouterr().err
    assert "no dense index" in err and "Traceback" not in err
