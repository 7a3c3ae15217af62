"""Server mode on loopback: a real `chroma run` process, and bot replicas as real processes."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.devtools.loopback.processes import ChromaServer, bot_command
from core.index import IndexStore, Pointer
from core.settings import Settings
from tests.conftest import KNOWLEDGE, REPO, make_settings

#: `career-bot` of this virtualenv.


def server_env(server: ChromaServer, data_dir: Path, knowledge_dir: Path) -> dict[str, str]:
    """The environment of a process that uses `server` and keeps its own files in `data_dir`."""
    return {
        **os.environ,
        "CHROMA_HOST": server.host,
        "CHROMA_PORT": str(server.port),
        "DATA_DIR": str(data_dir),
        "KNOWLEDGE_DIR": str(knowledge_dir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    }


def server_settings(server: ChromaServer, data_dir: Path, knowledge_dir: Path) -> Settings:
    return make_settings(
        data_dir, knowledge_dir=knowledge_dir, chroma_host=server.host, chroma_port=server.port
    )


def run_cli(
    env: dict[str, str], *args: str, cwd: Path, timeout_s: float = 180.0
) -> subprocess.CompletedProcess[str]:
    """`career-bot ARGS` as a subprocess (cwd away from the repo, so no .env is read)."""
    return subprocess.run(
        [*bot_command(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def copy_active_generation(source: IndexStore, target: IndexStore) -> Pointer:
    """Publish `source`'s active generation in `target` (seeds a server from a built index)."""
    pointer = source.pointer()
    assert pointer is not None
    collection = source.collection(pointer.collection)
    got = collection.get(include=["embeddings", "documents", "metadatas"])
    own = {"hnsw:space", "embedder", "dim", "generation"}
    extra = {k: str(v) for k, v in (collection.metadata or {}).items() if k not in own}
    fresh = target.new_generation(pointer.generation, pointer.embedder, pointer.dim, extra)
    fresh.add(
        ids=got["ids"],
        embeddings=[list(map(float, e)) for e in got["embeddings"]],
        documents=got["documents"],
        metadatas=got["metadatas"],
    )
    published = pointer.model_copy(update={"collection": fresh.name, "previous": ""})
    target.publish(published)
    return published


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A fresh `chroma run` on 127.0.0.1 for one test, stopped afterwards."""
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Served:
    """A Chroma server shared by a module's tests, seeded with the session index."""

    server: ChromaServer
    root: Path
    #: A private copy of knowledge/ the tests edit and ingest.
    knowledge: Path
    seeded: Pointer

    def env(self, data_dir: Path) -> dict[str, str]:
        data_dir.mkdir(parents=True, exist_ok=True)
        return server_env(self.server, data_dir, self.knowledge)

    def store(self, data_dir: Path) -> IndexStore:
        return IndexStore(server_settings(self.server, data_dir, self.knowledge))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[Served]:
    """One server per module, holding the session index's generation (no embedding needed)."""
    root = tmp_path_factory.mktemp("served")
    knowledge = root / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    server = ChromaServer(root / "chroma").start()
    try:
        seeded = copy_active_generation(
            IndexStore(make_settings(index_dir)),
            IndexStore(server_settings(server, root / "seed", knowledge)),
        )
        yield Served(server, root, knowledge, seeded)
    finally:
        server.stop()


@dataclass
class Replica:
    """`python -m tests.server.replica_worker`: one bot replica answering over stdin/stdout."""

    name: str
    env: dict[str, str]
    cwd: Path
    proc: subprocess.Popen[str] | None = None
    ready: dict[str, Any] = field(default_factory=dict)
    stderr_path: Path | None = None
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _asked: int = 0

    def launch(self) -> Replica:
        """Start the process; `wait_ready` waits for its advisor (start several, then wait)."""
        self.stderr_path = self.cwd / f"{self.name}.stderr"
        with self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.server.replica_worker"],
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def wait_ready(self, timeout_s: float = 120.0) -> Replica:
        self.ready = self._next(timeout_s)
        return self

    def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next(self, timeout_s: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError(f"{self.name} printed nothing within {timeout_s:.0f}s") from None
        if line is None:
            raise RuntimeError(f"{self.name} exited: {self.stderr()[-2000:]}")
        return dict(json.loads(line))

    def ask(self, question: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Send one question and wait for its answer (one at a time, in order)."""
        assert self.proc is not None
        assert self.proc.stdin is not None
        self._asked += 1
        ident = f"{self.name}-{self._asked}"
        self.proc.stdin.write(json.dumps({"id": ident, "q": question}, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        answer = self._next(timeout_s)
        assert answer["id"] == ident
        answer["q"] = question
        answer["at"] = time.monotonic()
        return answer

    def stderr(self) -> str:
        if self.stderr_path is None:
            return ""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
