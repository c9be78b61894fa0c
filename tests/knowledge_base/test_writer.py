"""One owner for knowledge-base writes: concurrent writers in separate processes, a precedent that arrives
during a long build, a `kill -9` at each stage of a build, and the repair of a CURRENT that names an
incomplete version."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import textwrap
import threading

import pytest

from core.settings import PROJECT_ROOT
from knowledge_base import store
from knowledge_base.build import Source, add_dense, build
from knowledge_base.precedents import add_precedent
from knowledge_base.records import Record
from knowledge_base.search import KnowledgeBase
from tests.conftest import TINY_CASES, TINY_STATUTES


def case(n: int) -> Record:
    return Record(
        id=f"fq-{n}",
        kind="precedent",
        title=f"相邻漏水纠纷人民调解案例{n}",
        text=f"纠纷类型：相邻邻里。基本情况：楼上漏水泡了楼下的地板第{n}次。调解结果：调解成功。",
        extra={"category": "相邻邻里", "outcome": "调解成功"},
    )


def run_python(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def record_ids(kb_dir) -> set[str]:
    version = store.current_version_dir(kb_dir)
    return {r.id for r in store.read_records(version / "records.jsonl")}


def assert_serving(kb_dir) -> None:
    version = store.current_version_dir(kb_dir)
    assert version is not None and store.is_complete(version)
    assert (kb_dir / "CURRENT").read_text().strip() == version.name
    assert KnowledgeBase(kb_dir).search("拖欠工资", k=1)[0].record.article_no == "第五十条"


@pytest.fixture
def kb_copy(tiny_kb, tmp_path):
    shutil.copytree(tiny_kb, tmp_path / "kb")
    return tmp_path / "kb"


def test_a_case_closed_during_the_dense_build_ends_in_a_complete_index(kb_copy, base_encoder):
    """The scenario of a fresh `make run`: BM25 serves, the dense index builds, a mediator closes a case."""
    seen: list[str] = []

    def progress(message: str) -> None:
        seen.append(message)
        if message.startswith("encoding"):  # the build is under way, without the writer lock
            done = run_python(
                """
                import sys
                from pathlib import Path
                from knowledge_base.precedents import add_precedent
                from tests.knowledge_base.test_writer import case
                add_precedent(Path(sys.argv[1]), case(1))
                """,
                str(kb_copy),
            )
            assert done.returncode == 0, done.stderr
            assert "fq-1" in record_ids(kb_copy)  # readers see the case at once, on BM25

    final = add_dense(kb_copy, base_encoder, progress=progress)
    assert any("carried over 1 precedent" in m for m in seen)
    assert store.current_version_dir(kb_copy) == final
    manifest = store.read_manifest(final)
    snap = KnowledgeBase(kb_copy).snapshot()
    assert snap.has_dense and snap.dense.size == len(snap.records)
    assert "fq-1" in {r.id for r in snap.records} and manifest.added == ["fq-1"]
    assert manifest.counts["precedent"] == 2
    hits = KnowledgeBase(kb_copy).search("楼上漏水泡了地板", k=1, kind="precedent", mode="dense")
    assert hits[0].record.id == "fq-1"
    assert not list(store.versions_dir(kb_copy).glob(".building-*"))


@pytest.mark.slow  # several processes (seconds each): make test, not make check
def test_concurrent_writers_in_separate_processes_lose_nothing(kb_copy, tiny_files):
    """Four processes add precedents while a fifth rebuilds the whole corpus: every case ends up published."""
    adder = """
        import sys
        from pathlib import Path
        from knowledge_base.precedents import add_precedent
        from tests.knowledge_base.test_writer import case
        for n in sys.argv[2:]:
            add_precedent(Path(sys.argv[1]), case(int(n)))
        """
    rebuild = """
        import sys
        from pathlib import Path
        from knowledge_base.build import Source, build
        build(Path(sys.argv[1]), [Source("statutes_jsonl", Path(sys.argv[2])), Source("cases_jsonl", Path(sys.argv[3]))],
              progress=lambda m: None)
        """
    argv = [sys.executable, "-c"]
    procs = [
        subprocess.Popen(
            [*argv, textwrap.dedent(adder), str(kb_copy), str(2 * i), str(2 * i + 1)],
            cwd=PROJECT_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    procs.append(
        subprocess.Popen(
            [
                *argv,
                textwrap.dedent(rebuild),
                str(kb_copy),
                str(tiny_files["statutes"]),
                str(tiny_files["cases"]),
            ],
            cwd=PROJECT_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    assert_serving(kb_copy)
    ids = record_ids(kb_copy)
    assert {f"fq-{n}" for n in range(8)} <= ids
    assert len(ids) == len(TINY_STATUTES) + len(TINY_CASES) + 8
    assert not list(store.versions_dir(kb_copy).glob(".building-*"))


def test_a_full_rebuild_keeps_the_precedents_published_before_it(kb_copy, tiny_files):
    add_precedent(kb_copy, case(7))
    build(kb_copy, [Source("statutes_jsonl", tiny_files["statutes"])], progress=lambda m: None)
    assert "fq-7" in record_ids(kb_copy)
    assert store.read_manifest(store.current_version_dir(kb_copy)).added == ["fq-7"]


KILLER = """
    import os, signal, sys
    from pathlib import Path
    from knowledge_base import store
    from knowledge_base.build import Source, build

    kb, statutes, stage = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def die(*_args, **_kw):
        os.kill(os.getpid(), signal.SIGKILL)

    def progress(message):
        if message.startswith(stage):
            die()

    if stage == "list-files":
        store._listing = die
    elif stage == "switch":
        store._point_current = die
    elif stage == "prune":
        store.prune = die
    elif stage == "precedent":
        import knowledge_base.build as b
        from knowledge_base.precedents import add_precedent
        from tests.knowledge_base.test_writer import case
        b.BM25Index.build = die
        add_precedent(kb, case(99))
    build(kb, [Source("statutes_jsonl", statutes)], progress=progress)
    """


@pytest.mark.slow  # a killed process per stage (2 s each): make test, not make check
@pytest.mark.parametrize(
    "stage", ["tokenising", "building the BM25 index", "list-files", "switch", "prune", "precedent"]
)
def test_a_kill_at_any_stage_of_a_build_leaves_a_serving_knowledge_base(kb_copy, tmp_path, stage):
    before = store.current_version_dir(kb_copy)
    extra = tmp_path / "statutes.jsonl"
    extra.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in TINY_STATUTES[:3]), encoding="utf-8"
    )
    done = run_python(KILLER, str(kb_copy), str(extra), stage)
    assert done.returncode == -9, done.stderr

    after = store.current_version_dir(kb_copy)
    # Killed after the switch, the new version serves; killed before, the old one does.
    assert after == before if stage != "prune" else after != before
    assert_serving(kb_copy)
    store.repair(kb_copy)
    assert not list(store.versions_dir(kb_copy).glob(".building-*"))
    assert all(store.is_complete(p) for p in store.versions_dir(kb_copy).iterdir())
    # The next writer works as if nothing had happened.
    add_precedent(kb_copy, case(5))
    assert "fq-5" in record_ids(kb_copy)


def test_current_naming_an_incomplete_version_is_served_around_and_repaired(kb_copy, caplog):
    """What an earlier release could leave: CURRENT switched to a folder holding only dense/ and manifest.json."""
    good = store.current_version_dir(kb_copy)
    broken = store.versions_dir(kb_copy) / "29991231T000000000000-broken"
    (broken / "dense").mkdir(parents=True)
    (broken / "manifest.json").write_text(json.dumps({"version": broken.name, "dense": {"dim": 384}}))
    (kb_copy / "CURRENT").write_text(broken.name + "\n")

    assert store.current_version_dir(kb_copy) == good  # readers keep serving the last complete version
    assert KnowledgeBase(kb_copy).search("拖欠工资", k=1)[0].record.article_no == "第五十条"
    with caplog.at_level(logging.WARNING, logger="knowledge_base.store"):
        done = store.repair(kb_copy)
    assert any("repaired to " + good.name in line for line in done)
    assert any("incomplete" in r.getMessage() for r in caplog.records)
    assert (kb_copy / "CURRENT").read_text().strip() == good.name
    assert not broken.exists()
    add_precedent(kb_copy, case(3))
    assert "fq-3" in record_ids(kb_copy)


def test_a_file_that_does_not_match_the_manifest_makes_a_version_incomplete(kb_copy):
    version = store.current_version_dir(kb_copy)
    assert store.is_complete(version)
    with (version / "records.jsonl").open("a") as fh:
        fh.write("\n")
    assert not store.is_complete(version)


def test_the_writer_lock_excludes_other_processes(kb_copy):
    holding = threading.Event()
    release = threading.Event()

    def hold():
        with store.writer_lock(kb_copy):
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    probe = run_python(
        """
        import fcntl, sys
        from pathlib import Path
        with (Path(sys.argv[1]) / ".write.lock").open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                sys.exit(3)
        """,
        str(kb_copy),
    )
    release.set()
    thread.join()
    assert probe.returncode == 3
