"""Add one precedent (a mediator's closed case) to the live knowledge base without a full rebuild.

The new version is a copy of the current one plus the record: only the new record is tokenised and encoded.
It is written under the knowledge base's one writer lock (`store.writer_lock`), so it never races a build or
another precedent; a build that runs meanwhile carries it over when it publishes (`build.commit`).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from knowledge_base import store
from knowledge_base.build import append_records
from knowledge_base.records import Record


def add_precedent(kb_dir: Path, record: Record) -> Path:
    if record.kind != "precedent":
        raise ValueError("only precedents can be added one at a time")
    if not record.text.strip() or not record.title.strip():
        raise ValueError("a precedent needs a title and a text")
    with store.writer_lock(kb_dir):
        current = store.current_version_dir(kb_dir)
        if current is None:
            raise ValueError("no knowledge base to add the precedent to; build one first")
        manifest = store.read_manifest(current)
        if record.id in set(manifest.added) or any(
            r.id == record.id for r in store.read_records(current / "records.jsonl")
        ):
            raise ValueError(f"a record with id {record.id} already exists")
        total = sum(manifest.counts.get(k, 0) for k in ("statute", "precedent")) + 1
        version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{manifest.corpus_hash}+{total}"
        staging = store.new_staging_dir(kb_dir, version)
        try:
            store.copy_version(current, staging)
            manifest = append_records(staging, manifest, [record]).model_copy(
                update={"version": version, "built_at": datetime.now(UTC).isoformat(timespec="seconds")}
            )
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return store.publish(kb_dir, staging, manifest)
