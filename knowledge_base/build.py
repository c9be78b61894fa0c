"""Build a knowledge-base version from the configured sources and switch readers to it."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from knowledge_base import store
from knowledge_base.aliases import build_alias_map, short_names
from knowledge_base.bm25_index import BM25Index
from knowledge_base.dense import DenseIndex
from knowledge_base.manifest import DenseSection, Manifest
from knowledge_base.question_memory import MEMORY_DIR, build_memory
from knowledge_base.records import Record
from knowledge_base.repeals import REPEALED_FILE, repealed_laws
from knowledge_base.sources.cases_jsonl import read_cases_jsonl
from knowledge_base.sources.laws_db import embedded_laws_db, read_laws_db
from knowledge_base.sources.statutes_jsonl import read_statutes_jsonl
from knowledge_base.text import Tokenizer, normalize
from knowledge_base.validity import assign_statuses

log = logging.getLogger(__name__)

INDEX_FORMAT = 1

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Source:
    kind: str  # laws_db | statutes_jsonl | cases_jsonl
    path: Path | None = None

    def read(self) -> Iterable[Record]:
        if self.kind == "laws_db":
            return read_laws_db(self.path)
        if self.path is None:
            raise ValueError(f"source {self.kind} needs a path")
        if self.kind == "statutes_jsonl":
            return read_statutes_jsonl(self.path)
        if self.kind == "cases_jsonl":
            return read_cases_jsonl(self.path)
        raise ValueError(f"unknown source kind: {self.kind}")

    def describe(self) -> str:
        path = self.path or (embedded_laws_db() if self.kind == "laws_db" else None)
        return f"{self.kind}:{path.name if path else '-'}"


REPO_ROOT = Path(__file__).resolve().parent.parent
# The full statute corpus, vendored compressed (see data/corpus/README.md): national laws, administrative
# regulations, judicial interpretations, departmental rules and Zhejiang local regulations.
VENDORED_STATUTES = REPO_ROOT / "data" / "corpus" / "statutes.jsonl.xz"


def statute_sources() -> list[Source]:
    """The embedded NPC laws (newer versions of some laws) and the vendored statute file."""
    return [Source("laws_db"), Source("statutes_jsonl", VENDORED_STATUTES)]


def default_sources(case_files: Iterable[Path] = ()) -> list[Source]:
    """What a knowledge base holds when nothing else is asked for: every statute the project ships, plus the
    precedent files that exist of those given (they are not shipped: see FENGQIAO_CASE_FILES)."""
    return statute_sources() + [Source("cases_jsonl", p) for p in case_files if p.is_file()]


def _date_key(record: Record) -> str:
    return record.version_date or record.effective_date or ""


def merge_sources(per_source: list[tuple[Source, list[Record]]]) -> tuple[list[Record], list[str]]:
    """Concatenate sources; when several hold the same law keep the newest version and report the others."""
    holders: dict[str, list[tuple[str, int, Source]]] = defaultdict(list)
    for idx, (source, records) in enumerate(per_source):
        dates: dict[str, str] = {}
        for r in records:
            if r.kind == "statute":
                dates[r.title] = max(dates.get(r.title, ""), _date_key(r))
        for title, date in dates.items():
            holders[title].append((date, -idx, source))
    winner: dict[str, Source] = {}
    dropped: list[str] = []
    for title, options in holders.items():
        options.sort(key=lambda o: (o[0], o[1]), reverse=True)
        winner[title] = options[0][2]
        for date, _, source in options[1:]:
            dropped.append(
                f"{title}: kept {options[0][2].describe()} ({options[0][0] or 'undated'}), "
                f"dropped {source.describe()} ({date or 'undated'})"
            )
    merged: list[Record] = []
    seen_ids: set[str] = set()
    for source, records in per_source:
        for r in records:
            if r.kind == "statute" and winner.get(r.title) is not source:
                continue
            if r.id in seen_ids:
                continue
            seen_ids.add(r.id)
            merged.append(r)
    return merged, dropped


def index_text(record: Record) -> str:
    """What BM25 sees: the title and chapter give context words residents use (劳动, 婚姻, 租赁…)."""
    if record.kind == "statute":
        return f"{record.title} {record.chapter or ''} {record.text}"
    return f"{record.title} {(record.extra or {}).get('category') or ''} {record.text}"


def corpus_hash(records: list[Record]) -> str:
    h = hashlib.sha256()
    for r in records:
        h.update(r.id.encode())
        h.update(b"\0")
        h.update(r.text.encode())
        h.update(b"\1")
    return h.hexdigest()[:16]


def dense_text(record: Record) -> str:
    """What the encoder sees (it truncates at its max sequence length): the law or case title gives the
    context residents' words refer to; the chapter heading is left out to keep sequences short."""
    return f"{record.title} {record.text}"


TEXT_HASHES = "text_hashes.json"  # beside the FAISS index: which passage text each row embeds


def text_hash(record: Record) -> str:
    return hashlib.sha1(dense_text(record).encode("utf-8")).hexdigest()[:16]


def reusable_vectors(previous: Path | None, encoder_hash: str) -> dict[str, np.ndarray]:
    """Vectors of an earlier version built with the same encoder, by passage-text hash (empty when none)."""
    if previous is None:
        return {}
    try:
        dense = store.read_manifest(previous).dense
        hashes = json.loads((previous / "dense" / TEXT_HASHES).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    if dense is None or dense.encoder_hash != encoder_hash:
        return {}
    vectors = DenseIndex.load(previous / "dense").vectors()
    if len(vectors) != len(hashes):
        return {}
    return dict(zip(hashes, vectors, strict=True))


def encode_records(
    records: list[Record], encoder_dir: Path, out_dir: Path, say: Progress, previous: Path | None = None
) -> DenseSection:
    """Embed every record into a FAISS index under out_dir; returns the manifest's dense section.

    Passages whose text an earlier version (`previous`) already embedded with the same encoder are not
    encoded again, so rebuilding after adding or amending a few laws takes seconds, not half an hour."""
    from knowledge_base.encoder.model import Encoder, model_fingerprint

    encoder_hash = model_fingerprint(encoder_dir)
    workers = os.cpu_count() or 1
    encoder = Encoder(encoder_dir, threads=1)  # one batch per core at a time (see encode_passages)
    from knowledge_base.encoder.onnx_export import is_current

    if not is_current(encoder_dir, int8=encoder.int8):
        say(f"exporting the encoder in {encoder_dir.name}/ to ONNX ({'int8' if encoder.int8 else 'float32'})")
    started = time.monotonic()
    last = [0.0]
    hashes = [text_hash(r) for r in records]
    from knowledge_base.encoder.bundle import bundled_vectors

    known = bundled_vectors(encoder_hash) | reusable_vectors(previous, encoder_hash)
    todo = [i for i, h in enumerate(hashes) if h not in known]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 10 and done < total:
            return
        last[0] = now
        rate = done / max(1e-9, now - started)
        eta = (total - done) / max(rate, 1e-9)
        say(
            f"  encoded {done:,}/{total:,} ({100 * done // total}%), {rate:.0f} passages/s, "
            f"about {eta / 60:.1f} min left"
        )

    if len(todo) < len(records):
        say(
            f"reusing {len(records) - len(todo):,} embeddings (shipped, or of the previous version: same encoder, "
            "same text)"
        )
    say(f"encoding {len(todo):,} records with the encoder in {encoder_dir.name}/")
    fresh = (
        encoder.encode_passages([dense_text(records[i]) for i in todo], workers=workers, progress=report)
        if todo
        else np.zeros((0, 0), dtype=np.float32)
    )
    dim = fresh.shape[1] if todo else len(next(iter(known.values())))
    embeddings = np.zeros((len(records), dim), dtype=np.float32)
    for row, i in enumerate(todo):
        embeddings[i] = fresh[row]
    for i, h in enumerate(hashes):
        if h in known:
            embeddings[i] = known[h]
    DenseIndex.build(embeddings).save(out_dir)
    (out_dir / TEXT_HASHES).write_text(json.dumps(hashes), encoding="utf-8")
    return DenseSection(
        encoder_dir=encoder_dir.resolve(),
        encoder_hash=encoder_hash,
        dim=int(embeddings.shape[1]),
        encoded=len(todo),
        reused=len(records) - len(todo),
        encode_seconds=round(time.monotonic() - started, 1),
    )


def add_memory(
    records: list[Record], encoder_dir: Path, answered: Path | None, staging: Path, say: Progress
) -> None:
    """The answered questions' memory for a version with a dense index (none without a question file)."""
    if answered is None:
        return
    started = time.monotonic()
    n = build_memory(records, encoder_dir, answered, staging / MEMORY_DIR)
    say(f"remembered {n:,} answered questions from {answered.name} in {time.monotonic() - started:.1f} s")


def add_dense(
    kb_dir: Path, encoder_dir: Path, *, progress: Progress | None = None, answered: Path | None = None
) -> Path:
    """New version = the current one plus a dense index; BM25 keeps serving until it is switched in.

    The encoding (minutes) runs without the writer lock on a copy of the version current at the start;
    precedents added meanwhile are carried over when it is published (see `commit`)."""
    say = progress or (lambda msg: log.info(msg))
    current = store.current_version_dir(kb_dir)
    if current is None:
        raise ValueError("no knowledge base to add a dense index to; build one first")
    manifest = store.read_manifest(current)
    records = store.read_records(current / "records.jsonl")
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{manifest.corpus_hash}"
    staging = store.new_staging_dir(kb_dir, version)
    try:
        store.copy_version(current, staging, leave_out=("dense", MEMORY_DIR))
        dense = encode_records(records, encoder_dir, staging / "dense", say, previous=current)
        add_memory(records, encoder_dir, answered, staging, say)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    manifest = manifest.model_copy(
        update={
            "version": version,
            "encoder_hash": dense.encoder_hash,
            "dense": dense,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    final = commit(kb_dir, staging, manifest, say)
    say(f"dense index ready in {dense.encode_seconds} s; now serving knowledge base {final.name}")
    return final


def append_records(
    version_dir: Path, manifest: Manifest, new: list[Record], *, reuse_from: Path | None = None
) -> Manifest:
    """Add records to a staged version in place (BM25 re-indexed from the stored tokens, one vector each);
    returns the updated manifest. Vectors of the same text and encoder in `reuse_from` are not encoded again."""
    records = store.read_records(version_dir / "records.jsonl")
    known = {r.id for r in records}
    new = [r for r in new if r.id not in known]
    if not new:
        return manifest
    tokenizer = Tokenizer.from_user_dict(version_dir / "userdict.txt")
    tokens_path = version_dir / store.TOKENS
    if tokens_path.is_file():
        corpus_tokens = store.read_tokens(tokens_path)
    else:  # versions built before tokens were stored
        corpus_tokens = [tokenizer.tokens(normalize(index_text(r))) for r in records]
    corpus_tokens += [tokenizer.tokens(normalize(index_text(r))) for r in new]
    records += new
    BM25Index.build(corpus_tokens).save(version_dir / "bm25")
    store.write_tokens(tokens_path, corpus_tokens)
    store.write_records(version_dir / "records.jsonl", records)
    dense = manifest.dense
    if dense:
        index = DenseIndex.load(version_dir / "dense")
        known_vectors = reusable_vectors(reuse_from, dense.encoder_hash) if reuse_from else {}
        missing = [r for r in new if text_hash(r) not in known_vectors]
        if missing:
            from knowledge_base.encoder.model import Encoder

            fresh = Encoder(dense.encoder_dir).encode_passages([dense_text(r) for r in missing])
            known_vectors |= {text_hash(r): v for r, v in zip(missing, fresh, strict=True)}
        added = np.vstack([known_vectors[text_hash(r)] for r in new])
        DenseIndex.build(np.vstack([index.vectors(), added])).save(version_dir / "dense")
        hashes_file = version_dir / "dense" / TEXT_HASHES
        if hashes_file.is_file():
            hashes = json.loads(hashes_file.read_text(encoding="utf-8")) + [text_hash(r) for r in new]
            hashes_file.write_text(json.dumps(hashes), encoding="utf-8")
    counts = dict(manifest.counts)
    for r in new:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    return manifest.model_copy(update={"counts": counts, "added": [*manifest.added, *(r.id for r in new)]})


def commit(kb_dir: Path, staging: Path, manifest: Manifest, say: Progress | None = None) -> Path:
    """Publish a staged version under the writer lock, on top of whatever was published since it was started.

    Records added one at a time (closed cases, listed in the manifest's `added`) to the version that is
    current now, and missing from the staged one, are added to it first: a long build never drops a
    precedent that arrived while it ran."""
    say = say or (lambda msg: log.info(msg))
    with store.writer_lock(kb_dir):
        try:
            current = store.current_version_dir(kb_dir)
            if current is not None:
                added = set(store.read_manifest(current).added)
                carried = (
                    [r for r in store.read_records(current / "records.jsonl") if r.id in added]
                    if added
                    else []
                )
                if carried:
                    before = manifest.counts.get("precedent", 0)
                    manifest = append_records(staging, manifest, carried, reuse_from=current)
                    n = manifest.counts.get("precedent", 0) - before
                    if n:
                        say(f"carried over {n} precedent(s) published while this version was being built")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return store.publish(kb_dir, staging, manifest)


def build(
    kb_dir: Path,
    sources: list[Source] | None = None,
    *,
    progress: Progress | None = None,
    encoder_dir: Path | None = None,
    answered: Path | None = None,
) -> Path:
    """Read every source, index it into a new version directory, then make it current. Returns that directory.

    With encoder_dir the version also gets a dense index, and with `answered` (STARD-format questions) the
    memory of their training split; without encoder_dir, search runs on BM25 alone."""
    say = progress or (lambda msg: log.info(msg))
    sources = sources or default_sources()
    started = time.monotonic()
    per_source: list[tuple[Source, list[Record]]] = []
    for source in sources:
        records = list(source.read())
        say(f"read {len(records):,} records from {source.describe()}")
        per_source.append((source, records))
    records, dropped = merge_sources(per_source)
    for line in dropped:
        say(f"duplicate law: {line}")
    for line in assign_statuses(records):
        say(f"validity: {line}")
    if not records:
        raise ValueError("no records in any source; nothing to index")

    law_names = sorted({r.title for r in records if r.kind == "statute"})
    alias_map = build_alias_map(law_names)
    user_words = sorted({alias for name in law_names for alias in short_names(name)})
    tokenizer = Tokenizer(user_words)

    kb_dir.mkdir(parents=True, exist_ok=True)
    store.versions_dir(kb_dir).mkdir(exist_ok=True)
    digest = corpus_hash(records)
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{digest}"
    staging = store.new_staging_dir(kb_dir, version)
    try:
        say(f"tokenising {len(records):,} records")
        corpus_tokens = []
        step = max(1, len(records) // 10)
        for i, record in enumerate(records, 1):
            corpus_tokens.append(tokenizer.tokens(normalize(index_text(record))))
            if i % step == 0 or i == len(records):
                say(f"  tokenised {i:,}/{len(records):,} ({100 * i // len(records)}%)")
        say("building the BM25 index")
        BM25Index.build(corpus_tokens).save(staging / "bm25")
        store.write_tokens(staging / store.TOKENS, corpus_tokens)
        dense = (
            encode_records(
                records, encoder_dir, staging / "dense", say, previous=store.current_version_dir(kb_dir)
            )
            if encoder_dir
            else None
        )
        if encoder_dir:
            add_memory(records, encoder_dir, answered, staging, say)
        store.write_records(staging / "records.jsonl", records)
        (staging / "userdict.txt").write_text("".join(f"{w} 2000\n" for w in user_words), encoding="utf-8")
        (staging / "aliases.json").write_text(json.dumps(alias_map, ensure_ascii=False), encoding="utf-8")
        (staging / REPEALED_FILE).write_text(
            json.dumps(repealed_laws(records), ensure_ascii=False), encoding="utf-8"
        )
        counts: dict[str, int] = defaultdict(int)
        for r in records:
            counts[r.kind] += 1
        manifest = Manifest(
            format=INDEX_FORMAT,
            version=version,
            corpus_hash=digest,
            encoder_hash=dense.encoder_hash if dense else None,
            dense=dense,
            counts=dict(counts) | {"laws": len(law_names)},
            sources=[s.describe() for s in sources],
            dropped_duplicates=dropped,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            build_seconds=round(time.monotonic() - started, 1),
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    final = commit(kb_dir, staging, manifest, say)
    say(f"knowledge base {version} ready: {len(records):,} records in {manifest.build_seconds} s")
    return final
