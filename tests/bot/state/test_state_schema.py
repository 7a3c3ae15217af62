"""The state store's schema: created on first start, versioned, migrated without losing data,
and created late when the store was down at start. SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text, update

from bot.state import SCHEMA_VERSION, Scope, StateUnavailable, Vote
from bot.state.sql import SqlStateStore
from tests.conftest import postgres_admin, postgres_database

#: Indexes schema 2 added (the retention purge deletes by time).
TIME_INDEXES = ("ix_turns_created", "ix_asks_created")


@pytest.fixture(params=["sqlite", "postgres"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}"
    else:
        async with postgres_database("career_schema") as (db_url, _):
            yield db_url


async def _downgrade_to_v1(state: SqlStateStore) -> None:
    """Make the store what version 1 of the bot left, as far as the test's own writes allow
    (they fill `conversation_id`): no asker, no `feedback.sources`, no time indexes, version 1."""
    from bot.state.sql import schema_info

    async with state.engine.begin() as conn:
        for index in ("ix_feedback_asker", "ix_feedback_created"):
            await conn.execute(text(f"DROP INDEX {index}"))
        await conn.execute(text("ALTER TABLE feedback DROP COLUMN asker_id"))
        await conn.execute(text("ALTER TABLE feedback DROP COLUMN sources"))
        for index in TIME_INDEXES:
            await conn.execute(text(f"DROP INDEX {index}"))
        await conn.execute(update(schema_info).values(version=1))


async def _downgrade_to_v2(state: SqlStateStore) -> None:
    """Make the store what version 2 of the bot left: asked questions and votes without the
    conversation they came from, votes without their asker and time index, version 2."""
    from bot.state.sql import schema_info

    async with state.engine.begin() as conn:
        for index in ("ix_feedback_asker", "ix_feedback_created"):
            await conn.execute(text(f"DROP INDEX {index}"))
        await conn.execute(text("ALTER TABLE feedback DROP COLUMN asker_id"))
        for table in ("asks", "feedback"):
            await conn.execute(text(f"ALTER TABLE {table} DROP COLUMN conversation_id"))
        await conn.execute(update(schema_info).values(version=2))


async def _indexes(state: SqlStateStore) -> set[str]:
    def names(conn: Any) -> set[str]:
        found = inspect(conn)
        return {i["name"] for table in ("turns", "asks") for i in found.get_indexes(table)}

    async with state.engine.begin() as conn:
        result: set[str] = await conn.run_sync(names)
        return result


async def test_a_new_store_starts_at_the_current_version(url: str) -> None:
    state = SqlStateStore(url)
    assert await state.schema_version() == 0
    await state.start()
    await state.start()  # a second replica (or a restart) changes nothing
    assert await state.schema_version() == SCHEMA_VERSION
    await state.close()


async def test_upgrading_keeps_conversations_and_feedback(url: str) -> None:
    old = SqlStateStore(url)
    await old.start()
    await _downgrade_to_v1(old)
    async with old.engine.begin() as conn:  # what the old bot wrote, in its own columns
        await conn.execute(
            text(
                "INSERT INTO feedback (platform, message_ref, user_id, vote, question, answer,"
                " chunk_ids, created_at) VALUES ('slack', 'C1:1.0', 'U1', -1, '야간 수당?',"
                " '답', '[\"abc\"]', 1700000000)"
            )
        )
    await old.record_exchange("slack:T:C:1.0", "U1", "slack", "팀 리더의 역할은?", "팀을 이끌어요")
    await old.close()

    new = SqlStateStore(url)
    await new.start()
    assert await new.schema_version() == SCHEMA_VERSION
    assert set(TIME_INDEXES) <= await _indexes(new)  # the retention purge uses them
    turns = await new.recent_turns("slack:T:C:1.0", limit=5, idle_s=10**10)
    assert [t.question for t in turns] == ["팀 리더의 역할은?"]
    (vote,) = await new.votes()
    assert (vote.question, vote.vote, vote.chunk_ids, vote.sources, vote.asker_id) == (
        "야간 수당?",
        -1,
        ["abc"],
        [],
        "",
    )
    await new.record_vote(
        Vote("slack", "C1:2.0", "U2", -1, "q", "a", ["x"], 1700000001.0, ["doc.txt › 급여"])
    )
    assert [v.sources for v in await new.votes()] == [[], ["doc.txt › 급여"]]
    await new.close()


async def test_a_store_newer_than_the_bot_is_refused(url: str) -> None:
    from bot.state.sql import schema_info

    state = SqlStateStore(url)
    await state.start()
    async with state.engine.begin() as conn:
        await conn.execute(update(schema_info).values(version=SCHEMA_VERSION + 1))
    await state.close()
    with pytest.raises(RuntimeError, match="newer than this bot"):
        await SqlStateStore(url).start()


async def test_a_store_down_at_start_is_set_up_when_it_comes_back() -> None:
    async with postgres_database("career_schema", create=False) as (db_url, name):
        # One try at start, and no circuit breaker: the calls right after are what is tested.
        state = SqlStateStore(db_url, start_retry_s=0, breaker_s=0)
        with pytest.raises(StateUnavailable):
            await state.start()  # the database does not exist yet: as if the server were down
        with pytest.raises(StateUnavailable):
            await state.claim("slack:event:E1")
        await postgres_admin(f'CREATE DATABASE "{name}"')
        # No restart: the next calls create the schema (once, not racing) and work.
        claims = await asyncio.gather(*(state.claim("slack:event:E1") for _ in range(6)))
        assert claims.count(True) == 1
        assert not await state.claim("slack:event:E1")
        assert await state.schema_version() == SCHEMA_VERSION
        await state.close()


async def test_upgrading_from_2_keeps_declines_and_votes_for_the_platforms_admins(
    url: str,
) -> None:
    old = SqlStateStore(url)
    await old.start()
    await _downgrade_to_v2(old)
    async with old.engine.begin() as conn:  # what the version 2 bot wrote, in its own columns
        await conn.execute(
            text(
                "INSERT INTO asks (platform, user_id, question, abstained, kind, created_at)"
                " VALUES ('discord', '7', '피자 맛집?', 1, 'out_of_scope', 1700000000)"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO feedback (platform, message_ref, user_id, vote, question, answer,"
                " chunk_ids, created_at, sources) VALUES ('discord', '99', '7', -1,"
                " '야간 수당?', '답', '[]', 1700000000, '[]')"
            )
        )
    await old.close()

    new = SqlStateStore(url)
    await new.start()
    assert await new.schema_version() == SCHEMA_VERSION
    assert await new.declined() == ["피자 맛집?"]
    assert await new.declined(scope=Scope("discord")) == ["피자 맛집?"]
    assert await new.declined(scope=Scope("discord", "11")) == []  # no guild to show it in
    assert await new.declined(scope=Scope("slack")) == []
    (vote,) = await new.votes(scope=Scope("discord"))
    assert (vote.question, vote.conversation_id) == ("야간 수당?", "")
    assert await new.votes(scope=Scope("discord", "11")) == []
    await new.record_exchange("discord:11:5:7", "7", "discord", "주식?", None, abstained=True)
    assert await new.declined(scope=Scope("discord", "11")) == ["주식?"]
    await new.close()
