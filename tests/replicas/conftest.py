"""Fixtures for the replica tests: the Chroma server with the index, and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.devtools.loopback.processes import ChromaServer
from tests.conftest import KNOWLEDGE
from tests.replicas.replica_harness import (
    PG_BIN,
    IndexServer,
    PrivatePostgres,
    asyncpg_dsn,
    postgres_url_or_skip,
)


@pytest.fixture(scope="module")
def index_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """`chroma run` with knowledge/ ingested into it by a `career-bot ingest` process."""
    root = tmp_path_factory.mktemp("replica-index")
    chroma = ChromaServer(root / "chroma").start()
    try:
        data_dir = root / "ingest-data"
        env = {
            **os.environ,
            "KNOWLEDGE_DIR": str(KNOWLEDGE),
            "DATA_DIR": str(data_dir),
            "CHROMA_HOST": chroma.host,
            "CHROMA_PORT": str(chroma.port),
            "LOG_LEVEL": "WARNING",
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "ingest", "--json"],
            env=env,
            cwd=root,
            capture_output=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
        yield IndexServer(chroma)
    finally:
        chroma.stop()


@pytest.fixture
async def postgres_database() -> AsyncIterator[str]:
    """A fresh database on the TEST_POSTGRES_URL server (its URL), dropped afterwards."""
    import asyncpg

    base = postgres_url_or_skip()
    name = f"career_replicas_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(asyncpg_dsn(base))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(asyncpg_dsn(base))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A private cluster, only where TEST_POSTGRES_URL says this machine has PostgreSQL."""
    postgres_url_or_skip()
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.fail(f"TEST_POSTGRES_URL is set but the PostgreSQL 15 binaries are not in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="career-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivatePostgres(root).init()
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(RuntimeError):  # already stopped
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
