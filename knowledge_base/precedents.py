"""Add one precedent (a mediator's closed case) to the live knowledge base without a full rebuild.

The new version reuses the current one's BM25 tokens and dense vectors, so only the new record is
tokenised and encoded; readers switch to it atomically like after any build. Concurrent calls are
serialised by a lock file.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from knowledge_base import store
from knowledge_base.bm25_index import BM25Index
from knowledge_base.build import TEXT_HASHES, dense_text, index_text, text_hash
from knowledge_base.dense import INDEX_FILE, DenseIndex
from knowledge_base.records import Record
from knowledge_base.text import Tokenizer, normalize


@contextmanager
def _locked(kb_dir: Path):
    kb_dir.mkdir(parents=True, exist_ok=True)
    with (kb_dir / ".write.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def add_precedent(kb_dir: Path, record: Record) -> Path:
    if record.kind != "precedent":
        raise ValueError("only precedents can be added one at a time")
    if not record.text.strip() or not record.title.strip():
        raise ValueError("a precedent needs a title and a text")
    with _locked(kb_dir):
        current = store.current_version_dir(kb_dir)
        if current is None:
            raise ValueError("no knowledge base to add the precedent to; build one first")
        manifest = store.read_manifest(current)
        records = store.read_records(current / "records.jsonl")
        if any(r.id == record.id for r in records):
            raise ValueError(f"a record with id {record.id} already exists")
        tokenizer = Tokenizer.from_user_dict(current / "userdict.txt")
        tokens_path = current / store.TOKENS
        if tokens_path.is_file():
            corpus_tokens = store.read_tokens(tokens_path)
        else:  # versions built before tokens were stored
            corpus_tokens = [tokenizer.tokens(normalize(index_text(r))) for r in records]
        corpus_tokens.append(tokenizer.tokens(normalize(index_text(record))))
        records.append(record)

        version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{manifest['corpus_hash']}+{len(records)}"
        staging = store.versions_dir(kb_dir) / f".building-{version}"
        shutil.copytree(current, staging, ignore=shutil.ignore_patterns("bm25", "dense", "records.jsonl",
                                                                        store.TOKENS))
        try:
            BM25Index.build(corpus_tokens).save(staging / "bm25")
            store.write_tokens(staging / store.TOKENS, corpus_tokens)
            store.write_records(staging / "records.jsonl", records)
            dense = manifest.get("dense")
            if dense:
                from knowledge_base.encoder.model import Encoder

                index = faiss.read_index(str(current / "dense" / INDEX_FILE))
                vectors = index.reconstruct_n(0, index.ntotal)
                vector = Encoder(Path(dense["encoder_dir"])).encode_passages([dense_text(record)])
                DenseIndex.build(np.vstack([vectors, vector])).save(staging / "dense")
                hashes_file = current / "dense" / TEXT_HASHES
                if hashes_file.is_file():
                    hashes = json.loads(hashes_file.read_text(encoding="utf-8")) + [text_hash(record)]
                    (staging / "dense" / TEXT_HASHES).write_text(json.dumps(hashes), encoding="utf-8")
            counts = dict(manifest.get("counts", {}))
            counts["precedent"] = counts.get("precedent", 0) + 1
            manifest |= {"version": version, "counts": counts,
                         "added": [*manifest.get("added", []), record.id],
                         "built_at": datetime.now(UTC).isoformat(timespec="seconds")}
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return store.publish(kb_dir, staging, manifest)
