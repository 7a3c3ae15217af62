"""Real replicas: a Chroma server with the index, PostgreSQL, `career-bot slack --http` twice.

Everything here is a real process on 127.0.0.1: `chroma run`, `career-bot ingest` into it,
PostgreSQL (a fresh database on the server TEST_POSTGRES_URL names, or a private cluster a
test may stop and start), and the bot replicas, whose Slack is a `FakeSlack`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.devtools.loopback.processes import ChromaServer, free_port
from bot.devtools.loopback.slack import FakeSlack
from bot.devtools.loopback.slack_load import start_replica, stop_replica
from tests.conftest import KNOWLEDGE

BOT_TOKEN = "xoxb-5555-6666-replicabottoken"
SIGNING_SECRET = "5e1f0c9d8b7a6e5d4c3b2a1f0e9d8c7b"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


#: The replica tests need PostgreSQL; without TEST_POSTGRES_URL they skip (and say why) before
#: any server or replica is started.
NEEDS_POSTGRES = pytest.mark.skipif(
    not os.environ.get("TEST_POSTGRES_URL"),
    reason="TEST_POSTGRES_URL is not set (no PostgreSQL on this machine)",
)


def postgres_url_or_skip() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.skip("TEST_POSTGRES_URL is not set (no PostgreSQL on this machine)")
    return url


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy `postgresql+asyncpg://` URL as the DSN asyncpg itself takes."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class IndexServer:
    """A Chroma server holding the index of knowledge/."""

    chroma: ChromaServer

    def env(self) -> dict[str, str]:
        return {"CHROMA_HOST": self.chroma.host, "CHROMA_PORT": str(self.chroma.port)}


@dataclass
class PrivatePostgres:
    """A throwaway PostgreSQL 15 cluster on a free port, which a test may stop and restart.

    The shared server is never touched. Run as the `postgres` OS user when we are root
    (initdb refuses root), with trust authentication and the socket in its own directory.
    """

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, str(PG_BIN / program), *args], capture_output=True, timeout=120
        )
        if done.returncode != 0:
            log = self.root / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed: {done.stderr.decode(errors='replace')}\n{tail}")

    def init(self) -> PrivatePostgres:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        return self

    def start(self) -> None:
        """Start (or start again, on the same port and data)."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c shared_buffers=16MB"
        )
        log = str(self.root / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def _processes(self) -> list[int]:
        """The cluster's postmaster and its children (backends, checkpointer, ...)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        return [postmaster, *(int(pid) for pid in children)]

    def freeze(self) -> None:
        """Hang the server (SIGSTOP): connections neither work nor fail, like a lost network."""
        for pid in self._processes():
            # A backend whose client just left may be gone already: nothing to stop.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@dataclass
class Replicas:
    """The fake Slack and the replicas' base URLs, processes and logs."""

    fake: FakeSlack
    urls: list[str]
    procs: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def log_lines(self, index: int, needle: str) -> list[str]:
        text = self.logs[index].read_text(encoding="utf-8", errors="replace")
        return [line for line in text.splitlines() if needle in line]


@asynccontextmanager
async def slack_replicas(
    index: IndexServer, state_url: str, workdir: Path, count: int = 2
) -> AsyncIterator[Replicas]:
    """A FakeSlack and `count` `career-bot slack --http` processes sharing Chroma and the store.

    Each replica has its own DATA_DIR: they share nothing but the Chroma server and STATE_URL.
    """
    fake = await FakeSlack(bot_token=BOT_TOKEN).start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        base = {
            "KNOWLEDGE_DIR": str(KNOWLEDGE),
            "STATE_URL": state_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "LOG_LEVEL": "INFO",
            "ANONYMIZED_TELEMETRY": "False",
            **index.env(),
        }
        ports = [free_port() for _ in range(count)]
        logs = [workdir / f"replica-{n}.log" for n in range(count)]

        def start(n: int) -> subprocess.Popen[bytes]:
            env = base | {"DATA_DIR": str(workdir / f"replica-{n}-data")}
            return start_replica(env, ports[n], logs[n])

        started = await asyncio.gather(
            *(asyncio.to_thread(start, n) for n in range(count)), return_exceptions=True
        )
        procs = [p for p in started if isinstance(p, subprocess.Popen)]
        failed = [e for e in started if isinstance(e, BaseException)]
        if failed:
            raise failed[0]
        yield Replicas(fake, [f"http://127.0.0.1:{p}" for p in ports], procs, logs)
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop_replica, p) for p in procs))
        await fake.close()
