"""The state store, the same tests on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.state import Vote
from bot.state.sql import SqlStateStore
from tests.conftest import postgres_database


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SqlStateStore, Clock]]:
    clock = Clock()
    async with contextlib.AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite3'}"
        else:
            # A database of the test's own: never another run's rows, never a shared clean-up.
            url, _ = await stack.enter_async_context(postgres_database("career_state"))
        state = SqlStateStore(url, clock=clock)
        await state.start()
        yield state, clock
        await state.close()


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


async def test_a_key_is_claimed_exactly_once_even_concurrently(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, _ = store
    key = _key()
    results = await asyncio.gather(*(state.claim(key) for _ in range(8)))
    assert results.count(True) == 1
    assert await state.claim(key) is False


async def test_claims_expire_after_their_ttl(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    key = _key()
    assert await state.claim(key, ttl_s=60)
    clock.now += 61
    assert await state.claim(key, ttl_s=60)


async def test_a_claim_can_be_looked_up_without_taking_it(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, clock = store
    key = _key()
    assert not await state.claimed(key)
    assert await state.claim(key, ttl_s=60)
    assert await state.claimed(key, ttl_s=60)
    assert not await state.claim(key, ttl_s=60)  # looking did not release it
    clock.now += 61
    assert not await state.claimed(key, ttl_s=60)


async def test_rate_limit_counts_one_window_per_user(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    clock.now = 60 * 28_333_334 + 40.0  # 40 s into a minute
    decisions = [await state.hit_rate("slack:U1", limit=3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after_s == pytest.approx(20.0)
    assert (await state.hit_rate("slack:U2", limit=3)).allowed
    clock.now += 21
    assert (await state.hit_rate("slack:U1", limit=3)).allowed


async def test_turns_are_bounded_ordered_and_expire_when_idle(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, clock = store
    for n in range(5):
        clock.now += 1
        await state.record_exchange("c1", "U1", "slack", f"q{n}", f"a{n}", focus="team leader")
    turns = await state.recent_turns("c1", limit=3, idle_s=600)
    assert [t.question for t in turns] == ["q2", "q3", "q4"]
    assert turns[-1].focus == "team leader"
    clock.now += 601
    assert await state.recent_turns("c1", limit=3, idle_s=600) == []


async def test_a_second_vote_replaces_the_first(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    vote = Vote("slack", "C1:1.2", "U1", 1, "질문", "답", ["a", "b"], clock.now)
    await state.record_vote(vote)
    await state.record_vote(Vote("slack", "C1:1.2", "U1", -1, "질문", "답", ["a", "b"], clock.now))
    await state.record_vote(Vote("slack", "C1:1.2", "U2", 1, "질문", "답", ["a"], clock.now))
    votes = await state.votes()
    assert sorted((v.user_id, v.vote) for v in votes) == [("U1", -1), ("U2", 1)]
    assert votes[0].chunk_ids == ["a", "b"]


async def test_votes_clicked_at_once_keep_one_row_per_voter(
    store: tuple[SqlStateStore, Clock],
) -> None:
    """Two replicas storing one person's clicks at the same moment: no error, one vote."""
    state, clock = store
    clicks = [
        Vote("slack", "C1:7.7", "U1", 1 if n % 2 else -1, "질문", "답", ["a"], clock.now + n)
        for n in range(8)
    ]
    await asyncio.gather(*(state.record_vote(v) for v in clicks))
    votes = await state.votes()
    assert len(votes) == 1
    assert votes[0].vote in (1, -1)


async def test_forget_user_and_retention(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    await state.record_exchange("c1", "U1", "slack", "q", "a")
    await state.record_exchange("c2", "U2", "slack", "q", "a")
    await state.record_vote(Vote("slack", "m", "U1", 1, "q", "a", [], clock.now))
    await state.hit_rate("slack:U1", limit=5)
    assert await state.forget_user("U1") == 4  # the turn, its question log, the vote, the window
    assert await state.count("turns") == 1
    assert await state.claim("slack:event:E1")
    clock.now += 31 * 86400
    # U2's turn and its question log, and the day-old claim; feedback stays for the report.
    assert await state.purge(retention_days=30) == 3
    assert await state.count("turns") == 0
    assert await state.count("asks") == 0
    assert await state.count("claims") == 0
    await state.record_vote(Vote("slack", "m2", "U2", -1, "q", "a", [], clock.now))
    clock.now += 365 * 86400
    await state.purge(retention_days=30)
    assert await state.count("feedback") == 1


async def test_purge_keeps_what_is_recent(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    await state.record_exchange("c1", "U1", "slack", "old question", "a")
    clock.now += 20 * 86400
    await state.record_exchange("c1", "U1", "slack", "new question", "b")
    assert await state.claim("slack:event:E2")
    clock.now += 15 * 86400  # the first turn is 35 days old, the second 15, the claim 15
    assert await state.purge(retention_days=30) == 3  # first turn, its ask, the claim (>1 day)
    turns = await state.recent_turns("c1", limit=5, idle_s=30 * 86400)
    assert [t.question for t in turns] == ["new question"]


async def test_forget_matches_the_user_exactly(store: tuple[SqlStateStore, Clock]) -> None:
    state, clock = store
    await state.hit_rate("slack:U_1", limit=5)
    await state.hit_rate("slack:UX1", limit=5)  # "_" must not act as a LIKE wildcard
    await state.record_vote(Vote("slack", "m", "UX1", 1, "q", "a", [], clock.now))
    assert await state.forget_user("U_1") == 1
    assert await state.count("rate_windows") == 1
    assert await state.count("feedback") == 1


async def test_a_declined_question_is_logged_but_not_remembered(
    store: tuple[SqlStateStore, Clock],
) -> None:
    state, _ = store
    await state.record_exchange(
        "d1", "U1", "discord", "피자 맛집?", None, abstained=True, kind="out_of_scope"
    )
    await state.record_exchange("d1", "U1", "discord", "팀 리더 기술?", "답", kind="answer")
    assert await state.declined() == ["피자 맛집?"]
    assert [t.question for t in await state.recent_turns("d1", limit=5, idle_s=60)] == [
        "팀 리더 기술?"
    ]


async def test_an_unreachable_server_raises_state_unavailable() -> None:
    from bot.state import StateUnavailable

    state = SqlStateStore("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    with pytest.raises(StateUnavailable):
        await state.start()
    with pytest.raises(StateUnavailable):
        await state.claim("x")
    await state.close()
