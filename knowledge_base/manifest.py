"""The manifest of a knowledge-base version (`manifest.json` in its directory): the one place it is read and
written.

Builds write it (`build.build`, `build.add_dense`, `precedents.add_precedent`, all through `store.publish`,
which adds the file list); readers (search, the health check, the CLI, the encoder trainers) get a `Manifest`
from `read_manifest` and use its attributes, never the JSON.

Versions written by older releases stay readable: every field they may lack has a default (the first
releases wrote no `dense`, `files` or `added`; dense sections before vector reuse had no `encoded`/`reused`).
Writing keeps exactly the keys that were read or set (`exclude_unset`), so a version copied from an older one
gains no keys it did not have, and one written by `build` has the same keys as before this model existed,
explicit nulls included (`"dense": null` for a BM25-only build).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

MANIFEST = "manifest.json"

# extra="allow": versions written by older (or newer) releases may carry keys this model does not name; they
# are kept, and written back when such a version is copied into a new one, instead of failing the read.
_CONFIG = ConfigDict(extra="allow", frozen=True)


class DenseSection(BaseModel):
    """The dense index of a version: which encoder embedded its passages (see `build.encode_records`)."""

    model_config = _CONFIG

    encoder_dir: Path
    encoder_hash: str
    dim: int
    encoded: int | None = None  # passages encoded for this version (absent before vectors were reused)
    reused: int | None = None  # vectors taken from the shipped bundle or the previous version
    encode_seconds: float | None = None


class Manifest(BaseModel):
    model_config = _CONFIG

    format: int | None = None
    version: str
    corpus_hash: str
    encoder_hash: str | None = None  # the dense section's, repeated at the top level
    dense: DenseSection | None = None  # None: the version is searched with BM25 alone
    counts: dict[str, int] = {}  # records of each kind, plus "laws" (distinct statute titles)
    sources: list[str] = []
    dropped_duplicates: list[str] = []
    built_at: str | None = None  # ISO 8601, seconds, UTC
    build_seconds: float | None = None
    added: list[str] = []  # ids of the records added one at a time (precedents) since the full build
    files: dict[str, int] | None = None  # every file but the manifest, with its size (set by `store.publish`)

    def require_dense(self) -> DenseSection:
        """The dense section, for code that only runs on a version with a dense index."""
        if self.dense is None:
            raise ValueError(f"knowledge-base version {self.version} has no dense index")
        return self.dense

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_unset=True), ensure_ascii=False, indent=2)


def read_manifest(version_dir: Path) -> Manifest:
    """The manifest of a version directory. Raises OSError when it is missing, ValueError when it is not a
    manifest (pydantic's ValidationError is a ValueError)."""
    return Manifest.model_validate_json((version_dir / MANIFEST).read_text(encoding="utf-8"))


def write_manifest(version_dir: Path, manifest: Manifest) -> None:
    (version_dir / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
