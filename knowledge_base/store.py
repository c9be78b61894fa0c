"""Versioned on-disk layout of a built knowledge base, with one writer and an atomic switch between versions.

    <kb_dir>/versions/<version>/manifest.json, records.jsonl, userdict.txt, aliases.json, bm25/, dense/
    <kb_dir>/versions/.building-<version>.p<pid>/   a version being written (never read, never pruned)
    <kb_dir>/CURRENT      one line: the version readers should load
    <kb_dir>/.write.lock  held (flock, across processes) by whoever changes what is published

Every change is staged in its own `.building-…` directory, then finished by `publish`, which must be called
under `writer_lock`: it lists every file with its size in the manifest, moves the directory into place, checks
it against that list and only then replaces CURRENT (os.replace is atomic on POSIX). A running server
therefore never sees a half-built index, and a process killed at any point leaves at worst a stale staging
directory, which `repair` removes. Readers only ever load a version that is complete: if CURRENT points at one
that is not (a crash of an older release, a disk error), they serve the newest complete version instead and
`repair` moves the pointer there, with a log line.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from knowledge_base.jsonl import iter_jsonl
from knowledge_base.manifest import MANIFEST, Manifest, read_manifest, write_manifest
from knowledge_base.records import Record

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
TOKENS = "tokens.jsonl"  # BM25 tokens of every record, so one record can be added without re-tokenising
VERSIONS = "versions"
WRITE_LOCK = ".write.lock"
STAGING_PREFIX = ".building-"
KEEP_VERSIONS = 2
# Files every version has; a manifest without a file list (versions written before it was kept) is checked
# against these.
REQUIRED = ("records.jsonl", "userdict.txt", "aliases.json", "bm25")

_STAGING_PID = re.compile(r"\.p(\d+)$")
_warned: set[tuple[str, str]] = set()


def versions_dir(kb_dir: Path) -> Path:
    return kb_dir / VERSIONS


@contextlib.contextmanager
def writer_lock(kb_dir: Path) -> Iterator[None]:
    """The one owner of knowledge-base writes: an exclusive flock that holds across processes.

    The kernel drops it when its holder dies, so a `kill -9` never leaves the knowledge base locked."""
    kb_dir.mkdir(parents=True, exist_ok=True)
    with (kb_dir / WRITE_LOCK).open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def new_staging_dir(kb_dir: Path, version: str) -> Path:
    """An empty directory to write one version into, named after the writing process."""
    versions_dir(kb_dir).mkdir(parents=True, exist_ok=True)
    path = versions_dir(kb_dir) / f"{STAGING_PREFIX}{version}.p{os.getpid()}"
    path.mkdir()
    return path


def _listing(version_dir: Path) -> dict[str, int]:
    return {
        p.relative_to(version_dir).as_posix(): p.stat().st_size
        for p in sorted(version_dir.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def is_complete(version_dir: Path) -> bool:
    """Does the directory hold every file its manifest lists, each of the listed size?"""
    try:
        manifest = read_manifest(version_dir)
    except (OSError, ValueError):
        return False
    if manifest.files is None:  # older versions: the files every version has, and dense/ if it claims one
        required = [*REQUIRED, *(["dense"] if manifest.dense else [])]
        return all((version_dir / name).exists() for name in required)
    for name, size in manifest.files.items():
        try:
            if (version_dir / name).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def complete_versions(kb_dir: Path) -> list[Path]:
    """Finished versions, oldest first (names start with their build time)."""
    root = versions_dir(kb_dir)
    if not root.is_dir():
        return []
    return sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_complete(p)),
        key=lambda p: p.name,
    )


def _pointed(kb_dir: Path) -> Path | None:
    try:
        version = (kb_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return versions_dir(kb_dir) / version if version else None


def current_version_dir(kb_dir: Path) -> Path | None:
    """The version readers load: the one CURRENT names if it is complete, else the newest complete one."""
    pointed = _pointed(kb_dir)
    if pointed is not None and is_complete(pointed):
        return pointed
    versions = complete_versions(kb_dir)
    if not versions:
        return None
    fallback = versions[-1]
    key = (str(kb_dir), f"{pointed}->{fallback.name}")
    if pointed is not None and key not in _warned:
        _warned.add(key)
        log.warning(
            "knowledge base: CURRENT names %s, which is incomplete; serving %s", pointed.name, fallback.name
        )
    return fallback


def _point_current(kb_dir: Path, version_dir: Path) -> None:
    tmp = kb_dir / f".{CURRENT}.{os.getpid()}"
    tmp.write_text(version_dir.name + "\n", encoding="utf-8")
    os.replace(tmp, kb_dir / CURRENT)


def prune(kb_dir: Path, *, keep: str) -> None:
    """Remove old finished versions, keeping the active one and the newest few (a reader may still hold one
    open). Directories being written (`.building-…`) are never touched here: they belong to their writer."""
    others = [p for p in complete_versions(kb_dir) if p.name != keep]
    for old in others[: max(0, len(others) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def repair(kb_dir: Path) -> list[str]:
    """Start-up check, under the writer lock: point CURRENT at a complete version and remove what dead writers
    left behind (their staging directories, versions that never became complete). Returns what it did."""
    done: list[str] = []
    if not versions_dir(kb_dir).is_dir():
        return done
    with writer_lock(kb_dir):
        for path in versions_dir(kb_dir).iterdir():
            if not path.is_dir():
                continue
            if path.name.startswith(STAGING_PREFIX):
                match = _STAGING_PID.search(path.name)
                if match is None or not _pid_alive(int(match.group(1))):
                    shutil.rmtree(path, ignore_errors=True)
                    done.append(f"removed {path.name}, left by a writer that is gone")
        pointed = _pointed(kb_dir)
        if pointed is None or not is_complete(pointed):
            versions = complete_versions(kb_dir)
            if versions:
                _point_current(kb_dir, versions[-1])
                done.append(
                    f"CURRENT named {pointed.name if pointed else 'nothing'}, which is incomplete; "
                    f"repaired to {versions[-1].name}, the newest complete version"
                )
        active = _pointed(kb_dir)
        for path in versions_dir(kb_dir).iterdir():
            if path.is_dir() and not path.name.startswith(".") and path != active and not is_complete(path):
                shutil.rmtree(path, ignore_errors=True)
                done.append(f"removed the incomplete version {path.name}")
    for line in done:
        log.warning("knowledge base: %s", line)
    return done


def write_records(path: Path, records: Iterable[Record]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")


def read_records(path: Path) -> list[Record]:
    return [Record.from_dict(row) for _, row in iter_jsonl(path)]  # streamed: no list of dicts held


def write_tokens(path: Path, corpus_tokens: Iterable[list[str]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for tokens in corpus_tokens:
            fh.write(json.dumps(tokens, ensure_ascii=False) + "\n")


def read_tokens(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def copy_version(source: Path, staging: Path, *, leave_out: tuple[str, ...] = ()) -> None:
    """Copy a version's files (never its manifest, which the new version writes) into a staging directory."""
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns(MANIFEST, *leave_out), dirs_exist_ok=True)


def publish(kb_dir: Path, staging: Path, manifest: Manifest) -> Path:
    """Finish a staged version (the caller holds `writer_lock`): list its files in the manifest, move it into
    place under its name, check it complete, make it current, prune old versions.

    A staging directory that cannot be finished is removed, so no half-built version is ever left."""
    try:
        manifest = manifest.model_copy(update={"files": _listing(staging)})
        write_manifest(staging, manifest)
        final = versions_dir(kb_dir) / manifest.version
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not is_complete(final):
        shutil.rmtree(final, ignore_errors=True)
        raise OSError(f"version {final.name} did not check complete against its manifest; not switched to")
    _point_current(kb_dir, final)
    prune(kb_dir, keep=final.name)
    return final
