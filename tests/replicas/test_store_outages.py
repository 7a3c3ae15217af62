"""The shared store hanging instead of refusing: state calls must still fail in seconds, an
answer must not wait on the store once per call, and start-up waits for a store coming up."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import event

from bot.advisor.models import Answer, Question
from bot.chat.outcomes import Answered, Duplicate, Incoming, Replied
from bot.chat.service import ChatService
from bot.state import StateRejected, StateUnavailable
from bot.state.sql import PG_TIMEOUT_S, SqlStateStore
from bot.state.writer import TurnWriter
from core.settings import Settings
from tests.replicas.replica_harness import NEEDS_POSTGRES, PrivatePostgres

pytestmark = NEEDS_POSTGRES


async def test_a_hung_postgres_fails_state_calls_in_seconds_and_claims_work_once_it_is_back(
    private_postgres: PrivatePostgres,
) -> None:
    # No circuit breaker: every call here reaches the hung server.
    store = SqlStateStore(private_postgres.url, breaker_s=0)
    await store.start()
    try:
        assert await store.claim("hung:before")
        private_postgres.freeze()
        try:
            started = time.monotonic()
            # A pooled connection (its pre-ping hangs) and a new one (its connect hangs).
            # (A call still waiting after 30 s fails the test with TimeoutError.)
            with pytest.raises(StateUnavailable):
                await asyncio.wait_for(store.claim("hung:during"), 30)
            with pytest.raises(StateUnavailable):
                await asyncio.wait_for(store.hit_rate("slack:U0HUNG", 10), 30)
            elapsed = time.monotonic() - started
        finally:
            private_postgres.thaw()
        assert elapsed < 4 * PG_TIMEOUT_S + 2, f"state calls took {elapsed:.1f} s"
        # Back by itself: the key claimed before is still taken, a new one is claimed once.
        assert not await store.claim("hung:before")
        assert await store.claim("hung:after")
        assert not await store.claim("hung:after")
    finally:
        await store.close()


class Clock:
    """The circuit breaker's clock, moved by the test: no waiting out its period."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Advisor:
    """What an answer asks of the store besides the service's claim and rate limit: the
    conversation's recent turns, then the new turn written behind the answer."""

    def __init__(self, store: SqlStateStore) -> None:
        self.memory = TurnWriter(store, turns=4, idle_s=3600)

    async def ask(self, question: Question) -> Answer:
        await self.memory.recent(question.conversation_id)
        answer = Answer(text=f"answer to {question.text}", language="en", kind="answer")
        self.memory.record(
            question.conversation_id, question.user_id, "slack", question.text, answer.text
        )
        return answer

    def help(self, language: str = "ko") -> str:
        return "help"


def count_connects(store: SqlStateStore) -> list[float]:
    """Every connection attempt the store's engine makes from now on. The pool is emptied
    first, so each call that reaches the server opens a connection: one attempt per call."""
    attempts: list[float] = []
    event.listen(store.engine.sync_engine, "do_connect", lambda *_: attempts.append(0.0))
    return attempts


async def test_an_answer_while_postgres_hangs_costs_one_timeout_and_the_store_is_used_again(
    private_postgres: PrivatePostgres, settings: Settings
) -> None:
    clock = Clock()
    store = SqlStateStore(private_postgres.url, breaker_s=15, monotonic=clock)
    await store.start()
    chat = ChatService(settings, Advisor(store))
    replies: list[Replied] = []

    async def reply(outcome: Replied) -> None:
        replies.append(outcome)

    def message(key: str) -> Incoming:
        return Incoming("slack", "U1", "slack:T:C:1", "hi", (key,))

    try:
        await store.engine.dispose()
        attempts = count_connects(store)
        private_postgres.freeze()
        try:
            # claim, rate limit, recent turns, the turn's write: only the first waits.
            answered = await asyncio.wait_for(chat.handle_message(message("hung:1"), reply), 30)
            await chat.advisor.memory.flush()
            assert isinstance(answered, Answered)
            assert len(attempts) == 1
            clock.now += 5  # within the breaker's period: still not tried
            assert isinstance(await chat.handle_message(message("hung:2"), reply), Answered)
            await chat.advisor.memory.flush()
            assert len(attempts) == 1
            # A retry of an event answered during the outage is not answered again.
            assert await chat.handle_message(message("hung:1"), reply) == Duplicate()
        finally:
            private_postgres.thaw()
        assert [type(r) for r in replies] == [Answered, Answered]
        assert len(attempts) == 1

        clock.now += 11  # the period is over: one trial goes through, and closes it
        assert isinstance(await chat.handle_message(message("after"), reply), Answered)
        await chat.advisor.memory.flush()
        assert len(attempts) >= 2
        assert not await store.claim("after")  # the store has the claim
        assert await store.count("turns") == 1  # ... and the turn written behind the answer
    finally:
        await store.close()


async def test_a_rejected_record_does_not_stop_the_store_being_used(
    private_postgres: PrivatePostgres,
) -> None:
    store = SqlStateStore(private_postgres.url, breaker_s=3600)
    await store.start()
    try:
        with pytest.raises(StateRejected):  # a user id longer than its column
            await store.record_exchange("c", "U" * 500, "slack", "q", "a")
        assert await store.claim("rejected:after")  # the store is up: not skipped
    finally:
        await store.close()


async def test_start_waits_for_a_server_that_comes_up_meanwhile(
    private_postgres: PrivatePostgres,
) -> None:
    private_postgres.stop()
    store = SqlStateStore(private_postgres.url, start_retry_s=60)
    try:
        starting = asyncio.create_task(store.start())
        await asyncio.sleep(1.0)
        assert not starting.done()  # still retrying
        await asyncio.to_thread(private_postgres.start)
        await asyncio.wait_for(starting, 60)
        assert await store.claim("started:late")
    finally:
        await store.close()


async def test_a_stopped_server_is_used_again_as_soon_as_it_is_back(
    private_postgres: PrivatePostgres,
) -> None:
    """Only a failure that cost time opens the breaker: a stopped server refuses at once, so
    skipping it saves nothing, and the first call after its restart must reach it (a replica
    that skipped it would answer retries twice and miss follow-ups in threads)."""
    store = SqlStateStore(private_postgres.url, breaker_s=3600)
    await store.start()
    try:
        await asyncio.to_thread(private_postgres.stop, "fast")
        with pytest.raises(StateUnavailable):
            await store.claim("stopped:1")
        await asyncio.to_thread(private_postgres.start)
        assert await store.claim("restarted:1")  # reached, not skipped for the hour
        assert not await store.claim("restarted:1")
    finally:
        await store.close()
