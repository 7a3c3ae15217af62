"""A real `career-bot ingest` process killed with SIGKILL while it embeds a new generation.

The pointer only ever names complete generations, so the old one keeps serving; the flock dies
with the process, so the next ingest runs, publishes and drops what the killed one left.
Run against the embedded store and against a real Chroma server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.advisor.advisor import build_advisor
from bot.advisor.models import Question
from bot.devtools.loopback.processes import ChromaServer, bot_command
from bot.state import MemoryStateStore
from core.index import IndexStore
from core.settings import Settings
from ingest import run_ingest
from tests.conftest import KNOWLEDGE
from tests.server.conftest import copy_active_generation, server_env, server_settings

EDITED_DOC = "working-in-a-call-center.txt"
#: Written into every "-니다." sentence of one document: most of its chunks change, so the
#: killed run has seconds of embedding to be caught in, and new answers show it.
MARK = "(2025년 개정)"
QUESTION = "콜센터 상담원은 하루에 몇 명의 고객과 소통하나요?"


def edited_knowledge(target: Path) -> Path:
    shutil.copytree(KNOWLEDGE, target)
    doc = target / EDITED_DOC
    text = doc.read_text(encoding="utf-8")
    doc.write_text(text.replace("니다.", f"니다 {MARK}."), encoding="utf-8")
    return target


def embedded_collections(chroma_dir: Path) -> set[str]:
    """The collections an embedded store holds, read from its catalogue without opening Chroma
    in this process (a read-only SQLite query; Chroma's writer waits out the brief lock)."""
    db = chroma_dir / "chroma.sqlite3"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM collections")}


@dataclass
class Place:
    """Where the index lives: the settings and environment of every process that uses it."""

    settings: Settings
    env: dict[str, str]
    #: Every collection name in the store, as another process sees it.
    collections: Callable[[], set[str]]


@pytest.fixture(params=["embedded", "server"])
def place(
    request: pytest.FixtureRequest,
    index_dir: Path,
    tmp_path: Path,
    settings_for: Callable[..., Settings],
) -> Iterator[Place]:
    """The session index, copied to a private embedded store or into a fresh Chroma server,
    with an edited copy of knowledge/."""
    data = tmp_path / "data"
    knowledge = edited_knowledge(tmp_path / "knowledge")
    if request.param == "embedded":
        shutil.copytree(index_dir / "chroma", data / "chroma")
        settings = settings_for(data, knowledge_dir=knowledge)
        env = {
            **os.environ,
            "DATA_DIR": str(data),
            "KNOWLEDGE_DIR": str(knowledge),
            "LOG_LEVEL": "WARNING",
        }
        yield Place(settings, env, lambda: embedded_collections(settings.chroma_path))
        return
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        settings = server_settings(server, data, knowledge)
        observer = IndexStore(settings)
        copy_active_generation(IndexStore(settings_for(index_dir)), observer)
        yield Place(
            settings, server_env(server, data, knowledge), lambda: set(observer.generations())
        )
    finally:
        server.stop()


def kill_mid_run(place: Place, cwd: Path) -> tuple[str, int, float]:
    """Start `career-bot ingest`, SIGKILL it once its new generation's collection exists (it is
    created just before the chunks are embedded); the collection, the pid and when."""
    before = place.collections()
    started = time.monotonic()
    ingest = subprocess.Popen(
        [*bot_command(), "ingest", "--json"],
        env=place.env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while not (half := place.collections() - before):
            assert ingest.poll() is None, ingest.communicate()[1].decode()
            assert time.monotonic() - started < 120, "the ingest never started a generation"
            time.sleep(0.02)
        ingest.send_signal(signal.SIGKILL)
        killed_after = time.monotonic() - started
    finally:
        ingest.kill()
        ingest.wait()
    assert ingest.returncode == -signal.SIGKILL
    (leftover,) = half
    return leftover, ingest.pid, killed_after


@pytest.mark.slow
async def test_an_ingest_killed_mid_run_leaves_the_old_generation_serving_and_the_next_one_completes(
    place: Place, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = place.settings
    store = IndexStore(settings)
    old = store.pointer()
    assert old is not None
    leftover, pid, killed_after = await asyncio.to_thread(kill_mid_run, place, tmp_path)
    assert leftover.startswith(f"{settings.collection_prefix}-g{old.generation + 1}-")

    # The pointer never moved: every replica keeps answering from the old generation.
    assert store.pointer() == old
    assert leftover in store.generations()
    advisor = await build_advisor(settings, state=MemoryStateStore(), warm=False)
    try:
        before = await advisor.ask(Question(text=QUESTION, platform="test"))
        assert before.kind == "answer", before.text
        assert before.generation == old.generation
        assert "50명" in before.text
        assert MARK not in before.text

        # The killed process's lock is still on disk, but its flock died with it.
        assert (settings.data_dir / "ingest.lock").read_text() == f"pid {pid}"
        t0 = time.monotonic()
        report = await asyncio.to_thread(run_ingest, settings)
        next_s = time.monotonic() - t0
        assert report.published
        assert report.generation == old.generation + 1
        assert report.updated == 1
        assert report.embedded > 20
        new = store.pointer()
        assert new is not None
        assert (new.generation, new.previous) == (report.generation, old.collection)
        assert store.generations() == sorted([old.collection, new.collection])
        assert leftover not in place.collections()

        await advisor.knowledge.refresh()
        after = await advisor.ask(Question(text=QUESTION, platform="test"))
        assert after.kind == "answer", after.text
        assert after.generation == new.generation
        assert MARK in after.text
        assert set(after.chunk_ids) <= {c.id for c in store.read_chunks(new.collection)}
    finally:
        await advisor.close()
    with capsys.disabled():
        print(
            f"\nkilled {killed_after:.1f}s after start (collection {leftover}); "
            f"next ingest {next_s:.1f}s, {report.embedded} chunks embedded"
        )
