"""The typed manifest: it reads what every release wrote and writes the keys the builds always wrote."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from knowledge_base import store
from knowledge_base.manifest import MANIFEST, DenseSection, Manifest, read_manifest, write_manifest
from knowledge_base.precedents import add_precedent
from knowledge_base.records import Record

REPO = Path(__file__).resolve().parents[2]

# The keys `build` wrote (and `publish` added) before the manifest had a model.
BUILD_KEYS = {
    "format",
    "version",
    "corpus_hash",
    "encoder_hash",
    "dense",
    "counts",
    "sources",
    "dropped_duplicates",
    "built_at",
    "build_seconds",
    "files",
}
# What `encode_records` returns, the dense section of a version with a dense index.
DENSE = {
    "encoder_dir": "/srv/fengqiao/encoders/e5-small",
    "encoder_hash": "0123456789abcdef",
    "dim": 384,
    "encoded": 3,
    "reused": 2,
    "encode_seconds": 1.5,
}
# A manifest of the first releases: no dense section, file list or added records.
OLD = {
    "format": 1,
    "version": "20240101T000000000000-0123456789abcdef",
    "corpus_hash": "0123456789abcdef",
    "encoder_hash": None,
    "counts": {"statute": 5, "laws": 3},
    "sources": ["statutes_jsonl:s.jsonl"],
    "dropped_duplicates": [],
    "built_at": "2024-01-01T00:00:00+00:00",
    "build_seconds": 0.4,
}


def precedent(n: int) -> Record:
    return Record(
        id=f"case-{n}",
        kind="precedent",
        title="邻里噪音纠纷",
        text="楼上住户夜间噪音扰民，经调解双方达成协议。",
        extra={"category": "邻里纠纷", "outcome": "调解成功"},
    )


@pytest.fixture
def kb_copy(tiny_kb, tmp_path) -> Path:
    shutil.copytree(tiny_kb, tmp_path / "kb")
    return tmp_path / "kb"


def test_a_manifest_written_by_the_build_round_trips_unchanged(tiny_kb):
    version_dir = store.current_version_dir(tiny_kb)
    text = (version_dir / MANIFEST).read_text(encoding="utf-8")
    manifest = read_manifest(version_dir)
    assert set(json.loads(text)) == BUILD_KEYS
    assert manifest.to_json() == text  # same keys, values and order
    assert manifest.dense is None and manifest.encoder_hash is None  # written as nulls by a BM25-only build
    assert manifest.files and store.is_complete(version_dir)


def test_adding_a_precedent_adds_the_added_list_and_keeps_every_other_key(kb_copy):
    before = json.loads((store.current_version_dir(kb_copy) / MANIFEST).read_text(encoding="utf-8"))
    after_dir = add_precedent(kb_copy, precedent(1))
    after = json.loads((after_dir / MANIFEST).read_text(encoding="utf-8"))
    assert set(after) == BUILD_KEYS | {"added"}
    assert after["added"] == ["case-1"]
    assert after["counts"] == before["counts"] | {"precedent": before["counts"]["precedent"] + 1}
    assert read_manifest(after_dir).to_json() == (after_dir / MANIFEST).read_text(encoding="utf-8")


def test_the_dense_section_round_trips():
    manifest = Manifest.model_validate(OLD | {"encoder_hash": DENSE["encoder_hash"], "dense": DENSE})
    dense = manifest.require_dense()
    assert dense.encoder_dir == Path(DENSE["encoder_dir"]) and dense.dim == 384
    assert json.loads(manifest.to_json())["dense"] == DENSE


def test_an_old_manifest_without_files_dense_or_added_reads_and_is_written_back_as_it_was(tmp_path):
    (tmp_path / MANIFEST).write_text(json.dumps(OLD), encoding="utf-8")
    manifest = read_manifest(tmp_path)
    assert manifest.files is None and manifest.dense is None and manifest.added == []
    with pytest.raises(ValueError, match="no dense index"):
        manifest.require_dense()
    assert json.loads(manifest.to_json()) == OLD  # no key it did not have
    # A dense section from before vectors were reused (no `encoded`, `reused`).
    old_dense = {k: DENSE[k] for k in ("encoder_dir", "encoder_hash", "dim", "encode_seconds")}
    manifest = Manifest.model_validate(OLD | {"dense": old_dense})
    assert manifest.require_dense().encoded is None
    assert json.loads(manifest.to_json())["dense"] == old_dense


def test_keys_the_model_does_not_name_are_kept():
    data = OLD | {"written_by": "a newer release", "dense": DENSE | {"metric": "ip"}}
    manifest = Manifest.model_validate(data)
    assert manifest.model_extra == {"written_by": "a newer release"}
    assert json.loads(manifest.to_json()) == data


def test_a_version_copied_from_an_old_one_gains_only_the_file_list_and_added(kb_copy):
    """What `add_precedent` writes on top of a version of the first releases (the old code's dict `|`)."""
    current = store.current_version_dir(kb_copy)
    write_manifest(current, Manifest.model_validate(OLD | {"version": current.name}))
    assert store.is_complete(current)  # checked against the files every version has
    after = json.loads((add_precedent(kb_copy, precedent(2)) / MANIFEST).read_text(encoding="utf-8"))
    assert set(after) == set(OLD) | {"files", "added"}


def test_a_manifest_that_is_not_one_makes_its_version_incomplete(kb_copy):
    current = store.current_version_dir(kb_copy)
    (current / MANIFEST).write_text(json.dumps({"corpus_hash": "x"}), encoding="utf-8")  # no version
    assert not store.is_complete(current)


def test_only_the_manifest_module_and_the_store_touch_manifest_json():
    """Everyone else reads a `Manifest` through `store.read_manifest` and writes one through `store.publish`."""
    allowed = {REPO / "knowledge_base" / "manifest.py", REPO / "knowledge_base" / "store.py"}
    pattern = re.compile(r"\bMANIFEST\b|manifest\.json")
    offenders = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for package in ("api", "knowledge_base", "fengqiao", "actions", "core", "bot", "scripts")
        for path in sorted((REPO / package).rglob("*.py"))
        if path not in allowed
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, "parse manifest.json through knowledge_base.manifest:\n" + "\n".join(offenders)


def test_the_dense_section_is_what_encode_records_writes():
    assert set(DenseSection.model_fields) == set(DENSE)
